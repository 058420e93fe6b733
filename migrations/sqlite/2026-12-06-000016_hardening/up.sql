-- Issue 16 (hardening against a probing member).
--
-- Audit checkpoints published to members in the change feed: a signed, blinded
-- commitment to the head of the (keyed) audit chain at a time, numbered from the change
-- feed's sequence like object versions and rating events. Members' clients keep them;
-- `renkei-hub audit verify --checkpoint FILE` fails when the log no longer extends one.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- Changes that widen a published item's audience (a looser label) or rewrite its
-- content (a correction), made by an organisation whose submissions the moderation
-- policy queues: they wait here for a coordinator, the item unchanged until then.
-- `envelope` and `body` are the item as it would become (JSON of the schema's
-- Envelope and Body); `base_revision` the revision it applies to.
CREATE TABLE pending_changes (
    id TEXT PRIMARY KEY,
    queued_seq BIGINT NOT NULL UNIQUE,
    object_id TEXT NOT NULL,
    base_revision BIGINT NOT NULL,
    change TEXT NOT NULL,
    envelope TEXT NOT NULL,
    body TEXT NOT NULL,
    detail TEXT NOT NULL,
    submitter_org TEXT NOT NULL,
    submitted_token TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    queued_because TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Who decided, when, and why (JSON), once decided.
    decision TEXT
);
CREATE INDEX pending_changes_object ON pending_changes (object_id);
CREATE INDEX pending_changes_open ON pending_changes (queued_seq) WHERE state = 'open';
