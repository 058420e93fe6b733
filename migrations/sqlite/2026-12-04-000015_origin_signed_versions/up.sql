-- A received version is no longer signed again by the hub that receives it: its
-- `signature` is the origin's, which members verify with the origin's key (the change
-- feed names it: `signingKey`, `originHub`). The origin's signature so leaves the `origin`
-- JSON, where it was a second copy of about 350 characters per received version, next
-- to this hub's own signature of the same object (federation-bench: a sixth of what the
-- receiving hub's database wrote per object). A tombstone made here (status revoked)
-- keeps this hub's signature.
UPDATE object_versions
SET signature = CASE WHEN status = 'revoked' THEN signature ELSE json_extract(origin, '$.signature') END,
    origin = json_remove(origin, '$.signature')
WHERE origin IS NOT NULL AND json_extract(origin, '$.signature') IS NOT NULL;
