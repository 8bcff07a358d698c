//! Uploads without a file server. DescribeTempSecret4UploadFile2Cos hands
//! out a short-lived token for one upload key of the caller's account; the
//! upload route (`PUT /uploads/KEY`) checks it and streams the body into
//! the blob store; CreateMNPVersion given that upload's URL then takes the
//! stored package instead of downloading it. Uploads that no version takes
//! are removed by [`Uploads::sweep`] once they expire.

pub mod token;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::shared_key::SharedKey;
use crate::store::{AccountStore, BlobStore, Has, SettingStore, StoreError, UploadStore};

pub use token::{Claims, TokenError};

const KEY_SETTING: &str = "upload_token_key";
/// The URL path under which uploads live, below the public URL.
pub const ROUTE: &str = "/uploads";
pub const MAX_BUSINESS_NAME_CHARS: usize = 64;
pub const MAX_SUFFIX_CHARS: usize = 16;
/// How long an upload may pause between two pieces of its body.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The first seconds of an upload, in which its rate is not yet judged
/// (connection set-up, a slow start).
pub const RATE_GRACE: Duration = Duration::from_secs(10);
/// How long after its expiry an upload is swept: a CreateMNPVersion that
/// took it just before has long recorded its task by then.
pub const SWEEP_GRACE_SECS: i64 = 60;
/// Uploads handled per sweep round; the rest wait for the next round.
const SWEEP_BATCH: i64 = 500;

#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// Base URL clients reach this server at (`--public-url`).
    pub public_url: String,
    /// Seconds the credentials, and then the uploaded package, stay valid.
    pub ttl_secs: i64,
    /// Largest upload (`--max-package-bytes`).
    pub max_bytes: u64,
    /// Longest time one upload may take, start to end (`--upload-timeout`).
    pub max_duration: Duration,
    /// Slowest average rate after [`RATE_GRACE`], in bytes per second
    /// (`--upload-min-rate`).
    pub min_bytes_per_sec: u64,
    /// Answered as `Region`.
    pub region: String,
}

/// What DescribeTempSecret4UploadFile2Cos answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Where uploads go: `PUBLIC_URL/uploads`.
    pub bucket: String,
    pub region: String,
    /// The URL to PUT the package to, and then the `FileUrl` of
    /// CreateMNPVersion.
    pub path: String,
    pub temp_secret_id: String,
    pub temp_secret_key: String,
    pub token: String,
    pub expires: i64,
}

/// Why an upload is refused; the server turns each into an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRefusal {
    /// No `Authorization: Bearer` token.
    MissingToken,
    Token(TokenError),
    TooLarge {
        limit: u64,
    },
    /// The key already holds another package.
    AlreadyUploaded,
    /// The body broke off or could not be read.
    BadBody(String),
    /// The body paused longer than [`IDLE_TIMEOUT`].
    Stalled,
    /// The body came slower than the minimum rate.
    TooSlow {
        min_bytes_per_sec: u64,
    },
    /// The body was not over within the upload time limit.
    TimeUp {
        limit: Duration,
    },
    /// Another upload with the same token is under way on this node.
    InProgress,
    /// The API key that asked for the token is disabled or gone.
    KeyDisabled,
    Unavailable(String),
    Internal(String),
}

impl From<StoreError> for UploadRefusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => UploadRefusal::Unavailable(m),
            other => UploadRefusal::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for UploadRefusal {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Unavailable(m) => UploadRefusal::Unavailable(m),
            other => UploadRefusal::Internal(other.to_string()),
        }
    }
}

/// A package taken from an upload by CreateMNPVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPackage {
    pub sha256: String,
    pub size: u64,
}

pub struct Uploads {
    uploads: Arc<dyn UploadStore>,
    /// Where the API key named by a token is looked up.
    accounts: Arc<dyn AccountStore>,
    /// Upload keys with a PUT under way on this node.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Where the token key is kept.
    server_settings: Arc<dyn SettingStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    settings: UploadSettings,
    key: SharedKey,
}

