DROP TABLE hub_keys;
DROP TABLE received_objects;
DROP TABLE peer_status;
DROP TABLE peers;
