DROP TABLE plan_history;
DROP TABLE plan_links;
DROP TABLE plan_actions;
DROP VIEW profile;
CREATE TABLE profile (
    area TEXT PRIMARY KEY,
    current_tier INTEGER NOT NULL,
    target_tier INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    note TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO profile
    SELECT label, current_tier, target_tier, priority, note, updated_at
    FROM profile_entries WHERE framework = 'nist-csf-2.0';
DROP TABLE profile_entries;
DROP TABLE catalog_mappings;
DROP TABLE catalog_controls;
DROP TABLE catalogs;
