-- Which supplier each assessment is about, so a supplier's assessments (and its
-- rating) are found by an index probe rather than a scan of every assessment. Written
-- in the transaction that publishes the assessment.
CREATE TABLE assessment_subjects (
    object_id TEXT PRIMARY KEY,
    supplier_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL
);
CREATE INDEX assessment_subjects_supplier ON assessment_subjects (supplier_id, first_seq);
