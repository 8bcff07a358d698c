-- Who acted, beside the name the API shows (`*_user`): a reference
-- `user:<UserId>` or `key:<SecretId>` (entity.rs, Actor). Rows from
-- before, and rows a node of an older release writes during an upgrade,
-- have '' : an earlier record, known by the name it shows (the account's).
ALTER TABLE tasks ADD COLUMN create_actor TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN create_actor TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN apply_actor TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE approval_items ADD COLUMN approval_actor TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN release_actor TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The Develop stage: each creator's latest version of a mini program.
CREATE INDEX versions_by_creator ON versions(mnp_id, create_actor, mnp_version_id);
