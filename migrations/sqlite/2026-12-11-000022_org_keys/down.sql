DROP TABLE org_keys;
