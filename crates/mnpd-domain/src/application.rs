//! Host applications (the superapps that load the platform's mini
//! programs): creation and change with their field rules, listing, detail
//! and deletion.

use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::host_config::{self, ConfigFile, Material};
use crate::ids;
use crate::mini_program::{check_page, owned_platform};
use crate::shared_key::SharedKey;
use crate::signing::PackageSigning;
use crate::store::{
    AccountStore, ApplicationStore, Has, MiniProgramStore, SettingStore, StoreError,
};

/// The filter and page a list request asks for; handlers build it.
pub use crate::store::ApplicationQuery;

pub const MAX_NAME_CHARS: usize = 30;
pub const MAX_INTRO_CHARS: usize = 200;
pub const MAX_REMARK_CHARS: usize = 200;
pub const MAX_LOGO_CHARS: usize = 1024;
pub const MAX_APP_KEY_CHARS: usize = 255;
/// `ApplicationType`.
pub const TYPE_TEST: i64 = 1;
pub const TYPE_FORMAL: i64 = 2;

/// What CreateApplication carries.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub platform_id: String,
    pub team_id: String,
    pub name: String,
    pub logo: String,
    pub intro: String,
    pub remark: Option<String>,
    pub android_app_key: Option<String>,
    pub ios_app_key: Option<String>,
    pub application_type: i64,
}

/// What ModifyApplication carries. An optional field left out keeps its
/// value; sent empty, it clears it.
#[derive(Debug, Clone)]
pub struct ApplicationChanges {
    pub platform_id: String,
    pub application_id: String,
    pub name: String,
    pub logo: String,
    pub intro: String,
    pub remark: Option<String>,
    pub android_app_key: Option<String>,
    pub ios_app_key: Option<String>,
}

pub struct Applications {
    accounts: Arc<dyn AccountStore>,
    applications: Arc<dyn ApplicationStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    /// Where the deployment's host SDK secret is kept.
    server_settings: Arc<dyn SettingStore>,
    clock: Arc<dyn Clock>,
    /// The base URL hosts reach this deployment at (configuration files).
    public_url: String,
    host_master: SharedKey,
    /// The platform's published package signing keys go into each file.
    package_signing: Option<PackageSigning>,
}

impl Applications {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn ApplicationStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn SettingStore>
            + ?Sized,
    {
        Applications {
            accounts: Has::share(&store),
            applications: Has::share(&store),
            mini_programs: Has::share(&store),
            server_settings: Has::share(&store),
            clock,
            public_url: String::new(),
            host_master: SharedKey::new(host_config::MASTER_SETTING),
            package_signing: None,
        }
    }

    /// The public base URL written into configuration files.
    pub fn with_public_url(mut self, public_url: &str) -> Self {
        self.public_url = public_url.trim_end_matches('/').to_string();
        self
    }

    /// Where configuration files get the platform's package signing keys;
    /// without it, no file can be made.
    pub fn with_package_signing(mut self, signing: PackageSigning) -> Self {
        self.package_signing = Some(signing);
        self
    }

    /// The platform's host SDK key (what `mnpd admin platform host-key`
    /// prints for the operator to build into the host SDK).
    pub async fn host_sdk_key(&self, platform_id: &str) -> Result<[u8; 32], DomainError> {
        let master = self.host_master.get(self.server_settings.as_ref()).await?;
        Ok(host_config::platform_key(master, platform_id))
    }

    /// DescribeApplicationConfig / DescribeApplicationConfigFile: the
    /// configuration file of the application for `app_type`.
    pub async fn config_file(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
        app_type: i64,
    ) -> Result<ConfigFile, DomainError> {
        let app = self.owned(caller, platform_id, application_id).await?;
        let package_name = host_config::package_name_for(&app, app_type)?;
        // A file without the keys would have the host trust no package.
        let signing = self.package_signing.as_ref().ok_or_else(|| {
            DomainError::Internal("configuration files need the package signing service".into())
        })?;
        let package_signing_keys = signing.published_keys(&app.platform_id).await?;
        let material = Material {
            platform_id: app.platform_id.clone(),
            application_id: app.application_id.clone(),
            app_type,
            android_app_key: app.android_app_key.clone(),
            ios_app_key: app.ios_app_key.clone(),
            api_endpoint: format!("{}/", self.public_url),
            package_endpoint: format!("{}/packages/", self.public_url),
            package_signing_keys,
            issued_at: self.clock.now().unix_timestamp(),
        };
        let key = self.host_sdk_key(&app.platform_id).await?;
        Ok(host_config::seal(
            &key,
            app_type,
            &material,
            package_name,
            &app.number.to_string(),
        ))
    }

