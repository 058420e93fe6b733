-- Supplier registry (hub reference data): suppliers and their offerings. Created by
-- coordinators (active at once) or proposed by members (status 'proposed' until a
-- coordinator approves). Lists are JSON arrays; `search_text` holds every name, alias
-- and the corporate number in lower case for name search in either language.
CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,
    legal_name TEXT NOT NULL,
    name_ja TEXT NOT NULL,
    name_en TEXT,
    aliases TEXT NOT NULL,
    corporate_number TEXT UNIQUE,
    lei TEXT,
    country TEXT NOT NULL,
    parent_id TEXT,
    cpe_vendors TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT,
    created_at TEXT NOT NULL,
    search_text TEXT NOT NULL
);

CREATE TABLE offerings (
    id TEXT PRIMARY KEY,
    supplier_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    cpe_products TEXT NOT NULL,
    versions TEXT NOT NULL,
    sectors TEXT NOT NULL,
    subcontractors TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX offerings_supplier ON offerings (supplier_id);
