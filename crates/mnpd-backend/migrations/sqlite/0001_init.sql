CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    secret_id TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE platforms (
    platform_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE teams (
    team_id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX teams_platform ON teams(platform_id, created_at);

CREATE TABLE mini_programs (
    mnp_id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    team_id TEXT NOT NULL REFERENCES teams(team_id),
    name TEXT NOT NULL,
    mnp_type TEXT NOT NULL,
    icon TEXT NOT NULL,
    intro TEXT NOT NULL,
    description TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    update_user TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (platform_id, name)
);
CREATE INDEX mini_programs_listing ON mini_programs(platform_id, created_at);

CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version TEXT NOT NULL,
    file_url TEXT NOT NULL,
    intro TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    status INTEGER NOT NULL,
    msg TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    mnp_version_id INTEGER,
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_by_version ON tasks(mnp_id, mnp_version);
CREATE INDEX tasks_queue ON tasks(status, created_at);

CREATE TABLE versions (
    mnp_version_id INTEGER PRIMARY KEY AUTOINCREMENT,
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    platform_id TEXT NOT NULL,
    version TEXT NOT NULL,
    intro TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    task_id TEXT NOT NULL UNIQUE REFERENCES tasks(task_id),
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (mnp_id, version)
);
