//! Server domains: a mini program's lists by DomainType, the team view of
//! them, the platform's white and black lists, and the effective policy a
//! host application enforces (docs/domains.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};
use crate::organization::roles;
use crate::server_domain::{
    covered_by, host_of, normalise_host, normalise_url, DomainKind, ListKind,
};
use crate::store::{
    AccountStore, DomainChange, DomainStore, DomainWrite, GlobalDomain, GlobalDomainQuery, Has,
    MiniProgramStore, MnpDomain, OrganizationStore, TeamDomain, TeamQuery,
};

pub use crate::store::GlobalDomainQuery as GlobalQuery;

/// `Status` of a mini program's domain.
pub const ENABLED: i64 = 1;
pub const DISABLED: i64 = 2;
/// `AccountType` of super and platform admins, who act on every team.
const PLATFORM_ADMIN_TYPES: [i64; 2] = [
    crate::organization::SUPER_ADMIN,
    crate::organization::PLATFORM_ADMIN,
];
/// Entries one request may carry.
pub const MAX_ENTRIES_PER_REQUEST: usize = 1000;

/// One `CreateDomainParam`: a DomainType and its URLs (absent in a
/// ModifyDomain item that clears the type).
#[derive(Debug, Clone)]
pub struct DomainParam {
    pub domain_type: i64,
    pub urls: Vec<String>,
}

/// What CheckGlobalDomain answers, each host normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalCheck {
    pub repeated: Vec<String>,
    pub white: Vec<String>,
    pub black: Vec<String>,
}

/// What a host application may let a mini program reach, per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDomains {
    pub by_kind: BTreeMap<DomainKind, Vec<String>>,
}

