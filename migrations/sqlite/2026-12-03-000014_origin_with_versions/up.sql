-- What came from a peer hub is recorded with the version itself rather than in a table of
-- its own: `origin` holds, as JSON, the origin hub, its key, its signature, the submitter
-- as the origin names it, the path of hubs crossed and the link it came through (NULL
-- for versions made here). The separate `received_objects` row cost a COPY and a B-tree
-- insert at a random key per received object: about a fifth of replication throughput
-- (federation-bench with and without it).
ALTER TABLE object_versions ADD COLUMN origin TEXT;

UPDATE object_versions
SET origin = (
    SELECT json_object(
        'hub', r.origin_hub, 'key', r.origin_key, 'signature', r.origin_signature,
        'createdBy', r.origin_created_by, 'path', json(r.path), 'via', r.via_peer)
    FROM received_objects r
    JOIN objects o ON o.id = r.object_id
    WHERE o.last_seq = object_versions.seq)
WHERE seq IN (SELECT o.last_seq FROM objects o JOIN received_objects r ON r.object_id = o.id);

DROP TABLE received_objects;
