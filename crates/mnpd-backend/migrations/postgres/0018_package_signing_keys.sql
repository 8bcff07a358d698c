-- Package signing (docs/host-apps.md, "Package signatures"): each
-- platform's Ed25519 keys. `generation` is 1 for a platform's first key and
-- one more at each rotation; unique per platform, so that nodes making the
-- first key, or rotating, at once cannot both succeed. The private key is
-- the base64 seed, sealed as API secret keys are when the operator set a
-- secret-encryption key. `not_after` is when a rotated-out key stops being
-- published; null for the current key.
CREATE TABLE package_signing_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    generation BIGINT NOT NULL,
    private_key TEXT COLLATE "C" NOT NULL,
    public_key TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    not_after BIGINT,
    UNIQUE (platform_id, generation)
);
