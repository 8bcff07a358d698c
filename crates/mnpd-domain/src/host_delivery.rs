//! What a host application is told when it asks for a mini program: the
//! version meant for its device (online, or from a gradual release), with
//! its signature and runtime policy. The answer for a device is a function
//! of the mini program's delivery state and the device's cohort, so the
//! state is read once per mini program and kept for a short time
//! (`ttl`), and a host revalidating with its ETag costs no database read
//! while the state is fresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::domains::Domains;
use crate::entity::*;
use crate::error::DomainError;
use crate::package::STATUS_REMOVED;
use crate::rollout::model::Rollout;
use crate::rollout::rules::{self, Channel};
use crate::sensitive_api::SensitiveApis;
use crate::signing::{PackageSignature, PackageSigning};
use crate::store::{
    AccountStore, ApplicationStore, DomainStore, Has, MiniProgramStore, OrganizationStore,
    ReleaseStore, RolloutStore, SensitiveApiStore,
};

/// Why a host's question is not answered.
#[derive(Debug, Clone, PartialEq)]
pub enum HostRefusal {
    /// No such application on the platform, or the app key is not one of
    /// its package names.
    Unauthorized(String),
    /// No such mini program on the platform.
    UnknownMiniProgram(String),
    Unavailable(String),
}

/// What a device is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStatus {
    /// Another version is meant for it: download and switch.
    Update,
    /// It runs the version meant for it.
    Current,
    /// Nothing of the mini program is served.
    None,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Update => "update",
            OfferStatus::Current => "current",
            OfferStatus::None => "none",
        }
    }
}

/// The delivery state of one mini program for one host application.
#[derive(Debug)]
pub struct DeliveryView {
    pub platform_id: String,
    pub application_id: String,
    pub mnp_id: String,
    app_keys: Vec<String>,
    pub serving: bool,
    pub online: Option<Version>,
    /// The live gradual release.
    pub rollout: Option<Rollout>,
    pub signatures: HashMap<i64, PackageSignature>,
    /// `{"domains": .., "sensitiveApis": {"restricted": .., "granted": ..}}`
    pub policy: serde_json::Value,
    digest: [u8; 32],
}

/// The answer for one device.
#[derive(Debug)]
pub struct Decision<'a> {
    pub status: OfferStatus,
    pub version: Option<&'a Version>,
    pub channel: Option<Channel>,
    pub cohort: u32,
    /// Stands for the answer: equal ETags, equal answers.
    pub etag: String,
}

impl Decision<'_> {
    /// The ETag sent in `url_window` (`Packages::url_window`): an update
    /// answer carries a download URL that expires, so its ETag changes
    /// with the URL's validity window and a host revalidating it never
    /// keeps a URL past its expiry; other answers keep theirs.
    pub fn etag_within(&self, url_window: i64) -> String {
        if self.status != OfferStatus::Update {
            return self.etag.clone();
        }
        let tag = Sha256::new()
            .chain_update(self.etag.as_bytes())
            .chain_update(url_window.to_be_bytes())
            .finalize();
        format!("\"{}\"", hex::encode(&tag[..12]))
    }
}

impl DeliveryView {
    /// Whether `app_key` is one of the application's package names.
    pub fn admits(&self, app_key: &str) -> bool {
        self.app_keys.iter().any(|k| k == app_key)
    }