    /// ModifyApplicationAppUrl: where users get the app. One left out keeps
    /// its value; one sent empty clears it.
    pub async fn modify_app_urls(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
        android_app_url: Option<&str>,
        ios_app_url: Option<&str>,
    ) -> Result<(), DomainError> {
        let mut app = self.owned(caller, platform_id, application_id).await?;
        if let Some(u) = android_app_url {
            app.android_app_url = http_url("AndroidAppURL", u, false)?;
        }
        if let Some(u) = ios_app_url {
            app.ios_app_url = http_url("IOSAppURL", u, false)?;
        }
        app.update_user = caller.user();
        app.updated_at = self.clock.now().unix_timestamp();
        match self.applications.update_application(&app).await? {
            true => Ok(()),
            false => Err(DomainError::InvalidApplicationId(app.application_id)),
        }
    }

    /// CreateApplication; returns the ApplicationId.
    pub async fn create(
        &self,
        caller: &Caller,
        new: NewApplication,
    ) -> Result<String, DomainError> {
        let platform = owned_platform(self.accounts.as_ref(), caller, &new.platform_id).await?;
        let name = name(&new.name)?;
        let intro = intro(&new.intro)?;
        let remark = remark(new.remark.as_deref().unwrap_or(""))?;
        let logo = logo(&new.logo)?;
        if new.application_type != TYPE_TEST && new.application_type != TYPE_FORMAL {
            return Err(DomainError::InvalidValue(format!(
                "ApplicationType is {}; send {TYPE_TEST} (test) or {TYPE_FORMAL} (formal)",
                new.application_type
            )));
        }
        let android_app_key = app_key(
            "AndroidAppKey",
            new.android_app_key.as_deref().unwrap_or(""),
        )?;
        let ios_app_key = app_key("IosAppKey", new.ios_app_key.as_deref().unwrap_or(""))?;
        let team_id = new.team_id.trim();
        if team_id.is_empty() {
            return Err(DomainError::InvalidApplicationTeamId(
                "TeamId is empty; send the TeamId of one of the platform's teams (the one printed at first start, or one made with `mnpd admin team create`)".into(),
            ));
        }
        match self.accounts.get_team(team_id).await? {
            Some(t) if t.platform_id == platform.platform_id => {
                crate::organization::roles::check_application_team(&t)?
            }
            _ => {
                return Err(DomainError::InvalidApplicationTeamId(format!(
                    "TeamId `{team_id}` is not a team of this platform; send the TeamId of one of its teams (the one printed at first start, or one made with `mnpd admin team create`)"
                )))
            }
        }
        let now = self.clock.now().unix_timestamp();
        // An id clash is astronomically rare; retry a few times rather than fail.
        for _ in 0..5 {
            let app = Application {
                application_id: ids::application_id(),
                number: 0,
                platform_id: platform.platform_id.clone(),
                team_id: team_id.to_string(),
                name: name.clone(),
                logo: logo.clone(),
                intro: intro.clone(),
                remark: remark.clone(),
                android_app_key: android_app_key.clone(),
                ios_app_key: ios_app_key.clone(),
                android_app_url: String::new(),
                ios_app_url: String::new(),
                application_type: new.application_type,
                create_user: caller.user(),
                created_at: now,
                update_user: caller.user(),
                updated_at: now,
            };
            match self.applications.insert_application(&app).await {
                Ok(_) => return Ok(app.application_id),
                Err(StoreError::Conflict(what)) if what == "name" => {
                    return Err(DomainError::ApplicationNameTaken(name))
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique ApplicationId".into(),
        ))
    }

    /// DescribeApplicationList.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ApplicationQuery,
    ) -> Result<(i64, Vec<ApplicationListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        crate::mini_program::check_keyword(query.keyword.as_deref())?;
        if crate::mini_program::matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.applications.list_applications(&query).await?)
    }

    /// Every application of the platform, oldest first: the host apps a
    /// trial version opens in (DescribeMNPVersionPreview).
    pub async fn of_platform(
        &self,
        caller: &Caller,
        platform_id: &str,
    ) -> Result<Vec<Application>, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        Ok(self
            .applications
            .list_platform_applications(platform_id)
            .await?)
    }

    /// DescribeApplication.
    pub async fn detail(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
    ) -> Result<ApplicationListing, DomainError> {
        let application = self.owned(caller, platform_id, application_id).await?;
        let team_name = self
            .accounts
            .get_team(&application.team_id)
            .await?
            .map(|t| t.name)
            .unwrap_or_default();
        Ok(ApplicationListing {
            application,
            team_name,
        })
    }

    /// ModifyApplication.
    pub async fn modify(
        &self,
        caller: &Caller,
        changes: ApplicationChanges,
    ) -> Result<(), DomainError> {
        let mut app = self
            .owned(caller, &changes.platform_id, &changes.application_id)
            .await?;
        app.name = name(&changes.name)?;
        app.intro = intro(&changes.intro)?;
        if let Some(r) = changes.remark.as_deref() {
            app.remark = remark(r)?;
        }
        app.logo = logo(&changes.logo)?;
        if let Some(k) = changes.android_app_key.as_deref() {
            app.android_app_key = app_key("AndroidAppKey", k)?;
        }
        if let Some(k) = changes.ios_app_key.as_deref() {
            app.ios_app_key = app_key("IosAppKey", k)?;
        }
        app.update_user = caller.user();
        app.updated_at = self.clock.now().unix_timestamp();
        match self.applications.update_application(&app).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DomainError::InvalidApplicationId(app.application_id)),
            Err(StoreError::Conflict(what)) if what == "name" => {
                Err(DomainError::ApplicationNameTaken(app.name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// ModifyApplicationAppKey: the package names. One left out keeps its
    /// value; one sent empty clears it.
    pub async fn modify_app_keys(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
        android_app_key: Option<&str>,
        ios_app_key: Option<&str>,
    ) -> Result<(), DomainError> {
        let mut app = self.owned(caller, platform_id, application_id).await?;
        if let Some(k) = android_app_key {
            app.android_app_key = app_key("AndroidAppKey", k)?;
        }
        if let Some(k) = ios_app_key {
            app.ios_app_key = app_key("IOSAppKey", k)?;
        }
        app.update_user = caller.user();
        app.updated_at = self.clock.now().unix_timestamp();
        match self.applications.update_application(&app).await? {
            true => Ok(()),
            false => Err(DomainError::InvalidApplicationId(app.application_id)),
        }
    }

    /// DescribeSimpleApplicationInfoList: the listing, narrowed with
    /// `MNPId` to the applications that approved a version of it.
    pub async fn simple_list(
        &self,
        caller: &Caller,
        query: ApplicationQuery,
    ) -> Result<(i64, Vec<ApplicationListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        if let Some(mnp_id) = query.approved_mnp_id.as_deref().filter(|m| !m.is_empty()) {
            if self
                .mini_programs
                .get_mini_program(&query.platform_id, mnp_id)
                .await?
                .is_none()
            {
                return Err(DomainError::InvalidMnpId(mnp_id.to_string()));
            }
        }
        self.list(caller, query).await
    }

    /// DeleteApplication: refused while an approval refers to it.
    pub async fn delete(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
    ) -> Result<(), DomainError> {
        let app = self.owned(caller, platform_id, application_id).await?;
        if self
            .applications
            .application_in_use(&app.application_id)
            .await?
        {
            return Err(DomainError::ApplicationInUse(app.application_id));
        }
        match self
            .applications
            .delete_application(&app.platform_id, &app.application_id)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(DomainError::InvalidApplicationId(app.application_id)),
            // An approval was opened meanwhile.
            Err(StoreError::Conflict(_)) => Err(DomainError::ApplicationInUse(app.application_id)),
            Err(e) => Err(e.into()),
        }
    }

    async fn owned(
        &self,
        caller: &Caller,
        platform_id: &str,
        application_id: &str,
    ) -> Result<Application, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        self.applications
            .get_application(platform_id, application_id)
            .await?
            .ok_or_else(|| DomainError::InvalidApplicationId(application_id.to_string()))
    }
}

