-- Approvals and their items get `seq`, their insertion order, as they have
-- on PostgreSQL, so that one query text orders them alike on both engines
-- (ties between approvals of the same apply_time; an approval's items as
-- they were given). It used to be the implicit rowid; the rebuilt tables
-- keep each row's rowid as its seq, so nothing recorded changes order.
-- SQLite cannot add such a column in place: both tables are rebuilt, the
-- child table after its parent, so that no foreign key is ever dangling.

CREATE TABLE approvals_rebuilt (
    -- The rowid: insertion order.
    seq INTEGER PRIMARY KEY,
    approval_no TEXT NOT NULL UNIQUE,
    platform_id TEXT NOT NULL,
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status INTEGER NOT NULL,
    apply_user TEXT NOT NULL,
    apply_time INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO approvals_rebuilt (seq, approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at)
    SELECT rowid, approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at
    FROM approvals;

CREATE TABLE approval_items_kept AS SELECT rowid AS seq, * FROM approval_items;
DROP TABLE approval_items;
DROP TABLE approvals;
ALTER TABLE approvals_rebuilt RENAME TO approvals;

CREATE TABLE approval_items (
    -- The rowid: insertion order.
    seq INTEGER PRIMARY KEY,
    approval_no TEXT NOT NULL REFERENCES approvals(approval_no),
    application_id TEXT NOT NULL,
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    approval_user TEXT NOT NULL DEFAULT '',
    approval_time INTEGER NOT NULL DEFAULT 0,
    UNIQUE (approval_no, application_id)
);
INSERT INTO approval_items (seq, approval_no, application_id, status, note, approval_user, approval_time)
    SELECT seq, approval_no, application_id, status, note, approval_user, approval_time
    FROM approval_items_kept;
DROP TABLE approval_items_kept;

-- The indexes of 0003 and 0005, gone with the old tables.
CREATE UNIQUE INDEX approvals_one_open ON approvals(mnp_id) WHERE status = 1;
CREATE INDEX approvals_by_version ON approvals(mnp_version_id, apply_time);
CREATE INDEX approvals_by_platform ON approvals(platform_id, apply_time);
CREATE INDEX approvals_by_mnp ON approvals(mnp_id, apply_time);
CREATE INDEX approval_items_by_application ON approval_items(application_id);
