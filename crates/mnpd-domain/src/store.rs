//! What the domain needs from storage. Backends (SQLite, PostgreSQL, a
//! folder, S3) implement these; the domain never sees which.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::entity::*;
use crate::error::DomainError;
use crate::rollout::model::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state precondition did not hold.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backing service cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, name: &str, now: i64) -> StoreResult<Account>;
    async fn get_account(&self, id: i64) -> StoreResult<Option<Account>>;
    /// Conflict when the SecretId exists.
    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn find_api_key(&self, secret_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, account_id: Option<i64>) -> StoreResult<Vec<ApiKey>>;
    /// Returns false when no such key exists.
    async fn set_api_key_enabled(&self, secret_id: &str, enabled: bool) -> StoreResult<bool>;
    /// Conflict when the PlatformId exists.
    async fn insert_platform(&self, platform: &Platform) -> StoreResult<()>;
    async fn get_platform(&self, platform_id: &str) -> StoreResult<Option<Platform>>;
    async fn list_platforms(&self, account_id: Option<i64>) -> StoreResult<Vec<Platform>>;
    /// Records the team; the platform's first becomes its default.
    /// Conflict("name") when the platform has a team of that name,
    /// Conflict("id") when the TeamId is taken.
    async fn insert_team(&self, team: &Team) -> StoreResult<()>;
    async fn get_team(&self, team_id: &str) -> StoreResult<Option<Team>>;
    /// The platform's default team (its first), used when a request names
    /// none.
    async fn default_team(&self, platform_id: &str) -> StoreResult<Option<Team>>;
}

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub platform_id: String,
    /// Matches the account or the name, case-insensitively, as a substring.
    pub keyword: Option<String>,
    pub account_type: Option<i64>,
    pub team_id: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TeamQuery {
    pub platform_id: String,
    /// Matches the name or the TeamId, case-insensitively, as a substring.
    pub keyword: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub platform_id: String,
    pub team_id: Option<String>,
    /// Matches the user's account or name, case-insensitively.
    pub keyword: Option<String>,
    pub role_ids: Vec<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// Users, teams' organization data, memberships and preset keys.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Conflict("account") when the account is taken on the platform,
    /// Conflict("id") when the id exists.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, platform_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    /// Users of every platform with this account (console sign-in).
    async fn users_with_account(&self, account: &str) -> StoreResult<Vec<User>>;
    async fn list_users(&self, query: &UserQuery) -> StoreResult<(i64, Vec<UserListing>)>;
    /// Rewrites account, name, type and status; false when absent;
    /// Conflict("account") when another user of the platform has the account.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Stores a new hash and raises the password epoch; false when absent.
    async fn set_password(
        &self,
        platform_id: &str,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Deletes the user and their memberships; Conflict("admin") when the
    /// user is a team's admin (checked in the same transaction).
    async fn delete_user(&self, platform_id: &str, user_id: &str) -> StoreResult<bool>;

    /// Records the team and makes its admin a member with `admin_role`, in
    /// one transaction. Conflict("name") when the platform has a team of
    /// that name, Conflict("id") when the TeamId is taken.
    async fn create_team(&self, team: &Team, admin_role: i64) -> StoreResult<()>;
    async fn list_teams(&self, query: &TeamQuery) -> StoreResult<(i64, Vec<Team>)>;
    /// Every team of the platform, oldest first.
    async fn platform_teams(&self, platform_id: &str) -> StoreResult<Vec<Team>>;
    /// Renames the team and, when `team.admin_user_id` changed, hands the
    /// admin role over: the new admin becomes a member with `admin_role`,
    /// the former one stays with `former_admin_role`. False when absent;
    /// Conflict("name") when another team of the platform has the name.
    async fn update_team(
        &self,
        team: &Team,
        admin_role: i64,
        former_admin_role: i64,
    ) -> StoreResult<bool>;
    /// Deletes the team and its admin's membership; Conflict("members"),
    /// Conflict("mini_programs"), Conflict("applications") or
    /// Conflict("related") when anything else still needs it. False when absent.
    async fn delete_team(&self, platform_id: &str, team_id: &str) -> StoreResult<bool>;
    async fn member_count(&self, team_id: &str) -> StoreResult<i64>;
    /// Mini program teams related to this application team.
    async fn related_team_count(&self, team_id: &str) -> StoreResult<i64>;

    /// Adds the members or sets their roles, all in one transaction.
    async fn put_members(
        &self,
        team_id: &str,
        members: &[(String, i64)],
        now: i64,
    ) -> StoreResult<()>;
    async fn get_membership(&self, team_id: &str, user_id: &str)
        -> StoreResult<Option<Membership>>;
    /// Changes the role of an existing member; false when not a member.
    async fn set_member_role(
        &self,
        team_id: &str,
        user_id: &str,
        role_id: i64,
    ) -> StoreResult<bool>;
    /// False when not a member.
    async fn delete_membership(&self, team_id: &str, user_id: &str) -> StoreResult<bool>;
    async fn list_members(&self, query: &MemberQuery) -> StoreResult<(i64, Vec<Membership>)>;
    /// Every team the user belongs to.
    async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>>;

    async fn insert_preset_key(&self, key: &PresetKey) -> StoreResult<()>;
    /// Removes and returns the account's key (None: a sign-in key) if it
    /// is still live: a key serves once. Expired keys are swept on the way.
    async fn take_preset_key(
        &self,
        account_id: Option<i64>,
        key_id: &str,
        now: i64,
    ) -> StoreResult<Option<PresetKey>>;
}

#[derive(Debug, Clone, Default)]
pub struct MiniProgramQuery {
    pub platform_id: String,
    /// Matches the name or the MNPId, case-insensitively, as a substring.
    pub keyword: Option<String>,
    pub team_id: Option<String>,
    /// Only mini programs approved for this host application.
    pub application_id: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[async_trait]
pub trait MiniProgramStore: Send + Sync {
    /// Conflict when the name is taken on the platform (message: "name") or
    /// the id exists (message: "id").
    async fn insert_mini_program(&self, mp: &MiniProgram) -> StoreResult<()>;
    async fn get_mini_program(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Option<MiniProgramListing>>;
    /// Total matching, and the requested page ordered newest first.
    async fn list_mini_programs(
        &self,
        query: &MiniProgramQuery,
    ) -> StoreResult<(i64, Vec<MiniProgramListing>)>;
}

/// Changes to a mini program after CreateMNP: ModifyMNP, RemoveMNP,
/// ModifyMNPStatusOffline, DeleteMNP.
#[async_trait]
pub trait MiniProgramManagementStore: Send + Sync {
    /// Rewrites the editable fields (name, type, icon, intro, desc, update
    /// user and time) of the mini program `mp.mnp_id` of `mp.platform_id`.
    /// Returns its number (stable, never reused), or None when there is no
    /// such mini program; Conflict("name") when another one has the name.
    async fn update_mini_program(&self, mp: &MiniProgram) -> StoreResult<Option<i64>>;
    /// Sets `Status`; false when there is no such mini program.
    async fn set_mini_program_status(
        &self,
        platform_id: &str,
        mnp_id: &str,
        status: i64,
        user: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Deletes the mini program and every record of it (tasks, versions,
    /// approvals, releases, previews) in one transaction; false when there
    /// is no such mini program. Packages no longer referenced are left to
    /// the blob collection.
    async fn delete_mini_program(&self, platform_id: &str, mnp_id: &str) -> StoreResult<bool>;
}

#[derive(Debug, Clone, Default)]
pub struct ApplicationQuery {
    pub platform_id: String,
    /// Matches the name or the ApplicationId, case-insensitively, as a
    /// substring.
    pub keyword: Option<String>,
    pub team_id: Option<String>,
    /// Only applications that approved a version of this mini program.
    pub approved_mnp_id: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// Host applications.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Records the application and returns its number. Conflict("name")
    /// when the name is taken on the platform, Conflict("id") when the id
    /// exists.
    async fn insert_application(&self, app: &Application) -> StoreResult<i64>;
    async fn get_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<Option<Application>>;
    /// Total matching, and the requested page ordered newest first.
    async fn list_applications(
        &self,
        query: &ApplicationQuery,
    ) -> StoreResult<(i64, Vec<ApplicationListing>)>;
    /// Every application of the platform, oldest first.
    async fn list_platform_applications(&self, platform_id: &str) -> StoreResult<Vec<Application>>;
    /// Rewrites name, logo, intro, remark, app keys and update user and time
    /// of the application `app.application_id` of `app.platform_id`. False
    /// when there is no such application; Conflict("name") when another
    /// application of the platform has the name.
    async fn update_application(&self, app: &Application) -> StoreResult<bool>;
    /// Whether an approval item refers to the application.
    async fn application_in_use(&self, application_id: &str) -> StoreResult<bool>;
    /// Deletes the application; Conflict("in_use") when an approval item
    /// refers to it (checked in the same transaction), false when there is
    /// no such application.
    async fn delete_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<bool>;
}

/// CreateMNPVersion tasks: the durable queue, leases, and the completion
/// that records the version.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// A task for exactly this request that has not failed, if any.
    async fn find_reusable_task(
        &self,
        mnp_id: &str,
        version: &str,
        file_url: &str,
        intro: &str,
    ) -> StoreResult<Option<Task>>;
    /// Version numbers of the mini program that count: recorded versions
    /// and tasks that have not failed.
    async fn live_version_numbers(&self, mnp_id: &str) -> StoreResult<Vec<String>>;
    /// Records a pending task in one transaction with a re-check of
    /// `live_version_numbers`: `must_exceed` is called with them and may
    /// refuse (its error is returned as Conflict). Conflict("task_id") when
    /// the TaskId exists.
    async fn insert_task_checked(
        &self,
        task: &Task,
        must_exceed: &(dyn for<'v> Fn(&'v [String]) -> Result<(), String> + Send + Sync),
    ) -> StoreResult<()>;
    async fn get_task(&self, task_id: &str) -> StoreResult<Option<Task>>;
    /// Claims the oldest pending task, or a running one whose lease has
    /// expired, for `owner` until `now + lease_secs`; the task comes back
    /// Running with `attempts` counted.
    async fn claim_task(&self, owner: &str, now: i64, lease_secs: i64)
        -> StoreResult<Option<Task>>;
    /// In one transaction: records the version and marks the task
    /// succeeded, only if `owner` still holds it. Returns the new
    /// MNPVersionId, or None when the lease was lost.
    async fn complete_task(
        &self,
        task_id: &str,
        owner: &str,
        version: &NewVersion,
        now: i64,
    ) -> StoreResult<Option<i64>>;
    /// Replaces a running compile task's progress and sizes, if `owner`
    /// still holds it; false when it does not.
    async fn record_compile_progress(
        &self,
        task_id: &str,
        owner: &str,
        state: &crate::compile::CompileState,
        now: i64,
    ) -> StoreResult<bool>;
    /// Marks the task failed with `msg` if `owner` still holds it.
    async fn fail_task(&self, task_id: &str, owner: &str, msg: &str, now: i64)
        -> StoreResult<bool>;
    /// Extends `owner`'s lease on a running task to `until`; false when
    /// `owner` no longer holds it. For a task held in the emulator's manual
    /// mode, which must not be claimed again while the test decides.
    async fn renew_lease(&self, task_id: &str, owner: &str, until: i64) -> StoreResult<bool>;
    /// Expires every lease at once; only for a single-node store at start-up,
    /// when no other process can be running tasks.
    async fn expire_all_leases(&self) -> StoreResult<u64>;
    /// Tasks waiting for a worker and tasks in a worker's hands, on every
    /// node (the queue depth operators watch).
    async fn task_backlog(&self) -> StoreResult<TaskBacklog>;
    /// Up to `limit` failed tasks whose package nobody has looked at for
    /// collection yet, the earliest failures first.
    async fn failed_tasks_to_collect(&self, limit: i64) -> StoreResult<Vec<Task>>;
    /// Notes that the failed task's package was looked at (deleted, or
    /// found still needed by something else); false when it already was.
    async fn mark_package_collected(&self, task_id: &str, now: i64) -> StoreResult<bool>;
    /// Says, before checking whether a package is still needed, that it is
    /// about to be deleted; the id to end it with.
    async fn begin_package_deletion(&self, sha256: &str, now: i64) -> StoreResult<i64>;
    /// Ends that deletion, and forgets any begun before `stale_before`.
    async fn end_package_deletion(&self, deletion_id: i64, stale_before: i64) -> StoreResult<()>;
    /// Whether a deletion of the package begun at `since` or later has not
    /// ended (older ones are left by a node that died mid-sweep).
    async fn package_deletion_pending(&self, sha256: &str, since: i64) -> StoreResult<bool>;
    /// Keeps the content from collection while a request stores it and
    /// records its task (`blob_needed` counts pins for an hour); the id to
    /// unpin it with.
    async fn pin_package(&self, sha256: &str, now: i64) -> StoreResult<i64>;
    async fn unpin_package(&self, pin_id: i64) -> StoreResult<()>;
}

/// Recorded versions, and the packages still needed.
#[async_trait]
pub trait VersionStore: Send + Sync {
    async fn get_version(&self, mnp_version_id: i64) -> StoreResult<Option<Version>>;
    /// The latest recorded version of the mini program (development stage).
    async fn latest_version(&self, mnp_id: &str) -> StoreResult<Option<Version>>;
    /// The latest recorded version of each actor that created versions of
    /// the mini program (the Develop stage), in no particular order.
    async fn latest_version_of_each_creator(&self, mnp_id: &str) -> StoreResult<Vec<Version>>;
    /// Content hashes still needed by a version, a task that has not failed,
    /// or an upload not swept yet.
    async fn referenced_blobs(&self) -> StoreResult<Vec<String>>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskBacklog {
    pub pending: i64,
    pub running: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ApprovalQuery {
    pub platform_id: String,
    /// Item statuses to include; empty means all.
    pub statuses: Vec<i64>,
    /// Matches the mini program's name or MNPId, or the ApprovalNo.
    pub keyword: Option<String>,
    pub application_id: Option<String>,
    pub team_id: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

// Approval, release, rollback and preview records. Methods taking a
// `decide` closure read the current state and apply the change in one
// transaction, so that concurrent requests for one mini program see each
// other's effect: the closure's refusal is returned as `Ok(Err(..))`.

/// Approvals of versions by the platform's host applications.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Conflict("open") when the mini program already has an open approval.
    async fn insert_approval(&self, approval: &Approval) -> StoreResult<()>;
    async fn get_approval(&self, approval_no: &str) -> StoreResult<Option<Approval>>;
    /// The most recent approval of a version, whatever its state.
    async fn latest_approval_of_version(
        &self,
        mnp_version_id: i64,
    ) -> StoreResult<Option<Approval>>;
    /// The most recent approval of any version of the mini program.
    async fn latest_approval_of_mini_program(&self, mnp_id: &str) -> StoreResult<Option<Approval>>;
    /// Replaces the approval's status and items with what `decide` returns.
    async fn update_approval(
        &self,
        approval_no: &str,
        decide: &(dyn for<'a> Fn(&'a Approval) -> Result<Approval, DomainError> + Send + Sync),
    ) -> StoreResult<Result<Approval, DomainError>>;
    async fn list_approvals(
        &self,
        query: &ApprovalQuery,
    ) -> StoreResult<(i64, Vec<ApprovalListing>)>;
}

/// The online version of each mini program and every change of it.
#[async_trait]
pub trait ReleaseStore: Send + Sync {
    /// Makes `version` the online version (a release or a rollback) if
    /// `decide` agrees with the current state; returns the new record.
    async fn change_online_version(
        &self,
        version: &Version,
        kind: ReleaseKind,
        user: &Actor,
        now: i64,
        decide: &(dyn for<'a> Fn(&'a ReleaseState) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<ReleaseRecord, DomainError>>;
    async fn online_version(&self, mnp_id: &str) -> StoreResult<Option<ReleaseRecord>>;
    /// Every change of the online version, newest first.
    async fn release_history(&self, mnp_id: &str) -> StoreResult<Vec<ReleaseRecord>>;
    /// Takes the mini program out of service: nothing is online afterwards.
    async fn clear_online_version(&self, mnp_id: &str) -> StoreResult<bool>;
}

/// Gradual releases and the install reports of host applications.
#[async_trait]
pub trait RolloutStore: Send + Sync {
    /// Starts a gradual release of `version` if `decide` agrees with the
    /// release state (read under the mini program's lock, like a release);
    /// a live one already there is refused by `decide` or, in a race, by
    /// the store (`Conflict`).
    async fn start_rollout(
        &self,
        version: &Version,
        new: &NewRollout,
        user: &Actor,
        now: i64,
        decide: &(dyn for<'a> Fn(&'a ReleaseState) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<Rollout, DomainError>>;
    /// Applies `change` to the mini program's live gradual release, under
    /// its lock; `NoLiveRollout` when there is none.
    async fn change_rollout(
        &self,
        mnp_id: &str,
        user: &Actor,
        now: i64,
        change: &(dyn for<'a> Fn(&'a Rollout) -> Result<RolloutUpdate, DomainError> + Send + Sync),
    ) -> StoreResult<Result<Rollout, DomainError>>;
    async fn live_rollout(&self, mnp_id: &str) -> StoreResult<Option<Rollout>>;
    /// The mini program's latest gradual release, live or not.
    async fn latest_rollout(&self, mnp_id: &str) -> StoreResult<Option<Rollout>>;
    async fn get_rollout(&self, rollout_id: i64) -> StoreResult<Option<Rollout>>;
    /// Gradual releases of the platform (of one mini program), newest
    /// first: the total and one page.
    async fn list_rollouts(
        &self,
        platform_id: &str,
        mnp_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<Rollout>)>;
    async fn rollout_events(&self, rollout_id: i64) -> StoreResult<Vec<RolloutEvent>>;
    /// Live gradual releases by state, every mini program counted.
    async fn live_rollout_counts(&self) -> StoreResult<Vec<(RolloutState, i64)>>;
    /// Adds a batch of install reports to the counts, the failure reasons
    /// (bounded) and the series (buckets older than `keep_after` dropped).
    async fn record_installs(&self, tallies: &[InstallTally], now: i64) -> StoreResult<()>;
    /// The counts of a version's reports, inside one gradual release
    /// (`Some(id)`) or all of them (`None`).
    async fn install_counts(
        &self,
        mnp_version_id: i64,
        rollout_id: Option<i64>,
    ) -> StoreResult<InstallCounts>;
    /// The mini program's report series since `since`, oldest first.
    async fn adoption(&self, mnp_id: &str, since: i64) -> StoreResult<Vec<AdoptionPoint>>;
}

/// The preview and trial version of each mini program.
#[async_trait]
pub trait PreviewStore: Send + Sync {
    /// Sets the preview or trial version if `decide` agrees with the
    /// current one of that kind.
    async fn set_preview(
        &self,
        preview: &Preview,
        decide: &(dyn for<'a> Fn(Option<&'a Preview>) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<(), DomainError>>;
    /// Removes the preview or trial of that kind if it is this version.
    async fn clear_preview(
        &self,
        mnp_id: &str,
        kind: PreviewKind,
        mnp_version_id: i64,
    ) -> StoreResult<bool>;
    async fn previews(&self, mnp_id: &str) -> StoreResult<Vec<Preview>>;
}

/// Server-wide settings shared by every node.
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// A server-wide setting, created with `initial` when missing; every
    /// node gets the same value.
    async fn setting_or_init(&self, name: &str, initial: &str) -> StoreResult<String>;
}

/// Packages uploaded to mnpd itself, between the upload and the
/// CreateMNPVersion that takes them (or their expiry).
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Records an upload. The same key with the same content again is a
    /// no-op (a client retrying); Conflict("upload") when the key already
    /// names other content: one set of credentials, one package.
    async fn insert_upload(&self, upload: &Upload) -> StoreResult<()>;
    async fn get_upload(&self, key: &str) -> StoreResult<Option<Upload>>;
    /// Up to `limit` uploads that expired before `before`, oldest first.
    async fn expired_uploads(&self, before: i64, limit: i64) -> StoreResult<Vec<Upload>>;
    /// Whether a version, a task that has not failed, or an upload that has
    /// not expired before `before` names the blob.
    async fn blob_needed(&self, sha256: &str, before: i64) -> StoreResult<bool>;
    /// False when there was no such upload.
    async fn delete_upload(&self, key: &str) -> StoreResult<bool>;
}

/// Platforms back to their first-start state, for test suites (the
/// emulator's reset).
#[async_trait]
pub trait ResetStore: Send + Sync {
    /// In one transaction: deletes the platform's mini programs with every
    /// record of them (versions, tasks, approvals, releases, previews), its
    /// host applications, and its teams but the default one. The content
    /// hashes its tasks named, so their packages can be collected.
    async fn reset_platform(&self, platform_id: &str) -> StoreResult<Vec<String>>;
    /// Deletes the account's uploads; the content hashes they named.
    async fn delete_uploads_of(&self, account_id: i64) -> StoreResult<Vec<String>>;
}

/// One server domain of a mini program (docs/domains.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnpDomain {
    pub domain_id: i64,
    pub mnp_id: String,
    pub domain_type: i64,
    /// Normalised `scheme://host`.
    pub url: String,
    pub host: String,
    /// 1 enabled, 2 disabled.
    pub status: i64,
    pub create_user: String,
    pub created_at: i64,
}

/// A domain as a team's listing shows it: with its mini program's name.
#[derive(Debug, Clone)]
pub struct TeamDomain {
    pub domain: MnpDomain,
    pub mnp_name: String,
}

/// An entry of a platform-wide list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalDomain {
    pub domain_id: i64,
    pub platform_id: String,
    /// 1 white, 2 black.
    pub list_type: i64,
    pub host: String,
    pub create_user: String,
    pub created_at: i64,
    pub update_user: String,
    pub updated_at: i64,
}

/// A change to one mini program's domains.
#[derive(Debug, Clone)]
pub struct DomainChange {
    pub platform_id: String,
    pub mnp_id: String,
    /// The types whose lists are replaced; empty when the entries are added.
    pub replaced_types: Vec<i64>,
    /// (DomainType, normalised URL, host), in request order.
    pub entries: Vec<(i64, String, String)>,
    pub user: String,
    pub now: i64,
}

/// Why a write of domains was not made; checked in the writing transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainWrite {
    Written,
    /// Entries already present (added, not replaced).
    Repeated(Vec<String>),
    /// Hosts covered by the black list.
    Black(Vec<String>),
    /// Hosts already on the white list.
    White(Vec<String>),
    /// A list would hold more than it may: (DomainType or list type, count).
    TooMany(i64, usize),
}

#[derive(Debug, Clone, Default)]
pub struct GlobalDomainQuery {
    pub platform_id: String,
    /// Empty: both lists.
    pub list_types: Vec<i64>,
    /// Matches the host as a substring, case-insensitively.
    pub keyword: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// Server domains: each mini program's, and the platform's white and black
/// lists. Writes lock the platform's row, so the checks they make (black
/// list, repeats, limits) hold against concurrent writes.
#[async_trait]
pub trait DomainStore: Send + Sync {
    /// The mini program's domains, every status, by type then DomainId.
    async fn mini_program_domains(&self, mnp_id: &str) -> StoreResult<Vec<MnpDomain>>;
    /// Applies the change if no entry is black-listed, no added entry is
    /// already present and no type exceeds its limit. A replaced entry
    /// that stays keeps its DomainId and status.
    async fn change_mini_program_domains(&self, change: &DomainChange) -> StoreResult<DomainWrite>;
    /// Total and page of the domains of the team's mini programs, newest first.
    async fn team_domains(
        &self,
        platform_id: &str,
        team_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TeamDomain>)>;
    /// The team of the mini program a domain of the platform belongs to;
    /// None when the platform has no such domain.
    async fn domain_team(&self, platform_id: &str, domain_id: i64) -> StoreResult<Option<String>>;
    /// Sets the status of a domain of a mini program of the platform; false
    /// when there is none.
    async fn set_domain_status(
        &self,
        platform_id: &str,
        domain_id: i64,
        status: i64,
    ) -> StoreResult<bool>;
    /// Every entry of both lists of the platform, oldest first.
    async fn global_domains(&self, platform_id: &str) -> StoreResult<Vec<GlobalDomain>>;
    async fn list_global_domains(
        &self,
        query: &GlobalDomainQuery,
    ) -> StoreResult<(i64, Vec<GlobalDomain>)>;
    /// Adds every host to the list, or none: White/Black when a host is
    /// already on a list, TooMany past the list's limit.
    async fn add_global_domains(
        &self,
        platform_id: &str,
        list_type: i64,
        hosts: &[String],
        user: &str,
        now: i64,
    ) -> StoreResult<DomainWrite>;
    /// Renames an entry; None when the platform has no such entry,
    /// White/Black when another entry has the host.
    async fn rename_global_domain(
        &self,
        platform_id: &str,
        domain_id: i64,
        host: &str,
        user: &str,
        now: i64,
    ) -> StoreResult<Option<DomainWrite>>;
    /// False when the platform has no such entry.
    async fn delete_global_domain(&self, platform_id: &str, domain_id: i64) -> StoreResult<bool>;
}

/// One table's rows of an account, as a fixture file carries them: each
/// row maps a column to an integer, a text or null.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FixtureTable {
    pub table: String,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Why a fixture's records cannot be imported: said to the test suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// The records are not what this server writes (a table, a column, a
    /// type, a reference outside the file).
    Invalid(String),
    /// An ID of the file belongs to another account on this server.
    Collision(String),
}

impl std::fmt::Display for ImportRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportRefusal::Invalid(m) | ImportRefusal::Collision(m) => f.write_str(m),
        }
    }
}

