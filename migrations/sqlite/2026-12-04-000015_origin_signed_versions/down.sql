-- The origin's signature goes back into `origin`. This hub's own signatures of received
-- versions cannot be made again in SQL: under the earlier code their `signature` stays
-- the origin's, which members' clients of that code refuse until the items are received
-- anew.
UPDATE object_versions
SET origin = json_set(origin, '$.signature', signature)
WHERE origin IS NOT NULL;
