DROP TABLE pending_tombstones;
CREATE TABLE items_by_key (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    tlp TEXT NOT NULL,
    seq BIGINT NOT NULL,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at TEXT NOT NULL
);
INSERT OR REPLACE INTO items_by_key SELECT id, kind, revision, tlp, seq, stix, signature, received_at FROM items ORDER BY rowid;
DROP TABLE items;
ALTER TABLE items_by_key RENAME TO items;
CREATE INDEX items_kind ON items (kind);
