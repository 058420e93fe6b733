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

INSERT INTO received_objects
SELECT o.id, v.origin::json->>'hub', v.origin::json->>'key', v.origin::json->>'signature',
       v.origin::json->>'createdBy', (v.origin::json->'path')::text, v.origin::json->>'via', v.recorded_at
FROM objects o
JOIN object_versions v ON v.seq = o.last_seq
WHERE v.origin IS NOT NULL;

ALTER TABLE object_versions DROP COLUMN origin;
