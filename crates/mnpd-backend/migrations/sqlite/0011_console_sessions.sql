-- Console sign-in (docs/console.md): sessions shared by every node, kept
-- by the SHA-256 of their token (the cookie holds the token itself), and
-- the failed sign-ins that lock an account name or an address out.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    -- the user's password epoch at sign-in: the session ends when it moves
    password_epoch INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen_at);

CREATE TABLE console_sign_in_failures (
    -- `account:<account, lower case>` or `address:<IP>`
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);
