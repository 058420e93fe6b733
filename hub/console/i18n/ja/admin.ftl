# renkei コンソール（admin）：日本語（英語は ../en/admin.ftl）。
