//! The one table from failures to TencentCloud error codes (and, at the
//! end, upload refusals to HTTP statuses). Every variant of
//! every error mnpd can answer is matched here, exhaustively: adding a
//! variant without a code does not compile.

use mnpd_api::params::ParamError;
use mnpd_api::ErrorCode;
use mnpd_domain::upload::{TokenError, UploadRefusal};
use mnpd_domain::DomainError;
use mnpd_wire::WireError;

/// Anything a request can fail with.
#[derive(Debug)]
pub enum ApiError {
    Wire(WireError),
    Param(ParamError),
    Domain(DomainError),
    BodyTooLarge {
        limit: usize,
    },
    BodyUnreadable(String),
    SecretIdNotFound(String),
    SignatureFailure,
    SignatureExpire {
        timestamp: i64,
        now: i64,
        skew: i64,
    },
    NoSuchVersion(String),
    InvalidAction(String),
    UnsupportedRegion(String),
    /// The TC3 credential scope names another date or service.
    CredentialScope {
        date: String,
        service: String,
        expected_date: String,
    },
    /// A string parameter holds a NUL character.
    NulCharacter(String),
    RequestLimitExceeded {
        action: String,
    },
    /// A console call without a live session (or without the console's
    /// header).
    ConsoleSession(String),
    /// A console user whose roles lack the permission the action needs.
    RoleLacksPermission {
        action: String,
        permission: &'static str,
    },
    /// A console user holds the permission, but not in the team that owns
    /// what the action changes.
    RoleLacksPermissionInTeam {
        action: String,
        permission: &'static str,
        resource: String,
    },
    /// An error a fault rule of the emulator answers in place of the
    /// action's own (`--emulator`).
    Injected {
        code: ErrorCode,
        message: String,
    },
    /// A panic or other fault; the message is logged, not sent.
    Internal(String),
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::Domain(e)
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError::Param(e)
    }
}

impl ApiError {
    /// The wire code and the message the caller reads.
    pub fn to_wire(&self) -> (ErrorCode, String) {
        use ErrorCode as C;
        match self {
            ApiError::Wire(e) => match e {
                WireError::MissingParameter(_) => (C::MissingParameter, e.to_string()),
                WireError::InvalidAuthorization(_) => (C::AuthFailureInvalidAuthorization, e.to_string()),
                WireError::InvalidParameter(_) => (C::InvalidParameter, e.to_string()),
            },
            ApiError::Param(e) => match e {
                ParamError::Missing { .. } | ParamError::WrongType { .. } | ParamError::TooDeep { .. } => {
                    (C::InvalidParameterValueExistMismatchParameterType, e.to_string())
                }
                ParamError::Unknown { .. } => (C::UnknownParameter, e.to_string()),
            },
            ApiError::Domain(DomainError::Internal(_)) => (
                C::InternalError,
                "internal error; retry, and report the RequestId if it persists".into(),
            ),
            ApiError::Domain(e) => (domain_code(e), e.to_string()),
            ApiError::BodyTooLarge { limit } => (
                C::RequestSizeLimitExceeded,
                format!("the request body is larger than {limit} bytes; send a smaller request (packages travel by FileUrl, not in the body)"),
            ),
            ApiError::BodyUnreadable(why) => (
                C::InvalidParameter,
                format!("the request body could not be read ({why}); send a complete body"),
            ),
            ApiError::SecretIdNotFound(id) => (
                C::AuthFailureSecretIdNotFound,
                format!("SecretId `{id}` does not exist or is disabled; sign with an enabled key (`mnpd admin key list`)"),
            ),
            ApiError::SignatureFailure => (
                C::AuthFailureSignatureFailure,
                "the signature does not match; sign the request with the SecretKey of this SecretId, over exactly the bytes and headers sent".into(),
            ),
            ApiError::SignatureExpire { timestamp, now, skew } => (
                C::AuthFailureSignatureExpire,
                format!("the request timestamp {timestamp} is more than {skew} s away from the server time {now}; sync the client clock and sign again"),
            ),
            ApiError::NoSuchVersion(v) => (
                C::NoSuchVersion,
                format!("API version `{v}` does not exist for tcmpp; send Version 2024-08-01 (or 2026-12-01 for mnpd's own actions: gradual releases, docs/host-apps.md)"),
            ),
            ApiError::InvalidAction(a) => (
                C::InvalidAction,
                format!("`{a}` is not an action of tcmpp 2024-08-01; check the action name and its case"),
            ),
            ApiError::UnsupportedRegion(r) => (
                C::UnsupportedRegion,
                format!("region `{r}` is not served here; send one of the regions this server is configured with (--regions)"),
            ),
            ApiError::RequestLimitExceeded { action } => (
                C::RequestLimitExceeded,
                format!("too many {action} requests from this account; slow down and retry after a moment"),
            ),
            ApiError::ConsoleSession(m) => (C::AuthFailure, m.clone()),
            ApiError::RoleLacksPermission { action, permission } => (
                C::UnauthorizedOperation,
                format!("your roles do not grant `{permission}`, which {action} needs; ask a team admin for a role that has it (DescribeRoleList lists each role's permissions)"),
            ),
            ApiError::RoleLacksPermissionInTeam { action, permission, resource } => (
                C::UnauthorizedOperation,
                format!("{action} needs `{permission}` in the team that owns {resource}, and none of your roles there grants it; ask that team's admin for a role with it, or act on your own team's resources"),
            ),
            ApiError::CredentialScope { date, service, expected_date } => (
                C::AuthFailureInvalidAuthorization,
                format!("the Credential scope is {date}/{service}; sign with the UTC date of X-TC-Timestamp ({expected_date}) and the service tcmpp (or the endpoint's first label, as the Node SDK does)"),
            ),
            ApiError::NulCharacter(field) => (
                nul_code(field),
                format!("parameter `{field}` contains a NUL character; send text without it"),
            ),
            ApiError::Injected { code, message } => (*code, message.clone()),
            ApiError::Internal(_) => (
                C::InternalError,
                "internal error; retry, and report the RequestId if it persists".into(),
            ),
        }
    }
}

