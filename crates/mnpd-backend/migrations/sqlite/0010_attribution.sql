-- Who acted, beside the name the API shows (`*_user`): a reference
-- `user:<UserId>`, `key:<SecretId>` or `account:<id>` (entity.rs,
-- Actor). Rows from before name their platform's account, whose name is
-- what they already show; an approval item nobody decided has none ('').
ALTER TABLE tasks ADD COLUMN create_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN create_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN apply_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE approval_items ADD COLUMN approval_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN release_actor TEXT NOT NULL DEFAULT '';

UPDATE tasks SET create_actor = 'account:' || COALESCE((
    SELECT CAST(p.account_id AS TEXT) FROM platforms p WHERE p.platform_id = tasks.platform_id), '0');
UPDATE versions SET create_actor = 'account:' || COALESCE((
    SELECT CAST(p.account_id AS TEXT) FROM platforms p WHERE p.platform_id = versions.platform_id), '0');
UPDATE approvals SET apply_actor = 'account:' || COALESCE((
    SELECT CAST(p.account_id AS TEXT) FROM platforms p WHERE p.platform_id = approvals.platform_id), '0');
UPDATE approval_items SET approval_actor = 'account:' || COALESCE((
    SELECT CAST(p.account_id AS TEXT) FROM approvals a JOIN platforms p ON p.platform_id = a.platform_id
    WHERE a.approval_no = approval_items.approval_no), '0')
    WHERE approval_user <> '';
UPDATE releases SET release_actor = 'account:' || COALESCE((
    SELECT CAST(p.account_id AS TEXT) FROM platforms p WHERE p.platform_id = releases.platform_id), '0');

-- The Develop stage: each creator's latest version of a mini program.
CREATE INDEX versions_by_creator ON versions(mnp_id, create_actor, mnp_version_id);
