-- The first schema, as migrations/sqlite/0001_init.sql in PostgreSQL's
-- dialect. Text columns compare byte-wise (COLLATE "C"), as SQLite's BINARY
-- collation does, so that listings order and lower() behave the same on
-- both engines whatever the database's locale.

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    secret_id TEXT COLLATE "C" PRIMARY KEY,
    secret_key TEXT COLLATE "C" NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE platforms (
    platform_id TEXT COLLATE "C" PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    team_id TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    name TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX teams_platform ON teams(platform_id, created_at);

CREATE TABLE mini_programs (
    mnp_id TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    team_id TEXT COLLATE "C" NOT NULL REFERENCES teams(team_id),
    name TEXT COLLATE "C" NOT NULL,
    mnp_type TEXT COLLATE "C" NOT NULL,
    icon TEXT COLLATE "C" NOT NULL,
    intro TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    status BIGINT NOT NULL DEFAULT 0,
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    update_user TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT mini_programs_name_unique UNIQUE (platform_id, name)
);
CREATE INDEX mini_programs_listing ON mini_programs(platform_id, created_at);

CREATE TABLE tasks (
    task_id TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL,
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version TEXT COLLATE "C" NOT NULL,
    file_url TEXT COLLATE "C" NOT NULL,
    intro TEXT COLLATE "C" NOT NULL,
    sha256 TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    status BIGINT NOT NULL,
    msg TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT COLLATE "C",
    lease_until BIGINT,
    mnp_version_id BIGINT,
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_by_version ON tasks(mnp_id, mnp_version);
CREATE INDEX tasks_queue ON tasks(status, created_at);

-- mnp_version_id comes from the column's sequence: unique across nodes,
-- never handed out twice.
CREATE TABLE versions (
    mnp_version_id BIGSERIAL PRIMARY KEY,
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    platform_id TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    intro TEXT COLLATE "C" NOT NULL,
    sha256 TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    manifest TEXT COLLATE "C" NOT NULL,
    task_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES tasks(task_id),
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT versions_number_unique UNIQUE (mnp_id, version)
);
