//! Sensitive APIs (docs/sensitive-apis.md): each host application's
//! catalog, the mini programs' permission requests and their approval, the
//! grants a host enforces, and the privacy statement they make up.
//!
//! One state machine for a request, whatever name the API gives the call
//! (`...PermissionApproval` or `...Apply`/`...Audit`):
//!
//! ```text
//! (none) --request--> processing(1) --approve--> approved(30) --API unrestricted or deleted--> revoked(40)
//!                          |--reject (with a reason)--> rejected(20)
//!                          `--API unrestricted or deleted--> revoked(40)
//! ```
//! Rejected and revoked are final: the mini program asks again with a new
//! request. One processing or approved request per mini program and API.

use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::ids;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};
use crate::store::{
    AccountStore, ApplicationStore, Has, MiniProgramStore, PermissionRequest,
    PermissionRequestListing, PermissionRequestQuery, ReleaseStore, RequestWrite, SensitiveApi,
    SensitiveApiChange, SensitiveApiListing, SensitiveApiQuery, SensitiveApiStore, StoreError,
};

/// `Status` of a catalog entry.
pub const UNRESTRICTED: i64 = 0;
pub const RESTRICTED: i64 = 1;

/// `ApprovalStatus` / `AuditStatus` of a permission request (20 and 30 as
/// documented; 40 is mnpd's own, for a grant the API's change took back).
pub const PROCESSING: i64 = 1;
pub const REJECTED: i64 = 20;
pub const APPROVED: i64 = 30;
pub const REVOKED: i64 = 40;
/// `APIApplyStatus` of an API the mini program never asked for.
pub const NOT_REQUESTED: i64 = 0;

pub const MAX_API_NAME_CHARS: usize = 64;
pub const MAX_API_DESC_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 500;
/// Entries one CreateSensitiveAPI request may carry.
pub const MAX_APIS_PER_REQUEST: usize = 100;

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Approve,
    Reject,
    /// The API stopped being restricted, or was deleted.
    Revoke,
}

/// The state a request moves to on `event`, or why it cannot.
pub fn transition(status: i64, event: Event) -> Result<i64, String> {
    match (status, event) {
        (PROCESSING, Event::Approve) => Ok(APPROVED),
        (PROCESSING, Event::Reject) => Ok(REJECTED),
        (PROCESSING | APPROVED, Event::Revoke) => Ok(REVOKED),
        (s, e) => Err(format!(
            "the request is {}; {} only a request in progress{}",
            status_name(s),
            match e {
                Event::Approve => "approve",
                Event::Reject => "reject",
                Event::Revoke => "revoke",
            },
            if e == Event::Revoke {
                " or an approved one"
            } else {
                ""
            }
        )),
    }
}

pub fn status_name(status: i64) -> &'static str {
    match status {
        PROCESSING => "in progress",
        REJECTED => "rejected",
        APPROVED => "approved",
        REVOKED => "revoked",
        _ => "in an unknown state",
    }
}

/// One entry of CreateSensitiveAPI / CreateApplicationSensitiveAPI.
#[derive(Debug, Clone, Default)]
pub struct NewApi {
    pub name: Option<String>,
    pub description: Option<String>,
    pub api_type: Option<i64>,
}

/// One line of a mini program's permission listing.
#[derive(Debug, Clone)]
pub struct Permission {
    pub api: SensitiveApiListing,
    pub latest: Option<PermissionRequest>,
}

/// What a host application enforces for a mini program: its restricted
/// APIs, and those of them the mini program is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostGrants {
    pub application_id: String,
    pub restricted: Vec<String>,
    pub granted: Vec<String>,
}

pub struct SensitiveApis {
    accounts: Arc<dyn AccountStore>,
    applications: Arc<dyn ApplicationStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    releases: Arc<dyn ReleaseStore>,
    store: Arc<dyn SensitiveApiStore>,
    clock: Arc<dyn Clock>,
}

