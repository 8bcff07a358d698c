-- Host applications, and the stable numbers of mini programs.

CREATE TABLE applications (
    -- AppIdentityID; AUTOINCREMENT never hands out a number twice.
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL UNIQUE,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    team_id TEXT NOT NULL REFERENCES teams(team_id),
    name TEXT NOT NULL,
    logo TEXT NOT NULL,
    intro TEXT NOT NULL,
    remark TEXT NOT NULL DEFAULT '',
    android_app_key TEXT NOT NULL DEFAULT '',
    ios_app_key TEXT NOT NULL DEFAULT '',
    -- 1 test, 2 formal
    application_type INTEGER NOT NULL CHECK (application_type IN (1, 2)),
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    update_user TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (platform_id, name)
);
CREATE INDEX applications_listing ON applications(platform_id, created_at);

-- ModifyMNP answers an integer ResourceId: the mini program's number here,
-- given on insert by the trigger and never reused after a DeleteMNP.
CREATE TABLE mini_program_numbers (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    mnp_id TEXT NOT NULL UNIQUE REFERENCES mini_programs(mnp_id) ON DELETE CASCADE
);
INSERT INTO mini_program_numbers (mnp_id)
    SELECT mnp_id FROM mini_programs ORDER BY created_at, rowid;
CREATE TRIGGER mini_programs_numbered AFTER INSERT ON mini_programs
BEGIN
    INSERT INTO mini_program_numbers (mnp_id) VALUES (NEW.mnp_id);
END;
