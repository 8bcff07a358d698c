//! The guarded downloader behind `CreateMNPVersion`'s `FileUrl`.
//!
//! A package is streamed to a local file while its SHA-256 is computed and
//! its size is capped; nothing is ever held whole in memory. The caller
//! decides where the file lives (normally a temporary folder on the same
//! file system as the blob store, so committing it is a rename).

pub mod policy;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use policy::{AddressPolicy, PrivateNetworks};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Bounds applied to one download.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub max_bytes: u64,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_redirects: usize,
    /// Which addresses may be reached.
    pub policy: AddressPolicy,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            max_bytes: 20 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            max_redirects: 5,
            policy: AddressPolicy::default(),
        }
    }
}

/// What a finished download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes written.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be fetched at all (syntax, scheme).
    #[error("{0}")]
    BadUrl(String),
    /// The body is (or announces to be) larger than the cap.
    #[error("the package is larger than the limit of {limit} bytes{}", declared_note(.declared))]
    TooLarge { limit: u64, declared: Option<u64> },
    /// Anything else: DNS, connection, status, timeout, truncated body.
    #[error("{0}")]
    Failed(String),
    /// Writing the local copy failed; not the caller's fault.
    #[error("could not write the downloaded package locally: {0}")]
    Local(String),
}

fn declared_note(declared: &Option<u64>) -> String {
    match declared {
        Some(n) => format!(" (the server announced {n} bytes)"),
        None => String::new(),
    }
}

