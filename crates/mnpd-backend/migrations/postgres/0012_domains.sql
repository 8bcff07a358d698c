-- Server domains: each mini program's, by DomainType, and the platform's
-- white and black lists (docs/domains.md).

CREATE TABLE mnp_domains (
    -- DomainId; the sequence never hands out a number twice.
    domain_id BIGSERIAL PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT COLLATE "C" NOT NULL REFERENCES mini_programs(mnp_id) ON DELETE CASCADE,
    -- 1 request, 2 uploadFile, 3 downloadFile, 4 socket, 5 web-view
    domain_type BIGINT NOT NULL CHECK (domain_type BETWEEN 1 AND 5),
    -- normalised scheme://host
    url TEXT COLLATE "C" NOT NULL,
    host TEXT COLLATE "C" NOT NULL,
    -- 1 enabled, 2 disabled (DisableTeamDomain)
    status BIGINT NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (mnp_id, domain_type, url)
);
CREATE INDEX mnp_domains_platform ON mnp_domains(platform_id, domain_id);

CREATE TABLE global_domains (
    domain_id BIGSERIAL PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL REFERENCES platforms(platform_id),
    -- 1 white, 2 black
    list_type BIGINT NOT NULL CHECK (list_type IN (1, 2)),
    host TEXT COLLATE "C" NOT NULL,
    create_user TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    update_user TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    -- a host is on one list at most
    UNIQUE (platform_id, host)
);
CREATE INDEX global_domains_listing ON global_domains(platform_id, list_type, domain_id);
