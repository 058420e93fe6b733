-- The member's assets: what it runs, which business services they support, and what
-- threat information is matched against (CPE vendor and product, ATT&CK for ICS asset
-- types, the hub's supplier and offering ids).
CREATE TABLE assets (
    -- The member's own name for the asset, its key (a re-import updates it).
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- JSON arrays.
    services TEXT NOT NULL,
    criticality INTEGER NOT NULL,
    vendor TEXT,
    product TEXT,
    version TEXT,
    cpe TEXT,
    cpe_vendor TEXT,
    cpe_product TEXT,
    ics_asset_types TEXT NOT NULL,
    supplier_ids TEXT NOT NULL,
    offering_ids TEXT NOT NULL,
    zone TEXT,
    exposure TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_cpe ON assets (cpe_vendor, cpe_product);