impl Uploads {
    pub fn new<S>(
        store: Arc<S>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        mut settings: UploadSettings,
    ) -> Self
    where
        S: Has<dyn UploadStore> + Has<dyn SettingStore> + Has<dyn AccountStore> + ?Sized,
    {
        settings.public_url = settings.public_url.trim_end_matches('/').to_string();
        Uploads {
            uploads: Has::share(&store),
            accounts: Has::share(&store),
            in_flight: Arc::default(),
            server_settings: Has::share(&store),
            blobs,
            clock,
            settings,
            key: SharedKey::new(KEY_SETTING),
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.settings.max_bytes
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The URL of an upload key: where it is PUT, and the `FileUrl`.
    pub fn url_of(&self, key: &str) -> String {
        format!("{}{ROUTE}/{key}", self.settings.public_url)
    }

    /// DescribeTempSecret4UploadFile2Cos: credentials for one new upload.
    pub async fn grant(
        &self,
        caller: &Caller,
        business_name: &str,
        suffix: &str,
    ) -> Result<Grant, DomainError> {
        let business = business_name.trim();
        if business.is_empty()
            || business.chars().count() > MAX_BUSINESS_NAME_CHARS
            || !business
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(DomainError::InvalidValue(format!(
                "BusinessName must be 1 to {MAX_BUSINESS_NAME_CHARS} letters, digits, `_` or `-`, e.g. tcmpp"
            )));
        }
        let suffix = suffix.trim();
        let suffix = suffix.strip_prefix('.').unwrap_or(suffix);
        if suffix.is_empty()
            || suffix.len() > MAX_SUFFIX_CHARS
            || !suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(DomainError::InvalidValue(format!(
                "Suffix must be a file extension of 1 to {MAX_SUFFIX_CHARS} letters or digits, e.g. zip"
            )));
        }
        let key = format!(
            "{business}/{}.{suffix}",
            hex::encode(rand::random::<[u8; 16]>())
        );
        let expires = self.now() + self.settings.ttl_secs;
        let issued = token::issue(
            self.key.get(self.server_settings.as_ref()).await?,
            &Claims {
                account_id: caller.account_id,
                expires,
                key: key.clone(),
                secret_id: caller.secret_id.clone(),
            },
        );
        Ok(Grant {
            bucket: format!("{}{ROUTE}", self.settings.public_url),
            region: self.settings.region.clone(),
            path: self.url_of(&key),
            temp_secret_id: issued.secret_id,
            temp_secret_key: issued.secret_key,
            token: issued.token,
            expires,
        })
    }

