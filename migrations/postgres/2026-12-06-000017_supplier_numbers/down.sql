DROP INDEX suppliers_corporate_number;
DROP INDEX suppliers_active_corporate_number;
ALTER TABLE suppliers ADD CONSTRAINT suppliers_corporate_number_key UNIQUE (corporate_number);