/// An account's records out and back in with their IDs (the emulator's
/// fixtures).
#[async_trait]
pub trait FixtureStore: Send + Sync {
    /// Every record of the account's platforms, table by table, in an
    /// order in which they can be inserted back.
    async fn export_account(&self, account_id: i64) -> StoreResult<Vec<FixtureTable>>;
    /// In one transaction: the account's platforms reset, as
    /// `ResetStore::reset_platform` does, then `tables` inserted with their
    /// IDs (platforms of the file the server lacks are created for the
    /// account). The hashes the replaced tasks named, to collect; or why
    /// nothing was changed.
    async fn import_account(
        &self,
        account_id: i64,
        tables: &[FixtureTable],
    ) -> StoreResult<Result<Vec<String>, ImportRefusal>>;
}

/// Console sessions and failed sign-ins (crate::console_session).
#[async_trait]
pub trait ConsoleSessionStore: Send + Sync {
    async fn insert_session(&self, session: &crate::console_session::Session) -> StoreResult<()>;
    async fn get_session(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<crate::console_session::Session>>;
    async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes sessions last seen before `idle_before` or opened before
    /// `opened_before`.
    async fn delete_stale_sessions(&self, idle_before: i64, opened_before: i64) -> StoreResult<()>;
    async fn sign_in_failures(
        &self,
        subject: &str,
    ) -> StoreResult<Option<crate::console_session::Failures>>;
    async fn put_sign_in_failures(
        &self,
        subject: &str,
        failures: &crate::console_session::Failures,
    ) -> StoreResult<()>;
    async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()>;
}

/// A sensitive API of a host application's catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveApi {
    pub api_id: String,
    pub platform_id: String,
    pub application_id: String,
    /// APIName, also the method a mini program calls (APIMethod).
    pub name: String,
    pub description: String,
    /// 1 system, 2 custom.
    pub api_type: i64,
    /// 0 not restricted, 1 restricted.
    pub status: i64,
    pub create_user: String,
    pub created_at: i64,
    pub update_user: String,
    pub updated_at: i64,
}

