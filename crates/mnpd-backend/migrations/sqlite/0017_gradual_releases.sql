-- Gradual releases (staged rollout to device cohorts) and what host
-- applications report about installs (docs/host-apps.md). A gradual
-- release offers a version to the devices whose cohort (0..999) is below
-- `permille`, and to the listed devices; everyone else keeps the online
-- version. Install reports are kept as counts, never as raw events.

CREATE TABLE rollouts (
    rollout_id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    mnp_version_id INTEGER NOT NULL REFERENCES versions(mnp_version_id),
    -- the online version when it started (what halted devices return to)
    base_mnp_version_id INTEGER,
    permille INTEGER NOT NULL CHECK (permille BETWEEN 0 AND 1000),
    -- JSON array of device ids offered the version whatever their cohort
    device_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'halted', 'promoted', 'ended')),
    -- halt by itself when failed / (installed + failed) passes this, in
    -- thousandths, once installed + failed reaches min_sample
    failure_threshold_permille INTEGER NOT NULL,
    min_sample INTEGER NOT NULL,
    halt_reason TEXT NOT NULL DEFAULT '',
    halted_automatically INTEGER NOT NULL DEFAULT 0,
    -- bumped by every change: part of what a host's ETag stands for
    revision INTEGER NOT NULL DEFAULT 1,
    create_user TEXT NOT NULL,
    create_actor TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at INTEGER
);
-- one gradual release at a time per mini program
CREATE UNIQUE INDEX rollouts_live ON rollouts(mnp_id) WHERE state IN ('active', 'paused');
CREATE INDEX rollouts_listing ON rollouts(platform_id, mnp_id, rollout_id);

-- every change of a gradual release, for its history and chart
CREATE TABLE rollout_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id INTEGER NOT NULL REFERENCES rollouts(rollout_id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    permille INTEGER NOT NULL,
    actor_user TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX rollout_events_by_rollout ON rollout_events(rollout_id, seq);

-- install reports, counted per version and per gradual release (0: outside
-- any gradual release)
CREATE TABLE install_counts (
    mnp_version_id INTEGER NOT NULL,
    rollout_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mnp_version_id, rollout_id, event)
);
-- the reasons of failed installs, at most a fixed number per version and
-- release (the rest count as 'other')
CREATE TABLE install_failure_reasons (
    mnp_version_id INTEGER NOT NULL,
    rollout_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mnp_version_id, rollout_id, reason)
);
-- counts over time, in buckets of a fixed length, kept for a fixed period
CREATE TABLE install_series (
    mnp_id TEXT NOT NULL,
    mnp_version_id INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    event TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mnp_version_id, bucket_start, event)
);
CREATE INDEX install_series_by_mnp ON install_series(mnp_id, bucket_start);