    /// Checks the token of an upload to `key`, and that the API key that
    /// asked for it is still enabled.
    pub async fn authorize(&self, token: Option<&str>, key: &str) -> Result<Claims, UploadRefusal> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(UploadRefusal::MissingToken)?;
        let claims = token::check(
            self.key.get(self.server_settings.as_ref()).await?,
            token,
            key,
            self.now(),
        )
        .map_err(UploadRefusal::Token)?;
        self.check_still_allowed(&claims).await?;
        Ok(claims)
    }

    /// The token is unexpired and its API key enabled, now.
    async fn check_still_allowed(&self, claims: &Claims) -> Result<(), UploadRefusal> {
        if claims.expires < self.now() {
            return Err(UploadRefusal::Token(TokenError::Expired));
        }
        let key = self.accounts.find_api_key(&claims.secret_id).await?;
        if key.is_some_and(|k| k.enabled && k.account_id == claims.account_id) {
            Ok(())
        } else {
            Err(UploadRefusal::KeyDisabled)
        }
    }

    /// Marks `key` as being uploaded on this node until the guard drops;
    /// none when it already is.
    fn start(&self, key: &str) -> Option<InFlight> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.insert(key.to_string()).then(|| InFlight {
            keys: self.in_flight.clone(),
            key: key.to_string(),
        })
    }

    /// Streams an authorized upload into the blob store and records it.
    /// `declared` is the Content-Length, if any: a body announced too large
    /// is refused before a byte is read.
    pub async fn receive<S, E>(
        &self,
        claims: &Claims,
        declared: Option<u64>,
        mut body: S,
    ) -> Result<Upload, UploadRefusal>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let limit = self.settings.max_bytes;
        if declared.is_some_and(|d| d > limit) {
            return Err(UploadRefusal::TooLarge { limit });
        }
        // One body per token at a time: concurrent ones would each hold a
        // socket and a staging file for a package only one of them can be.
        let _in_flight = self.start(&claims.key).ok_or(UploadRefusal::InProgress)?;
        let started = tokio::time::Instant::now();
        // Over at the time limit, or at the token's expiry if sooner.
        let until_expiry = Duration::from_secs((claims.expires - self.now()).max(0) as u64 + 1);
        let time_up = started + self.settings.max_duration.min(until_expiry);
        let staged = self.blobs.staging_path();
        // Removed however this ends; after the commit it no longer exists.
        let _guard = crate::version::StagedFile(staged.clone());
        let local = |e: std::io::Error| UploadRefusal::Internal(format!("staging the upload: {e}"));
        let mut file = tokio::fs::File::create(&staged).await.map_err(local)?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        loop {
            let stall = tokio::time::Instant::now() + IDLE_TIMEOUT;
            let piece = match tokio::time::timeout_at(stall.min(time_up), body.next()).await {
                Ok(piece) => piece,
                Err(_) if stall < time_up => return Err(UploadRefusal::Stalled),
                Err(_) => return Err(self.time_up(claims)),
            };
            let Some(piece) = piece else { break };
            let piece = piece.map_err(|e| UploadRefusal::BadBody(e.to_string()))?;
            size += piece.len() as u64;
            let judged = started.elapsed().saturating_sub(RATE_GRACE).as_secs_f64();
            if (size as f64) < self.settings.min_bytes_per_sec as f64 * judged {
                return Err(UploadRefusal::TooSlow {
                    min_bytes_per_sec: self.settings.min_bytes_per_sec,
                });
            }
            if size > limit {
                return Err(UploadRefusal::TooLarge { limit });
            }
            hasher.update(&piece);
            file.write_all(&piece).await.map_err(local)?;
        }
        file.sync_all().await.map_err(local)?;
        drop(file);
        // What held at the start must still hold now that the body is in.
        self.check_still_allowed(claims).await?;
        let sha256 = hex::encode(hasher.finalize());

        // One set of credentials, one package: a retry of the same bytes
        // is fine, other bytes are refused so no stored package is orphaned.
        if let Some(existing) = self.uploads.get_upload(&claims.key).await? {
            if existing.sha256 != sha256 {
                return Err(UploadRefusal::AlreadyUploaded);
            }
            if self.blobs.exists(&sha256).await? {
                return Ok(existing);
            }
        }
        self.blobs.commit(&staged, &sha256).await?;
        let now = self.now();
        let upload = Upload {
            key: claims.key.clone(),
            account_id: claims.account_id,
            sha256,
            size: size as i64,
            created_at: now,
            expires_at: now + self.settings.ttl_secs,
        };
        match self.uploads.insert_upload(&upload).await {
            Ok(()) => Ok(upload),
            // A concurrent upload with the same token won; the package
            // stored here is collected with the unreferenced ones.
            Err(StoreError::Conflict(_)) => Err(UploadRefusal::AlreadyUploaded),
            Err(e) => Err(e.into()),
        }
    }

    /// Why an upload that ran out of time is refused: its token expired,
    /// or it took longer than the limit.
    fn time_up(&self, claims: &Claims) -> UploadRefusal {
        if claims.expires < self.now() {
            UploadRefusal::Token(TokenError::Expired)
        } else {
            UploadRefusal::TimeUp {
                limit: self.settings.max_duration,
            }
        }
    }

    /// The upload key of a `FileUrl` that has the shape of one of this
    /// server's upload URLs (`.../uploads/BUSINESS/ID.SUFFIX`), and whether
    /// it is under this server's public URL.
    fn key_of_url(&self, file_url: &str) -> Option<(String, bool)> {
        let ours = file_url.starts_with(&format!("{}{ROUTE}/", self.settings.public_url));
        let parsed = url::Url::parse(file_url).ok()?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return None;
        }
        let segments: Vec<&str> = parsed.path_segments()?.collect();
        let [.., "uploads", business, file] = segments.as_slice() else {
            return None;
        };
        let key = format!("{business}/{file}");
        is_upload_key(&key).then_some((key, ours))
    }

    /// The stored package a CreateMNPVersion `FileUrl` names, when it is an
    /// upload of the caller's account; None when it is not an upload (the
    /// URL is then downloaded). An upload URL of this server that names no
    /// live upload of the caller is refused rather than downloaded: nothing
    /// could be there.
    pub async fn package_of(
        &self,
        caller: &Caller,
        file_url: &str,
    ) -> Result<Option<StoredPackage>, DomainError> {
        let Some((key, ours)) = self.key_of_url(file_url) else {
            return Ok(None);
        };
        // A URL of another host with the same shape is an upload only when
        // one exists; otherwise it is some file server's file.
        let upload = self
            .uploads
            .get_upload(&key)
            .await?
            .filter(|u| u.account_id == caller.account_id);
        let Some(upload) = upload else {
            return if ours {
                Err(DomainError::DownloadFailed(format!(
                    "nothing was uploaded at {file_url} by this account (or the upload was removed after it expired); \
                     get new credentials with DescribeTempSecret4UploadFile2Cos, PUT the package to its Path, then send that Path"
                )))
            } else {
                Ok(None)
            };
        };
        if upload.expires_at < self.now() {
            return Err(DomainError::DownloadFailed(format!(
                "the upload at {file_url} expired at {}; upload the package again with new credentials",
                crate::version::format_time(upload.expires_at)
            )));
        }
        if upload.size as u64 > self.settings.max_bytes {
            return Err(DomainError::PackageTooLarge {
                limit: self.settings.max_bytes,
                declared: None,
            });
        }
        if !self.blobs.exists(&upload.sha256).await? {
            return Err(DomainError::DownloadFailed(format!(
                "the package uploaded at {file_url} is no longer stored; upload it again with new credentials"
            )));
        }
        Ok(Some(StoredPackage {
            sha256: upload.sha256,
            size: upload.size as u64,
        }))
    }

    /// Removes uploads expired for more than [`SWEEP_GRACE_SECS`] (or the
    /// TTL, when shorter), and
    /// their packages when nothing else needs them. Safe on every node at
    /// once and after a crash at any point: a package is deleted before
    /// the record naming it, and deleting either twice is harmless.
    /// Returns the number of packages deleted.
    pub async fn sweep(&self) -> Result<u64, DomainError> {
        // A short TTL (tests) shortens the grace with it.
        let before = self.now() - self.settings.ttl_secs.clamp(1, SWEEP_GRACE_SECS);
        let mut deleted = 0;
        for upload in self.uploads.expired_uploads(before, SWEEP_BATCH).await? {
            if !self.uploads.blob_needed(&upload.sha256, before).await? {
                self.blobs.delete(&upload.sha256).await?;
                deleted += 1;
            }
            self.uploads.delete_upload(&upload.key).await?;
        }
        Ok(deleted)
    }
}

