-- Host applications, and the stable numbers of mini programs.

CREATE TABLE applications (
    -- AppIdentityID; the sequence never hands out a number twice.
    number BIGSERIAL PRIMARY KEY,
    application_id TEXT COLLATE "C" NOT NULL UNIQUE,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    team_id TEXT COLLATE "C" NOT NULL REFERENCES teams(team_id),
    name TEXT COLLATE "C" NOT NULL,
    logo TEXT COLLATE "C" NOT NULL,
    intro TEXT COLLATE "C" NOT NULL,
    remark TEXT COLLATE "C" NOT NULL DEFAULT '',
    android_app_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ios_app_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- 1 test, 2 formal
    application_type BIGINT NOT NULL CHECK (application_type IN (1, 2)),
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    update_user TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT applications_name_unique UNIQUE (platform_id, name)
);
CREATE INDEX applications_listing ON applications(platform_id, created_at);

-- ModifyMNP answers an integer ResourceId: the mini program's number here,
-- given on insert by the trigger and never reused after a DeleteMNP.
CREATE TABLE mini_program_numbers (
    number BIGSERIAL PRIMARY KEY,
    mnp_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES mini_programs(mnp_id) ON DELETE CASCADE
);
INSERT INTO mini_program_numbers (mnp_id)
    SELECT mnp_id FROM mini_programs ORDER BY created_at, mnp_id;

CREATE FUNCTION mini_programs_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mini_program_numbers (mnp_id) VALUES (NEW.mnp_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER mini_programs_numbered AFTER INSERT ON mini_programs
    FOR EACH ROW EXECUTE FUNCTION mini_programs_number();
