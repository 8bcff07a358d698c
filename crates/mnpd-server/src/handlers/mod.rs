//! One handler per action of the catalog, grouped by family. The match is
//! exhaustive: an action added to the catalog does not build without one.

mod application;
mod approval;
mod catalog;
mod compile;
mod domain;
mod member;
mod mini_program;
mod mini_program_manage;
mod package;
mod preview;
mod release;
mod role;
mod sensitive_api;
mod stage;
mod team;
mod upload;
mod user;
mod version;

use std::future::Future;
use std::pin::Pin;

use mnpd_api::Action;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::gateway::Call;
use crate::AppState;

pub type HandlerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Map<String, Value>, ApiError>> + Send + 'a>>;
pub type Handler = fn(&AppState, Call) -> HandlerFuture<'_>;

/// The handler of each action.
pub fn handler_of(action: Action) -> Handler {
    use Action as A;
    let handler: Handler = match action {
        A::CreateMNP => mini_program::create,
        A::DescribeMNPList => mini_program::list,
        A::DescribeMNPDetail => mini_program::detail,
        // Mini program management and categories.
        A::ModifyMNP => mini_program_manage::modify,
        A::DeleteMNP => mini_program_manage::delete,
        A::RemoveMNP => mini_program_manage::remove,
        A::ModifyMNPStatusOffline => mini_program_manage::offline,
        A::DescribeMNP => mini_program_manage::describe,
        A::DescribeMNPManagerDetail => mini_program_manage::manager_detail_of,
        A::DescribeMNPManagerList => mini_program_manage::manager_list,
        A::DescribeMNPCategory => catalog::category,
        A::DescribeMNPType => catalog::mnp_type,
        // Host applications.
        A::CreateApplication => application::create,
        A::DescribeApplicationList => application::list,
        A::DescribeApplication => application::detail,
        A::ModifyApplication => application::modify,
        A::DeleteApplication => application::delete,
        A::ModifyApplicationAppKey => application::modify_app_key,
        A::DescribeSimpleApplicationInfoList => application::simple_list,
        A::ModifyApplicationAppUrl => application::modify_app_url,
        // The configuration file: one file, two names.
        A::DescribeApplicationConfig => application::config,
        A::DescribeApplicationConfigFile => application::config_file,
        A::CreateMNPVersion => version::create,
        A::DescribeMNPVersion => version::describe,
        A::DescribeTempSecret4UploadFile2Cos => upload::temp_secret,
        // The console's compile task.
        A::CreateConsoleMNPVersionCompileTask => compile::create,
        A::DescribeConsoleMNPVersionCompileTask => compile::describe,
        // Approval: one machine, several names.
        A::CreateMNPApproval => approval::create,
        A::CreatePlatformAudit => approval::create_platform_audit,
        A::ProcessMNPApproval => approval::process,
        A::ModifyPlatformAuditStatus => approval::modify_platform_audit_status,
        A::DescribeMNPApprovalList => approval::list,
        A::DescribeApplicationMNPVersionAuditList => approval::audit_list,
        // Release and rollback.
        A::ReleaseMNPVersion => release::release,
        A::CreateOnlineApply => release::create_online_apply,
        A::RollbackMNPVersion => release::rollback,
        A::ModifyOnlineVersion => release::modify_online_version,
        A::DescribeMNPReleasedVersionHistory => release::history,
        A::DescribeOnlineVersion => release::online,
        // Stages, preview and trial, offline packages.
        A::DescribeMNPAllStageVersions => stage::all_stage_versions,
        A::DescribeMNPBoard => stage::board,
        A::ConfigureMNPPreview => preview::configure,
        A::DescribeMNPPreview => preview::describe,
        A::ModifyMNPVersionPreview => preview::modify_trial,
        A::DescribeMNPVersionPreview => preview::describe_trial,
        A::DescribeMNPOfflinePackageURL => package::offline_package_url,
        A::DescribeOfflineMNPPackage => package::offline_package,
        // The organization.
        A::CreatePresetKey => user::create_preset_key,
        A::CreateUser => user::create,
        A::DescribeUser => user::describe,
        A::DescribeUserDetail => user::describe_detail,
        A::DescribeUserList => user::list,
        A::ModifyUser => user::modify,
        A::ModifyUserPassword => user::modify_password,
        A::DeleteUser => user::delete,
        A::CreateTeam => team::create,
        A::DescribeTeam => team::describe,
        A::DescribeTeamList => team::list,
        A::DescribeSimpleTeamList => team::simple_list,
        A::ModifyTeam => team::modify,
        A::DeleteTeam => team::delete,
        A::AddTeamMember => member::add,
        A::CreateTeamMember => member::create,
        A::DescribeTeamMemberList => member::list,
        A::DescribeTeamMembers => member::members,
        A::ModifyTeamMember => member::modify,
        A::DeleteTeamMember => member::delete,
        A::DescribeRoleList => role::list,
        A::DescribeRoleDetail => role::detail,
        // Server domains.
        A::CreateDomain => domain::create,
        A::CreateMNPDomainACL => domain::create_acl,
        A::ModifyDomain => domain::modify,
        A::ModifyMNPDomain => domain::modify_acl,
        A::DescribeDomainInfo => domain::describe,
        A::DescribeMNPDomainACL => domain::describe_acl,
        A::DescribeDomainTeamList => domain::teams,
        A::DescribeTeamDomainList => domain::team_domains,
        A::DisableTeamDomain => domain::disable_team_domain,
        A::CreateGlobalDomain => domain::create_global,
        A::CreateGlobalDomainACL => domain::create_global_acl,
        A::ModifyGlobalDomain => domain::modify_global,
        A::DeleteGlobalDomain => domain::delete_global,
        A::DescribeGlobalDomainList => domain::list_global,
        A::DescribeGlobalDomainACL => domain::list_global_acl,
        A::CheckGlobalDomain => domain::check_global,
        // Sensitive APIs: the catalog, permission requests (two sets of
        // names for one machine), a mini program's permissions, privacy.
        A::CreateSensitiveAPI => sensitive_api::create,
        A::CreateApplicationSensitiveAPI => sensitive_api::create_for_application,
        A::DeleteSensitiveAPI => sensitive_api::delete,
        A::DeleteApplicationSensitiveAPI => sensitive_api::delete_for_application,
        A::EnableApplicationSensitiveAPI => sensitive_api::enable,
        A::DisableApplicationSensitiveAPI => sensitive_api::disable,
        A::DescribeSensitiveAPIList => sensitive_api::list,
        A::DescribeApplicationSensitiveAPIList => sensitive_api::list_of_application,
        A::CreateMNPSensitiveAPIPermissionApproval => sensitive_api::create_approval,
        A::CreateSensitiveApiApply => sensitive_api::create_apply,
        A::DescribeMNPSensitiveAPIPermissionApproval => sensitive_api::describe_approval,
        A::DescribeSensitiveApiApplyDetail => sensitive_api::describe_apply,
        A::ProcessMNPSensitiveAPIPermissionApproval => sensitive_api::process,
        A::ModifySensitiveAPIAuditStatus => sensitive_api::modify_audit_status,
        A::DescribeMNPSensitiveAPIPermissionApprovalList => sensitive_api::list_approvals,
        A::DescribeSensitiveAPIAuditList => sensitive_api::list_audits,
        A::DescribeMNPSensitiveAPIPermissionList => sensitive_api::permission_list,
        A::DescribeSensitiveApiAuthList => sensitive_api::auth_list,
        A::DescribeMNPPrivacy => sensitive_api::privacy,
    };
    handler
}

