DELETE FROM hub_meta WHERE key = 'registry_version';
DROP TABLE rating_events;
DROP TABLE rating_audiences;
DROP TABLE supplier_ratings;
