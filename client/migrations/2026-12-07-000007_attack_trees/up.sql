-- Attack trees (handbook 5.2, business-damage-based analysis): one row per tree, the
-- tree itself as JSON in `body` (as `renkei tree export` writes it), and one row per
-- leaf, looked up by the ATT&CK technique a shared item names, with the titles from
-- the leaf up to the damage (`path`, JSON) that the flag it raises shows. Both are
-- written together by `trees::import`.
CREATE TABLE attack_trees (
    id TEXT PRIMARY KEY,
    -- The business-damage-based risk the tree analyses.
    risk_id TEXT NOT NULL,
    damage TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX attack_trees_risk ON attack_trees (risk_id);

CREATE TABLE attack_tree_leaves (
    tree_id TEXT NOT NULL,
    node TEXT NOT NULL,
    technique TEXT NOT NULL,
    asset TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (tree_id, node)
);
CREATE INDEX attack_tree_leaves_technique ON attack_tree_leaves (technique);