/// A reusable downloader; cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Result<Self, FetchError> {
        let policy = Arc::new(limits.policy.clone());
        let max_redirects = limits.max_redirects;
        let redirect_policy = policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(format!("followed more than {max_redirects} redirects"));
            }
            let url = attempt.url();
            if !matches!(url.scheme(), "http" | "https") {
                let why = format!(
                    "a redirect leads to a {} URL; only http and https are fetched",
                    url.scheme()
                );
                return attempt.error(why);
            }
            let checked = match url.host() {
                Some(host) => redirect_policy.check_host(&host),
                None => Err("a redirect leads to a URL without a host".to_string()),
            };
            match checked {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.total_timeout)
            .redirect(redirects)
            .dns_resolver(Arc::new(policy::PolicyResolver { policy }))
            .user_agent(concat!("mnpd/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Local(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher { client, limits })
    }

    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// Checks a URL without fetching it: http or https with a host.
    pub fn check_url(raw: &str) -> Result<url::Url, FetchError> {
        let url = url::Url::parse(raw.trim()).map_err(|e| {
            FetchError::BadUrl(format!(
                "FileUrl `{raw}` is not a valid URL ({e}); send an absolute http:// or https:// URL of the package zip"
            ))
        })?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(FetchError::BadUrl(format!(
                    "FileUrl scheme `{other}` is not supported; send an http:// or https:// URL of the package zip"
                )))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FetchError::BadUrl(format!(
                "FileUrl `{raw}` has no host; send an absolute http:// or https:// URL"
            )));
        }
        Ok(url)
    }

    /// Downloads `raw_url` into `dest` (created or truncated). On any error
    /// the partial file is removed.
    pub async fn fetch_to(&self, raw_url: &str, dest: &Path) -> Result<Fetched, FetchError> {
        let url = Self::check_url(raw_url)?;
        if let Some(host) = url.host() {
            self.limits.policy.check_host(&host).map_err(|why| {
                FetchError::Failed(format!(
                    "FileUrl cannot be fetched: {why}; serve the package from an allowed address"
                ))
            })?;
        }
        let shown = redact(&url);
        let internal = self.reaches_internal(&url).await;
        let outcome =
            tokio::time::timeout(self.limits.total_timeout, self.stream(url, &shown, dest)).await;
        let result = match outcome {
            Ok(r) => r,
            Err(_) => Err(FetchError::Failed(format!(
                "the download did not finish within {} s; serve the package faster or raise --download-timeout",
                self.limits.total_timeout.as_secs()
            ))),
        };
        let result = if internal {
            result.map_err(|e| untold(e, &shown))
        } else {
            result
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        result
    }

    /// Whether `url` leads to a loopback or private address that this
    /// fetcher may reach. Only then can a failure's detail tell the caller
    /// something about the network behind mnpd; refused addresses are never
    /// contacted, so their refusal says nothing but the policy.
    async fn reaches_internal(&self, url: &url::Url) -> bool {
        if self.limits.policy.private != PrivateNetworks::Allowed {
            return false;
        }
        let port = url.port_or_known_default().unwrap_or(80);
        match url.host() {
            Some(url::Host::Ipv4(v4)) => policy::is_internal(v4.into()),
            Some(url::Host::Ipv6(v6)) => policy::is_internal(v6.into()),
            Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
                .await
                .is_ok_and(|mut addrs| addrs.any(|a| policy::is_internal(a.ip()))),
            None => false,
        }
    }

    /// A failure of the request, told without detail when it happened at
    /// an internal address (a redirect may have led there).
    async fn failed(&self, shown: &str, e: &reqwest::Error) -> FetchError {
        let detailed = FetchError::Failed(describe(shown, e));
        match e.url() {
            Some(at) if self.reaches_internal(at).await => untold(detailed, shown),
            _ => detailed,
        }
    }

    async fn stream(&self, url: url::Url, shown: &str, dest: &Path) -> Result<Fetched, FetchError> {
        let mut response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(e) => return Err(self.failed(shown, &e).await),
        };
        let internal = response
            .remote_addr()
            .is_some_and(|a| policy::is_internal(a.ip()))
            && self.limits.policy.private == PrivateNetworks::Allowed;
        let told = |e: FetchError| if internal { untold(e, shown) } else { e };
        let status = response.status();
        if !status.is_success() {
            return Err(told(FetchError::Failed(format!(
                "GET {shown} answered HTTP {status}; FileUrl must answer 200 with the package zip"
            ))));
        }
        let limit = self.limits.max_bytes;
        if let Some(len) = response.content_length() {
            if len > limit {
                return Err(told(FetchError::TooLarge {
                    limit,
                    declared: Some(len),
                }));
            }
        }
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| FetchError::Local(e.to_string()))?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| told(FetchError::Failed(describe(shown, &e))))?;
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            // Enforced on the bytes actually received: a server may lie in
            // Content-Length or send none.
            if size > limit {
                return Err(FetchError::TooLarge {
                    limit,
                    declared: None,
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| FetchError::Local(e.to_string()))?;
        }
        file.sync_all()
            .await
            .map_err(|e| FetchError::Local(e.to_string()))?;
        Ok(Fetched {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

/// `e` as told about a loopback or private address: a failure in the same
/// words whether nothing listens there, the connection is refused, the server
/// answers an error status, stalls or cuts the body short, so that FileUrl
/// cannot be used to map the network mnpd sits in. A body over the size cap
/// keeps its code but not the length the server announced.
fn untold(e: FetchError, shown: &str) -> FetchError {
    match e {
        FetchError::Failed(_) => FetchError::Failed(format!(
            "GET {shown} failed: no package was fetched from this loopback or private address \
             (mnpd does not say why for internal addresses); check that FileUrl answers 200 \
             with the package zip, from the mnpd server's machine"
        )),
        FetchError::TooLarge { limit, .. } => FetchError::TooLarge {
            limit,
            declared: None,
        },
        other => other,
    }
}

/// The URL as it may appear in messages: without user info or query, which
/// may carry credentials.
fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    shown.to_string()
}

fn describe(shown: &str, e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_redirect() {
        format!("a redirect was refused ({})", root_cause(e))
    } else if e.is_connect() {
        format!("could not connect ({})", root_cause(e))
    } else if e.is_body() || e.is_decode() {
        format!("the body was cut short or unreadable ({})", root_cause(e))
    } else {
        root_cause(e)
    };
    format!("GET {shown} failed: {what}; check that FileUrl is reachable from the mnpd server")
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests;
