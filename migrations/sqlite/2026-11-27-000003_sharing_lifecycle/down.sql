DROP TABLE sightings;
DROP TABLE moderation;
ALTER TABLE organizations DROP COLUMN trust;