/// A catalog entry as listings show it, with its application and team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveApiListing {
    pub api: SensitiveApi,
    pub application_name: String,
    pub application_logo: String,
    pub team_id: String,
    pub team_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct SensitiveApiQuery {
    pub platform_id: String,
    pub application_id: Option<String>,
    pub team_id: Option<String>,
    /// Matches the API's name (which is its method).
    pub keyword: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// A mini program's request for permission to call a sensitive API. It
/// keeps what the API was, so that it outlives the API's deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRequest {
    pub approval_no: String,
    pub platform_id: String,
    pub mnp_id: String,
    pub application_id: String,
    pub api_id: String,
    pub api_name: String,
    pub api_desc: String,
    pub api_type: i64,
    pub status: i64,
    pub apply_reason: String,
    pub apply_user: String,
    pub apply_time: i64,
    /// Who approved, rejected or revoked it; empty while processing.
    pub approval_user: String,
    pub approval_time: i64,
    pub approval_note: String,
}

/// A request as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRequestListing {
    pub request: PermissionRequest,
    pub mnp_name: String,
    pub application_name: String,
    pub application_logo: String,
}

#[derive(Debug, Clone, Default)]
pub struct PermissionRequestQuery {
    pub platform_id: String,
    /// Empty: every status.
    pub statuses: Vec<i64>,
    /// Matches the API's name or the application's name.
    pub keyword: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// What a catalog change does to the API and to the requests for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitiveApiChange {
    Restrict,
    /// Lifts the restriction: open and granted requests are revoked.
    Unrestrict,
    /// Deletes the API: open and granted requests are revoked.
    Delete,
}

