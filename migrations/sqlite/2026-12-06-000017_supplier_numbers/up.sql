-- A corporate number is unique among active suppliers only (see the PostgreSQL
-- migration for why). SQLite cannot drop a column's UNIQUE constraint, so the table is
-- rebuilt; nothing references it by foreign key.
CREATE TABLE suppliers_rebuilt (
    id TEXT PRIMARY KEY,
    legal_name TEXT NOT NULL,
    name_ja TEXT NOT NULL,
    name_en TEXT,
    aliases TEXT NOT NULL,
    corporate_number TEXT,
    lei TEXT,
    country TEXT NOT NULL,
    parent_id TEXT,
    cpe_vendors TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT,
    created_at TEXT NOT NULL,
    search_text TEXT NOT NULL
);
INSERT INTO suppliers_rebuilt SELECT id, legal_name, name_ja, name_en, aliases, corporate_number, lei, country,
    parent_id, cpe_vendors, status, proposed_by, created_at, search_text FROM suppliers;
DROP TABLE suppliers;
ALTER TABLE suppliers_rebuilt RENAME TO suppliers;
CREATE UNIQUE INDEX suppliers_active_corporate_number ON suppliers (corporate_number) WHERE status = 'active';
CREATE INDEX suppliers_corporate_number ON suppliers (corporate_number);