impl SensitiveApis {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn ApplicationStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn ReleaseStore>
            + Has<dyn SensitiveApiStore>
            + ?Sized,
    {
        SensitiveApis {
            accounts: Has::share(&store),
            applications: Has::share(&store),
            mini_programs: Has::share(&store),
            releases: Has::share(&store),
            store: Has::share(&store),
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// CreateSensitiveAPI / CreateApplicationSensitiveAPI: all or none.
    pub async fn create(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
        entries: Vec<NewApi>,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .applications
            .get_application(platform_id, application_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidApplicationId(
                application_id.to_string(),
            ));
        }
        let checked = check_entries(&entries)?;
        let now = self.now();
        let user = caller.user();
        for _ in 0..5 {
            let apis: Vec<SensitiveApi> = checked
                .iter()
                .map(|(name, description, api_type)| SensitiveApi {
                    api_id: ids::sensitive_api_id(),
                    platform_id: platform_id.to_string(),
                    application_id: application_id.to_string(),
                    name: name.clone(),
                    description: description.clone(),
                    api_type: *api_type,
                    status: UNRESTRICTED,
                    create_user: user.clone(),
                    created_at: now,
                    update_user: user.clone(),
                    updated_at: now,
                })
                .collect();
            match self.store.insert_sensitive_apis(&apis).await {
                Ok(taken) if taken.is_empty() => return Ok(()),
                Ok(taken) => {
                    return Err(DomainError::SensitiveApiExists(format!(
                        "host application {application_id} already has a sensitive API named {}; choose another name, or delete the existing one first",
                        taken.join(", ")
                    )))
                }
                // Two additions raced on a name, or an APIId clashed.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::SensitiveApiExists(format!(
            "host application {application_id} got a sensitive API of one of these names meanwhile; list them (DescribeApplicationSensitiveAPIList) and retry"
        )))
    }

    /// EnableApplicationSensitiveAPI, DisableApplicationSensitiveAPI,
    /// DeleteApplicationSensitiveAPI / DeleteSensitiveAPI.
    pub async fn change(
        &self,
        caller: &Caller,
        platform_id: &str,
        api_id: &str,
        change: SensitiveApiChange,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let user = caller.user();
        let note = match change {
            SensitiveApiChange::Restrict => String::new(),
            SensitiveApiChange::Unrestrict => {
                "revoked: the API was disabled (no longer restricted)".to_string()
            }
            SensitiveApiChange::Delete => "revoked: the API was deleted".to_string(),
        };
        let found = self
            .store
            .change_sensitive_api(platform_id, api_id, change, &user, &note, self.now())
            .await?;
        if found {
            Ok(())
        } else {
            Err(DomainError::SensitiveApiNotFound(api_id.to_string()))
        }
    }

