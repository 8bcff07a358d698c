-- Sensitive APIs: each host application's catalog, and the mini programs'
-- permission requests for them (docs/sensitive-apis.md).

CREATE TABLE sensitive_apis (
    -- insertion order, for listings; AUTOINCREMENT never reuses a number
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    -- APIId: "api-" and 16 of [a-z0-9]
    api_id TEXT NOT NULL UNIQUE,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    application_id TEXT NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    -- APIName, which is also the method a mini program calls (APIMethod)
    api_name TEXT NOT NULL,
    api_desc TEXT NOT NULL,
    -- 1 system, 2 custom
    api_type INTEGER NOT NULL CHECK (api_type IN (1, 2)),
    -- 0 not restricted (a new API), 1 restricted: only granted mini programs call it
    status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    update_user TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (application_id, api_name)
);
CREATE INDEX sensitive_apis_listing ON sensitive_apis(platform_id, seq);

CREATE TABLE sensitive_api_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    -- ApprovalNo / AuditNo: yyyymmdd and 10 of [a-z0-9]
    request_no TEXT NOT NULL UNIQUE,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id),
    application_id TEXT NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    -- not a reference: the request outlives a deleted API, revoked, and
    -- keeps what the API was
    api_id TEXT NOT NULL,
    api_name TEXT NOT NULL,
    api_desc TEXT NOT NULL,
    api_type INTEGER NOT NULL,
    -- 1 processing, 20 rejected, 30 approved, 40 revoked
    status INTEGER NOT NULL CHECK (status IN (1, 20, 30, 40)),
    apply_reason TEXT NOT NULL,
    apply_user TEXT NOT NULL,
    apply_time INTEGER NOT NULL,
    -- who decided (approved, rejected) or revoked it, when, and the note
    approval_user TEXT NOT NULL DEFAULT '',
    approval_time INTEGER NOT NULL DEFAULT 0,
    approval_note TEXT NOT NULL DEFAULT ''
);
-- one open or granted request per mini program and API
CREATE UNIQUE INDEX sensitive_api_requests_live ON sensitive_api_requests(mnp_id, api_id) WHERE status IN (1, 30);
CREATE INDEX sensitive_api_requests_listing ON sensitive_api_requests(platform_id, seq);
CREATE INDEX sensitive_api_requests_api ON sensitive_api_requests(api_id, status);
