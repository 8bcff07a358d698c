-- The console's compile task (CreateConsoleMNPVersionCompileTask) is a
-- task like CreateMNPVersion's, claimed and finished by the same workers:
-- kind 0 is a version task, 1 a compile task. A compile task's progress
-- events and measured sizes travel in `compile` (JSON, written by the
-- worker holding the lease; '' for a version task), so that every node's
-- WebSocket streams the same progress from the database.
ALTER TABLE tasks ADD COLUMN kind BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN compile TEXT COLLATE "C" NOT NULL DEFAULT '';
