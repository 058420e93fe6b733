DROP TABLE taxii_status;
DROP INDEX object_versions_recorded_at;
DROP INDEX objects_last_seq;
