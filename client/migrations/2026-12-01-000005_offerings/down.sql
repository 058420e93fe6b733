DROP TABLE offering_suppliers;
