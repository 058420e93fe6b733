ALTER TABLE peer_status DROP COLUMN sightings_cursor;
DROP TABLE received_sightings;
DROP TABLE sighting_changes;