    /// DescribeSensitiveAPIList / DescribeApplicationSensitiveAPIList.
    pub async fn list(
        &self,
        caller: &Caller,
        query: SensitiveApiQuery,
    ) -> Result<(i64, Vec<SensitiveApiListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        self.check_query(&query).await?;
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.store.list_sensitive_apis(&query).await?)
    }

    /// The page, keyword and the application and team filters of a catalog
    /// query: each filter must name one of the platform's.
    async fn check_query(&self, q: &SensitiveApiQuery) -> Result<(), DomainError> {
        check_page(q.offset, q.limit)?;
        check_keyword(q.keyword.as_deref())?;
        if let Some(team_id) = q.team_id.as_deref().filter(|t| !t.is_empty()) {
            match self.accounts.get_team(team_id).await? {
                Some(t) if t.platform_id == q.platform_id => {}
                _ => return Err(DomainError::InvalidTeamId(team_id.to_string())),
            }
        }
        if let Some(application_id) = q.application_id.as_deref().filter(|a| !a.is_empty()) {
            if self
                .applications
                .get_application(&q.platform_id, application_id)
                .await?
                .is_none()
            {
                return Err(DomainError::InvalidApplicationId(
                    application_id.to_string(),
                ));
            }
        }
        Ok(())
    }

    async fn mini_program(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<crate::entity::MiniProgramListing, DomainError> {
        self.mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))
    }

    /// CreateMNPSensitiveAPIPermissionApproval / CreateSensitiveApiApply:
    /// the new request's ApprovalNo.
    pub async fn request(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        api_id: &str,
        reason: &str,
    ) -> Result<String, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        self.mini_program(platform_id, mnp_id).await?;
        let api = match self.store.get_sensitive_api(api_id).await? {
            Some(a) if a.platform_id == platform_id => a,
            _ => return Err(DomainError::SensitiveApiNotFound(api_id.to_string())),
        };
        let reason = reason.trim();
        let n = reason.chars().count();
        if n == 0 || n > MAX_REASON_CHARS {
            return Err(DomainError::InvalidValue(format!(
                "ApplyReason has {n} characters; send 1 to {MAX_REASON_CHARS} saying why the mini program needs {}",
                api.name
            )));
        }
        if api.status != RESTRICTED {
            return Err(not_restricted(&api.name));
        }
        let now = self.clock.now();
        for _ in 0..5 {
            let request = PermissionRequest {
                approval_no: ids::permission_request_no(now),
                platform_id: platform_id.to_string(),
                mnp_id: mnp_id.to_string(),
                application_id: api.application_id.clone(),
                api_id: api.api_id.clone(),
                api_name: api.name.clone(),
                api_desc: api.description.clone(),
                api_type: api.api_type,
                status: PROCESSING,
                apply_reason: reason.to_string(),
                apply_user: caller.user(),
                apply_time: now.unix_timestamp(),
                approval_user: String::new(),
                approval_time: 0,
                approval_note: String::new(),
            };
            match self.store.insert_permission_request(&request).await {
                Ok(RequestWrite::Written) => return Ok(request.approval_no),
                Ok(RequestWrite::ApiNotRestricted) => return Err(not_restricted(&api.name)),
                Ok(RequestWrite::Live(live)) => {
                    return Err(DomainError::ApprovalExists(format!(
                        "mini program {mnp_id} already has request {} for {}, {}; {}",
                        live.approval_no,
                        api.name,
                        status_name(live.status),
                        if live.status == APPROVED {
                            "it holds the permission already"
                        } else {
                            "wait for it to be processed"
                        }
                    )))
                }
                // The partial unique index caught a concurrent request, or
                // the ApprovalNo clashed: look again.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::ApprovalExists(format!(
            "another request of mini program {mnp_id} for {} was just made; list them and retry",
            api.name
        )))
    }

    /// A request of a platform the caller may act on.
    pub async fn describe_request(
        &self,
        caller: &Caller,
        platform_id: &str,
        approval_no: &str,
    ) -> Result<PermissionRequestListing, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        match self.store.get_permission_request(approval_no).await? {
            Some(r) if r.request.platform_id == platform_id => Ok(r),
            _ => Err(DomainError::InvalidPermissionRequestNo(
                approval_no.to_string(),
            )),
        }
    }

    /// ProcessMNPSensitiveAPIPermissionApproval / ModifySensitiveAPIAuditStatus:
    /// 20 rejects (a note saying why is required), 30 approves.
    pub async fn decide(
        &self,
        caller: &Caller,
        platform_id: &str,
        approval_no: &str,
        status: i64,
        note: Option<&str>,
    ) -> Result<(), DomainError> {
        let current = self
            .describe_request(caller, platform_id, approval_no)
            .await?
            .request;
        let event = match status {
            APPROVED => Event::Approve,
            REJECTED => Event::Reject,
            other => {
                return Err(DomainError::InvalidValue(format!(
                    "status {other} is not a decision; send 20 to reject or 30 to approve"
                )))
            }
        };
        let note = note.unwrap_or("").trim();
        if note.chars().count() > MAX_REASON_CHARS {
            return Err(DomainError::InvalidApprovalNote(format!(
                "the note has more than {MAX_REASON_CHARS} characters; shorten it"
            )));
        }
        if event == Event::Reject && note.is_empty() {
            return Err(DomainError::InvalidApprovalNote(
                "rejecting a request needs a note saying why (the mini program sees it as RejectReason); send one".into(),
            ));
        }
        let target = transition(current.status, event).map_err(|why| {
            DomainError::ApprovalNotProcessing(format!("request {approval_no}: {why}"))
        })?;
        let after = self
            .store
            .decide_permission_request(approval_no, target, &caller.user(), note, self.now())
            .await?
            .ok_or_else(|| DomainError::InvalidPermissionRequestNo(approval_no.to_string()))?;
        if after.status != target {
            return Err(DomainError::ApprovalNotProcessing(format!(
                "request {approval_no} became {} meanwhile; only a request in progress can be processed",
                status_name(after.status)
            )));
        }
        Ok(())
    }

    /// DescribeMNPSensitiveAPIPermissionApprovalList / DescribeSensitiveAPIAuditList.
    pub async fn list_requests(
        &self,
        caller: &Caller,
        query: PermissionRequestQuery,
    ) -> Result<(i64, Vec<PermissionRequestListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        for s in &query.statuses {
            if ![PROCESSING, REJECTED, APPROVED, REVOKED].contains(s) {
                return Err(DomainError::InvalidValue(format!(
                    "status {s} is not a request status; send 1 processing, 20 rejected, 30 approved or 40 revoked"
                )));
            }
        }
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.store.list_permission_requests(&query).await?)
    }

    /// DescribeMNPSensitiveAPIPermissionList / DescribeSensitiveApiAuthList:
    /// the platform's catalog, each API with the mini program's latest
    /// request for it.
    pub async fn permissions(
        &self,
        caller: &Caller,
        mnp_id: &str,
        query: SensitiveApiQuery,
    ) -> Result<(i64, Vec<Permission>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        self.mini_program(&query.platform_id, mnp_id).await?;
        self.check_query(&query).await?;
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        let (total, rows) = self.store.mini_program_permissions(mnp_id, &query).await?;
        Ok((
            total,
            rows.into_iter()
                .map(|(api, latest)| Permission { api, latest })
                .collect(),
        ))
    }

    /// What each host application of the platform enforces for the mini
    /// program now (the policy manifest beside its package).
    pub async fn host_grants(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Vec<HostGrants>, DomainError> {
        let rows = self
            .store
            .restricted_and_granted(platform_id, mnp_id)
            .await?;
        let mut out: Vec<HostGrants> = Vec::new();
        for (api, granted) in rows {
            if out.last().map(|h| &h.application_id) != Some(&api.application_id) {
                out.push(HostGrants {
                    application_id: api.application_id.clone(),
                    ..HostGrants::default()
                });
            }
            let entry = out.last_mut().expect("pushed above");
            if granted {
                entry.granted.push(api.name.clone());
            }
            entry.restricted.push(api.name);
        }
        Ok(out)
    }

    /// DescribeMNPPrivacy: a JSON statement of what the mini program can
    /// collect (docs/sensitive-apis.md).
    pub async fn privacy(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<String, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let listing = self.mini_program(platform_id, mnp_id).await?;
        let online = self.releases.online_version(mnp_id).await?;
        let granted = self.store.granted_requests(mnp_id).await?;
        Ok(privacy_statement(&listing, online.as_ref(), &granted).to_string())
    }
}

