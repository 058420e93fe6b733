-- Supplier and offering ratings, materialised so procurement filters, rating history
-- and rating-change events need no recomputation per request. A rating is derived from
-- the assessments its viewer may read, and viewers differ only through TLP:RED
-- assessments they submitted or are named on (`renkei_schema::tlp::readers_apart`):
-- so each subject has one rating for everyone ('*') plus one per such organisation.

-- The current rating of a subject (a supplier or an offering) for an audience.
CREATE TABLE supplier_ratings (
    subject_id TEXT NOT NULL,
    audience TEXT NOT NULL,
    scheme_id TEXT NOT NULL,
    -- The scheme version it was computed under (a newer one makes it out of date).
    scheme_version TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    tier TEXT,
    -- The flags as ',STALE,CONTESTED,' (empty: ',').
    flags TEXT NOT NULL,
    has_inputs BOOLEAN NOT NULL,
    -- The whole rating (renkei_schema::supply::rating::Rating) as JSON.
    rating TEXT NOT NULL,
    -- When time alone (an expiry, staleness) next changes it.
    next_change_at TEXT,
    updated_seq BIGINT NOT NULL,
    PRIMARY KEY (subject_id, audience, scheme_id)
);
CREATE INDEX supplier_ratings_supplier ON supplier_ratings (supplier_id);
CREATE INDEX supplier_ratings_due ON supplier_ratings (next_change_at);

-- Organisations with a rating of their own for a supplier's subjects, from `since_seq`
-- on (before it they followed the '*' rating).
CREATE TABLE rating_audiences (
    supplier_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    since_seq BIGINT NOT NULL,
    PRIMARY KEY (supplier_id, org_id)
);
CREATE INDEX rating_audiences_org ON rating_audiences (org_id);

-- Rating changes that matter, signed by the hub: the rating history, and entries of the
-- change feed numbered from the same sequence as object versions.
CREATE TABLE rating_events (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    audience TEXT NOT NULL,
    scheme_id TEXT NOT NULL,
    tlp TEXT NOT NULL,
    recipients TEXT NOT NULL,
    worsened BOOLEAN NOT NULL,
    at TEXT NOT NULL,
    stix TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX rating_events_subject ON rating_events (subject_id, seq);
-- "Worsened within N days" for a page of candidate suppliers.
CREATE INDEX rating_events_worsened ON rating_events (supplier_id, at) WHERE worsened;

-- Changes with every supplier added or approved; the hub's in-memory name index for
-- supplier search reloads when it does.
INSERT INTO hub_meta (key, value) VALUES ('registry_version', '0');
