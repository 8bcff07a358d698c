//! Serving the online package to host applications:
//! DescribeMNPOfflinePackageURL / DescribeOfflineMNPPackage hand out an
//! expiring URL of it, [`Packages::download_url`], whose kind follows the
//! configured [`PackageDelivery`]: by default a signed URL under the public
//! base URL, whose route asks [`Packages::authorize`], then streams it with
//! [`Packages::content`]; or a URL of the bucket or of a CDN in front of it,
//! so that the bytes do not pass through mnpd.

use std::sync::Arc;

use hmac::Mac;

use crate::clock::Clock;
use crate::delivery::{path_mac, PackageDelivery};
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::shared_key::SharedKey;
use crate::store::{
    AccountStore, BlobStore, BlobStream, Has, MiniProgramStore, ReleaseStore, RolloutStore,
    SettingStore, StoreResult, VersionStore,
};

const KEY_SETTING: &str = "package_url_key";
/// A removed mini program.
pub const STATUS_REMOVED: i64 = 2;

pub struct Packages {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    versions: Arc<dyn VersionStore>,
    releases: Arc<dyn ReleaseStore>,
    rollouts: Arc<dyn RolloutStore>,
    /// Where the URL signing key is kept.
    server_settings: Arc<dyn SettingStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    public_url: String,
    ttl_secs: i64,
    key: SharedKey,
    delivery: PackageDelivery,
}

/// Why a download is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadRefusal {
    BadSignature,
    Expired,
    /// The version is not (or no longer) what users get.
    NotServed,
    Unavailable(String),
}

impl Packages {
    pub fn new<S>(
        store: Arc<S>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        public_url: &str,
        ttl_secs: i64,
    ) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn VersionStore>
            + Has<dyn ReleaseStore>
            + Has<dyn RolloutStore>
            + Has<dyn SettingStore>
            + ?Sized,
    {
        Packages {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            versions: Has::share(&store),
            releases: Has::share(&store),
            rollouts: Has::share(&store),
            server_settings: Has::share(&store),
            blobs,
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
            ttl_secs,
            key: SharedKey::new(KEY_SETTING),
            delivery: PackageDelivery::Mnpd,
        }
    }

