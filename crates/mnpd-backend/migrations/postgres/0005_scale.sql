-- What kept calls from scaling to 100,000 versions (bench/, growth); as
-- migrations/sqlite/0005_scale.sql.

-- SQLite gets the lookup indexes PostgreSQL has had since 0003; the same
-- statements here (no-ops) keep the two schemas' histories in step.
CREATE INDEX IF NOT EXISTS approvals_by_mnp ON approvals(mnp_id, apply_time);
CREATE INDEX IF NOT EXISTS releases_by_version ON releases(mnp_version_id);

-- The number of mini programs of each platform, kept by triggers:
-- DescribeMNPList's TotalCount without a filter reads one row instead of
-- counting them all. Concurrent CreateMNP calls of one platform queue on
-- its row until the first commits.
CREATE TABLE mini_program_counts (
    platform_id TEXT COLLATE "C" PRIMARY KEY REFERENCES platforms(platform_id),
    n BIGINT NOT NULL
);
INSERT INTO mini_program_counts (platform_id, n)
    SELECT platform_id, count(*) FROM mini_programs GROUP BY platform_id;

CREATE FUNCTION mini_programs_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE mini_program_counts SET n = n - 1 WHERE platform_id = OLD.platform_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO mini_program_counts (platform_id, n) VALUES (NEW.platform_id, 1)
            ON CONFLICT (platform_id) DO UPDATE SET n = mini_program_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER mini_programs_counted AFTER INSERT OR DELETE ON mini_programs
    FOR EACH ROW EXECUTE FUNCTION mini_programs_count();
CREATE TRIGGER mini_programs_recounted AFTER UPDATE OF platform_id ON mini_programs
    FOR EACH ROW WHEN (NEW.platform_id IS DISTINCT FROM OLD.platform_id)
    EXECUTE FUNCTION mini_programs_count();
