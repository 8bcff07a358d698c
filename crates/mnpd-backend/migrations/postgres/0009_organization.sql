-- The organization (docs/organization.md): teams get types, an admin and
-- an optional related application team; users, their memberships and the
-- short-lived preset keys that carry their passwords encrypted.
-- Teams made before this migration hold both mini programs and host
-- applications, so they become combined teams (types 1 and 2).
ALTER TABLE teams ADD COLUMN role_types TEXT COLLATE "C" NOT NULL DEFAULT '1,2';
ALTER TABLE teams ADD COLUMN related_team_id TEXT COLLATE "C";
ALTER TABLE teams ADD COLUMN admin_user_id TEXT COLLATE "C";
ALTER TABLE teams ADD COLUMN remark TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE teams ADD COLUMN create_user TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX teams_related ON teams(related_team_id);

CREATE TABLE users (
    user_id TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    -- 1 super admin, 2 platform admin, 3 member
    account_type BIGINT NOT NULL,
    -- argon2id, PHC string
    password_hash TEXT COLLATE "C" NOT NULL,
    -- 1 enabled, 2 disabled
    status BIGINT NOT NULL DEFAULT 1,
    -- raised at every password change: console sessions carry the value
    -- they were opened under and end when it moves
    password_epoch BIGINT NOT NULL DEFAULT 0,
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT users_account_unique UNIQUE (platform_id, account)
);
CREATE INDEX users_listing ON users(platform_id, created_at);
CREATE INDEX users_account ON users(account);

CREATE TABLE team_members (
    team_id TEXT COLLATE "C" NOT NULL REFERENCES teams(team_id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(user_id),
    role_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE preset_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    -- the account whose request made it; NULL for the console's sign-in
    account_id BIGINT REFERENCES accounts(id),
    -- the X25519 private key, sealed like API secrets when a secret
    -- encryption key is configured
    private_key TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX preset_keys_expiry ON preset_keys(expires_at);
