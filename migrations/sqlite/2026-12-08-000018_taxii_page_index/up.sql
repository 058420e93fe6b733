-- Issue 18: a TAXII page reads, for each current version in sequence order, the
-- object's access attributes (what the one TLP policy decides on) and the version's
-- STIX. SQLite has no INCLUDE: the attributes follow the sequence in the key, so the
-- index covers the objects side of a page and the wide rows are not read.
DROP INDEX objects_last_seq;
CREATE INDEX objects_taxii_page ON objects (last_seq, kind, status, tlp, anonymous, submitter_org, recipients, id);
