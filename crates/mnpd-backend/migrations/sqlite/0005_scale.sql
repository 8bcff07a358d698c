-- What kept calls from scaling to 100,000 versions (bench/, growth).

-- Lookups that read a whole table: the latest approval of a mini program
-- (DescribeMNPAllStageVersions, CreateMNPApproval) and whether a version
-- was ever released (ReleaseMNPVersion, RollbackMNPVersion). PostgreSQL
-- has had both since 0003.
CREATE INDEX approvals_by_mnp ON approvals(mnp_id, apply_time);
CREATE INDEX releases_by_version ON releases(mnp_version_id);

-- The number of mini programs of each platform, kept by triggers:
-- DescribeMNPList's TotalCount without a filter reads one row instead of
-- counting them all.
CREATE TABLE mini_program_counts (
    platform_id TEXT PRIMARY KEY REFERENCES platforms(platform_id),
    n INTEGER NOT NULL
);
INSERT INTO mini_program_counts (platform_id, n)
    SELECT platform_id, count(*) FROM mini_programs GROUP BY platform_id;
CREATE TRIGGER mini_programs_counted AFTER INSERT ON mini_programs
BEGIN
    INSERT INTO mini_program_counts (platform_id, n) VALUES (NEW.platform_id, 1)
        ON CONFLICT (platform_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER mini_programs_uncounted AFTER DELETE ON mini_programs
BEGIN
    UPDATE mini_program_counts SET n = n - 1 WHERE platform_id = OLD.platform_id;
END;
CREATE TRIGGER mini_programs_recounted AFTER UPDATE OF platform_id ON mini_programs
    WHEN NEW.platform_id <> OLD.platform_id
BEGIN
    UPDATE mini_program_counts SET n = n - 1 WHERE platform_id = OLD.platform_id;
    INSERT INTO mini_program_counts (platform_id, n) VALUES (NEW.platform_id, 1)
        ON CONFLICT (platform_id) DO UPDATE SET n = n + 1;
END;
