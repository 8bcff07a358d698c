-- Server domains: each mini program's, by DomainType, and the platform's
-- white and black lists (docs/domains.md).

CREATE TABLE mnp_domains (
    -- DomainId; AUTOINCREMENT never hands out a number twice.
    domain_id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    mnp_id TEXT NOT NULL REFERENCES mini_programs(mnp_id) ON DELETE CASCADE,
    -- 1 request, 2 uploadFile, 3 downloadFile, 4 socket, 5 web-view
    domain_type INTEGER NOT NULL CHECK (domain_type BETWEEN 1 AND 5),
    -- normalised scheme://host
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    -- 1 enabled, 2 disabled (DisableTeamDomain)
    status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (mnp_id, domain_type, url)
);
CREATE INDEX mnp_domains_platform ON mnp_domains(platform_id, domain_id);

CREATE TABLE global_domains (
    domain_id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL REFERENCES platforms(platform_id),
    -- 1 white, 2 black
    list_type INTEGER NOT NULL CHECK (list_type IN (1, 2)),
    host TEXT NOT NULL,
    create_user TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    update_user TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    -- a host is on one list at most
    UNIQUE (platform_id, host)
);
CREATE INDEX global_domains_listing ON global_domains(platform_id, list_type, domain_id);
