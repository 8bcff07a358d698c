-- Team names become unique per platform in the schema, so two concurrent
-- CreateTeam calls cannot both take a name (the domain's check alone
-- races). Names repeated before this migration keep the oldest team's name;
-- each later one gets its TeamId appended.
UPDATE teams SET name = name || ' (' || team_id || ')'
WHERE EXISTS (
    SELECT 1 FROM teams older
    WHERE older.platform_id = teams.platform_id
      AND older.name = teams.name
      AND (older.created_at < teams.created_at
           OR (older.created_at = teams.created_at AND older.team_id < teams.team_id))
);
CREATE UNIQUE INDEX teams_name_unique ON teams(platform_id, name);

-- The platform's default team is recorded, not inferred from creation
-- times: two teams made in the same second tied, and the tie went to the
-- lower (random) TeamId. The first team inserted for a platform becomes its
-- default; existing platforms keep the team the old rule chose.
ALTER TABLE platforms ADD COLUMN default_team_id TEXT COLLATE "C";
UPDATE platforms SET default_team_id = (
    SELECT team_id FROM teams
    WHERE teams.platform_id = platforms.platform_id
    ORDER BY created_at, team_id
    LIMIT 1
);
