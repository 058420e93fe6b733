-- Issue 18 (interop: TAXII 2.1, STIX and MISP).
--
-- A TAXII collection's objects are the current versions of shared items in the order
-- this hub added them (date_added, strictly increasing with the sequence): pages are
-- read by the current version's sequence, and `added_after` finds its first sequence
-- through when versions were recorded.
CREATE INDEX objects_last_seq ON objects (last_seq);
CREATE INDEX object_versions_recorded_at ON object_versions (recorded_at);

-- The status of a TAXII POST (TAXII 2.1 section 4.3), readable by the organisation
-- that posted it until `expires_at`. `body` is the status resource as served.
CREATE TABLE taxii_status (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX taxii_status_expires ON taxii_status (expires_at);