    pub fn decide(&self, device_id: &str, current_version_id: Option<i64>) -> Decision<'_> {
        let cohort = rules::cohort(&self.mnp_id, device_id);
        let meant = if self.serving {
            rules::version_for(
                self.online.as_ref(),
                self.rollout.as_ref(),
                device_id,
                current_version_id,
            )
        } else {
            None
        };
        let status = match meant {
            None => OfferStatus::None,
            Some((v, _)) if Some(v.mnp_version_id) == current_version_id => OfferStatus::Current,
            Some(_) => OfferStatus::Update,
        };
        let version_id = meant.map(|(v, _)| v.mnp_version_id).unwrap_or(0);
        let channel = meant.map(|(_, c)| c);
        let etag = Sha256::new()
            .chain_update(self.digest)
            .chain_update(status.as_str())
            .chain_update(version_id.to_be_bytes())
            .chain_update([channel == Some(Channel::Gradual)].map(u8::from))
            .finalize();
        Decision {
            status,
            version: meant.map(|(v, _)| v),
            channel,
            cohort,
            etag: format!("\"{}\"", hex::encode(&etag[..12])),
        }
    }

    /// The gradual release a report about `mnp_version_id` counts toward:
    /// `Some(0)` for a version offered outside it, `None` for a version
    /// this mini program does not offer now.
    pub fn report_scope(&self, mnp_version_id: i64) -> Option<i64> {
        if let Some(r) = &self.rollout {
            if r.version.mnp_version_id == mnp_version_id {
                return Some(r.rollout_id);
            }
            if r.base_mnp_version_id == Some(mnp_version_id) {
                return Some(0);
            }
        }
        self.online
            .as_ref()
            .filter(|v| v.mnp_version_id == mnp_version_id)
            .map(|_| 0)
    }
}

type Key = (String, String, String);

struct Cached {
    at: Instant,
    view: Result<Arc<DeliveryView>, HostRefusal>,
}

/// Most views kept; past it the cache starts over (each view is re-read
/// at most once per `ttl` anyway).
const MAX_VIEWS: usize = 20_000;

pub struct HostDelivery {
    applications: Arc<dyn ApplicationStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    releases: Arc<dyn ReleaseStore>,
    rollouts: Arc<dyn RolloutStore>,
    domains: Domains,
    sensitive_apis: SensitiveApis,
    signing: PackageSigning,
    ttl: Duration,
    views: Mutex<HashMap<Key, Cached>>,
}

impl HostDelivery {
    pub fn new<S>(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        signing: PackageSigning,
        ttl: Duration,
    ) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn ApplicationStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn ReleaseStore>
            + Has<dyn RolloutStore>
            + Has<dyn DomainStore>
            + Has<dyn OrganizationStore>
            + Has<dyn SensitiveApiStore>
            + ?Sized,
    {
        HostDelivery {
            applications: Has::share(&store),
            mini_programs: Has::share(&store),
            releases: Has::share(&store),
            rollouts: Has::share(&store),
            domains: Domains::new(store.clone(), clock.clone()),
            sensitive_apis: SensitiveApis::new(store, clock),
            signing,
            ttl,
            views: Mutex::new(HashMap::new()),
        }
    }

    /// The delivery state of a mini program for an application whose
    /// package name is `app_key`: from memory while fresh.
    pub async fn view(
        &self,
        platform_id: &str,
        application_id: &str,
        mnp_id: &str,
        app_key: &str,
    ) -> Result<Arc<DeliveryView>, HostRefusal> {
        self.view_of(platform_id, application_id, mnp_id, app_key, true)
            .await
    }

    /// The delivery state read from the database now, and remembered: for
    /// a report about a version the remembered state does not offer, which
    /// another node may have started offering within the last `ttl`.
    pub async fn reread(
        &self,
        platform_id: &str,
        application_id: &str,
        mnp_id: &str,
        app_key: &str,
    ) -> Result<Arc<DeliveryView>, HostRefusal> {
        self.view_of(platform_id, application_id, mnp_id, app_key, false)
            .await
    }

    async fn view_of(
        &self,
        platform_id: &str,
        application_id: &str,
        mnp_id: &str,
        app_key: &str,
        remembered: bool,
    ) -> Result<Arc<DeliveryView>, HostRefusal> {
        let key = (
            platform_id.to_string(),
            application_id.to_string(),
            mnp_id.to_string(),
        );
        let fresh = if remembered {
            let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
            views
                .get(&key)
                .filter(|c| c.at.elapsed() < self.ttl)
                .map(|c| c.view.clone())
        } else {
            None
        };
        let view = match fresh {
            Some(v) => v,
            None => {
                let read = self.read(platform_id, application_id, mnp_id).await;
                // A storage outage is not remembered: the next request retries.
                if !matches!(read, Err(HostRefusal::Unavailable(_))) {
                    let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
                    if views.len() >= MAX_VIEWS {
                        views.clear();
                    }
                    views.insert(
                        key,
                        Cached {
                            at: Instant::now(),
                            view: read.clone(),
                        },
                    );
                }
                read
            }
        }?;
        if view.admits(app_key) {
            Ok(view)
        } else {
            Err(unauthorized(platform_id, application_id))
        }
    }

