DROP TABLE assessment_schemes;
