DROP TABLE peer_key_history;
DROP TABLE hub_key_announcements;
DROP TABLE identity_keys;
