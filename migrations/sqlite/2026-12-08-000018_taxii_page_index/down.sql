DROP INDEX objects_taxii_page;
CREATE INDEX objects_last_seq ON objects (last_seq);
