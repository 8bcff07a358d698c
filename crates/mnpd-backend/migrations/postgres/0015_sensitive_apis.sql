-- Sensitive APIs: each host application's catalog, and the mini programs'
-- permission requests for them (docs/sensitive-apis.md).

CREATE TABLE sensitive_apis (
    -- insertion order, for listings; the sequence never reuses a number
    seq BIGSERIAL PRIMARY KEY,
    -- APIId: "api-" and 16 of [a-z0-9]
    api_id TEXT COLLATE "C" NOT NULL UNIQUE,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    -- APIName, which is also the method a mini program calls (APIMethod)
    api_name TEXT COLLATE "C" NOT NULL,
    api_desc TEXT COLLATE "C" NOT NULL,
    -- 1 system, 2 custom
    api_type BIGINT NOT NULL CHECK (api_type IN (1, 2)),
    -- 0 not restricted (a new API), 1 restricted: only granted mini programs call it
    status BIGINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    update_user TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (application_id, api_name)
);
CREATE INDEX sensitive_apis_listing ON sensitive_apis(platform_id, seq);

CREATE TABLE sensitive_api_requests (
    seq BIGSERIAL PRIMARY KEY,
    -- ApprovalNo / AuditNo: yyyymmdd and 10 of [a-z0-9]
    request_no TEXT COLLATE "C" NOT NULL UNIQUE,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id),
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    -- not a reference: the request outlives a deleted API, revoked, and
    -- keeps what the API was
    api_id TEXT COLLATE "C" NOT NULL,
    api_name TEXT COLLATE "C" NOT NULL,
    api_desc TEXT COLLATE "C" NOT NULL,
    api_type BIGINT NOT NULL,
    -- 1 processing, 20 rejected, 30 approved, 40 revoked
    status BIGINT NOT NULL CHECK (status IN (1, 20, 30, 40)),
    apply_reason TEXT COLLATE "C" NOT NULL,
    apply_user TEXT COLLATE "C" NOT NULL,
    apply_time BIGINT NOT NULL,
    -- who decided (approved, rejected) or revoked it, when, and the note
    approval_user TEXT COLLATE "C" NOT NULL DEFAULT '',
    approval_time BIGINT NOT NULL DEFAULT 0,
    approval_note TEXT COLLATE "C" NOT NULL DEFAULT ''
);
-- one open or granted request per mini program and API
CREATE UNIQUE INDEX sensitive_api_requests_live ON sensitive_api_requests(mnp_id, api_id) WHERE status IN (1, 30);
CREATE INDEX sensitive_api_requests_listing ON sensitive_api_requests(platform_id, seq);
CREATE INDEX sensitive_api_requests_api ON sensitive_api_requests(api_id, status);
