-- Lookups by value are answered from the hub's in-memory indicator index
-- (hub/src/services/indicator_index.rs), so the index on indicator_value goes, as on
-- PostgreSQL. The rest of the PostgreSQL migration of this name (bytewise collation,
-- no per-row foreign-key triggers, no unique (object_id, revision) index) has no
-- counterpart worth a table rebuild here: SQLite compares text bytewise already, and
-- its foreign-key and uniqueness checks are index probes inside the hub's own process.
DROP INDEX objects_indicator_value;
