DROP TABLE pending_changes;
DROP TABLE audit_checkpoints;
