DROP TABLE items; DROP TABLE settings;
