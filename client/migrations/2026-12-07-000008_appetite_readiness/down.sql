DROP TABLE readiness_intel;
DROP TABLE readiness_reviews;
DROP TABLE readiness;
DROP TABLE own_incidents;
DROP TABLE appetite_statements;
