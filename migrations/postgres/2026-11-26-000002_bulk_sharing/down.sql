CREATE INDEX objects_indicator_value ON objects (indicator_value);
ALTER TABLE object_versions ADD CONSTRAINT object_versions_object_id_revision_key UNIQUE (object_id, revision);
ALTER TABLE object_versions ALTER COLUMN object_id TYPE TEXT COLLATE "default";
ALTER TABLE objects
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN kind TYPE TEXT COLLATE "default",
    ALTER COLUMN indicator_value TYPE TEXT COLLATE "default";
ALTER TABLE objects ADD CONSTRAINT objects_submitter_org_fkey FOREIGN KEY (submitter_org) REFERENCES organizations (id);
ALTER TABLE object_versions ADD CONSTRAINT object_versions_object_id_fkey FOREIGN KEY (object_id) REFERENCES objects (id);