fn not_restricted(name: &str) -> DomainError {
    DomainError::SensitiveApiNotRestricted(format!(
        "{name} is not restricted, so no permission is needed or granted; enable it first (EnableApplicationSensitiveAPI) if mini programs must ask for it"
    ))
}

/// The (name, description, type) of each entry, or what is wrong.
fn check_entries(entries: &[NewApi]) -> Result<Vec<(String, String, i64)>, DomainError> {
    if entries.is_empty() {
        return Err(DomainError::InvalidValue(
            "the API list is empty; send at least one entry with a name (the method mini programs call) and a type (1 system, 2 custom)".into(),
        ));
    }
    if entries.len() > MAX_APIS_PER_REQUEST {
        return Err(DomainError::InvalidValue(format!(
            "the API list has {} entries; send at most {MAX_APIS_PER_REQUEST}",
            entries.len()
        )));
    }
    let mut out: Vec<(String, String, i64)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let name = e.name.as_deref().unwrap_or("").trim();
        check_api_name(i, name)?;
        let description = e.description.as_deref().unwrap_or("").trim();
        let n = description.chars().count();
        if n > MAX_API_DESC_CHARS || description.chars().any(char::is_control) {
            return Err(DomainError::InvalidValue(format!(
                "entry {i} ({name}): the description has {n} characters or control characters; send plain text of at most {MAX_API_DESC_CHARS}"
            )));
        }
        let api_type = e.api_type.unwrap_or(0);
        if api_type != 1 && api_type != 2 {
            return Err(DomainError::InvalidValue(format!(
                "entry {i} ({name}): type {api_type} is not an API type; send 1 (system) or 2 (custom)"
            )));
        }
        if out.iter().any(|(n, _, _)| n == name) {
            return Err(DomainError::SensitiveApiExists(format!(
                "{name} is sent more than once; send each API once"
            )));
        }
        out.push((name.to_string(), description.to_string(), api_type));
    }
    Ok(out)
}