    /// Hands out URLs of this kind instead of mnpd's own (the default).
    pub fn with_delivery(mut self, delivery: PackageDelivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The package of a version `authorize` allowed, or the byte range
    /// `start..=end` of it, as a stream.
    pub async fn content(
        &self,
        version: &Version,
        range: Option<(u64, u64)>,
    ) -> StoreResult<BlobStream> {
        self.blobs.read(&version.new.sha256, range).await
    }

    /// Ok when package storage answers (the readiness probe).
    pub async fn storage_answers(&self) -> StoreResult<()> {
        self.blobs.ping().await
    }

    pub fn path_of(version: &Version) -> String {
        format!(
            "/packages/{}/{}/{}-{}.zip",
            version.new.mnp_id, version.mnp_version_id, version.new.mnp_id, version.new.version
        )
    }

    /// The URL of the online package of the mini program, by the
    /// configured delivery ([`Packages::download_url`]).
    pub async fn offline_package_url(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<String, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let listing = self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))?;
        if listing.mini_program.status == STATUS_REMOVED {
            return Err(DomainError::NothingOnline(format!(
                "mini program {mnp_id} is removed or offline (Status 2), so nothing of it is served to users; it still accepts versions and approvals"
            )));
        }
        let online = self.releases.online_version(mnp_id).await?.ok_or_else(|| {
            DomainError::NothingOnline(format!(
                "mini program {mnp_id} has no online version; release one with ReleaseMNPVersion"
            ))
        })?;
        self.download_url(&online.version).await
    }

    /// The validity window of download URLs it is now: windows are half
    /// of the URLs' lifetime, so a URL given in a window is still valid
    /// for at least half its lifetime when the window ends. An answer
    /// carrying a URL may be revalidated (ETag) within its window only.
    pub fn url_window(&self) -> i64 {
        self.clock.now().unix_timestamp() / (self.ttl_secs / 2).max(1)
    }

    /// Where a host gets the package of `version` for the next `ttl_secs`,
    /// by the configured delivery. The caller has decided that the version
    /// is one to hand out: this checks nothing about it. mnpd's own URL is
    /// served by `authorize` only while the version is online or in a live
    /// gradual release; a bucket or CDN URL works until it expires.
    pub async fn download_url(&self, version: &Version) -> Result<String, DomainError> {
        let sha256 = &version.new.sha256;
        match &self.delivery {
            PackageDelivery::Mnpd => self.signed_url(version).await,
            PackageDelivery::Presigned => {
                let ttl = std::time::Duration::from_secs(self.ttl_secs.max(1) as u64);
                self.blobs.presigned_get(sha256, ttl).await?.ok_or_else(|| {
                    DomainError::Internal(
                        "presigned package delivery needs S3 storage, and packages are in a folder"
                            .into(),
                    )
                })
            }
            PackageDelivery::Cdn(cdn) => {
                let key = self.blobs.object_key(sha256)?.ok_or_else(|| {
                    DomainError::Internal(
                        "CDN package delivery needs S3 storage, and packages are in a folder"
                            .into(),
                    )
                })?;
                Ok(cdn.url(&key, self.expiry()))
            }
        }
    }

    /// mnpd's own signed URL of the package of `version`, whatever the
    /// delivery: its `.policy.json` neighbour is served under the same
    /// signature (docs/host-apps.md).
    pub async fn signed_url(&self, version: &Version) -> Result<String, DomainError> {
        let path = Self::path_of(version);
        let expires = self.expiry();
        let signature = hex::encode(
            path_mac(
                self.key.get(self.server_settings.as_ref()).await?,
                &path,
                expires,
            )
            .finalize()
            .into_bytes(),
        );
        Ok(format!(
            "{}{path}?expires={expires}&signature={signature}",
            self.public_url
        ))
    }

    /// When a URL handed out now stops working, in Unix seconds.
    fn expiry(&self) -> i64 {
        self.clock.now().unix_timestamp() + self.ttl_secs
    }

    /// Checks a download request; the version to stream when allowed.
    pub async fn authorize(
        &self,
        mnp_id: &str,
        mnp_version_id: i64,
        file_name: &str,
        expires: i64,
        signature: &str,
    ) -> Result<Version, DownloadRefusal> {
        let unavailable = |e: DomainError| DownloadRefusal::Unavailable(e.to_string());
        let version = self
            .versions
            .get_version(mnp_version_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .filter(|v| v.new.mnp_id == mnp_id)
            .ok_or(DownloadRefusal::BadSignature)?;
        let path = Self::path_of(&version);
        if !path.ends_with(&format!("/{file_name}")) {
            return Err(DownloadRefusal::BadSignature);
        }
        let given = hex::decode(signature).map_err(|_| DownloadRefusal::BadSignature)?;
        path_mac(
            self.key
                .get(self.server_settings.as_ref())
                .await
                .map_err(unavailable)?,
            &path,
            expires,
        )
        .verify_slice(&given)
        .map_err(|_| DownloadRefusal::BadSignature)?;
        if expires < self.clock.now().unix_timestamp() {
            return Err(DownloadRefusal::Expired);
        }
        let listing = self
            .mini_programs
            .get_mini_program(&version.new.platform_id, mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .ok_or(DownloadRefusal::NotServed)?;
        if listing.mini_program.status == STATUS_REMOVED {
            return Err(DownloadRefusal::NotServed);
        }
        let online = self
            .releases
            .online_version(mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?;
        if online.is_some_and(|o| o.version.mnp_version_id == mnp_version_id) {
            return Ok(version);
        }
        // A version in a live gradual release is served to its devices.
        match self
            .rollouts
            .live_rollout(mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?
        {
            Some(r) if r.version.mnp_version_id == mnp_version_id => Ok(version),
            _ => Err(DownloadRefusal::NotServed),
        }
    }
}
