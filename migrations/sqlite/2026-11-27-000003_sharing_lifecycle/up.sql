-- Sharing lifecycle: organisation trust levels (the moderation policy routes by them),
-- the moderation record of every queued submission, and sightings (side data of an
-- indicator: never a new version of it, so they cannot start sync loops).

ALTER TABLE organizations ADD COLUMN trust TEXT NOT NULL DEFAULT 'standard';

-- One row per submission that went through the queue; `decision` is NULL while the
-- item is pending. The queue reads this small table, not `objects`.
CREATE TABLE moderation (
    object_id TEXT PRIMARY KEY,
    -- The object's first sequence number: the queue's order (submission order).
    seq BIGINT NOT NULL,
    submitter_org TEXT NOT NULL,
    submitted_token TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    queued_because TEXT NOT NULL,
    decision TEXT,
    decided_by_org TEXT,
    decided_by_token TEXT,
    decided_at TEXT,
    reason TEXT,
    changes TEXT
);
CREATE INDEX moderation_pending ON moderation (decision, seq);

CREATE TABLE sightings (
    id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    anonymous BOOLEAN NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX sightings_object ON sightings (object_id);
