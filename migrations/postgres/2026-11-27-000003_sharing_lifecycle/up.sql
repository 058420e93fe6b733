-- Sharing lifecycle: organisation trust levels (the moderation policy routes by them),
-- the moderation record of every queued submission, and sightings (side data of an
-- indicator: never a new version of it, so they cannot start sync loops).

ALTER TABLE organizations ADD COLUMN trust TEXT NOT NULL DEFAULT 'standard';

-- One row per queued submission (a share call), not per item: queuing a batch of
-- 1,000 indicators costs one row, not 1,000 (measured: per-item rows made the moderated
-- share path 25 % slower than the direct one). Which items are still pending is the
-- items' own status; `is_open` turns false once none is. Items queued for their own
-- reason (e.g. forced past an allowlist) have it in `item_reasons` (JSON, id → reason).
CREATE TABLE moderation (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    submitter_org TEXT NOT NULL,
    submitted_token TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    queued_because TEXT NOT NULL,
    item_reasons TEXT NOT NULL,
    is_open BOOLEAN NOT NULL
);
CREATE INDEX moderation_open ON moderation (is_open, first_seq);
CREATE INDEX moderation_range ON moderation (first_seq);

CREATE TABLE sightings (
    id TEXT COLLATE "C" PRIMARY KEY,
    object_id TEXT COLLATE "C" NOT NULL,
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
