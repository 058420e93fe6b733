DROP TABLE unopened_items;
DROP TABLE sealed_items;
DROP TABLE org_keys;
