//! The records the platform keeps. Times are Unix seconds (UTC).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub secret_id: String,
    pub secret_key: String,
    pub account_id: i64,
    pub enabled: bool,
    pub created_at: i64,
}

/// The identity a verified request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: i64,
    /// The SecretId of the key that signed the request; upload tokens name
    /// it, so that disabling the key voids them.
    pub secret_id: String,
    /// Who is acting within the account: recorded on what the request
    /// creates or decides, and shown as CreateUser, ApplyUser, ...
    pub actor: Actor,
}

impl Caller {
    /// A request signed with an API key acts as that key.
    pub fn of_key(key: &ApiKey) -> Self {
        Caller {
            account_id: key.account_id,
            secret_id: key.secret_id.clone(),
            actor: Actor::ApiKey {
                secret_id: key.secret_id.clone(),
            },
        }
    }

    /// The name shown for the caller where the API names a user.
    pub fn user(&self) -> String {
        self.actor.shown().to_string()
    }
}

/// Who did something. Each record that the API shows with a user keeps
/// the actor as it was when it acted: renaming a user later does not
/// rewrite history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person signed in to the console: their user id and account name.
    User { user_id: String, account: String },
    /// An API key, shown by its SecretId (docs/architecture.md says why).
    ApiKey { secret_id: String },
    /// Recorded before mnpd told actors apart (or by a node of an older
    /// release, during an upgrade): only the name it showed, the account's.
    Earlier { name: String },
}

impl Actor {
    /// What the API shows: CreateUser, ApplyUser, ApprovalUser, ...
    pub fn shown(&self) -> &str {
        match self {
            Actor::User { account, .. } => account,
            Actor::ApiKey { secret_id } => secret_id,
            Actor::Earlier { name } => name,
        }
    }

    /// The kind of actor, as the console labels it.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::ApiKey { .. } => "key",
            Actor::Earlier { .. } => "earlier",
        }
    }

    /// A stable reference, stored beside the shown name: `user:<UserId>`,
    /// `key:<SecretId>`, or empty for an earlier record. Two records have
    /// the same actor when their references are equal (and, for earlier
    /// records, their shown names).
    pub fn reference(&self) -> String {
        match self {
            Actor::User { user_id, .. } => format!("user:{user_id}"),
            Actor::ApiKey { secret_id } => format!("key:{secret_id}"),
            Actor::Earlier { .. } => String::new(),
        }
    }

    /// The actor of a stored reference and shown name; `None` for a
    /// reference in no known form.
    pub fn from_stored(reference: &str, shown: &str) -> Option<Self> {
        if reference.is_empty() {
            return Some(Actor::Earlier {
                name: shown.to_string(),
            });
        }
        let (kind, id) = reference.split_once(':')?;
        match kind {
            "user" => Some(Actor::User {
                user_id: id.to_string(),
                account: shown.to_string(),
            }),
            "key" => Some(Actor::ApiKey {
                secret_id: id.to_string(),
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub platform_id: String,
    pub account_id: i64,
    pub name: String,
    /// End of the plan; no new versions after it.
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Team {
    pub team_id: String,
    pub platform_id: String,
    pub name: String,
    pub created_at: i64,
    /// `TeamRoleTypeList`: 1 mini program, 2 host application, 3
    /// operations. Teams made before types existed, and a platform's
    /// default team, are combined: `[1, 2]`.
    pub role_types: Vec<i64>,
    /// A mini program team's application team.
    pub related_team_id: Option<String>,
    /// The team's admin (a member with the admin role of the team's type).
    pub admin_user_id: Option<String>,
    pub remark: String,
    pub create_user: String,
}

/// A person who signs in to the console (docs/organization.md). The
/// password hash never leaves the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub platform_id: String,
    pub account: String,
    pub name: String,
    /// 1 super admin, 2 platform admin, 3 member.
    pub account_type: i64,
    /// argon2id in PHC form.
    pub password_hash: String,
    /// 1 enabled, 2 disabled.
    pub status: i64,
    /// Raised at every password change; a console session opened under an
    /// older value is over.
    pub password_epoch: i64,
    pub create_user: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for User {
    // Without the hash: a user may end up in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("platform_id", &self.platform_id)
            .field("account", &self.account)
            .field("account_type", &self.account_type)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A user in a listing, with the teams they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    pub user: User,
    pub team_ids: Vec<String>,
    pub team_names: Vec<String>,
}

/// A user's place in a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub team_id: String,
    pub team_name: String,
    pub user_id: String,
    pub user_account: String,
    pub user_name: String,
    pub role_id: i64,
    /// Whether the user is the team's admin.
    pub is_admin: bool,
}

/// A key made by CreatePresetKey, as stored: the private half sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetKey {
    pub key_id: String,
    /// None for a key of the console's sign-in page (no account yet).
    pub account_id: Option<i64>,
    pub private_key: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniProgram {
    pub mnp_id: String,
    pub platform_id: String,
    pub team_id: String,
    pub name: String,
    pub mnp_type: String,
    pub icon: String,
    pub intro: String,
    pub desc: String,
    /// 0 new, 1 released/submitted, 2 removed.
    pub status: i64,
    pub create_user: String,
    pub created_at: i64,
    pub update_user: String,
    pub updated_at: i64,
}

/// A mini program with what listings show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniProgramListing {
    pub mini_program: MiniProgram,
    pub team_name: String,
    /// The online version's MNPVersionId and number, if one is online.
    pub online: Option<(i64, String)>,
}

impl MiniProgramListing {
    /// Users get a version of it: one is online and it is not removed.
    pub fn is_served(&self) -> bool {
        self.online.is_some() && self.mini_program.status != 2
    }
}

/// A host application: the superapp that loads the platform's mini
/// programs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Application {
    /// "app-" and 10 of [a-z0-9].
    pub application_id: String,
    /// A number the store gives it, never reused (`AppIdentityID`); 0
    /// before it is stored.
    pub number: i64,
    pub platform_id: String,
    pub team_id: String,
    pub name: String,
    pub logo: String,
    pub intro: String,
    pub remark: String,
    /// Package names; empty when not configured.
    pub android_app_key: String,
    pub ios_app_key: String,
    /// Where users get the app (ModifyApplicationAppUrl); empty when not set.
    pub android_app_url: String,
    pub ios_app_url: String,
    /// 1 test, 2 formal.
    pub application_type: i64,
    pub create_user: String,
    pub created_at: i64,
    pub update_user: String,
    pub updated_at: i64,
}

/// An application with what listings show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationListing {
    pub application: Application,
    pub team_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    Pending,
    Running,
    Failed,
    Succeeded,
}

