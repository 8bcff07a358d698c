-- SQLite's approvals and approval items get the `seq` columns PostgreSQL
-- has had since 0003 (migrations/sqlite/0006_insertion_order.sql); this
-- no-op keeps the two schemas' histories in step.
SELECT 1;
