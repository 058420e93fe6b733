-- Framework catalogs (handbook 4.2, 6.1-6.3): the catalogs imported from OSCAL catalog
-- JSON, their controls flattened with the parent of each, the mappings between
-- catalogs, the profile per control of any catalog (replacing `profile`, which kept
-- CSF functions and categories only), and the risk treatment plan.

CREATE TABLE catalogs (
    -- Short framework id from the catalog's metadata (`nist-csf-2.0`, `cis-v8`).
    framework TEXT PRIMARY KEY NOT NULL,
    uuid TEXT NOT NULL,
    title TEXT NOT NULL,
    version TEXT NOT NULL,
    licence TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

-- Every group and control of a catalog, by its official label (`GV.OC-01`, `3.1`).
CREATE TABLE catalog_controls (
    framework TEXT NOT NULL,
    label TEXT NOT NULL,
    -- The label of the group or control it sits in (NULL at the top).
    parent TEXT,
    -- function, category, subcategory, control (or the catalog's own class).
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    title_ja TEXT,
    text TEXT NOT NULL,
    sort_order INTEGER NOT NULL,
    PRIMARY KEY (framework, label)
);
CREATE INDEX catalog_controls_parent ON catalog_controls (framework, parent);

-- How a control of one catalog relates to a control of another (CSF 2.0 informative
-- references and the like): `relationship` as the mapping file says (equivalent,
-- subset, superset, intersects...).
CREATE TABLE catalog_mappings (
    source_framework TEXT NOT NULL,
    source_label TEXT NOT NULL,
    target_framework TEXT NOT NULL,
    target_label TEXT NOT NULL,
    relationship TEXT NOT NULL,
    PRIMARY KEY (source_framework, source_label, target_framework, target_label)
);
CREATE INDEX catalog_mappings_target ON catalog_mappings (target_framework, target_label);

-- The profile (handbook 4.2, 6.1): current and target tier per control of a catalog,
-- and what the gap analysis of 6.2 weighs (motive, cost).
CREATE TABLE profile_entries (
    framework TEXT NOT NULL,
    label TEXT NOT NULL,
    current_tier INTEGER NOT NULL,
    target_tier INTEGER NOT NULL,
    -- The member's motive for closing the gap: 1 high ... 3 low, and why.
    priority INTEGER NOT NULL,
    motive TEXT NOT NULL,
    evidence TEXT NOT NULL,
    owner TEXT,
    -- low, medium or high; or an estimate in the member's own unit.
    cost TEXT NOT NULL,
    cost_estimate REAL,
    note TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (framework, label)
);
INSERT INTO profile_entries
    SELECT 'nist-csf-2.0', area, current_tier, target_tier, priority, '', '', NULL, 'medium', NULL, note, updated_at
    FROM profile;
DROP TABLE profile;
-- The old table's shape, read-only, for readers of the CSF profile by area.
CREATE VIEW profile AS
    SELECT label AS area, current_tier, target_tier, priority, note, updated_at
    FROM profile_entries WHERE framework = 'nist-csf-2.0';

-- The risk treatment plan (handbook 6.3): actions, what they close (catalog labels) and
-- treat (risks), and every change of status. Overdue is derived from `due` and status.
CREATE TABLE plan_actions (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    -- YYYY-MM-DD.
    due TEXT NOT NULL,
    cost REAL,
    -- planned, in_progress, done or cancelled.
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX plan_actions_due ON plan_actions (status, due);

-- kind `gap` (framework and label) or `risk` (framework empty, value the risk id).
CREATE TABLE plan_links (
    action_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    framework TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (action_id, kind, framework, value)
);
CREATE INDEX plan_links_value ON plan_links (kind, value);

CREATE TABLE plan_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id TEXT NOT NULL,
    at TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX plan_history_action ON plan_history (action_id);
