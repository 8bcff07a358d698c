-- The package of a failed task is collected soon after the failure, by
-- whichever node sweeps first: this is when that happened (NULL: not yet).
-- Failed tasks from before this migration are swept once.
ALTER TABLE tasks ADD COLUMN package_collected_at INTEGER;
CREATE INDEX tasks_failed_uncollected ON tasks(updated_at)
    WHERE status = 30 AND package_collected_at IS NULL;