/// A NUL character in a parameter: the code of that parameter's own
/// refusal, as no identifier or text of the API can hold one.
fn nul_code(path: &str) -> ErrorCode {
    use ErrorCode as C;
    match path.rsplit('.').next().unwrap_or(path) {
        "PlatformId" => C::InvalidParameterValueInvalidPlatformId,
        "MNPId" => C::InvalidParameterValueInvalidMNPId,
        "BusinessId" => C::InvalidParameterValueInvalidMNPVersionTaskId,
        "ApprovalNo" | "AuditNo" => C::InvalidParameterValueInvalidApprovalNo,
        "ApplicationId" | "AppId" => C::InvalidParameterValueInvalidApplicationId,
        "TeamId" | "RelatedTeamId" => C::InvalidParameterValueInvalidTeamId,
        "UserId" | "AdminUserId" => C::InvalidParameterValueInvalidUserId,
        "UserName" => C::InvalidParameterValueInvalidUserName,
        "MNPVersion" => C::InvalidParameterValueInvalidMNPVersion,
        "MNPVersionIntro" => C::InvalidParameterValueInvalidMNPVersionIntro,
        "FileUrl" => C::FailedOperationFileDownloadFailed,
        "MNPName" => C::InvalidParameterValueInvalidMNPName,
        "MNPIntro" => C::InvalidParameterValueInvalidMNPIntro,
        "MNPIcon" => C::InvalidParameterValueInvalidMNPIcon,
        "MNPType" => C::InvalidParameterValueInvalidMNPType,
        "ApplicationName" => C::InvalidParameterValueInvalidApplicationName,
        "Intro" => C::InvalidParameterValueInvalidApplicationIntro,
        "Remark" => C::InvalidParameterValueInvalidApplicationRemark,
        "ApprovalNote" | "AuditNote" => C::InvalidParameterValueInvalidApprovalNote,
        _ => C::InvalidParameterValue,
    }
}

