-- Sealed TLP:RED (issue 22). The organisations' public keys this register trusts:
-- pinned at first sight, or introduced by a key pinned before (renkei_schema::seal).
CREATE TABLE org_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    org TEXT NOT NULL,
    -- The OrgKey as signed (JSON).
    public TEXT NOT NULL,
    pinned_at TEXT NOT NULL
);
CREATE INDEX org_keys_org ON org_keys (org);

-- Sealed items opened into `items`: what the hub signed (the sealed object; `items.stix`
-- holds the opened one) and who signed the content.
CREATE TABLE sealed_items (
    id TEXT PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    sealed TEXT NOT NULL,
    sender_org TEXT,
    sender_key TEXT,
    opened_at TEXT NOT NULL
);

-- Sealed items that did not open or did not check: kept, reported, and tried again by
-- every sync (a sender's key may not have been known yet).
CREATE TABLE unopened_items (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    tlp TEXT NOT NULL,
    seq BIGINT NOT NULL,
    sealed TEXT NOT NULL,
    signature TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL
);