/// The action whose rate-limit bucket `action` counts against. The API
/// names some operations twice (an older and a newer name, or a platform
/// and a manager view); both names run the same service call, so they
/// share one bucket, else a caller would get twice the limit by
/// alternating them.
pub fn operation_of(action: Action) -> Action {
    use Action as A;
    match action {
        A::DescribeMNPManagerList => A::DescribeMNPList,
        A::DescribeMNP | A::DescribeMNPManagerDetail => A::DescribeMNPDetail,
        A::ModifyMNPStatusOffline => A::RemoveMNP,
        A::DescribeMNPBoard => A::DescribeMNPAllStageVersions,
        A::CreatePlatformAudit => A::CreateMNPApproval,
        A::ModifyPlatformAuditStatus => A::ProcessMNPApproval,
        A::DescribeApplicationMNPVersionAuditList => A::DescribeMNPApprovalList,
        A::CreateOnlineApply => A::ReleaseMNPVersion,
        A::ModifyOnlineVersion => A::RollbackMNPVersion,
        A::DescribeOfflineMNPPackage => A::DescribeMNPOfflinePackageURL,
        A::DescribeUser => A::DescribeUserDetail,
        A::DescribeTeamMembers => A::DescribeTeamMemberList,
        A::CreateMNPDomainACL => A::CreateDomain,
        A::ModifyMNPDomain => A::ModifyDomain,
        A::DescribeMNPDomainACL => A::DescribeDomainInfo,
        A::CreateGlobalDomainACL => A::CreateGlobalDomain,
        A::DescribeGlobalDomainACL => A::DescribeGlobalDomainList,
        A::CreateSensitiveAPI => A::CreateApplicationSensitiveAPI,
        A::DeleteSensitiveAPI => A::DeleteApplicationSensitiveAPI,
        A::CreateSensitiveApiApply => A::CreateMNPSensitiveAPIPermissionApproval,
        A::DescribeSensitiveApiApplyDetail => A::DescribeMNPSensitiveAPIPermissionApproval,
        A::ModifySensitiveAPIAuditStatus => A::ProcessMNPSensitiveAPIPermissionApproval,
        A::DescribeSensitiveAPIAuditList => A::DescribeMNPSensitiveAPIPermissionApprovalList,
        A::DescribeSensitiveApiAuthList => A::DescribeMNPSensitiveAPIPermissionList,
        other => other,
    }
}

/// `{"Result": true}`, the answer of actions that only change state.
pub(crate) fn ok_result() -> mnpd_api::model::BooleanInfo {
    mnpd_api::model::BooleanInfo { result: Some(true) }
}

/// The response fields of a generated `...Response` struct, without its
/// RequestId (the envelope adds it).
pub(crate) fn encode<T: Serialize>(response: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(response) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("RequestId");
            Ok(fields)
        }
        Ok(other) => Err(ApiError::Internal(format!(
            "response encoded as {other}, not an object"
        ))),
        Err(e) => Err(ApiError::Internal(format!("encoding the response: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared bucket belongs to an action that is its own operation, so
    /// every alias chain ends in one step.
    #[test]
    fn alias_chains_end_in_one_step() {
        for action in Action::ALL.iter().copied() {
            let operation = operation_of(action);
            assert_eq!(operation_of(operation), operation, "{}", action.name());
        }
    }
}
