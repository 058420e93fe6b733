-- Issue 19: a token may name the person or system holding it (`token issue --name`),
-- so the audit says who acted, not only which token.
ALTER TABLE tokens ADD COLUMN name TEXT;
