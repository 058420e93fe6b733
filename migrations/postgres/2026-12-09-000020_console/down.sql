DROP INDEX object_versions_object;
DROP INDEX objects_first_seq;
DROP INDEX objects_submitter;
DROP TABLE console_enrolments;
DROP TABLE second_factors;
DROP TABLE console_sessions;
