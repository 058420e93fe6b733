-- Issue 20 (one identity per hub, however many replicas).
--
-- The hub's keys, kept in the database (every replica on it has the same), each sealed
-- with ChaCha20-Poly1305 under the operator's key-encryption key (KEK), a file the
-- database never holds: `sealed` is hex of the nonce and the ciphertext, its associated
-- data naming the hub, the key's purpose and its id. `purpose` is `signing` (Ed25519,
-- PKCS#8; `public_key` base64url, `from_seq` the first feed sequence number it signs),
-- `token` (the HMAC key token digests are stored under) or `audit` (the HMAC key that
-- chains the audit log). `hub_meta` names the current ones (`signing_key_id`,
-- `token_key_id`). A signing key replaced by `renkei-hub key rotate` stays, `retired`:
-- the versions it signed still verify with it.
CREATE TABLE identity_keys (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    public_key TEXT,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    from_seq BIGINT,
    retired BOOLEAN NOT NULL DEFAULT FALSE
);

-- Announcements of a new signing key in the change feed (kind `hub-key`), numbered
-- from the feed's sequence like versions and checkpoints, each signed by the key it
-- replaces: members and peer hubs verify it with the key they pinned, then pin the new.
CREATE TABLE hub_key_announcements (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- The keys a peer hub signed its own versions with, as this hub followed its
-- announcements over a link: each from the peer's sequence number on which it signs
-- (the key the link was added with signs from 0).
CREATE TABLE peer_key_history (
    link TEXT NOT NULL,
    public_key TEXT NOT NULL,
    from_seq BIGINT NOT NULL,
    learned_at TEXT NOT NULL,
    PRIMARY KEY (link, from_seq)
);
