DROP TABLE offerings;
DROP TABLE suppliers;
