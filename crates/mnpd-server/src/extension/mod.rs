//! mnpd's own actions, beyond TCMPP's catalog: gradual releases and
//! install reports (docs/host-apps.md). They answer on the same endpoint,
//! signed the same way, under their own API version ([`VERSION`]), so a
//! TencentCloud SDK's `CommonClient` with the same credentials calls them.
//! Parameters are a JSON body (the SDKs' default), checked by serde with
//! unknown fields refused.

mod gradual;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::AppState;
use mnpd_domain::entity::Caller;
use mnpd_domain::DomainError;

/// The API version of mnpd's own actions.
pub const VERSION: &str = "2026-12-01";

/// An extension action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateGradualRelease,
    ModifyGradualRelease,
    PauseGradualRelease,
    ResumeGradualRelease,
    HaltGradualRelease,
    PromoteGradualRelease,
    DescribeGradualRelease,
    DescribeGradualReleaseList,
    DescribeInstallReport,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::CreateGradualRelease,
        Action::ModifyGradualRelease,
        Action::PauseGradualRelease,
        Action::ResumeGradualRelease,
        Action::HaltGradualRelease,
        Action::PromoteGradualRelease,
        Action::DescribeGradualRelease,
        Action::DescribeGradualReleaseList,
        Action::DescribeInstallReport,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::CreateGradualRelease => "CreateGradualRelease",
            Action::ModifyGradualRelease => "ModifyGradualRelease",
            Action::PauseGradualRelease => "PauseGradualRelease",
            Action::ResumeGradualRelease => "ResumeGradualRelease",
            Action::HaltGradualRelease => "HaltGradualRelease",
            Action::PromoteGradualRelease => "PromoteGradualRelease",
            Action::DescribeGradualRelease => "DescribeGradualRelease",
            Action::DescribeGradualReleaseList => "DescribeGradualReleaseList",
            Action::DescribeInstallReport => "DescribeInstallReport",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// Runs an extension action for a caller whose request passed the
/// gateway's checks.
pub async fn run(
    state: &AppState,
    action: Action,
    caller: &Caller,
    params: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    use Action as A;
    match action {
        A::CreateGradualRelease => gradual::create(state, caller, decode(action, params)?).await,
        A::ModifyGradualRelease => gradual::modify(state, caller, decode(action, params)?).await,
        A::PauseGradualRelease => gradual::pause(state, caller, decode(action, params)?).await,
        A::ResumeGradualRelease => gradual::resume(state, caller, decode(action, params)?).await,
        A::HaltGradualRelease => gradual::halt(state, caller, decode(action, params)?).await,
        A::PromoteGradualRelease => gradual::promote(state, caller, decode(action, params)?).await,
        A::DescribeGradualRelease => {
            gradual::describe(state, caller, decode(action, params)?).await
        }
        A::DescribeGradualReleaseList => {
            gradual::list(state, caller, decode(action, params)?).await
        }
        A::DescribeInstallReport => {
            gradual::install_report(state, caller, decode(action, params)?).await
        }
    }
}

/// The parameters as the action's request type; a missing, mistyped or
/// unknown field is refused with the TencentCloud code for it.
fn decode<T: DeserializeOwned>(action: Action, params: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(params)).map_err(|e| {
        let why = e.to_string();
        let field = why.split('`').nth(1).unwrap_or("").to_string();
        if why.starts_with("unknown field") {
            ApiError::Param(mnpd_api::params::ParamError::Unknown { field })
        } else if why.starts_with("missing field") {
            ApiError::Param(mnpd_api::params::ParamError::Missing {
                field,
                expected: "the type docs/host-apps.md gives",
            })
        } else {
            DomainError::InvalidValue(format!(
                "the parameters of {} do not match its definition ({why}); see docs/host-apps.md",
                action.name()
            ))
            .into()
        }
    })
}

/// The fields of an answer, from a JSON object.
fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => Map::from_iter([("Result".to_string(), other)]),
    }
}