impl TaskStatus {
    /// The wire value of `TaskStatus`.
    pub fn code(self) -> i64 {
        match self {
            TaskStatus::Pending => 1,
            TaskStatus::Running => 20,
            TaskStatus::Failed => 30,
            TaskStatus::Succeeded => 60,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(TaskStatus::Pending),
            20 => Some(TaskStatus::Running),
            30 => Some(TaskStatus::Failed),
            60 => Some(TaskStatus::Succeeded),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Failed | TaskStatus::Succeeded)
    }
}

/// The work started by CreateMNPVersion: the package is already downloaded
/// and stored under `sha256`; the task validates it and records the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub task_id: String,
    pub platform_id: String,
    pub mnp_id: String,
    pub mnp_version: String,
    pub file_url: String,
    pub intro: String,
    pub sha256: String,
    pub size: i64,
    pub status: TaskStatus,
    pub msg: String,
    pub attempts: i64,
    pub mnp_version_id: Option<i64>,
    pub create_user: Actor,
    pub created_at: i64,
    pub updated_at: i64,
    /// A compile task's progress and measured sizes; None for a
    /// CreateMNPVersion task.
    pub compile: Option<crate::compile::CompileState>,
}

/// A version as recorded when its task succeeds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub mnp_id: String,
    pub platform_id: String,
    pub version: String,
    pub intro: String,
    pub sha256: String,
    pub size: i64,
    pub manifest: mnpd_package::Manifest,
    pub task_id: String,
    /// Who created the task that recorded it.
    pub create_user: Actor,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub mnp_version_id: i64,
    pub new: NewVersion,
}

/// Approval states, as the wire shows them.
pub mod approval_status {
    pub const PROCESSING: i64 = 1;
    pub const REJECTED: i64 = 2;
    pub const APPROVED: i64 = 3;
    pub const CANCELLED: i64 = 4;
}

/// A request to approve a version for the platform's host applications:
/// one item per application, each decided on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub approval_no: String,
    pub platform_id: String,
    pub mnp_id: String,
    pub mnp_version_id: i64,
    pub status: i64,
    /// Who submitted it.
    pub apply_user: Actor,
    pub apply_time: i64,
    pub updated_at: i64,
    pub items: Vec<ApprovalItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalItem {
    pub application_id: String,
    pub status: i64,
    pub note: String,
    /// Who approved or rejected it; `None` while it waits.
    pub approval_user: Option<Actor>,
    pub approval_time: i64,
}

/// One line of an approval listing: an item with what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalListing {
    pub approval: Approval,
    pub item: ApprovalItem,
    pub mnp_version: String,
    pub mini_program: MiniProgram,
    pub team_name: String,
    pub application_name: String,
    pub application_logo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseKind {
    Release,
    Rollback,
}

impl ReleaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Release => "release",
            ReleaseKind::Rollback => "rollback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "release" => Some(ReleaseKind::Release),
            "rollback" => Some(ReleaseKind::Rollback),
            _ => None,
        }
    }
}

/// A change of the online version.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRecord {
    pub release_id: i64,
    pub version: Version,
    pub kind: ReleaseKind,
    /// Who released or rolled back.
    pub release_user: Actor,
    pub released_at: i64,
}

/// What a release or rollback decision needs to know, read in the same
/// transaction that applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseState {
    /// The record that made the current online version, if any.
    pub online: Option<ReleaseRecord>,
    /// Whether the target version was ever released (not rolled back to).
    pub target_released: bool,
    /// Status of the target version's latest approval, if any.
    pub target_approval: Option<i64>,
    /// The mini program's gradual release in progress, if any: a release
    /// or rollback ends it.
    pub live_rollout: Option<crate::rollout::model::Rollout>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewKind {
    /// ConfigureMNPPreview: the preview version and its entrance path.
    Preview,
    /// ModifyMNPVersionPreview: the trial version and its test path.
    Trial,
}

impl PreviewKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewKind::Preview => "preview",
            PreviewKind::Trial => "trial",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "preview" => Some(PreviewKind::Preview),
            "trial" => Some(PreviewKind::Trial),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub mnp_id: String,
    pub kind: PreviewKind,
    pub mnp_version_id: i64,
    pub entrance_path: String,
    pub updated_at: i64,
}

/// A package uploaded to mnpd itself (see [`crate::upload`]), kept until
/// `expires_at` for CreateMNPVersion to take by its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// `BUSINESS/ID.SUFFIX`, the path under `/uploads/`.
    pub key: String,
    /// Only this account's CreateMNPVersion may use it.
    pub account_id: i64,
    pub sha256: String,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
}
