-- Gradual releases (staged rollout to device cohorts) and what host
-- applications report about installs (docs/host-apps.md). A gradual
-- release offers a version to the devices whose cohort (0..999) is below
-- `permille`, and to the listed devices; everyone else keeps the online
-- version. Install reports are kept as counts, never as raw events.

CREATE TABLE rollouts (
    rollout_id BIGSERIAL PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version_id BIGINT NOT NULL REFERENCES versions(mnp_version_id),
    -- the online version when it started (what halted devices return to)
    base_mnp_version_id BIGINT,
    permille BIGINT NOT NULL CHECK (permille BETWEEN 0 AND 1000),
    -- JSON array of device ids offered the version whatever their cohort
    device_ids TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('active', 'paused', 'halted', 'promoted', 'ended')),
    -- halt by itself when failed / (installed + failed) passes this, in
    -- thousandths, once installed + failed reaches min_sample
    failure_threshold_permille BIGINT NOT NULL,
    min_sample BIGINT NOT NULL,
    halt_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    halted_automatically BOOLEAN NOT NULL DEFAULT false,
    -- bumped by every change: part of what a host's ETag stands for
    revision BIGINT NOT NULL DEFAULT 1,
    create_user TEXT COLLATE "C" NOT NULL,
    create_actor TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT
);
-- one gradual release at a time per mini program
CREATE UNIQUE INDEX rollouts_live ON rollouts(mnp_id) WHERE state IN ('active', 'paused');
CREATE INDEX rollouts_listing ON rollouts(platform_id, mnp_id, rollout_id);

-- every change of a gradual release, for its history and chart
CREATE TABLE rollout_events (
    seq BIGSERIAL PRIMARY KEY,
    rollout_id BIGINT NOT NULL REFERENCES rollouts(rollout_id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    permille BIGINT NOT NULL,
    actor_user TEXT COLLATE "C" NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rollout_events_by_rollout ON rollout_events(rollout_id, seq);

-- install reports, counted per version and per gradual release (0: outside
-- any gradual release)
CREATE TABLE install_counts (
    mnp_version_id BIGINT NOT NULL,
    rollout_id BIGINT NOT NULL,
    event TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (mnp_version_id, rollout_id, event)
);
-- the reasons of failed installs, at most a fixed number per version and
-- release (the rest count as 'other')
CREATE TABLE install_failure_reasons (
    mnp_version_id BIGINT NOT NULL,
    rollout_id BIGINT NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (mnp_version_id, rollout_id, reason)
);
-- counts over time, in buckets of a fixed length, kept for a fixed period
CREATE TABLE install_series (
    mnp_id TEXT COLLATE "C" NOT NULL,
    mnp_version_id BIGINT NOT NULL,
    bucket_start BIGINT NOT NULL,
    event TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (mnp_version_id, bucket_start, event)
);
CREATE INDEX install_series_by_mnp ON install_series(mnp_id, bucket_start);
