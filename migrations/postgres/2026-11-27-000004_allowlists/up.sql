-- Hub-curated false-positive allowlists: entries as written (re-parsed when the hub
-- builds its matcher), grouped by list name. `allowlist_version` in hub_meta changes
-- with every import or removal, so every replica rebuilds its matcher.
CREATE TABLE allowlist_entries (
    list_name TEXT NOT NULL,
    entry TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (list_name, entry)
);
INSERT INTO hub_meta (key, value) VALUES ('allowlist_version', '0');
