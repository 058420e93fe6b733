# renkei コンソール（procurement）：日本語（英語は ../en/procurement.ftl）。
