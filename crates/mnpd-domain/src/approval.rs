//! Approval of a version for the platform's host applications:
//! CreateMNPApproval / CreatePlatformAudit (submit, cancel),
//! ProcessMNPApproval / ModifyPlatformAuditStatus, and the listings. One
//! machine; the API's several names are entry points to it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::approval_status::*;
use crate::entity::*;
use crate::error::DomainError;
use crate::ids;
use crate::mini_program::owned_platform;
use crate::store::{
    AccountStore, ApplicationStore, ApprovalStore, Has, ReleaseStore, StoreError, VersionStore,
};

/// The filter and page a list request asks for; handlers build it.
pub use crate::store::ApprovalQuery;

pub const MAX_NOTE_CHARS: usize = 500;

/// One application's decision in ProcessMNPApproval.
#[derive(Debug, Clone)]
pub struct ItemDecision {
    pub application_id: String,
    /// 2 reject, 3 approve.
    pub result: i64,
    pub note: String,
}

pub struct Approvals {
    accounts: Arc<dyn AccountStore>,
    versions: Arc<dyn VersionStore>,
    approvals: Arc<dyn ApprovalStore>,
    releases: Arc<dyn ReleaseStore>,
    /// The host applications a new approval asks.
    applications: Arc<dyn ApplicationStore>,
    clock: Arc<dyn Clock>,
}

/// The version `mnp_version_id` of a mini program of this platform.
pub async fn platform_version(
    store: &dyn VersionStore,
    platform_id: &str,
    mnp_version_id: i64,
) -> Result<Version, DomainError> {
    match store.get_version(mnp_version_id).await? {
        Some(v) if v.new.platform_id == platform_id => Ok(v),
        _ => Err(DomainError::InvalidMnpVersionId(mnp_version_id)),
    }
}

impl Approvals {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn VersionStore>
            + Has<dyn ApprovalStore>
            + Has<dyn ReleaseStore>
            + Has<dyn ApplicationStore>
            + ?Sized,
    {
        Approvals {
            accounts: Has::share(&store),
            versions: Has::share(&store),
            approvals: Has::share(&store),
            releases: Has::share(&store),
            applications: Has::share(&store),
            clock,
        }
    }

    /// `submit` opens an approval of the version for every host application
    /// of the platform; `cancel` withdraws the open one.
    pub async fn apply(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_version_id: i64,
        action: &str,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let version = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        match action.trim() {
            "submit" => self.submit(caller, &version).await,
            "cancel" => self.cancel(caller, &version).await,
            other => Err(DomainError::InvalidApplyAction(other.to_string())),
        }
    }

    async fn submit(&self, caller: &Caller, version: &Version) -> Result<(), DomainError> {
        let released = self
            .releases
            .release_history(&version.new.mnp_id)
            .await?
            .iter()
            .any(|r| {
                r.kind == ReleaseKind::Release && r.version.mnp_version_id == version.mnp_version_id
            });
        if released {
            return Err(DomainError::AlreadyReleased(format!(
                "version {} is already released; submit a newer version",
                version.new.version
            )));
        }
        if let Some(open) = self
            .approvals
            .latest_approval_of_mini_program(&version.new.mnp_id)
            .await?
            .filter(|a| a.status == PROCESSING)
        {
            return Err(open_exists(&open));
        }
        let applications = self
            .applications
            .list_platform_applications(&version.new.platform_id)
            .await?;
        if applications.is_empty() {
            return Err(DomainError::NoApplications(version.new.platform_id.clone()));
        }
        let now = self.clock.now().unix_timestamp();
        for _ in 0..5 {
            let approval = Approval {
                approval_no: ids::approval_no(),
                platform_id: version.new.platform_id.clone(),
                mnp_id: version.new.mnp_id.clone(),
                mnp_version_id: version.mnp_version_id,
                status: PROCESSING,
                apply_user: caller.actor.clone(),
                apply_time: now,
                updated_at: now,
                items: applications
                    .iter()
                    .map(|a| ApprovalItem {
                        application_id: a.application_id.clone(),
                        status: PROCESSING,
                        note: String::new(),
                        approval_user: None,
                        approval_time: 0,
                    })
                    .collect(),
            };
            match self.approvals.insert_approval(&approval).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(what)) if what == "open" => {
                    // Another submit won the race.
                    let open = self
                        .approvals
                        .latest_approval_of_mini_program(&version.new.mnp_id)
                        .await?;
                    return Err(match open {
                        Some(a) => open_exists(&a),
                        None => DomainError::ApprovalExists(
                            "another approval of this mini program was just submitted; retry"
                                .into(),
                        ),
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique ApprovalNo".into(),
        ))
    }

    async fn cancel(&self, caller: &Caller, version: &Version) -> Result<(), DomainError> {
        let open = self
            .approvals
            .latest_approval_of_version(version.mnp_version_id)
            .await?
            .filter(|a| a.status == PROCESSING)
            .ok_or_else(|| {
                DomainError::ApprovalStatus(format!(
                    "version {} has no approval in progress to cancel",
                    version.new.version
                ))
            })?;
        let now = self.clock.now().unix_timestamp();
        let user = caller.actor.clone();
        let decide = move |a: &Approval| {
            if a.status != PROCESSING {
                return Err(DomainError::ApprovalStatus(format!(
                    "approval {} is no longer in progress",
                    a.approval_no
                )));
            }
            let mut next = a.clone();
            next.status = CANCELLED;
            next.updated_at = now;
            for item in &mut next.items {
                if item.status == PROCESSING {
                    item.status = CANCELLED;
                    item.approval_user = Some(user.clone());
                    item.approval_time = now;
                }
            }
            Ok(next)
        };
        self.approvals
            .update_approval(&open.approval_no, &decide)
            .await??;
        Ok(())
    }

    /// Records each application's decision; the approval is rejected as soon
    /// as one application rejects it, approved when all have approved.
    pub async fn process(
        &self,
        caller: &Caller,
        platform_id: &str,
        approval_no: &str,
        decisions: Vec<ItemDecision>,
    ) -> Result<Approval, DomainError> {
        self.owned(caller, platform_id, approval_no).await?;
        self.decide(caller, approval_no, decisions).await
    }

    /// The same result and note for every application of the approval
    /// (ModifyPlatformAuditStatus without items).
    pub async fn process_all(
        &self,
        caller: &Caller,
        platform_id: &str,
        approval_no: &str,
        result: i64,
        note: &str,
    ) -> Result<Approval, DomainError> {
        let approval = self.owned(caller, platform_id, approval_no).await?;
        let decisions = approval
            .items
            .into_iter()
            .map(|i| ItemDecision {
                application_id: i.application_id,
                result,
                note: note.to_string(),
            })
            .collect();
        self.decide(caller, approval_no, decisions).await
    }

    /// An approval of a platform the caller may act on.
    async fn owned(
        &self,
        caller: &Caller,
        platform_id: &str,
        approval_no: &str,
    ) -> Result<Approval, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        match self.approvals.get_approval(approval_no).await? {
            Some(a) if a.platform_id == platform_id => Ok(a),
            _ => Err(DomainError::InvalidApprovalNo(approval_no.to_string())),
        }
    }

