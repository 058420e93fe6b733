DELETE FROM hub_meta WHERE key = 'allowlist_version';
DROP TABLE allowlist_entries;
