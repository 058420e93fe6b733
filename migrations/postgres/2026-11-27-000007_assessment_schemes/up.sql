-- Supplier assessment schemes, versioned. `body` is the scheme as JSON (criteria with
-- weights and, unless the scheme's text may not be copied, their Japanese and English
-- text). The built-in handbook 6.4 scheme is seeded by the hub right after migrating.
CREATE TABLE assessment_schemes (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    reference_only BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
