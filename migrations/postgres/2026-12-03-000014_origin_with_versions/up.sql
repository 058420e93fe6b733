-- What came from a peer hub is recorded with the version itself rather than in a table of
-- its own: `origin` holds, as JSON, the origin hub, its key, its signature, the submitter
-- as the origin names it, the path of hubs crossed and the link it came through (NULL
-- for versions made here). The separate `received_objects` row cost a COPY and a B-tree
-- insert at a random key per received object: about a fifth of replication throughput
-- (federation-bench with and without it).
ALTER TABLE object_versions ADD COLUMN origin TEXT;

UPDATE object_versions v
SET origin = json_build_object(
        'hub', r.origin_hub, 'key', r.origin_key, 'signature', r.origin_signature,
        'createdBy', r.origin_created_by, 'path', r.path::json, 'via', r.via_peer)::text
FROM received_objects r
JOIN objects o ON o.id = r.object_id
WHERE v.seq = o.last_seq;

DROP TABLE received_objects;
