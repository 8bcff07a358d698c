//! The one error type of the domain. The server maps every variant to a
//! TencentCloud error code in a single exhaustive table; messages are shown
//! to API callers, so each says what was wrong and what to send instead.

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("PlatformId `{0}` does not exist or does not belong to this account; send the PlatformId of one of your platforms")]
    InvalidPlatformId(String),
    #[error("the plan of platform `{platform_id}` expired at {expired_at}; renew it (mnpd admin platform create --expires-at) before creating versions")]
    PlanExpired {
        platform_id: String,
        expired_at: String,
    },
    #[error("MNPId `{0}` is not a mini program of this platform; send the MNPId returned by CreateMNP or listed by DescribeMNPList")]
    InvalidMnpId(String),
    #[error("{0}")]
    InvalidMnpVersion(String),
    #[error("{0}")]
    InvalidMnpVersionIntro(String),
    #[error("the package is larger than the limit of {limit} bytes{}; send a smaller package", declared.map(|d| format!(" (the file server announced {d} bytes)")).unwrap_or_default())]
    PackageTooLarge { limit: u64, declared: Option<u64> },
    #[error("{0}")]
    DownloadFailed(String),
    #[error("BusinessId `{0}` is not a task of this platform; send the TaskId returned by CreateMNPVersion")]
    InvalidTaskId(String),
    #[error("{0}")]
    InvalidMnpName(String),
    #[error("a mini program named `{0}` already exists on this platform; choose another MNPName")]
    MnpNameTaken(String),
    #[error("{0}")]
    InvalidMnpIcon(String),
    #[error("{0}")]
    InvalidMnpIntro(String),
    #[error("{0}")]
    InvalidMnpType(String),
    #[error("TeamId `{0}` is not a team of this platform; send one of the platform's TeamIds or leave it out for the default team")]
    InvalidTeamId(String),
    /// A parameter value outside what the action accepts, with no more
    /// specific code.
    #[error("{0}")]
    InvalidValue(String),
    // Host applications, mini program management, categories.
    #[error("{0}")]
    TooManyMnpTypes(String),
    #[error("{0}")]
    InvalidApplicationName(String),
    #[error("{0}")]
    InvalidApplicationIntro(String),
    #[error("{0}")]
    InvalidApplicationRemark(String),
    #[error("a host application named `{0}` already exists on this platform; choose another ApplicationName")]
    ApplicationNameTaken(String),
    /// TeamId of CreateApplication, which is required (unlike CreateMNP's).
    #[error("{0}")]
    InvalidApplicationTeamId(String),
    #[error("{0}")]
    InvalidAppPackageName(String),
    #[error("{0}")]
    AppPackageNameNotConfig(String),
    #[error("ApplicationId `{0}` is not a host application of this platform; send an ApplicationId returned by CreateApplication or listed by DescribeApplicationList")]
    InvalidApplicationId(String),
    #[error("host application `{0}` is part of a mini program version approval, so it cannot be deleted; it stays as long as an approval refers to it")]
    ApplicationInUse(String),
    // Lifecycle: approval, release, rollback, preview.
    #[error("MNPVersionId {0} is not a version of a mini program of this platform; send an MNPVersionId listed by DescribeMNPAllStageVersions")]
    InvalidMnpVersionId(i64),
    #[error("{0}")]
    ApprovalExists(String),
    #[error("ApplyAction `{0}` is not supported; send `submit` or `cancel`")]
    InvalidApplyAction(String),
    #[error("{0}")]
    ApprovalStatus(String),
    #[error("ApprovalNo `{0}` is not an approval of this platform; send an ApprovalNo listed by DescribeMNPApprovalList")]
    InvalidApprovalNo(String),
    #[error("ApprovalItems is empty; send one item per host application with AppId and ApprovalResult (2 reject, 3 approve)")]
    ApprovalItemsEmpty,
    #[error("{0}")]
    ApprovalNotProcessing(String),
    // Gradual releases (an mnpd extension, docs/host-apps.md).
    /// A second gradual release of a mini program while one is live.
    #[error("{0}")]
    RolloutExists(String),
    /// No gradual release of the mini program is live (or the named one
    /// does not exist).
    #[error("{0}")]
    NoLiveRollout(String),
    /// The change does not apply to the release's state.
    #[error("{0}")]
    RolloutState(String),
    #[error("{0}")]
    ApprovalApplicationMismatch(String),
    #[error("{0}")]
    InvalidApprovalNote(String),
    #[error("platform `{0}` has no host application to approve the version for; create one with CreateApplication, then submit again")]
    NoApplications(String),
    #[error("{0}")]
    NotApproved(String),
    #[error("{0}")]
    NotGreaterThanOnline(String),
    #[error("{0}")]
    AlreadyReleased(String),
    #[error("{0}")]
    NothingOnline(String),
    #[error("{0}")]
    RollbackRefused(String),
    #[error("{0}")]
    ShowcaseExists(String),
    // The organization.
    #[error("{0}")]
    InvalidUserId(String),
    #[error("{0}")]
    InvalidUserName(String),
    #[error("{0}")]
    InvalidAccountType(String),
    #[error("the account `{0}` is taken on this platform; choose another UserAccount")]
    UserAccountTaken(String),
    #[error("a team named `{0}` already exists on this platform; choose another TeamName")]
    TeamNameTaken(String),
    #[error("{0}")]
    InvalidRoleId(String),
    #[error("{0}")]
    UserNotInTeam(String),
    #[error("{0}")]
    UnableOperateAdmin(String),
    #[error("{0}")]
    TeamInUse(String),
    #[error("{0}")]
    TeamTypeMismatch(String),
    #[error("team `{0}` is a mini program team bound to no application team; create mini programs in a mini program team made with RelatedTeamId (CreateTeam), or in the platform's default team")]
    MnpTeamNotAssociated(String),
    #[error("{0}")]
    MnpTeamAssociatedNoApplication(String),
    #[error("team `{0}` is an operations team, which cannot hold host applications; send the TeamId of an application team (DescribeSimpleTeamList with TeamRoleTypeList [2])")]
    OperationsTeamNoApplication(String),
    #[error("team `{0}` is an operations team, which cannot hold mini programs; send the TeamId of a mini program team (DescribeSimpleTeamList with TeamRoleTypeList [1])")]
    OperationsTeamNoMiniProgram(String),
    #[error("{0}")]
    WeakPassword(String),
    /// A password that is not a ciphertext of the named preset key.
    #[error("{0}")]
    PasswordNotEncrypted(String),
    #[error("{0}")]
    InvalidPresetKey(String),
    // Server domains.
    #[error("{0}")]
    InvalidDomain(String),
    #[error("{0}")]
    RepeatDomain(String),
    #[error("{0}")]
    WhiteDomain(String),
    #[error("{0}")]
    BlackDomain(String),
    #[error("DomainId {0} is not a domain of this platform; send a DomainId listed by {1}")]
    DomainNotFound(i64, &'static str),
    // Sensitive APIs.
    #[error("{0}")]
    SensitiveApiExists(String),
    #[error("APIId `{0}` is not a sensitive API of this platform; send an APIId listed by DescribeApplicationSensitiveAPIList")]
    SensitiveApiNotFound(String),
    #[error("ApprovalNo `{0}` is not a sensitive API permission request of this platform; send an ApprovalNo listed by DescribeMNPSensitiveAPIPermissionApprovalList")]
    InvalidPermissionRequestNo(String),
    #[error("{0}")]
    SensitiveApiNotRestricted(String),
    /// A search parameter longer than listings accept.
    #[error("{0}")]
    QueryTooLong(String),
    /// A backing service could not be reached; the request may be retried.
    #[error("storage is unavailable right now ({0}); retry in a moment")]
    Unavailable(String),
    /// A fault of the server, logged with the request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => DomainError::Unavailable(m),
            // A conflict the caller did not handle is a bug, not bad input.
            StoreError::Conflict(m) => DomainError::Internal(format!("unexpected conflict: {m}")),
            StoreError::Other(m) => DomainError::Internal(m),
        }
    }
}