impl EffectiveDomains {
    /// The lists as hosts read them: `{"request": [...], "socket": [...], ...}`
    /// (the policy manifest and the update API's `policy.domains`).
    pub fn to_json(&self) -> serde_json::Value {
        self.by_kind
            .iter()
            .map(|(kind, urls)| (kind.name().to_string(), serde_json::json!(urls)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

pub struct Domains {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    domains: Arc<dyn DomainStore>,
    teams: Arc<dyn OrganizationStore>,
    clock: Arc<dyn Clock>,
}

impl Domains {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn DomainStore>
            + Has<dyn OrganizationStore>
            + ?Sized,
    {
        Domains {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            domains: Has::share(&store),
            teams: Has::share(&store),
            clock,
        }
    }

    async fn owned_mini_program(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        match self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(DomainError::InvalidMnpId(mnp_id.to_string())),
        }
    }

    /// CreateDomain / CreateMNPDomainACL: adds entries.
    pub async fn add(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        params: Vec<DomainParam>,
    ) -> Result<(), DomainError> {
        self.owned_mini_program(caller, platform_id, mnp_id).await?;
        if params.iter().all(|p| p.urls.is_empty()) {
            return Err(DomainError::InvalidDomain(
                "Domain carries no DomainUrlList entry; send at least one URL to add".into(),
            ));
        }
        let entries = entries(&params)?;
        self.write(caller, platform_id, mnp_id, Vec::new(), entries)
            .await
    }

    /// ModifyDomain / ModifyMNPDomain: replaces the list of each type named.
    pub async fn replace(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        params: Vec<DomainParam>,
    ) -> Result<(), DomainError> {
        self.owned_mini_program(caller, platform_id, mnp_id).await?;
        let entries = entries(&params)?;
        let mut types: Vec<i64> = params.iter().map(|p| p.domain_type).collect();
        types.sort_unstable();
        types.dedup();
        if types.is_empty() {
            return Ok(());
        }
        self.write(caller, platform_id, mnp_id, types, entries)
            .await
    }

    async fn write(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        replaced_types: Vec<i64>,
        entries: Vec<(i64, String, String)>,
    ) -> Result<(), DomainError> {
        let change = DomainChange {
            platform_id: platform_id.to_string(),
            mnp_id: mnp_id.to_string(),
            replaced_types,
            entries,
            user: caller.user(),
            now: self.clock.now().unix_timestamp(),
        };
        match self.domains.change_mini_program_domains(&change).await? {
            DomainWrite::Written => Ok(()),
            DomainWrite::Repeated(urls) => Err(DomainError::RepeatDomain(format!(
                "{} already configured for this mini program; leave {} out, or use ModifyDomain to replace the list",
                urls.join(", "),
                if urls.len() == 1 { "it" } else { "them" }
            ))),
            DomainWrite::Black(urls) => Err(DomainError::BlackDomain(format!(
                "{} on the platform's black list (DescribeGlobalDomainList, DomainTypes [2]); no mini program of the platform may use {}",
                urls.join(", "),
                if urls.len() == 1 { "is" } else { "are" }
            ))),
            DomainWrite::White(urls) => Err(DomainError::WhiteDomain(urls.join(", "))),
            DomainWrite::TooMany(t, n) => Err(too_many_of_type(t, n)),
        }
    }

    /// DescribeDomainInfo / DescribeMNPDomainACL: every configured domain.
    pub async fn of_mini_program(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Vec<MnpDomain>, DomainError> {
        self.owned_mini_program(caller, platform_id, mnp_id).await?;
        Ok(self.domains.mini_program_domains(mnp_id).await?)
    }

    /// DescribeDomainTeamList: the platform's teams.
    pub async fn teams(
        &self,
        caller: &Caller,
        platform_id: &str,
        keyword: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Team>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        check_page(offset, limit)?;
        check_keyword(keyword)?;
        if matches_nothing(keyword) {
            return Ok((0, Vec::new()));
        }
        // The same listing as DescribeTeamList's.
        Ok(self
            .teams
            .list_teams(&TeamQuery {
                platform_id: platform_id.to_string(),
                keyword: keyword.map(str::to_string),
                offset,
                limit,
            })
            .await?)
    }

    /// DescribeTeamDomainList: the domains of the team's mini programs.
    pub async fn of_team(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<TeamDomain>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        check_page(offset, limit)?;
        let team = match self.accounts.get_team(team_id).await? {
            Some(t) if t.platform_id == platform_id => t,
            _ => return Err(DomainError::InvalidTeamId(team_id.to_string())),
        };
        // Only mini program teams hold mini programs, hence domains.
        if !team.role_types.contains(&roles::MINI_PROGRAM_TEAM) {
            let kind = if team.role_types.contains(&roles::OPERATIONS_TEAM) {
                "an operations team"
            } else {
                "a host application team"
            };
            return Err(DomainError::TeamTypeMismatch(format!(
                "team `{team_id}` is {kind}, which holds no mini programs and so no domains; send the TeamId of a mini program team (DescribeSimpleTeamList with TeamRoleTypeList [1])"
            )));
        }
        self.check_team_member(caller, platform_id, team_id).await?;
        Ok(self
            .domains
            .team_domains(platform_id, team_id, offset, limit)
            .await?)
    }

    /// A console user acts on a team's domains as a member of the team, as
    /// an operations member (who looks after every team's domains) or as a
    /// super or platform admin; API keys act for the whole account.
    async fn check_team_member(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
    ) -> Result<(), DomainError> {
        let Actor::User { user_id, account } = &caller.actor else {
            return Ok(());
        };
        if let Some(user) = self.teams.get_user(platform_id, user_id).await? {
            if PLATFORM_ADMIN_TYPES.contains(&user.account_type) {
                return Ok(());
            }
        }
        let memberships = self.teams.memberships_of(user_id).await?;
        let operations = |m: &Membership| {
            roles::role(m.role_id)
                .is_some_and(|r| r.permissions.contains(&roles::permission::OPERATIONS))
        };
        if memberships
            .iter()
            .any(|m| m.team_id == team_id || operations(m))
        {
            return Ok(());
        }
        Err(DomainError::UserNotInTeam(format!(
            "user `{account}` is not a member of team `{team_id}`, so cannot see or change its mini programs' domains; ask the team's admin to add you (AddTeamMember), or an operations member or platform admin to act"
        )))
    }

    /// DisableTeamDomain.
    pub async fn disable(
        &self,
        caller: &Caller,
        platform_id: &str,
        domain_id: i64,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let not_found = || DomainError::DomainNotFound(domain_id, "DescribeTeamDomainList");
        let team_id = self
            .domains
            .domain_team(platform_id, domain_id)
            .await?
            .ok_or_else(not_found)?;
        self.check_team_member(caller, platform_id, &team_id)
            .await?;
        if self
            .domains
            .set_domain_status(platform_id, domain_id, DISABLED)
            .await?
        {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// CreateGlobalDomain / CreateGlobalDomainACL: all the hosts or none.
    pub async fn add_global(
        &self,
        caller: &Caller,
        platform_id: &str,
        list_type: i64,
        urls: &[String],
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let list = list_kind(list_type)?;
        let check = self.check_hosts(platform_id, urls).await?;
        if !check.repeated.is_empty() {
            return Err(DomainError::RepeatDomain(format!(
                "DomainUrlList names {} more than once (after normalisation); send each host once",
                check.repeated.join(", ")
            )));
        }
        if !check.white.is_empty() {
            return Err(DomainError::WhiteDomain(format!(
                "{} already on the white list; leave it out, or delete its entry (DeleteGlobalDomain) first",
                check.white.join(", ")
            )));
        }
        if !check.black.is_empty() {
            return Err(DomainError::BlackDomain(format!(
                "{} already on the black list; leave it out, or delete its entry (DeleteGlobalDomain) first",
                check.black.join(", ")
            )));
        }
        let hosts = hosts(urls)?;
        let now = self.clock.now().unix_timestamp();
        match self
            .domains
            .add_global_domains(platform_id, list.code(), &hosts, &caller.user(), now)
            .await?
        {
            DomainWrite::Written => Ok(()),
            DomainWrite::White(h) => Err(DomainError::WhiteDomain(format!(
                "{} already on the white list",
                h.join(", ")
            ))),
            DomainWrite::Black(h) => Err(DomainError::BlackDomain(format!(
                "{} already on the black list",
                h.join(", ")
            ))),
            DomainWrite::TooMany(_, n) => Err(DomainError::InvalidValue(format!(
                "the list would hold {n} hosts; a platform-wide list holds at most {}; delete entries first",
                crate::server_domain::GLOBAL_LIST_LIMIT
            ))),
            DomainWrite::Repeated(h) => Err(DomainError::RepeatDomain(h.join(", "))),
        }
    }

    /// CheckGlobalDomain.
    pub async fn check_global(
        &self,
        caller: &Caller,
        platform_id: &str,
        urls: &[String],
    ) -> Result<GlobalCheck, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        self.check_hosts(platform_id, urls).await
    }

    async fn check_hosts(
        &self,
        platform_id: &str,
        urls: &[String],
    ) -> Result<GlobalCheck, DomainError> {
        let hosts = hosts(urls)?;
        let global = self.domains.global_domains(platform_id).await?;
        let mut check = GlobalCheck::default();
        for (i, host) in hosts.iter().enumerate() {
            if hosts[..i].contains(host) && !check.repeated.contains(host) {
                check.repeated.push(host.clone());
            }
            if hosts[..i].contains(host) {
                continue;
            }
            match global.iter().find(|g| &g.host == host).map(|g| g.list_type) {
                Some(t) if t == ListKind::Black.code() => check.black.push(host.clone()),
                Some(_) => check.white.push(host.clone()),
                None => {}
            }
        }
        Ok(check)
    }

    /// ModifyGlobalDomain.
    pub async fn rename_global(
        &self,
        caller: &Caller,
        platform_id: &str,
        domain_id: i64,
        url: &str,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let host = normalise_host(url)
            .map_err(|r| DomainError::InvalidDomain(format!("DomainUrl `{url}` {r}")))?;
        let now = self.clock.now().unix_timestamp();
        match self
            .domains
            .rename_global_domain(platform_id, domain_id, &host, &caller.user(), now)
            .await?
        {
            None => Err(DomainError::DomainNotFound(domain_id, "DescribeGlobalDomainList")),
            Some(DomainWrite::White(_)) => Err(DomainError::WhiteDomain(format!(
                "{host} is already on the white list as another entry; send another host, or delete that entry first"
            ))),
            Some(DomainWrite::Black(_)) => Err(DomainError::BlackDomain(format!(
                "{host} is already on the black list as another entry; send another host, or delete that entry first"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// DeleteGlobalDomain.
    pub async fn delete_global(
        &self,
        caller: &Caller,
        platform_id: &str,
        domain_id: i64,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .domains
            .delete_global_domain(platform_id, domain_id)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::DomainNotFound(
                domain_id,
                "DescribeGlobalDomainList",
            ))
        }
    }

    /// DescribeGlobalDomainList / DescribeGlobalDomainACL.
    pub async fn list_global(
        &self,
        caller: &Caller,
        query: GlobalDomainQuery,
    ) -> Result<(i64, Vec<GlobalDomain>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        for t in &query.list_types {
            list_kind(*t)?;
        }
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.domains.list_global_domains(&query).await?)
    }

    /// What the mini program may reach now: its enabled domains plus the
    /// white list, minus whatever the black list covers.
    pub async fn effective(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<EffectiveDomains, DomainError> {
        let own = self.domains.mini_program_domains(mnp_id).await?;
        let global = self.domains.global_domains(platform_id).await?;
        Ok(effective(&own, &global))
    }
}

/// The effective lists from a mini program's domains and the platform's lists.
pub fn effective(own: &[MnpDomain], global: &[GlobalDomain]) -> EffectiveDomains {
    let black: Vec<&str> = global
        .iter()
        .filter(|g| g.list_type == ListKind::Black.code())
        .map(|g| g.host.as_str())
        .collect();
    let mut by_kind: BTreeMap<DomainKind, Vec<String>> =
        DomainKind::ALL.iter().map(|k| (*k, Vec::new())).collect();
    let white = global
        .iter()
        .filter(|g| g.list_type == ListKind::White.code());
    for kind in DomainKind::ALL {
        let list = by_kind.entry(kind).or_default();
        let mine = own
            .iter()
            .filter(|d| d.domain_type == kind.code() && d.status == ENABLED)
            .map(|d| d.url.clone());
        let everyone = white
            .clone()
            .map(|g| format!("{}://{}", kind.scheme(), g.host));
        for url in mine.chain(everyone) {
            if !covered_by(host_of(&url), black.iter().copied()) && !list.contains(&url) {
                list.push(url);
            }
        }
        list.sort();
    }
    EffectiveDomains { by_kind }
}

fn list_kind(code: i64) -> Result<ListKind, DomainError> {
    ListKind::from_code(code).ok_or_else(|| {
        DomainError::InvalidDomain(format!(
            "DomainType {code} is not a platform-wide list; send 1 (white list) or 2 (black list)"
        ))
    })
}

fn too_many_of_type(domain_type: i64, n: usize) -> DomainError {
    let kind = DomainKind::from_code(domain_type);
    DomainError::InvalidDomain(format!(
        "DomainType {domain_type} would hold {n} domains; a mini program may have at most {} of that type; remove some first",
        kind.map_or(0, |k| k.limit())
    ))
}

/// The normalised (type, URL, host) entries of a request; a URL repeated
/// in it (after normalisation) is refused.
fn entries(params: &[DomainParam]) -> Result<Vec<(i64, String, String)>, DomainError> {
    let mut out: Vec<(i64, String, String)> = Vec::new();
    for p in params {
        let kind = DomainKind::from_code(p.domain_type).ok_or_else(|| {
            DomainError::InvalidDomain(format!(
                "DomainType {} is not a domain type; send 1 (request), 2 (uploadFile), 3 (downloadFile), 4 (socket) or 5 (web-view)",
                p.domain_type
            ))
        })?;
        for raw in &p.urls {
            let url = normalise_url(kind, raw).map_err(|r| {
                DomainError::InvalidDomain(format!(
                    "DomainUrlList entry `{raw}` of DomainType {} ({}) {r}",
                    kind.code(),
                    kind.name()
                ))
            })?;
            if out.iter().any(|(t, u, _)| *t == kind.code() && *u == url) {
                return Err(DomainError::RepeatDomain(format!(
                    "{url} is sent more than once for DomainType {}; send each domain once",
                    kind.code()
                )));
            }
            let host = host_of(&url).to_string();
            out.push((kind.code(), url, host));
        }
    }
    if out.len() > MAX_ENTRIES_PER_REQUEST {
        return Err(DomainError::InvalidDomain(format!(
            "the request carries {} domains; send at most {MAX_ENTRIES_PER_REQUEST}",
            out.len()
        )));
    }
    Ok(out)
}

/// The normalised hosts of a platform-wide list request, in order.
fn hosts(urls: &[String]) -> Result<Vec<String>, DomainError> {
    if urls.is_empty() {
        return Err(DomainError::InvalidDomain(
            "DomainUrlList is empty; send at least one host name".into(),
        ));
    }
    if urls.len() > MAX_ENTRIES_PER_REQUEST {
        return Err(DomainError::InvalidDomain(format!(
            "DomainUrlList has {} entries; send at most {MAX_ENTRIES_PER_REQUEST}",
            urls.len()
        )));
    }
    urls.iter()
        .map(|raw| {
            normalise_host(raw)
                .map_err(|r| DomainError::InvalidDomain(format!("DomainUrlList entry `{raw}` {r}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(t: i64, url: &str, status: i64) -> MnpDomain {
        MnpDomain {
            domain_id: 1,
            mnp_id: "mp".into(),
            domain_type: t,
            url: url.into(),
            host: host_of(url).into(),
            status,
            create_user: String::new(),
            created_at: 0,
        }
    }

    fn listed(t: i64, host: &str) -> GlobalDomain {
        GlobalDomain {
            domain_id: 1,
            platform_id: "p".into(),
            list_type: t,
            host: host.into(),
            create_user: String::new(),
            created_at: 0,
            update_user: String::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn effective_is_own_and_white_minus_black() {
        let e = effective(
            &[
                own(1, "https://api.example.com", ENABLED),
                own(1, "https://old.example.com", DISABLED),
                own(1, "https://x.evil.com", ENABLED),
                own(4, "wss://chat.example.com", ENABLED),
            ],
            &[listed(1, "cdn.example.net"), listed(2, "evil.com")],
        );
        assert_eq!(
            e.by_kind[&DomainKind::Request],
            vec!["https://api.example.com", "https://cdn.example.net"]
        );
        assert_eq!(
            e.by_kind[&DomainKind::Socket],
            vec!["wss://cdn.example.net", "wss://chat.example.com"]
        );
        assert_eq!(
            e.by_kind[&DomainKind::WebView],
            vec!["https://cdn.example.net"]
        );
    }

    #[test]
    fn a_request_may_not_repeat_an_entry() {
        let p = vec![DomainParam {
            domain_type: 1,
            urls: vec![
                "https://A.example.com".into(),
                "https://a.example.com/".into(),
            ],
        }];
        assert!(matches!(entries(&p), Err(DomainError::RepeatDomain(_))));
        let same_url_two_types = vec![
            DomainParam {
                domain_type: 1,
                urls: vec!["https://a.example.com".into()],
            },
            DomainParam {
                domain_type: 2,
                urls: vec!["https://a.example.com".into()],
            },
        ];
        assert_eq!(entries(&same_url_two_types).unwrap().len(), 2);
        let bad_type = vec![DomainParam {
            domain_type: 9,
            urls: vec![],
        }];
        assert!(matches!(
            entries(&bad_type),
            Err(DomainError::InvalidDomain(_))
        ));
    }
}
