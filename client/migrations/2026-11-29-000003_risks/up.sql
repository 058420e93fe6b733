-- The risk register proper: services, risks (with every revision kept), the CSF
-- profile, reassessment flags, and what matching needs (link tables indexed by the
-- value an incoming item names, the ATT&CK for ICS `targets` relation, the supplier
-- chain from the hub's registry).
-- Links are kept by the code that writes their owner (assets, risks) in the same
-- transaction; SQLite foreign keys are off in the register.

-- What an asset is matched on: kind is cpe (vendor:product from its CPE), product
-- (vendor:product from its free-text vendor and product), ics (an ATT&CK for ICS asset
-- type), supplier or offering (hub registry ids).
CREATE TABLE asset_links (
    asset TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (asset, kind, value)
);
CREATE INDEX asset_links_value ON asset_links (kind, value);

-- Business services (handbook 4, 5.1): the anchor of business-damage-based analysis.
CREATE TABLE services (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per risk, its latest revision; `body` is the whole risk (JSON), the other
-- columns what lists sort and filter on.
CREATE TABLE risks (
    id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    -- Index of the current rating's level in the matrix (-1: not rated).
    level INTEGER NOT NULL,
    score INTEGER NOT NULL,
    matrix_version INTEGER NOT NULL,
    last_reviewed_at TEXT NOT NULL,
    body TEXT NOT NULL
);

-- Every revision, append-only: a re-rating never overwrites the one before.
CREATE TABLE risk_revisions (
    risk_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (risk_id, revision)
);

-- What a risk is matched on: technique, cve, supplier, offering, asset, service.
CREATE TABLE risk_links (
    risk_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (risk_id, kind, value)
);
CREATE INDEX risk_links_value ON risk_links (kind, value);

-- The NIST CSF 2.0 profile (handbook 4.2, 6.1): current and target tier per function
-- or category.
CREATE TABLE profile (
    area TEXT PRIMARY KEY,
    current_tier INTEGER NOT NULL,
    target_tier INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    note TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Reassessment flags. `source` is the item that triggered it (its id) or an internal
-- source (review, acceptance, matrix, asset:NAME); at most one open flag per risk and
-- source, updated when the source changes again.
CREATE TABLE flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    risk_id TEXT NOT NULL,
    source TEXT NOT NULL,
    source_revision INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    quality TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolution TEXT
);
CREATE UNIQUE INDEX flags_one_open ON flags (risk_id, source) WHERE status = 'open';
-- Flags are looked up by source (a page's items, a tombstone); the partial unique index
-- above serves lookups by risk.
CREATE INDEX flags_source ON flags (source);

-- ATT&CK for ICS `targets` (technique -> ICS asset type), from the hub's catalog.
CREATE TABLE attack_targets (
    technique TEXT NOT NULL,
    asset_type TEXT NOT NULL,
    PRIMARY KEY (technique, asset_type)
);

-- Suppliers the register depends on, as the hub's registry last described them, and
-- the subcontractors their offerings rely on (for fourth-party matching).
CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    score INTEGER,
    tier TEXT,
    fetched_at TEXT NOT NULL
);
CREATE TABLE supplier_chain (
    -- The supplier or offering relied on.
    parent TEXT NOT NULL,
    subcontractor TEXT NOT NULL,
    PRIMARY KEY (parent, subcontractor)
);
CREATE INDEX supplier_chain_sub ON supplier_chain (subcontractor);
