-- Issue 18: a TAXII page reads, for each current version in sequence order, the
-- object's access attributes (what the one TLP policy decides on) and the version's
-- STIX. With those attributes in the index, PostgreSQL answers the objects side of a
-- page from the index alone (an index-only scan, once vacuum has marked the pages
-- visible) instead of reading about 85 heap pages of objects (envelope and body
-- included) per 1,000 objects; 21 index pages do (ops/bench/RESULTS.md).
DROP INDEX objects_last_seq;
CREATE INDEX objects_taxii_page ON objects (last_seq)
    INCLUDE (kind, status, tlp, anonymous, submitter_org, recipients, id);