/// Trimmed text of at most `max` characters without control characters;
/// empty only when `required` is false.
pub(crate) fn text(
    field: &str,
    value: &str,
    required: bool,
    max: usize,
    err: fn(String) -> DomainError,
) -> Result<String, DomainError> {
    let trimmed = value.trim();
    let n = trimmed.chars().count();
    if required && n == 0 {
        return Err(err(format!("{field} is empty; send 1 to {max} characters")));
    }
    if n > max {
        return Err(err(format!(
            "{field} has {n} characters after trimming; send at most {max}"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(err(format!(
            "{field} contains control characters; send plain text"
        )));
    }
    Ok(trimmed.to_string())
}

fn name(value: &str) -> Result<String, DomainError> {
    text(
        "ApplicationName",
        value,
        true,
        MAX_NAME_CHARS,
        DomainError::InvalidApplicationName,
    )
}

fn intro(value: &str) -> Result<String, DomainError> {
    text(
        "Intro",
        value,
        true,
        MAX_INTRO_CHARS,
        DomainError::InvalidApplicationIntro,
    )
}

fn remark(value: &str) -> Result<String, DomainError> {
    text(
        "Remark",
        value,
        false,
        MAX_REMARK_CHARS,
        DomainError::InvalidApplicationRemark,
    )
}

fn logo(value: &str) -> Result<String, DomainError> {
    http_url("Logo", value, true)
}

/// An http(s) URL of at most `MAX_LOGO_CHARS` characters; empty only when
/// not `required`.
fn http_url(field: &str, value: &str, required: bool) -> Result<String, DomainError> {
    let url = value.trim();
    let example = match field {
        "Logo" => "send the http(s) URL of the logo image, e.g. https://example.com/logo.png",
        _ => "send the http(s) URL where users get the app, e.g. https://apps.example.com/host, or an empty string to clear it",
    };
    if url.is_empty() {
        if required {
            return Err(DomainError::InvalidValue(format!(
                "{field} is empty; {example}"
            )));
        }
        return Ok(String::new());
    }
    if url.chars().count() > MAX_LOGO_CHARS {
        return Err(DomainError::InvalidValue(format!(
            "{field} is longer than {MAX_LOGO_CHARS} characters; send a shorter URL"
        )));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r)
            if !r.is_empty() && !r.starts_with('/') && !url.chars().any(char::is_whitespace) =>
        {
            Ok(url.to_string())
        }
        _ => Err(DomainError::InvalidValue(format!(
            "{field} `{url}` is not an http(s) URL; {example}"
        ))),
    }
}

/// An app's package name (Android applicationId, iOS bundle identifier):
/// empty, or two or more dot-separated parts, each a letter followed by
/// letters, digits, `_` or `-`.
fn app_key(field: &str, value: &str) -> Result<String, DomainError> {
    let key = value.trim();
    if key.is_empty() {
        return Ok(String::new());
    }
    let parts: Vec<&str> = key.split('.').collect();
    let part_ok = |p: &&str| {
        let mut bytes = p.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if key.len() > MAX_APP_KEY_CHARS || parts.len() < 2 || !parts.iter().all(part_ok) {
        return Err(DomainError::InvalidAppPackageName(format!(
            "{field} `{key}` is not a package name; send a reverse-domain name of at most {MAX_APP_KEY_CHARS} characters such as `com.example.app` (two or more parts joined by dots, each starting with a letter, then letters, digits, `_` or `-`), or leave it out"
        )));
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        for ok in [
            "com.test",
            "com.tencent.tcmpp.demo",
            "com.example.my_app",
            "com.example.my-app",
            "A.b1",
        ] {
            assert_eq!(app_key("AndroidAppKey", ok).unwrap(), ok);
        }
        assert_eq!(app_key("IosAppKey", "  ").unwrap(), "");
        for bad in [
            "abc",
            "com.",
            ".com",
            "com..x",
            "com.1app",
            "com.ex ample",
            "com/example",
            "中文.app",
        ] {
            assert!(
                matches!(app_key("IosAppKey", bad), Err(DomainError::InvalidAppPackageName(m)) if m.contains("com.example.app")),
                "{bad}"
            );
        }
        assert!(app_key("IosAppKey", &format!("com.{}", "a".repeat(252))).is_err());
    }

    #[test]
    fn texts_and_logo() {
        assert_eq!(name("  shop  ").unwrap(), "shop");
        assert!(matches!(
            name(" "),
            Err(DomainError::InvalidApplicationName(_))
        ));
        assert!(name(&"应".repeat(30)).is_ok());
        assert!(matches!(
            name(&"应".repeat(31)),
            Err(DomainError::InvalidApplicationName(_))
        ));
        assert!(matches!(
            intro(""),
            Err(DomainError::InvalidApplicationIntro(_))
        ));
        assert!(matches!(
            intro(&"i".repeat(201)),
            Err(DomainError::InvalidApplicationIntro(_))
        ));
        assert_eq!(remark("").unwrap(), "");
        assert!(matches!(
            remark(&"r".repeat(201)),
            Err(DomainError::InvalidApplicationRemark(_))
        ));
        assert!(logo("http://127.0.0.1/T0/console/a.png").is_ok());
        for bad in [
            "",
            "ftp://h/a.png",
            "https://",
            "//h/a.png",
            "https://h/a b.png",
        ] {
            assert!(
                matches!(logo(bad), Err(DomainError::InvalidValue(m)) if m.contains("Logo")),
                "{bad}"
            );
        }
    }
}
