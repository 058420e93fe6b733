-- The member's local register: settings (hub address, pinned hub key, feed cursor)
-- and the shared items the member holds, as the hub signed them.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per item (its latest version): indicators, techniques, incidents, advisories,
-- supplier assessments and rating-change events.
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    tlp TEXT NOT NULL,
    seq BIGINT NOT NULL,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX items_kind ON items (kind);