/// The domain half of the table.
pub fn domain_code(e: &DomainError) -> ErrorCode {
    use ErrorCode as C;
    match e {
        DomainError::InvalidPlatformId(_) => C::InvalidParameterValueInvalidPlatformId,
        DomainError::PlanExpired { .. } => C::FailedOperationPackageAlreadyExpired,
        DomainError::InvalidMnpId(_) => C::InvalidParameterValueInvalidMNPId,
        DomainError::InvalidMnpVersion(_) => C::InvalidParameterValueInvalidMNPVersion,
        DomainError::InvalidMnpVersionIntro(_) => C::InvalidParameterValueInvalidMNPVersionIntro,
        DomainError::PackageTooLarge { .. } => C::InvalidParameterValueMNPFileSizExceedLimit,
        DomainError::DownloadFailed(_) => C::FailedOperationFileDownloadFailed,
        DomainError::InvalidTaskId(_) => C::InvalidParameterValueInvalidMNPVersionTaskId,
        DomainError::InvalidMnpName(_) => C::InvalidParameterValueInvalidMNPName,
        DomainError::MnpNameTaken(_) => C::InvalidParameterValueMiniProgramNameAlreadyExist,
        DomainError::InvalidMnpIcon(_) => C::InvalidParameterValueInvalidMNPIcon,
        DomainError::InvalidMnpIntro(_) => C::InvalidParameterValueInvalidMNPIntro,
        DomainError::InvalidMnpType(_) => C::InvalidParameterValueInvalidMNPType,
        DomainError::InvalidTeamId(_) => C::InvalidParameterValueInvalidTeamId,
        DomainError::InvalidValue(_) => C::InvalidParameterValue,
        DomainError::TooManyMnpTypes(_) => C::InvalidParameterValueMNPTypeNumberExceedLimit,
        DomainError::InvalidApplicationName(_) => C::InvalidParameterValueInvalidApplicationName,
        DomainError::InvalidApplicationIntro(_) => C::InvalidParameterValueInvalidApplicationIntro,
        DomainError::InvalidApplicationRemark(_) => {
            C::InvalidParameterValueInvalidApplicationRemark
        }
        DomainError::ApplicationNameTaken(_) => C::FailedOperationApplicationNameAlreadyExisted,
        DomainError::InvalidApplicationTeamId(_) => C::InvalidParameterValueInvalidTeamId,
        DomainError::InvalidAppPackageName(_) => {
            C::InvalidParameterValueInvalidAppPackageNameLayout
        }
        DomainError::AppPackageNameNotConfig(_) => C::InvalidParameterValueAppPackageNameNotConfig,
        DomainError::InvalidApplicationId(_) => C::InvalidParameterValueInvalidApplicationId,
        DomainError::ApplicationInUse(_) => C::FailedOperationAppAlreadyBindMiniProgram,
        DomainError::InvalidMnpVersionId(_) => C::InvalidParameterValueInvalidMNPVersionId,
        DomainError::ApprovalExists(_) => C::FailedOperationExistMNPApprovalRecord,
        DomainError::InvalidApplyAction(_) => C::InvalidParameterValueInvalidApplyAction,
        DomainError::ApprovalStatus(_) => C::InvalidParameterValueMNPApprovalStatusError,
        DomainError::InvalidApprovalNo(_) => C::InvalidParameterValueInvalidApprovalNo,
        DomainError::ApprovalItemsEmpty => C::InvalidParameterValueProcessApprovalItemIsEmpty,
        DomainError::ApprovalNotProcessing(_) => {
            C::InvalidParameterValueProcessMNPApprovalStatusError
        }
        DomainError::ApprovalApplicationMismatch(_) => {
            C::InvalidParameterValueProcessApplicationAndApprovalApplicationMismatch
        }
        DomainError::InvalidApprovalNote(_) => C::InvalidParameterValueInvalidApprovalNote,
        DomainError::NoApplications(_) => C::FailedOperation,
        DomainError::NotApproved(_) => C::FailedOperationOnlyReleasePlatformApprovedMNPVersion,
        DomainError::NotGreaterThanOnline(_) => {
            C::FailedOperationReleaseMNPVersionNeedGreaterThanOnlineVersion
        }
        DomainError::AlreadyReleased(_) => C::FailedOperationMNPVersionReleased,
        DomainError::NothingOnline(_) => C::FailedOperationMNPOnlineVersionNotExist,
        DomainError::RollbackRefused(_) => C::FailedOperation,
        DomainError::RolloutExists(_) => C::FailedOperation,
        DomainError::NoLiveRollout(_) => C::FailedOperationRecordNotFound,
        DomainError::RolloutState(_) => C::FailedOperation,
        DomainError::ShowcaseExists(_) => C::FailedOperationShowcaseVersionAlreadyExist,
        DomainError::InvalidUserId(_) => C::InvalidParameterValueInvalidUserId,
        DomainError::InvalidUserName(_) => C::InvalidParameterValueInvalidUserName,
        DomainError::InvalidAccountType(_) => C::InvalidParameterValueInvalidAccountType,
        DomainError::UserAccountTaken(_) => C::InvalidParameterValueExistUserAccount,
        DomainError::TeamNameTaken(_) => C::InvalidParameterValueExistTeamName,
        DomainError::InvalidRoleId(_) => C::InvalidParameterValueInvalidRoleId,
        DomainError::UserNotInTeam(_) => C::InvalidParameterValueUserTeamRelationNotExist,
        DomainError::UnableOperateAdmin(_) => C::FailedOperationUnableOperateAdminAccount,
        DomainError::TeamInUse(_) => C::ResourceInUse,
        DomainError::TeamTypeMismatch(_) => C::InvalidParameterValueTeamTypeMismatch,
        DomainError::MnpTeamNotAssociated(_) => {
            C::FailedOperationMNPTeamNotAssociatedApplicationTeam
        }
        DomainError::MnpTeamAssociatedNoApplication(_) => {
            C::FailedOperationMNPTeamAssociatedApplicationTeamNotCreateApplication
        }
        DomainError::OperationsTeamNoApplication(_) => {
            C::FailedOperationOperationsTeamNoApplicationPermission
        }
        DomainError::OperationsTeamNoMiniProgram(_) => {
            C::FailedOperationOperationsTeamNoMiniProgramPermission
        }
        DomainError::WeakPassword(_)
        | DomainError::PasswordNotEncrypted(_)
        | DomainError::InvalidPresetKey(_) => C::InvalidParameterValue,
        DomainError::InvalidDomain(_) => C::InvalidParameterValue,
        DomainError::RepeatDomain(_) => C::FailedOperationExistRepeatDomainUrl,
        DomainError::WhiteDomain(_) => C::FailedOperationExistWhiteDomain,
        DomainError::BlackDomain(_) => C::FailedOperationExistBlackDomain,
        DomainError::DomainNotFound(..) => C::FailedOperationRecordNotFound,
        DomainError::SensitiveApiExists(_) => C::FailedOperationExistSensitiveAPI,
        DomainError::SensitiveApiNotFound(_) => C::FailedOperationRecordNotFound,
        DomainError::InvalidPermissionRequestNo(_) => C::InvalidParameterValueInvalidApprovalNo,
        DomainError::SensitiveApiNotRestricted(_) => C::FailedOperation,
        DomainError::QueryTooLong(_) => C::InvalidParameterValueQueryParameterLengthExceedLimit,
        DomainError::Unavailable(_) => C::ResourceUnavailable,
        DomainError::Internal(_) => C::InternalError,
    }
}

