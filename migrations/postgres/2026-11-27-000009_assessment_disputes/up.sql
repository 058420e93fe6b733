-- A supplier's dispute of an assessment, recorded by a coordinator. While a dispute is
-- open the assessment does not count towards ratings (the reference model's rule);
-- resolving it (upheld or dismissed) ends that.
CREATE TABLE assessment_disputes (
    id TEXT PRIMARY KEY,
    assessment_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    state TEXT NOT NULL,
    resolution TEXT,
    resolved_at TEXT
);
CREATE INDEX assessment_disputes_assessment ON assessment_disputes (assessment_id);