/// How recording a new permission request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestWrite {
    Written,
    /// The API is gone or no longer restricted.
    ApiNotRestricted,
    /// An open or granted request of the mini program for the API.
    Live(Box<PermissionRequest>),
}

/// Sensitive APIs per host application and the permission requests for
/// them (docs/sensitive-apis.md). A write that depends on an API's state
/// locks the API's row, so a request and a revocation never interleave.
#[async_trait]
pub trait SensitiveApiStore: Send + Sync {
    /// All or none; the names already in the application's catalog when
    /// any is.
    async fn insert_sensitive_apis(&self, apis: &[SensitiveApi]) -> StoreResult<Vec<String>>;
    async fn get_sensitive_api(&self, api_id: &str) -> StoreResult<Option<SensitiveApi>>;
    async fn list_sensitive_apis(
        &self,
        q: &SensitiveApiQuery,
    ) -> StoreResult<(i64, Vec<SensitiveApiListing>)>;
    /// False when the platform has no such API. `note` is recorded on the
    /// requests it revokes.
    async fn change_sensitive_api(
        &self,
        platform_id: &str,
        api_id: &str,
        change: SensitiveApiChange,
        user: &str,
        note: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Records the request while the API is restricted and nothing live
    /// exists for the pair; Conflict when the ApprovalNo is taken.
    async fn insert_permission_request(&self, r: &PermissionRequest) -> StoreResult<RequestWrite>;
    async fn get_permission_request(
        &self,
        approval_no: &str,
    ) -> StoreResult<Option<PermissionRequestListing>>;
    /// Moves a processing request to `status`; the request as it is after
    /// (unchanged when it was not processing any more), None when missing.
    async fn decide_permission_request(
        &self,
        approval_no: &str,
        status: i64,
        user: &str,
        note: &str,
        now: i64,
    ) -> StoreResult<Option<PermissionRequest>>;
    async fn list_permission_requests(
        &self,
        q: &PermissionRequestQuery,
    ) -> StoreResult<(i64, Vec<PermissionRequestListing>)>;
    /// The platform's catalog (filtered as `q` says) with the mini
    /// program's latest request for each API.
    async fn mini_program_permissions(
        &self,
        mnp_id: &str,
        q: &SensitiveApiQuery,
    ) -> StoreResult<(i64, Vec<(SensitiveApiListing, Option<PermissionRequest>)>)>;
    /// The restricted APIs of the platform's applications, and which of
    /// them the mini program is granted.
    async fn restricted_and_granted(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Vec<(SensitiveApi, bool)>>;
    /// The mini program's granted requests (status approved).
    async fn granted_requests(&self, mnp_id: &str) -> StoreResult<Vec<PermissionRequestListing>>;
}

/// A platform's package signing key as stored (crate::signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The first 16 hex digits of the SHA-256 of the public key.
    pub key_id: String,
    pub platform_id: String,
    /// 1 for the platform's first key, one more at each rotation: unique
    /// per platform, so that of two nodes making the same key at once only
    /// one succeeds.
    pub generation: i64,
    /// The 32-byte Ed25519 seed, base64, sealed as API secret keys are
    /// (crate::secret).
    pub private_key: String,
    /// The 32-byte Ed25519 public key, base64.
    pub public_key: String,
    pub created_at: i64,
    /// When a rotated-out key stops being published; None for the
    /// platform's current key.
    pub not_after: Option<i64>,
}

/// Package signing keys of the platforms.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key of the platform, newest (highest generation) first.
    async fn signing_keys(&self, platform_id: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Records `key` and, in the same transaction, makes every older key
    /// of the platform that is not retiring yet retire at
    /// `retire_older_at`. Conflict when the platform already has a key of
    /// that generation (another node rotated or created it first) or the
    /// key id exists.
    async fn insert_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_older_at: i64,
    ) -> StoreResult<()>;
}

