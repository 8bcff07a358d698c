//! Preview and trial versions: ConfigureMNPPreview / DescribeMNPPreview and
//! ModifyMNPVersionPreview / DescribeMNPVersionPreview. Each mini program has
//! at most one of each; its QR code opens that version at its entrance path.

use std::sync::Arc;

use crate::approval::platform_version;
use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{owned_platform, STATUS_REMOVED};
use crate::store::{AccountStore, Has, MiniProgramStore, PreviewStore, VersionStore};

pub const SET: i64 = 1;
pub const CANCEL: i64 = 2;

/// The longest entrance path, in UTF-8 bytes. The QR code holds the path
/// form-encoded (up to three characters a byte) inside a link of about 80
/// characters plus the public URL; 512 bytes keep that link, with a public
/// URL of up to 600 characters, within what one QR code holds (2,331 bytes
/// at the default error correction).
pub const MAX_ENTRANCE_PATH_BYTES: usize = 512;

pub struct Previews {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    versions: Arc<dyn VersionStore>,
    previews: Arc<dyn PreviewStore>,
    clock: Arc<dyn Clock>,
    public_url: String,
}

/// A preview as shown to callers.
#[derive(Debug, Clone)]
pub struct PreviewView {
    pub mini_program: MiniProgram,
    pub version: Version,
    pub preview: Preview,
    /// Where the PNG of the QR code is served.
    pub qr_code_url: String,
}

fn kind_action(kind: PreviewKind) -> &'static str {
    match kind {
        PreviewKind::Preview => "ConfigureMNPPreview",
        PreviewKind::Trial => "ModifyMNPVersionPreview",
    }
}

/// The pages of a version, as entrance paths: main pages and
/// `root/page` of subpackages.
pub fn pages_of(version: &Version) -> Vec<String> {
    let m = &version.new.manifest;
    let mut pages = m.pages.clone();
    for sub in &m.subpackages {
        let root = sub.root.trim_end_matches('/');
        pages.extend(sub.pages.iter().map(|p| format!("{root}/{p}")));
    }
    pages
}