/// A name is the method a mini program calls, such as `getLocation`:
/// letters, digits, `_` and `$`, not starting with a digit.
fn check_api_name(index: usize, name: &str) -> Result<(), DomainError> {
    let n = name.chars().count();
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if n == 0 || n > MAX_API_NAME_CHARS || !identifier {
        return Err(DomainError::InvalidValue(format!(
            "entry {index}: the name `{name}` is not a method name; send the method mini programs call, such as getLocation: 1 to {MAX_API_NAME_CHARS} letters, digits, _ or $, not starting with a digit"
        )));
    }
    Ok(())
}

/// The statement DescribeMNPPrivacy answers: the mini program, the package
/// it applies to, and each granted sensitive API with the purpose its
/// request gave.
pub fn privacy_statement(
    listing: &crate::entity::MiniProgramListing,
    online: Option<&ReleaseRecord>,
    granted: &[PermissionRequestListing],
) -> serde_json::Value {
    let mp = &listing.mini_program;
    let package = online.map(|r| {
        serde_json::json!({
            "MNPVersionId": r.version.mnp_version_id,
            "MNPVersion": r.version.new.version,
            "PackageSha256": r.version.new.sha256,
        })
    });
    let collects: Vec<serde_json::Value> = granted
        .iter()
        .map(|g| {
            serde_json::json!({
                "APIMethod": g.request.api_name,
                "APIDesc": g.request.api_desc,
                "Purpose": g.request.apply_reason,
                "ApplicationId": g.request.application_id,
                "ApplicationName": g.application_name,
                "GrantedTime": g.request.approval_time.to_string(),
            })
        })
        .collect();
    serde_json::json!({
        "MNPId": mp.mnp_id,
        "MNPName": mp.name,
        "Package": package,
        "SensitiveAPIs": collects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_progress_is_approved_rejected_or_revoked() {
        assert_eq!(transition(PROCESSING, Event::Approve), Ok(APPROVED));
        assert_eq!(transition(PROCESSING, Event::Reject), Ok(REJECTED));
        assert_eq!(transition(PROCESSING, Event::Revoke), Ok(REVOKED));
    }

    #[test]
    fn only_a_grant_is_revoked_after_a_decision() {
        assert_eq!(transition(APPROVED, Event::Revoke), Ok(REVOKED));
        assert!(transition(APPROVED, Event::Approve).is_err());
        assert!(transition(APPROVED, Event::Reject).is_err());
    }

    #[test]
    fn rejected_and_revoked_are_final() {
        for s in [REJECTED, REVOKED] {
            for e in [Event::Approve, Event::Reject, Event::Revoke] {
                let why = transition(s, e).unwrap_err();
                assert!(why.contains(status_name(s)), "{why}");
            }
        }
    }

    #[test]
    fn entries_are_method_names_of_a_known_type_each_sent_once() {
        let e = |name: &str, t: i64| NewApi {
            name: Some(name.into()),
            description: Some("d".into()),
            api_type: Some(t),
        };
        assert_eq!(
            check_entries(&[e("getLocation", 1), e("scanCode", 2)])
                .unwrap()
                .len(),
            2
        );
        for bad in ["", "9lives", "get location", "a.b"] {
            assert!(matches!(
                check_entries(&[e(bad, 1)]),
                Err(DomainError::InvalidValue(_))
            ));
        }
        assert!(matches!(
            check_entries(&[e("getLocation", 3)]),
            Err(DomainError::InvalidValue(_))
        ));
        assert!(matches!(
            check_entries(&[e("getLocation", 1), e("getLocation", 2)]),
            Err(DomainError::SensitiveApiExists(_))
        ));
        assert!(matches!(
            check_entries(&[]),
            Err(DomainError::InvalidValue(_))
        ));
    }
}