    /// Drops what this node remembers of a mini program, after a change
    /// made here; other nodes see it within `ttl`.
    pub fn forget(&self, mnp_id: &str) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views.retain(|(_, _, m), _| m != mnp_id);
    }

    /// Drops what this node remembers of a platform's mini programs (after
    /// its signing key changed here).
    pub fn forget_platform(&self, platform_id: &str) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views.retain(|(p, _, _), _| p != platform_id);
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    async fn read(
        &self,
        platform_id: &str,
        application_id: &str,
        mnp_id: &str,
    ) -> Result<Arc<DeliveryView>, HostRefusal> {
        let unavailable = |e: DomainError| HostRefusal::Unavailable(e.to_string());
        let app = self
            .applications
            .get_application(platform_id, application_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .ok_or_else(|| unauthorized(platform_id, application_id))?;
        let program = self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .ok_or_else(|| {
                HostRefusal::UnknownMiniProgram(format!(
                    "mini program {mnp_id} is not on platform {platform_id}"
                ))
            })?;
        let online = self
            .releases
            .online_version(mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .map(|r| r.version);
        let rollout = self
            .rollouts
            .live_rollout(mnp_id)
            .await
            .map_err(|e| unavailable(e.into()))?;
        let effective = self
            .domains
            .effective(platform_id, mnp_id)
            .await
            .map_err(unavailable)?;
        let grants = self
            .sensitive_apis
            .host_grants(platform_id, mnp_id)
            .await
            .map_err(unavailable)?
            .into_iter()
            .find(|g| g.application_id == application_id);
        let (restricted, granted) = grants
            .map(|g| (g.restricted, g.granted))
            .unwrap_or_default();
        let policy = serde_json::json!({
            "domains": effective.to_json(),
            "sensitiveApis": {"restricted": restricted, "granted": granted},
        });
        // Every version offered is signed; one that cannot be is not
        // offered at all (the check answers 503).
        let mut signatures = HashMap::new();
        for v in online.iter().chain(rollout.as_ref().map(|r| &r.version)) {
            let n = &v.new;
            let signature = self
                .signing
                .sign(&n.platform_id, &n.mnp_id, &n.version, &n.sha256, n.size)
                .await
                .map_err(unavailable)?;
            signatures.insert(v.mnp_version_id, signature);
        }
        let serving = program.mini_program.status != STATUS_REMOVED;
        let mut digest = Sha256::new()
            .chain_update([u8::from(serving)])
            .chain_update(
                online
                    .as_ref()
                    .map_or(0, |v| v.mnp_version_id)
                    .to_be_bytes(),
            )
            .chain_update(policy.to_string());
        if let Some(r) = &rollout {
            digest.update(r.rollout_id.to_be_bytes());
            digest.update(r.revision.to_be_bytes());
        }
        let mut signed: Vec<_> = signatures.iter().collect();
        signed.sort_by_key(|(id, _)| **id);
        for (id, s) in signed {
            digest.update(id.to_be_bytes());
            digest.update(s.key_id.as_bytes());
        }
        let app_keys = [app.android_app_key, app.ios_app_key]
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect();
        Ok(Arc::new(DeliveryView {
            platform_id: platform_id.to_string(),
            application_id: application_id.to_string(),
            mnp_id: mnp_id.to_string(),
            app_keys,
            serving,
            online,
            rollout,
            signatures,
            policy,
            digest: digest.finalize().into(),
        }))
    }
}

fn unauthorized(platform_id: &str, application_id: &str) -> HostRefusal {
    HostRefusal::Unauthorized(format!(
        "application {application_id} of platform {platform_id} does not exist or the app key is not its Android package name or iOS bundle id (ModifyApplicationAppKey); send X-Mnpd-App-Key with one of them"
    ))
}
