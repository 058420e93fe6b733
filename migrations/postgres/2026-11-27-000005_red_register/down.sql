DROP INDEX objects_red;
