CREATE INDEX objects_indicator_value ON objects (indicator_value);
