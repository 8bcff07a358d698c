-- Approval of a version for the platform's host applications, release,
-- rollback and preview.

CREATE TABLE approvals (
    approval_no TEXT COLLATE "C" PRIMARY KEY,
    -- Insertion order, which breaks ties between approvals of the same
    -- apply_time (SQLite's rowid).
    seq BIGSERIAL NOT NULL UNIQUE,
    platform_id TEXT COLLATE "C" NOT NULL,
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version_id BIGINT NOT NULL REFERENCES versions(mnp_version_id),
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status BIGINT NOT NULL,
    apply_user TEXT COLLATE "C" NOT NULL,
    apply_time BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one open approval per mini program, whatever races the requests run.
CREATE UNIQUE INDEX approvals_one_open ON approvals(mnp_id) WHERE status = 1;
CREATE INDEX approvals_by_version ON approvals(mnp_version_id, apply_time);
CREATE INDEX approvals_by_mnp ON approvals(mnp_id, apply_time);
CREATE INDEX approvals_by_platform ON approvals(platform_id, apply_time);

CREATE TABLE approval_items (
    approval_no TEXT COLLATE "C" NOT NULL REFERENCES approvals(approval_no),
    application_id TEXT COLLATE "C" NOT NULL,
    -- Insertion order: an approval's items come back as they were given.
    seq BIGSERIAL NOT NULL,
    -- 1 processing, 2 rejected, 3 approved, 4 cancelled
    status BIGINT NOT NULL,
    note TEXT COLLATE "C" NOT NULL DEFAULT '',
    approval_user TEXT COLLATE "C" NOT NULL DEFAULT '',
    approval_time BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (approval_no, application_id)
);
CREATE INDEX approval_items_by_application ON approval_items(application_id);

-- Every change of the online version, in order; release_id comes from the
-- column's sequence.
CREATE TABLE releases (
    release_id BIGSERIAL PRIMARY KEY,
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    platform_id TEXT COLLATE "C" NOT NULL,
    mnp_version_id BIGINT NOT NULL REFERENCES versions(mnp_version_id),
    -- 'release' or 'rollback'
    kind TEXT COLLATE "C" NOT NULL,
    release_user TEXT COLLATE "C" NOT NULL,
    released_at BIGINT NOT NULL
);
CREATE INDEX releases_by_mnp ON releases(mnp_id, release_id);
CREATE INDEX releases_by_version ON releases(mnp_version_id);

-- The version users get now; no row means nothing is online.
CREATE TABLE online_versions (
    mnp_id TEXT COLLATE "C" PRIMARY KEY REFERENCES mini_programs(mnp_id),
    mnp_version_id BIGINT NOT NULL REFERENCES versions(mnp_version_id),
    release_id BIGINT NOT NULL REFERENCES releases(release_id),
    updated_at BIGINT NOT NULL
);

-- The preview (ConfigureMNPPreview) and trial (ModifyMNPVersionPreview)
-- version of a mini program, at most one of each.
CREATE TABLE previews (
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    kind TEXT COLLATE "C" NOT NULL,
    mnp_version_id BIGINT NOT NULL REFERENCES versions(mnp_version_id),
    entrance_path TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mnp_id, kind)
);

-- Server-wide settings shared by every node, e.g. the key that signs
-- package download URLs.
CREATE TABLE server_settings (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
