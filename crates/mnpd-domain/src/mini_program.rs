//! Mini programs: creation with its field rules, listing and detail.

use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::ids;
use crate::store::{AccountStore, Has, MiniProgramManagementStore, MiniProgramStore, StoreError};

/// The filter and page a list request asks for; handlers build it.
pub use crate::store::MiniProgramQuery;

pub const MAX_NAME_CHARS: usize = 30;
pub const MAX_INTRO_CHARS: usize = 200;
pub const MAX_DESC_CHARS: usize = 2000;
pub const MAX_ICON_CHARS: usize = 1024;
pub const MAX_PAGE: i64 = 1000;

/// What CreateMNP carries.
#[derive(Debug, Clone)]
pub struct NewMiniProgram {
    pub platform_id: String,
    pub team_id: Option<String>,
    pub name: String,
    pub mnp_type: String,
    pub icon: String,
    pub intro: String,
    pub desc: String,
}

pub struct MiniPrograms {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    management: Arc<dyn MiniProgramManagementStore>,
    clock: Arc<dyn Clock>,
}

// ModifyMNP, RemoveMNP, ModifyMNPStatusOffline, DeleteMNP, categories.
mod manage;
pub use manage::{MiniProgramChanges, STATUS_REMOVED};

/// Looks up a platform the caller may act on.
pub async fn owned_platform(
    store: &dyn AccountStore,
    caller: &Caller,
    platform_id: &str,
) -> Result<Platform, DomainError> {
    match store.get_platform(platform_id).await? {
        Some(p) if p.account_id == caller.account_id => Ok(p),
        _ => Err(DomainError::InvalidPlatformId(platform_id.to_string())),
    }
}

fn char_count_between(
    field: &str,
    value: &str,
    max: usize,
    err: fn(String) -> DomainError,
) -> Result<String, DomainError> {
    let trimmed = value.trim();
    let n = trimmed.chars().count();
    if n == 0 {
        return Err(err(format!("{field} is empty; send 1 to {max} characters")));
    }
    if n > max {
        return Err(err(format!(
            "{field} has {n} characters; send at most {max}"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(err(format!(
            "{field} contains control characters; send plain text"
        )));
    }
    Ok(trimmed.to_string())
}

impl MiniPrograms {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn MiniProgramManagementStore>
            + ?Sized,
    {
        MiniPrograms {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            management: Has::share(&store),
            clock,
        }
    }

    pub async fn create(
        &self,
        caller: &Caller,
        new: NewMiniProgram,
    ) -> Result<String, DomainError> {
        let platform = owned_platform(self.accounts.as_ref(), caller, &new.platform_id).await?;
        let name = char_count_between(
            "MNPName",
            &new.name,
            MAX_NAME_CHARS,
            DomainError::InvalidMnpName,
        )?;
        let mnp_type = crate::category::canonical_mnp_type(&new.mnp_type)?;
        let icon = validate_icon(&new.icon)?;
        let intro = char_count_between(
            "MNPIntro",
            &new.intro,
            MAX_INTRO_CHARS,
            DomainError::InvalidMnpIntro,
        )?;
        let desc = new.desc.trim().to_string();
        if desc.chars().count() > MAX_DESC_CHARS {
            return Err(DomainError::InvalidValue(format!(
                "MNPDesc has {} characters; send at most {MAX_DESC_CHARS}",
                desc.chars().count()
            )));
        }
        let team = match new.team_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(team_id) => match self.accounts.get_team(team_id).await? {
                Some(t) if t.platform_id == platform.platform_id => t,
                _ => return Err(DomainError::InvalidTeamId(team_id.to_string())),
            },
            None => self
                .accounts
                .default_team(&platform.platform_id)
                .await?
                .ok_or_else(|| {
                    DomainError::InvalidTeamId(
                        "(none given, and the platform has no team; create one with `mnpd admin team create`)".into(),
                    )
                })?,
        };
        crate::organization::roles::check_mini_program_team(&team)?;
        let now = self.clock.now().unix_timestamp();
        // An id clash is astronomically rare; retry a few times rather than fail.
        for _ in 0..5 {
            let mp = MiniProgram {
                mnp_id: ids::mini_program_id(),
                platform_id: platform.platform_id.clone(),
                team_id: team.team_id.clone(),
                name: name.clone(),
                mnp_type: mnp_type.clone(),
                icon: icon.clone(),
                intro: intro.clone(),
                desc: desc.clone(),
                status: 0,
                create_user: caller.user(),
                created_at: now,
                update_user: caller.user(),
                updated_at: now,
            };
            match self.mini_programs.insert_mini_program(&mp).await {
                Ok(()) => return Ok(mp.mnp_id),
                Err(StoreError::Conflict(what)) if what == "name" => {
                    return Err(DomainError::MnpNameTaken(name))
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique MNPId".into(),
        ))
    }

    pub async fn detail(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<MiniProgramListing, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        self.mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        query: MiniProgramQuery,
    ) -> Result<(i64, Vec<MiniProgramListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.mini_programs.list_mini_programs(&query).await?)
    }
}

pub const MAX_KEYWORD_CHARS: usize = 100;

/// A Keyword no name or id can contain: the listing is empty without
/// asking storage (which may not take the character at all).
pub fn matches_nothing(keyword: Option<&str>) -> bool {
    keyword.is_some_and(|k| k.contains('\0'))
}

/// A listing's Keyword: bounded, so a search stays cheap.
pub fn check_keyword(keyword: Option<&str>) -> Result<(), DomainError> {
    let n = keyword.map(|k| k.chars().count()).unwrap_or(0);
    if n > MAX_KEYWORD_CHARS {
        return Err(DomainError::QueryTooLong(format!(
            "Keyword has {n} characters; send at most {MAX_KEYWORD_CHARS}"
        )));
    }
    Ok(())
}

/// Offset and Limit of a listing.
pub fn check_page(offset: i64, limit: i64) -> Result<(), DomainError> {
    if offset < 0 {
        return Err(DomainError::InvalidValue(format!(
            "Offset is {offset}; send 0 or more"
        )));
    }
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(DomainError::InvalidValue(format!(
            "Limit is {limit}; send 1 to {MAX_PAGE}"
        )));
    }
    Ok(())
}

fn validate_icon(icon: &str) -> Result<String, DomainError> {
    let icon = icon.trim();
    if icon.is_empty() {
        return Err(DomainError::InvalidMnpIcon(
            "MNPIcon is empty; send the http(s) URL of the icon image".into(),
        ));
    }
    if icon.len() > MAX_ICON_CHARS {
        return Err(DomainError::InvalidMnpIcon(format!(
            "MNPIcon is {} characters long; send a URL of at most {MAX_ICON_CHARS}",
            icon.len()
        )));
    }
    let lower = icon.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !icon.chars().any(char::is_whitespace) => {
            Ok(icon.to_string())
        }
        _ => Err(DomainError::InvalidMnpIcon(format!(
            "MNPIcon `{icon}` is not an http(s) URL; send the URL of the icon image, e.g. https://example.com/icon.png"
        ))),
    }
}
