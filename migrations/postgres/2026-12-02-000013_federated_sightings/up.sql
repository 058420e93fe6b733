-- Sightings travel between hubs as aggregates (issue 6): per indicator and per hub whose
-- members reported, signed by that hub, naming no organisation.

-- Every change to what this hub knows of an indicator's sightings, in order: a report
-- by one of its members (reporting_hub is this hub) or an aggregate received from a
-- peer. Peers read it as their sightings feed, from a cursor.
CREATE TABLE sighting_changes (
    seq BIGINT PRIMARY KEY,
    object_id TEXT NOT NULL,
    reporting_hub TEXT NOT NULL
);

-- The aggregates of other hubs' members' sightings: the newest version of each, as its
-- hub signed it (canonical JSON), with the path of hubs it crossed (the reporting hub
-- first) and the link it came through.
CREATE TABLE received_sightings (
    object_id TEXT NOT NULL,
    reporting_hub TEXT NOT NULL,
    version BIGINT NOT NULL,
    aggregate TEXT NOT NULL,
    signature TEXT NOT NULL,
    reporting_key TEXT NOT NULL,
    path TEXT NOT NULL,
    via_peer TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (object_id, reporting_hub)
);

-- Where pulling a peer's sightings feed stands (committed with what each page brought).
ALTER TABLE peer_status ADD COLUMN sightings_cursor BIGINT NOT NULL DEFAULT 0;
