-- A corporate number is unique among active suppliers only. A member's proposal is
-- seen by its proposer and the coordinators alone, so another member proposing the
-- same company must be answered exactly as if no proposal existed (a refusal naming
-- the hidden proposal told it one did): several proposals may carry one number, and a
-- coordinator approving one of them is refused while an active supplier has it.
ALTER TABLE suppliers DROP CONSTRAINT suppliers_corporate_number_key;
CREATE UNIQUE INDEX suppliers_active_corporate_number ON suppliers (corporate_number) WHERE status = 'active';
CREATE INDEX suppliers_corporate_number ON suppliers (corporate_number);
