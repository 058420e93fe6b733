-- Bulk sharing (measured with ops/bench): most of PostgreSQL's time per shared
-- indicator went to locale-aware comparisons of text keys in the B-tree indexes, to
-- the per-row foreign-key triggers of the two tables that grow by one row per version,
-- to B-tree inserts at random places (random ids and values), and to statistics
-- gathered on every column of `objects` so that lookups by value stayed indexed.
--
-- Lookups by value are now answered from the hub's in-memory indicator index
-- (hub/src/services/indicator_index.rs), so the index on indicator_value goes. The
-- unique (object_id, revision) index goes too: versions are numbered under the write
-- lock from the object's current row, which the primary key on objects.id keeps unique.
--
-- Ids and indicator values are compared byte by byte ("C"): they are ASCII ids and
-- normalised values that are only ever matched exactly or ordered for paging.
-- The foreign keys from objects to organizations and from object_versions to objects
-- are dropped: the hub writes an object, its version and checks the submitting
-- organisation in one transaction, and organisations are never deleted.
ALTER TABLE object_versions DROP CONSTRAINT object_versions_object_id_fkey;
ALTER TABLE objects DROP CONSTRAINT objects_submitter_org_fkey;
ALTER TABLE objects
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN indicator_value TYPE TEXT COLLATE "C";
ALTER TABLE object_versions ALTER COLUMN object_id TYPE TEXT COLLATE "C";
DROP INDEX objects_indicator_value;
ALTER TABLE object_versions DROP CONSTRAINT object_versions_object_id_revision_key;
