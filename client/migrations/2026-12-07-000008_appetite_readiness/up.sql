-- Risk appetite and tolerance (handbook 5.1): per business service, at most one
-- statement of each kind (appetite: what the member aims for; tolerance: the hard limit).
CREATE TABLE appetite_statements (
    service TEXT NOT NULL,
    kind TEXT NOT NULL,
    max_incidents INTEGER NOT NULL,
    period_days INTEGER NOT NULL,
    max_degradation DOUBLE NOT NULL,
    max_outage_hours DOUBLE,
    statement TEXT NOT NULL,
    statement_ja TEXT NOT NULL,
    -- Raised by each change: a flag resolved under the old limits is raised again
    -- under new ones.
    revision INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (service, kind)
);

-- The member's own incidents (the sector's come from the hub as items). Times are
-- RFC 3339 UTC with seconds (`2026-12-07T05:00:00Z`), so text order is time order.
-- AUTOINCREMENT: an id is never reused, so a newer incident always has a larger one.
CREATE TABLE own_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    service TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    degradation DOUBLE NOT NULL,
    title TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (service, started_at)
);
CREATE INDEX own_incidents_started ON own_incidents (started_at);

-- Contingency readiness (handbook 7, annex): the plan's answer per trait (1-7).
CREATE TABLE readiness (
    trait INTEGER PRIMARY KEY NOT NULL,
    answer TEXT NOT NULL,
    evidence TEXT NOT NULL,
    review_days INTEGER NOT NULL,
    risks TEXT NOT NULL,
    trees TEXT NOT NULL,
    owner TEXT,
    reviewed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every review of a trait, kept.
CREATE TABLE readiness_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    trait INTEGER NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    -- The shared items the review answered (JSON list of ids).
    answered TEXT NOT NULL
);
CREATE INDEX readiness_reviews_trait ON readiness_reviews (trait);

-- Shared intelligence that bears on a trait, noted at sync; pending until a review
-- (reviewed_at NULL). Kept after it, so the same revision does not make the trait due
-- again.
CREATE TABLE readiness_intel (
    trait INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    item_kind TEXT NOT NULL,
    item_revision BIGINT NOT NULL,
    reason TEXT NOT NULL,
    reason_ja TEXT NOT NULL,
    noted_at TEXT NOT NULL,
    reviewed_at TEXT,
    PRIMARY KEY (trait, item_id)
);