impl ApiError {
    /// Whether the failure is the server's (logged as an error).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ApiError::Internal(_) | ApiError::Domain(DomainError::Internal(_))
        )
    }
}

/// The upload route's half of the table: refusals of `PUT /uploads/...`
/// as an HTTP status, a short code and the message the client reads.
pub fn upload_refusal(refusal: &UploadRefusal) -> (axum::http::StatusCode, &'static str, String) {
    use axum::http::StatusCode as S;
    const NEW_CREDENTIALS: &str = "get new credentials with DescribeTempSecret4UploadFile2Cos";
    match refusal {
        UploadRefusal::MissingToken => (
            S::UNAUTHORIZED,
            "MissingToken",
            "send the Token answered by DescribeTempSecret4UploadFile2Cos as `Authorization: Bearer TOKEN`".into(),
        ),
        UploadRefusal::Token(TokenError::Malformed) => (
            S::UNAUTHORIZED,
            "InvalidToken",
            format!("the upload token is malformed; send the Token exactly as answered, or {NEW_CREDENTIALS}"),
        ),
        UploadRefusal::Token(TokenError::BadSignature) => (
            S::UNAUTHORIZED,
            "InvalidToken",
            format!("the upload token is not valid here; {NEW_CREDENTIALS}"),
        ),
        UploadRefusal::Token(TokenError::OldFormat) => (
            S::UNAUTHORIZED,
            "InvalidToken",
            format!("the upload token is of a format this server no longer accepts; {NEW_CREDENTIALS}"),
        ),
        UploadRefusal::Token(TokenError::Expired) => (
            S::UNAUTHORIZED,
            "ExpiredToken",
            format!("the upload token has expired; {NEW_CREDENTIALS}"),
        ),
        UploadRefusal::Token(TokenError::WrongKey) => (
            S::FORBIDDEN,
            "WrongKey",
            "the upload token is for another Path; PUT to the Path answered with this Token".into(),
        ),
        UploadRefusal::TooLarge { limit } => (
            S::PAYLOAD_TOO_LARGE,
            "TooLarge",
            format!("the package is larger than the limit of {limit} bytes; send a smaller package"),
        ),
        UploadRefusal::AlreadyUploaded => (
            S::CONFLICT,
            "AlreadyUploaded",
            format!("another package was already uploaded with these credentials; {NEW_CREDENTIALS} for each package"),
        ),
        UploadRefusal::BadBody(why) => (
            S::BAD_REQUEST,
            "BadBody",
            format!("the upload body could not be read ({why}); send it again"),
        ),
        UploadRefusal::Stalled => (
            S::REQUEST_TIMEOUT,
            "Stalled",
            format!(
                "the upload paused for more than {} s; send it again",
                mnpd_domain::upload::IDLE_TIMEOUT.as_secs()
            ),
        ),
        UploadRefusal::TooSlow { min_bytes_per_sec } => (
            S::REQUEST_TIMEOUT,
            "TooSlow",
            format!(
                "the upload came slower than {min_bytes_per_sec} bytes/s after its first {} s; send it again over a faster link",
                mnpd_domain::upload::RATE_GRACE.as_secs()
            ),
        ),
        UploadRefusal::TimeUp { limit } => (
            S::REQUEST_TIMEOUT,
            "UploadTimeout",
            format!(
                "the upload took longer than {} s; send it again over a faster link",
                limit.as_secs()
            ),
        ),
        UploadRefusal::InProgress => (
            S::CONFLICT,
            "UploadInProgress",
            "another upload with this Token is under way; wait for its answer, or get other credentials for another package".into(),
        ),
        UploadRefusal::KeyDisabled => (
            S::UNAUTHORIZED,
            "InvalidToken",
            format!("the API key that asked for this token is disabled or deleted; {NEW_CREDENTIALS} with an enabled key"),
        ),
        UploadRefusal::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "ResourceUnavailable",
            "storage is unavailable right now; retry in a moment".into(),
        ),
        UploadRefusal::Internal(_) => (
            S::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal error; retry, and report it if it persists".into(),
        ),
    }
}

/// The public key route's half of the table: failures of
/// `GET /.well-known/mnpd/package-signing-keys/{PlatformId}` as an HTTP
/// status and the message the JSON `error` carries. Public data, so an
/// unknown platform is a plain 404 and a fault says nothing of its cause.
pub fn signing_keys_refusal(e: &DomainError) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode as S;
    match e {
        DomainError::InvalidPlatformId(id) => (
            S::NOT_FOUND,
            format!(
                "no platform `{id}` on this server; send the PlatformId the operator gave the host"
            ),
        ),
        DomainError::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "storage is unavailable right now; retry in a moment".into(),
        ),
        _ => (
            S::INTERNAL_SERVER_ERROR,
            "internal error; retry, and report it if it persists".into(),
        ),
    }
}
