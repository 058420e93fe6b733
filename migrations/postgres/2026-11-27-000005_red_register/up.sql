-- Coordinators see that a TLP:RED item they are not named on exists (the
-- `restrictedItems` query). Only RED rows are indexed, so sharing anything else pays
-- nothing for it; the query spells the predicate out literally so the planner can
-- use this partial index.
CREATE INDEX objects_red ON objects (first_seq) WHERE tlp = 'TLP:RED';
