-- Federation: links to peer hubs, what came in over them, and the signing keys of the
-- origin hubs learned through them.

-- One row per peer hub, by a local name; `hub_id` is the id it signs as (origin_hub),
-- learned at first contact and fixed from then on. The peer reads this hub's feed with tokens of
-- organisation `org_id` (role peer) when the direction is push or both; this hub pulls
-- from `url` with `token` when it is pull or both.
CREATE TABLE peers (
    name TEXT PRIMARY KEY,
    hub_id TEXT,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    public_key TEXT NOT NULL,
    max_tlp TEXT NOT NULL,
    community BOOLEAN NOT NULL,
    direction TEXT NOT NULL,
    kinds TEXT NOT NULL,
    token TEXT,
    ca_pem TEXT,
    -- SHA-256 (hex) of the client certificate the peer must present (mTLS); NULL: none.
    client_cert_sha256 TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX peers_org ON peers (org_id);

-- Where pulling from each peer stands: the cursor in its feed (committed with the
-- objects of each page), its newest sequence number when last asked, and counts.
CREATE TABLE peer_status (
    name TEXT PRIMARY KEY REFERENCES peers (name) ON DELETE CASCADE,
    cursor BIGINT NOT NULL DEFAULT 0,
    peer_head BIGINT NOT NULL DEFAULT 0,
    received BIGINT NOT NULL DEFAULT 0,
    refused TEXT NOT NULL DEFAULT '{}',
    last_error TEXT,
    last_attempt_at TEXT,
    last_success_at TEXT
);

-- Items received from a peer: the origin's signature and key, the submitting
-- organisation as the origin names it (the local row files the item under the link's
-- organisation), the path of hubs they crossed (origin first, the hub they came from
-- last) and the link they came through.
CREATE TABLE received_objects (
    object_id TEXT PRIMARY KEY,
    origin_hub TEXT NOT NULL,
    origin_key TEXT NOT NULL,
    origin_signature TEXT NOT NULL,
    origin_created_by TEXT NOT NULL,
    path TEXT NOT NULL,
    via_peer TEXT NOT NULL,
    received_at TEXT NOT NULL
);

-- The Ed25519 key of every origin hub met, pinned at first sight: another key for the
-- same hub is refused.
CREATE TABLE hub_keys (
    hub TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    learned_via TEXT NOT NULL,
    learned_at TEXT NOT NULL
);
