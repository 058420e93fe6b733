DROP TABLE assessment_disputes;