/// An upload key with a body under way on this node; freed when dropped.
struct InFlight {
    keys: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// `BUSINESS/ID.SUFFIX` as [`Uploads::grant`] makes them: a business name,
/// 32 lower-case hex digits, a short alphanumeric suffix.
pub fn is_upload_key(key: &str) -> bool {
    let Some((business, file)) = key.split_once('/') else {
        return false;
    };
    let Some((id, suffix)) = file.split_once('.') else {
        return false;
    };
    !business.is_empty()
        && business.len() <= MAX_BUSINESS_NAME_CHARS
        && business
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && !suffix.is_empty()
        && suffix.len() <= MAX_SUFFIX_CHARS
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys() {
        assert!(is_upload_key("tcmpp/00112233445566778899aabbccddeeff.zip"));
        assert!(is_upload_key("a-b_c/00112233445566778899aabbccddeeff.PNG"));
        for bad in [
            "",
            "tcmpp",
            "tcmpp/00112233445566778899aabbccddeeff",
            "tcmpp/00112233445566778899AABBCCDDEEFF.zip",
            "tcmpp/0011.zip",
            "/00112233445566778899aabbccddeeff.zip",
            "tc mpp/00112233445566778899aabbccddeeff.zip",
            "tcmpp/00112233445566778899aabbccddeeff.z.ip",
            "tcmpp/00112233445566778899aabbccddeeff.",
            "a/b/00112233445566778899aabbccddeeff.zip",
        ] {
            assert!(!is_upload_key(bad), "{bad:?}");
        }
    }
}
