-- Package signing (docs/host-apps.md, "Package signatures"): each
-- platform's Ed25519 keys. `generation` is 1 for a platform's first key and
-- one more at each rotation; unique per platform, so that nodes making the
-- first key, or rotating, at once cannot both succeed. The private key is
-- the base64 seed, sealed as API secret keys are when the operator set a
-- secret-encryption key. `not_after` is when a rotated-out key stops being
-- published; null for the current key.
CREATE TABLE package_signing_keys (
    key_id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    generation INTEGER NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    not_after INTEGER,
    UNIQUE (platform_id, generation)
);
