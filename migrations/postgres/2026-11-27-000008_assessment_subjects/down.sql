DROP TABLE assessment_subjects;
