# renkei console, admin pages: English (the Japanese twin is ../ja/admin.ftl).