pub trait MetaStore:
    AccountStore
    + MiniProgramStore
    + TaskStore
    + VersionStore
    + ApprovalStore
    + ReleaseStore
    + PreviewStore
    + SettingStore
    + ApplicationStore
    + MiniProgramManagementStore
    + UploadStore
    + ResetStore
    + FixtureStore
    + OrganizationStore
    + DomainStore
    + ConsoleSessionStore
    + SensitiveApiStore
    + SigningKeyStore
    + RolloutStore
{
}
impl<
        T: AccountStore
            + MiniProgramStore
            + TaskStore
            + VersionStore
            + ApprovalStore
            + ReleaseStore
            + PreviewStore
            + SettingStore
            + ApplicationStore
            + MiniProgramManagementStore
            + UploadStore
            + ResetStore
            + OrganizationStore
            + DomainStore
            + FixtureStore
            + ConsoleSessionStore
            + SensitiveApiStore
            + SigningKeyStore
            + RolloutStore,
    > MetaStore for T
{
}

/// A store that hands one of its capabilities, `C` (`dyn VersionStore`,
/// ...), to a service on its own. Every concrete store does, and so does
/// `dyn MetaStore`: a service can be built from either, and keeps only what
/// it uses, so its constructor's bound says what it may touch.
pub trait Has<C: ?Sized> {
    fn share(store: &Arc<Self>) -> Arc<C>;
}

