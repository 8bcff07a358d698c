-- Console sign-in (docs/console.md): sessions shared by every node, kept
-- by the SHA-256 of their token (the cookie holds the token itself), and
-- the failed sign-ins that lock an account name or an address out.
CREATE TABLE console_sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL,
    platform_id TEXT COLLATE "C" NOT NULL,
    -- the user's password epoch at sign-in: the session ends when it moves
    password_epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen_at);

CREATE TABLE console_sign_in_failures (
    -- `account:<account, lower case>` or `address:<IP>`
    subject TEXT COLLATE "C" PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
