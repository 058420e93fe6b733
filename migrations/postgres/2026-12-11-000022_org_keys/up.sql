-- Sealed TLP:RED: the organisations' public keys (`renkei_schema::seal`). Each row is a
-- key as its organisation registered it (`registration`: the JSON of
-- `KeyRegistration`, signed by the key itself and, for a rotation or a second
-- installation, introduced by a key the organisation already had). Keys are never
-- deleted: members need old keys to verify what was signed with them. A key is
-- current (sealed to) while not revoked and named in no other key's `replaces`.
CREATE TABLE org_keys (
    key_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    registration TEXT NOT NULL,
    introduced_by TEXT,
    replaces TEXT,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    -- Registered without an introduction while its organisation had current keys (a
    -- second installation): not sealed to until one of them introduces it.
    pending BOOLEAN NOT NULL DEFAULT FALSE,
    registered_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE INDEX org_keys_org ON org_keys (org_id);