macro_rules! capabilities {
    ($($capability:ident),* $(,)?) => {$(
        impl<S: $capability + 'static> Has<dyn $capability> for S {
            fn share(store: &Arc<S>) -> Arc<dyn $capability> {
                store.clone()
            }
        }
        impl Has<dyn $capability> for dyn MetaStore {
            fn share(store: &Arc<Self>) -> Arc<dyn $capability> {
                store.clone()
            }
        }
    )*};
}

capabilities!(
    AccountStore,
    MiniProgramStore,
    MiniProgramManagementStore,
    ApplicationStore,
    TaskStore,
    VersionStore,
    ApprovalStore,
    ReleaseStore,
    PreviewStore,
    SettingStore,
    UploadStore,
    ResetStore,
    FixtureStore,
    OrganizationStore,
    DomainStore,
    ConsoleSessionStore,
    SensitiveApiStore,
    SigningKeyStore,
    RolloutStore,
);

/// A package as a local file, for validation; the guard removes a temporary
/// copy when dropped.
pub struct LocalBlob {
    pub path: PathBuf,
    pub guard: Option<tempfile::TempPath>,
}

/// Content-addressed package storage.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// A fresh path to download into, on storage from which `commit` is cheap.
    fn staging_path(&self) -> PathBuf;
    /// Makes the staged file the blob `sha256` (idempotent: content equal
    /// by construction); the staged file is consumed.
    async fn commit(&self, staged: &Path, sha256: &str) -> StoreResult<()>;
    async fn exists(&self, sha256: &str) -> StoreResult<bool>;
    async fn open_local(&self, sha256: &str) -> StoreResult<LocalBlob>;
    async fn delete(&self, sha256: &str) -> StoreResult<()>;
    async fn list(&self) -> StoreResult<Vec<String>>;
    /// Removes staged files older than `older_than_secs` (left by a crash).
    async fn clean_staging(&self, older_than_secs: u64) -> StoreResult<u64>;
    /// Streams the blob, or the byte range `start..=end` of it, in chunks;
    /// never reads it whole. Errors when the blob is missing or the range
    /// lies outside it.
    async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> StoreResult<BlobStream>;
    /// Ok when the storage answers (the readiness probe).
    async fn ping(&self) -> StoreResult<()>;
    /// The blob's key in its bucket, for URLs that reach the bucket (or a
    /// CDN in front of it) without mnpd; None when blobs are not objects of
    /// a bucket.
    fn object_key(&self, sha256: &str) -> StoreResult<Option<String>>;
    /// A URL that lets whoever holds it GET the blob straight from storage
    /// for `ttl`; None when the storage cannot sign one (a folder).
    async fn presigned_get(
        &self,
        sha256: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<String>>;
}

/// A blob being read: its total size and the requested bytes as a stream.
pub struct BlobStream {
    pub total_size: u64,
    pub body: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
}

/// Per key (account x action) admission; true when the request may go on.
pub trait RateLimiter: Send + Sync {
    fn admit(&self, key: &str) -> bool;
}