    async fn decide(
        &self,
        caller: &Caller,
        approval_no: &str,
        decisions: Vec<ItemDecision>,
    ) -> Result<Approval, DomainError> {
        if decisions.is_empty() {
            return Err(DomainError::ApprovalItemsEmpty);
        }
        for d in &decisions {
            if d.result != REJECTED && d.result != APPROVED {
                return Err(DomainError::InvalidValue(format!(
                    "ApprovalResult {} for application `{}` is not supported; send 2 to reject or 3 to approve",
                    d.result, d.application_id
                )));
            }
            if d.note.chars().count() > MAX_NOTE_CHARS {
                return Err(DomainError::InvalidApprovalNote(format!(
                    "the note for application `{}` has more than {MAX_NOTE_CHARS} characters; shorten it",
                    d.application_id
                )));
            }
            if d.result == REJECTED && d.note.trim().is_empty() {
                return Err(DomainError::InvalidApprovalNote(format!(
                    "rejecting application `{}` needs a note saying why; send ApprovalNote",
                    d.application_id
                )));
            }
        }
        let now = self.clock.now().unix_timestamp();
        let user = caller.actor.clone();
        let decide = move |a: &Approval| {
            if a.status != PROCESSING {
                return Err(DomainError::ApprovalNotProcessing(format!(
                    "approval {} is {}, not in progress; only an approval in progress can be processed",
                    a.approval_no,
                    status_name(a.status)
                )));
            }
            let mut next = a.clone();
            for d in &decisions {
                let item = next
                    .items
                    .iter_mut()
                    .find(|i| i.application_id == d.application_id)
                    .ok_or_else(|| {
                        DomainError::ApprovalApplicationMismatch(format!(
                            "application `{}` is not part of approval {}; send the AppIds it covers ({})",
                            d.application_id,
                            a.approval_no,
                            a.items
                                .iter()
                                .map(|i| i.application_id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                item.status = d.result;
                item.note = d.note.trim().to_string();
                item.approval_user = Some(user.clone());
                item.approval_time = now;
            }
            next.status = if next.items.iter().any(|i| i.status == REJECTED) {
                REJECTED
            } else if next.items.iter().all(|i| i.status == APPROVED) {
                APPROVED
            } else {
                PROCESSING
            };
            if next.status == REJECTED {
                // A rejected approval is finished: what was still waiting
                // will not be decided any more.
                for item in next.items.iter_mut().filter(|i| i.status == PROCESSING) {
                    item.status = CANCELLED;
                }
            }
            next.updated_at = now;
            Ok(next)
        };
        self.approvals.update_approval(approval_no, &decide).await?
    }

    pub async fn list(
        &self,
        caller: &Caller,
        query: ApprovalQuery,
    ) -> Result<(i64, Vec<ApprovalListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        crate::mini_program::check_page(query.offset, query.limit)?;
        crate::mini_program::check_keyword(query.keyword.as_deref())?;
        if crate::mini_program::matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        for s in &query.statuses {
            if !(0..=4).contains(s) {
                return Err(DomainError::InvalidValue(format!(
                    "status {s} is not an approval status; send 1 processing, 2 rejected, 3 approved or 4 cancelled"
                )));
            }
        }
        Ok(self.approvals.list_approvals(&query).await?)
    }
}

fn open_exists(open: &Approval) -> DomainError {
    DomainError::ApprovalExists(format!(
        "mini program {} already has approval {} in progress; process or cancel it first",
        open.mnp_id, open.approval_no
    ))
}

pub fn status_name(status: i64) -> &'static str {
    match status {
        PROCESSING => "in progress",
        REJECTED => "rejected",
        APPROVED => "approved",
        CANCELLED => "cancelled",
        _ => "in an unknown state",
    }
}
