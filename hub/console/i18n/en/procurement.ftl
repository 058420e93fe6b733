# renkei console, procurement pages: English (the Japanese twin is ../ja/procurement.ftl).
