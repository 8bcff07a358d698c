//! Mini program management after CreateMNP: ModifyMNP, RemoveMNP,
//! ModifyMNPStatusOffline, DeleteMNP, and the category tree that `MNPType`
//! is checked against.

use super::*;
use crate::category::{self, CategoryDefinition};

/// `Status` after RemoveMNP or ModifyMNPStatusOffline: the mini program
/// keeps its versions and still accepts new versions and approvals, but
/// nothing of it is served to users.
pub const STATUS_REMOVED: i64 = 2;

/// What ModifyMNP carries; an absent or blank `icon` keeps the current one.
#[derive(Debug, Clone)]
pub struct MiniProgramChanges {
    pub platform_id: String,
    pub mnp_id: String,
    pub name: String,
    pub mnp_type: String,
    pub icon: Option<String>,
    pub intro: String,
    pub desc: String,
}

impl MiniPrograms {
    /// ModifyMNP, with CreateMNP's field rules. Returns the mini program's
    /// number, stable and never reused (ModifyMNP's integer ResourceId).
    pub async fn modify(
        &self,
        caller: &Caller,
        changes: MiniProgramChanges,
    ) -> Result<i64, DomainError> {
        let mut mp = self
            .detail(caller, &changes.platform_id, &changes.mnp_id)
            .await?
            .mini_program;
        mp.name = char_count_between(
            "MNPName",
            &changes.name,
            MAX_NAME_CHARS,
            DomainError::InvalidMnpName,
        )?;
        mp.mnp_type = category::canonical_mnp_type(&changes.mnp_type)?;
        if let Some(icon) = changes.icon.as_deref().filter(|i| !i.trim().is_empty()) {
            mp.icon = validate_icon(icon)?;
        }
        mp.intro = char_count_between(
            "MNPIntro",
            &changes.intro,
            MAX_INTRO_CHARS,
            DomainError::InvalidMnpIntro,
        )?;
        mp.desc = changes.desc.trim().to_string();
        let desc_chars = mp.desc.chars().count();
        if desc_chars > MAX_DESC_CHARS {
            return Err(DomainError::InvalidValue(format!(
                "MNPDesc has {desc_chars} characters; send at most {MAX_DESC_CHARS}"
            )));
        }
        mp.update_user = caller.user();
        mp.updated_at = self.clock.now().unix_timestamp();
        match self.management.update_mini_program(&mp).await {
            Ok(Some(number)) => Ok(number),
            Ok(None) => Err(DomainError::InvalidMnpId(mp.mnp_id)),
            Err(StoreError::Conflict(what)) if what == "name" => {
                Err(DomainError::MnpNameTaken(mp.name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// RemoveMNP: Status 2. Repeating it is not an error.
    pub async fn remove(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(), DomainError> {
        self.take_out_of_service(caller, platform_id, mnp_id).await
    }

    /// ModifyMNPStatusOffline: the same effect as RemoveMNP (Status 2);
    /// there is no separate offline flag.
    pub async fn set_offline(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(), DomainError> {
        self.take_out_of_service(caller, platform_id, mnp_id).await
    }

    async fn take_out_of_service(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(), DomainError> {
        self.detail(caller, platform_id, mnp_id).await?;
        let now = self.clock.now().unix_timestamp();
        if self
            .management
            .set_mini_program_status(platform_id, mnp_id, STATUS_REMOVED, &caller.user(), now)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::InvalidMnpId(mnp_id.to_string()))
        }
    }

    /// DeleteMNP: the mini program and everything of it, at once.
    pub async fn delete(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(), DomainError> {
        self.detail(caller, platform_id, mnp_id).await?;
        if self
            .management
            .delete_mini_program(platform_id, mnp_id)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::InvalidMnpId(mnp_id.to_string()))
        }
    }

    /// DescribeMNPCategory / DescribeMNPType: the platform's category tree.
    pub async fn categories(
        &self,
        caller: &Caller,
        platform_id: &str,
    ) -> Result<Vec<CategoryDefinition>, DomainError> {
        let platform = owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        Ok(category::tree_of(&platform))
    }
}
