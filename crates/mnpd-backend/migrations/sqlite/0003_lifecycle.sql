-- Approval of a version for the platform's host applications, release,
-- rollback and preview.

CREATE TABLE approvals (
    approval_no TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status INTEGER NOT NULL,
    apply_user TEXT NOT NULL,
    apply_time INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- At most one open approval per mini program, whatever races the requests run.
CREATE UNIQUE INDEX approvals_one_open ON approvals(mnp_id) WHERE status = 1;
CREATE INDEX approvals_by_version ON approvals(mnp_version_id, apply_time);
CREATE INDEX approvals_by_platform ON approvals(platform_id, apply_time);

CREATE TABLE approval_items (
    approval_no TEXT NOT NULL REFERENCES approvals(approval_no),
    application_id TEXT NOT NULL,
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    approval_user TEXT NOT NULL DEFAULT '',
    approval_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (approval_no, application_id)
);
CREATE INDEX approval_items_by_application ON approval_items(application_id);

-- Every change of the online version, in order.
CREATE TABLE releases (
    release_id INTEGER PRIMARY KEY AUTOINCREMENT,
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    platform_id TEXT NOT NULL,
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    -- 'release' or 'rollback'
    kind TEXT NOT NULL,
    release_user TEXT NOT NULL,
    released_at INTEGER NOT NULL
);
CREATE INDEX releases_by_mnp ON releases(mnp_id, release_id);

-- The version users get now; no row means nothing is online.
CREATE TABLE online_versions (
    mnp_id TEXT PRIMARY KEY REFERENCES mini_programs(mnp_id),
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    release_id INTEGER NOT NULL REFERENCES releases(release_id),
    updated_at INTEGER NOT NULL
);

-- The preview (ConfigureMNPPreview) and trial (ModifyMNPVersionPreview)
-- version of a mini program, at most one of each.
CREATE TABLE previews (
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    kind TEXT NOT NULL,
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    entrance_path TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mnp_id, kind)
);

-- Server-wide settings shared by every node, e.g. the key that signs
-- package download URLs.
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
