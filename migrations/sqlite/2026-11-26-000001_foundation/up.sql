-- Hub foundation: organisations, tokens, shared objects and their versions (the
-- change feed), the hash-chained audit log and the ATT&CK catalog.
-- Timestamps are RFC 3339 UTC text so both backends store and sort them alike.

CREATE TABLE hub_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sector TEXT NOT NULL,
    is_coordinator BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    role TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

CREATE TABLE objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    tlp TEXT NOT NULL,
    recipients TEXT NOT NULL,
    status TEXT NOT NULL,
    submitter_org TEXT NOT NULL REFERENCES organizations (id),
    anonymous BOOLEAN NOT NULL,
    valid_until TEXT,
    indicator_type TEXT,
    indicator_value TEXT,
    envelope TEXT NOT NULL,
    body TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
);
CREATE INDEX objects_indicator_value ON objects (indicator_value);
CREATE INDEX objects_kind_first_seq ON objects (kind, first_seq);

CREATE TABLE object_versions (
    seq BIGINT PRIMARY KEY,
    object_id TEXT NOT NULL REFERENCES objects (id),
    revision BIGINT NOT NULL,
    kind TEXT NOT NULL,
    tlp TEXT NOT NULL,
    recipients TEXT NOT NULL,
    status TEXT NOT NULL,
    submitter_org TEXT NOT NULL,
    anonymous BOOLEAN NOT NULL,
    prev_tlp TEXT,
    prev_recipients TEXT,
    prev_status TEXT,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (object_id, revision)
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_org TEXT,
    actor_token TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL,
    source TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE attack_techniques (
    attack_id TEXT PRIMARY KEY,
    stix_id TEXT NOT NULL,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    tactics TEXT NOT NULL,
    platforms TEXT NOT NULL,
    is_subtechnique BOOLEAN NOT NULL,
    revoked BOOLEAN NOT NULL,
    deprecated BOOLEAN NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE attack_tactics (
    attack_id TEXT PRIMARY KEY,
    stix_id TEXT NOT NULL,
    shortname TEXT NOT NULL,
    name TEXT NOT NULL,
    domain TEXT NOT NULL
);

CREATE TABLE attack_mitigations (
    attack_id TEXT PRIMARY KEY,
    stix_id TEXT NOT NULL,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    revoked BOOLEAN NOT NULL,
    deprecated BOOLEAN NOT NULL
);

CREATE TABLE attack_assets (
    attack_id TEXT PRIMARY KEY,
    stix_id TEXT NOT NULL,
    name TEXT NOT NULL,
    platforms TEXT NOT NULL,
    revoked BOOLEAN NOT NULL,
    deprecated BOOLEAN NOT NULL
);

CREATE TABLE attack_relations (
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (kind, source_id, target_id)
);

INSERT INTO hub_meta (key, value) VALUES ('write_lock', '0');