impl Previews {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>, public_url: &str) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn VersionStore>
            + Has<dyn PreviewStore>
            + ?Sized,
    {
        Previews {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            versions: Has::share(&store),
            previews: Has::share(&store),
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// What the QR code says: a link opening this version at its path.
    pub fn qr_content(&self, preview: &Preview) -> String {
        qr_link(&self.public_url, preview)
    }

    pub fn qr_code_url(&self, preview: &Preview) -> String {
        format!(
            "{}/qrcode/{}/{}/{}.png",
            self.public_url,
            preview.kind.as_str(),
            preview.mnp_id,
            preview.mnp_version_id
        )
    }

    /// Set (1) or cancel (2) the preview or trial version.
    #[allow(clippy::too_many_arguments)]
    pub async fn configure(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        kind: PreviewKind,
        action_type: i64,
        mnp_version_id: i64,
        entrance_path: Option<&str>,
    ) -> Result<(), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidMnpId(mnp_id.to_string()));
        }
        let version = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        if version.new.mnp_id != mnp_id {
            return Err(DomainError::InvalidMnpVersionId(mnp_version_id));
        }
        match action_type {
            SET => {
                let path = entrance_path_of(&version, entrance_path)?;
                let preview = Preview {
                    mnp_id: mnp_id.to_string(),
                    kind,
                    mnp_version_id,
                    entrance_path: path,
                    updated_at: self.clock.now().unix_timestamp(),
                };
                let decide = |current: Option<&Preview>| {
                    match current {
                    Some(c) if c.mnp_version_id != mnp_version_id => {
                        Err(DomainError::ShowcaseExists(format!(
                            "mini program {mnp_id} already has version id {} as its {} version; cancel it first ({} with ActionType 2)",
                            c.mnp_version_id,
                            kind.as_str(),
                            kind_action(kind)
                        )))
                    }
                    _ => Ok(()),
                }
                };
                self.previews.set_preview(&preview, &decide).await??;
                Ok(())
            }
            CANCEL => {
                if self
                    .previews
                    .clear_preview(mnp_id, kind, mnp_version_id)
                    .await?
                {
                    Ok(())
                } else {
                    Err(DomainError::InvalidValue(format!(
                        "version id {mnp_version_id} is not the {} version of {mnp_id}; nothing to cancel",
                        kind.as_str()
                    )))
                }
            }
            other => Err(DomainError::InvalidValue(format!(
                "ActionType {other} is not supported; send 1 to set or 2 to cancel"
            ))),
        }
    }

    pub async fn describe(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        kind: PreviewKind,
        mnp_version_id: i64,
    ) -> Result<PreviewView, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let listing = self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))?;
        let version = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        if version.new.mnp_id != mnp_id {
            return Err(DomainError::InvalidMnpVersionId(mnp_version_id));
        }
        let preview = self
            .previews
            .previews(mnp_id)
            .await?
            .into_iter()
            .find(|p| p.kind == kind && p.mnp_version_id == mnp_version_id)
            .ok_or_else(|| {
                DomainError::InvalidValue(format!(
                    "version id {mnp_version_id} is not the {} version of {mnp_id}; set it with {} (ActionType 1)",
                    kind.as_str(),
                    kind_action(kind)
                ))
            })?;
        Ok(PreviewView {
            mini_program: listing.mini_program,
            version,
            qr_code_url: self.qr_code_url(&preview),
            preview,
        })
    }

    /// The current preview of that kind and version, for the public QR
    /// route; none while the mini program is removed or offline, as nothing
    /// of it is served to users then.
    pub async fn current(
        &self,
        mnp_id: &str,
        kind: PreviewKind,
        mnp_version_id: i64,
    ) -> Result<Option<Preview>, DomainError> {
        let Some(preview) = self
            .previews
            .previews(mnp_id)
            .await?
            .into_iter()
            .find(|p| p.kind == kind && p.mnp_version_id == mnp_version_id)
        else {
            return Ok(None);
        };
        let Some(version) = self.versions.get_version(mnp_version_id).await? else {
            return Ok(None);
        };
        let in_service = self
            .mini_programs
            .get_mini_program(&version.new.platform_id, mnp_id)
            .await?
            .is_some_and(|listing| listing.mini_program.status != STATUS_REMOVED);
        Ok(in_service.then_some(preview))
    }
}

/// The link a preview's QR code holds, under `public_url` (no trailing `/`).
pub fn qr_link(public_url: &str, preview: &Preview) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("version_id", &preview.mnp_version_id.to_string())
        .append_pair("path", &preview.entrance_path)
        .append_pair("mode", preview.kind.as_str())
        .finish();
    format!("{public_url}/open/{}?{query}", preview.mnp_id)
}

/// The entrance path to use: the one given (a page of the version, with an
/// optional query string) or the version's entry page.
fn entrance_path_of(version: &Version, given: Option<&str>) -> Result<String, DomainError> {
    let pages = pages_of(version);
    let given = given.map(str::trim).filter(|p| !p.is_empty());
    let Some(path) = given else {
        return version
            .new
            .manifest
            .entry_page
            .clone()
            .or_else(|| pages.first().cloned())
            .ok_or_else(|| {
                DomainError::InvalidValue(
                    "the version has no page to open; send an entrance path".into(),
                )
            });
    };
    if path.len() > MAX_ENTRANCE_PATH_BYTES {
        return Err(DomainError::InvalidValue(format!(
            "entrance path is {} bytes long; send at most {MAX_ENTRANCE_PATH_BYTES} bytes (UTF-8), a page with a shorter query string",
            path.len()
        )));
    }
    let page = path.trim_start_matches('/');
    let page_only = page.split('?').next().unwrap_or(page);
    if pages.iter().any(|p| p == page_only) {
        Ok(page.to_string())
    } else {
        Err(DomainError::InvalidValue(format!(
            "entrance path `{path}` is not a page of version {}; send one of: {}",
            version.new.version,
            pages.join(", ")
        )))
    }
}
