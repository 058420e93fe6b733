-- The supplier of each offering the register names, so an asset or risk that names only
-- an offering still depends on that offering's supplier (and, through it, on the
-- subcontractors the supplier's offerings rely on).
CREATE TABLE offering_suppliers (
    offering TEXT PRIMARY KEY NOT NULL,
    supplier TEXT NOT NULL
);
CREATE INDEX offering_suppliers_supplier ON offering_suppliers (supplier);
