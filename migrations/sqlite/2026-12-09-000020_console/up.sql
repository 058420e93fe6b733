-- Issue 19 (the web console).
--
-- A console session: the browser holds a random secret in an HttpOnly cookie; the hub
-- keeps its SHA-256 only, with the token the person signed in with. `stage` is
-- 'second-factor' until the person proved a second factor (or 'enrol' while a
-- coordinator without one registers theirs), then 'active'. Sessions end at
-- `absolute_until`, or when idle past the configured time (`last_seen` is refreshed
-- at most once a minute), or at sign-out (the row is deleted).
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    stage TEXT NOT NULL,
    challenge TEXT,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    absolute_until TEXT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);

-- Second factors of a token's holder (handbook 11.4.2.3: hardware keys first, TOTP as
-- the fallback). A WebAuthn credential keeps its id (base64url), its public key (SEC1,
-- hex) and its signature counter; a TOTP factor its secret (sealed with a key derived from the hub's token key file, never in the clear) and the last time step
-- used, so a code is accepted once.
CREATE TABLE second_factors (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    credential_id TEXT,
    public_key TEXT,
    secret TEXT,
    counter BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX second_factors_token ON second_factors (token_id);

-- One-time enrolment codes (`renkei-hub token enrol ID`): a coordinator's first second
-- factor is registered with the token and this code together, so a token alone never
-- suffices to enrol a key. Only the code's digest is kept.
CREATE TABLE console_enrolments (
    token_id TEXT PRIMARY KEY,
    code_digest TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- "My submissions" in the console: an organisation's newest items.
CREATE INDEX objects_submitter ON objects (submitter_org, first_seq);

-- The coordinators' dashboard counts what was first shared today: the newest items by
-- their first sequence number, whatever their kind.
CREATE INDEX objects_first_seq ON objects (first_seq);

-- An item's versions (its page's history, TAXII's versions endpoint) by its id.
CREATE INDEX object_versions_object ON object_versions (object_id, seq);
