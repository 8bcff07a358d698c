//! The console's compile task (CreateConsoleMNPVersionCompileTask,
//! DescribeConsoleMNPVersionCompileTask). It is a CreateMNPVersion task with
//! more to do, recorded by [`crate::version::Versions`] and finished by the
//! same workers ([`crate::task::TaskRunner`]): after validating the package
//! the worker measures the main package and each subpackage app.json
//! declares, refuses a package over the size limits, and records the version.
//! Its progress is kept in the task's row so that a WebSocket on any node
//! streams it ([`CompileSockets`]).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::Clock;
use crate::entity::{Caller, Preview, PreviewKind, Task, TaskStatus};
use crate::error::DomainError;
use crate::shared_key::SharedKey;
use crate::store::{AccountStore, Has, SettingStore, StoreResult, TaskStore};

/// Most bytes a whole package (main and subpackages) may unpack to: the
/// spec's note from the public TCMPP documentation (20 MB).
pub const MAX_TOTAL_BYTES: u64 = 20 * 1024 * 1024;
/// Most bytes the main package, or any one subpackage, may unpack to: 4 MB
/// for the main package in the spec's note; the TCMPP mini program
/// documentation gives one limit for "an individual sub-package or main
/// package", so subpackages get the same.
pub const MAX_PACKAGE_BYTES: u64 = 4 * 1024 * 1024;
/// How the main package is named in SubPkgInfos (as the public example).
pub const MAIN_PACKAGE: &str = "__APP__";
/// How long a WebSocket token may be used to connect, by default.
pub const DEFAULT_TOKEN_SECS: i64 = 300;

const KEY_SETTING: &str = "compile_socket_key";

/// What a compile task adds to a task: its progress events and, once
/// measured, its sizes. Stored as JSON in the task's row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileState {
    pub events: Vec<ProgressEvent>,
    pub sizes: Option<PackageSizes>,
}

/// One step of a compile task, as streamed over the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub at: i64,
    /// `queued`, `running`, `validated`, `measured`.
    pub stage: String,
    pub message: String,
}

/// The measured package: bytes its files unpack to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSizes {
    pub total: u64,
    pub main: u64,
    pub subpackages: Vec<SubpackageSize>,
    /// The page a preview opens.
    pub entry_page: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubpackageSize {
    pub root: String,
    pub bytes: u64,
}

impl CompileState {
    pub fn queued(at: i64) -> Self {
        CompileState {
            events: vec![ProgressEvent {
                at,
                stage: "queued".into(),
                message: "the package is stored; waiting for a worker".into(),
            }],
            sizes: None,
        }
    }

    pub fn push(&mut self, at: i64, stage: &str, message: String) {
        self.events.push(ProgressEvent {
            at,
            stage: stage.into(),
            message,
        });
    }
}

/// The sizes of a validated package, as app.json splits it.
pub fn sizes_of(manifest: &mnpd_package::Manifest) -> PackageSizes {
    PackageSizes {
        total: manifest.uncompressed_bytes,
        main: manifest.main_bytes,
        subpackages: manifest
            .subpackages
            .iter()
            .map(|s| SubpackageSize {
                root: s.root.clone(),
                bytes: s.bytes,
            })
            .collect(),
        entry_page: manifest
            .entry_page
            .clone()
            .or_else(|| manifest.pages.first().cloned()),
    }
}

/// The TaskMsg of a package over a limit, naming the package.
pub fn check_limits(sizes: &PackageSizes) -> Result<(), String> {
    let mb = |b: u64| format!("{:.2} MB", b as f64 / (1024.0 * 1024.0));
    if sizes.total > MAX_TOTAL_BYTES {
        return Err(format!(
            "the package unpacks to {} bytes ({}) in all, over the limit of {} for the main package and all subpackages together; make it smaller",
            sizes.total,
            mb(sizes.total),
            mb(MAX_TOTAL_BYTES)
        ));
    }
    if sizes.main > MAX_PACKAGE_BYTES {
        return Err(format!(
            "the main package ({MAIN_PACKAGE}: the files outside every subpackage's root) unpacks to {} bytes ({}), over the limit of {}; move pages and assets into subpackages",
            sizes.main,
            mb(sizes.main),
            mb(MAX_PACKAGE_BYTES)
        ));
    }
    if let Some(sub) = sizes
        .subpackages
        .iter()
        .find(|s| s.bytes > MAX_PACKAGE_BYTES)
    {
        return Err(format!(
            "the subpackage `{}` unpacks to {} bytes ({}), over the limit of {} for one subpackage; split it",
            sub.root,
            sub.bytes,
            mb(sub.bytes),
            mb(MAX_PACKAGE_BYTES)
        ));
    }
    Ok(())
}

/// One line of the progress summary written when a package is measured.
pub fn describe_sizes(sizes: &PackageSizes) -> String {
    let mut parts = vec![format!("{MAIN_PACKAGE} {} bytes", sizes.main)];
    parts.extend(
        sizes
            .subpackages
            .iter()
            .map(|s| format!("{} {} bytes", s.root, s.bytes)),
    );
    format!("{} bytes in all: {}", sizes.total, parts.join(", "))
}

/// What the preview QR code of a succeeded compile task opens: the
/// recorded version at its entry page, in preview mode.
pub fn preview_of(task: &Task) -> Option<Preview> {
    let version_id = task.mnp_version_id?;
    let sizes = task.compile.as_ref()?.sizes.as_ref()?;
    Some(Preview {
        mnp_id: task.mnp_id.clone(),
        kind: PreviewKind::Preview,
        mnp_version_id: version_id,
        entrance_path: sizes.entry_page.clone().unwrap_or_default(),
        updated_at: task.updated_at,
    })
}

/// Why a WebSocket connection is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketRefusal {
    /// Not a token of this room (another task's, another account's, or
    /// altered).
    BadToken,
    Expired,
    Unavailable(String),
}

/// The WebSocket of compile tasks: tokens that let a client watch one task
/// for a short while, and the task's state as the socket polls it.
///
/// A token is `<expiry>.<HMAC-SHA256>` over the room (the TaskId), the
/// account that owns the task's platform and the expiry, under a key every
/// node shares. Checking it needs the task's row, so a token is worth
/// nothing for another task, and nothing once the task's platform is
/// another account's.
pub struct CompileSockets {
    accounts: Arc<dyn AccountStore>,
    tasks: Arc<dyn TaskStore>,
    server_settings: Arc<dyn SettingStore>,
    clock: Arc<dyn Clock>,
    public_url: String,
    ttl_secs: i64,
    key: SharedKey,
}

impl CompileSockets {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>, public_url: &str, ttl_secs: i64) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn TaskStore> + Has<dyn SettingStore> + ?Sized,
    {
        CompileSockets {
            accounts: Has::share(&store),
            tasks: Has::share(&store),
            server_settings: Has::share(&store),
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
            ttl_secs,
            key: SharedKey::new(KEY_SETTING),
        }
    }

    /// WSUrl and RoomId for the caller's compile task.
    pub async fn issue(
        &self,
        caller: &Caller,
        task_id: &str,
    ) -> Result<(String, String), DomainError> {
        let expires = self.clock.now().unix_timestamp() + self.ttl_secs;
        let key = self.key.get(self.server_settings.as_ref()).await?;
        let signature = sign(key, task_id, caller.account_id, expires);
        let base = match self.public_url.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => self.public_url.clone(),
        };
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("room", task_id)
            .append_pair("token", &format!("{expires}.{signature}"))
            .finish();
        Ok((format!("{base}/ws/compile?{query}"), task_id.to_string()))
    }

    /// The task a token lets its holder watch.
    pub async fn open(&self, room: &str, token: &str) -> Result<Task, SocketRefusal> {
        let unavailable = |e: DomainError| SocketRefusal::Unavailable(e.to_string());
        let (expires, signature) = token
            .split_once('.')
            .and_then(|(e, s)| Some((e.parse::<i64>().ok()?, hex::decode(s).ok()?)))
            .ok_or(SocketRefusal::BadToken)?;
        let task = self
            .tasks
            .get_task(room)
            .await
            .map_err(|e| unavailable(e.into()))?
            .filter(|t| t.compile.is_some())
            .ok_or(SocketRefusal::BadToken)?;
        let platform = self
            .accounts
            .get_platform(&task.platform_id)
            .await
            .map_err(|e| unavailable(e.into()))?
            .ok_or(SocketRefusal::BadToken)?;
        let key = self
            .key
            .get(self.server_settings.as_ref())
            .await
            .map_err(unavailable)?;
        mac(key, room, platform.account_id, expires)
            .verify_slice(&signature)
            .map_err(|_| SocketRefusal::BadToken)?;
        if expires <= self.clock.now().unix_timestamp() {
            return Err(SocketRefusal::Expired);
        }
        Ok(task)
    }

    /// The task's current state, for a socket already opened.
    pub async fn poll(&self, task_id: &str) -> StoreResult<Option<Task>> {
        self.tasks.get_task(task_id).await
    }

    /// Where the PNG of a compile task's preview QR code is served.
    pub fn qr_code_url(&self, task_id: &str) -> String {
        format!("{}/qrcode/compile/{task_id}.png", self.public_url)
    }

    /// What the QR code of a succeeded compile task says.
    pub fn qr_content(&self, task: &Task) -> Option<String> {
        preview_of(task).map(|p| crate::preview::qr_link(&self.public_url, &p))
    }

    /// The succeeded compile task whose QR code is asked for (no caller:
    /// the PNG is public, like a preview's).
    pub async fn succeeded(&self, task_id: &str) -> StoreResult<Option<Task>> {
        Ok(self
            .tasks
            .get_task(task_id)
            .await?
            .filter(|t| t.compile.is_some() && t.status == TaskStatus::Succeeded))
    }
}

fn mac(key: &[u8], room: &str, account_id: i64, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("compile-socket\n{room}\n{account_id}\n{expires}").as_bytes());
    mac
}

fn sign(key: &[u8], room: &str, account_id: i64, expires: i64) -> String {
    hex::encode(mac(key, room, account_id, expires).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(main: u64, subs: &[(&str, u64)]) -> PackageSizes {
        PackageSizes {
            total: main + subs.iter().map(|(_, b)| b).sum::<u64>(),
            main,
            subpackages: subs
                .iter()
                .map(|(r, b)| SubpackageSize {
                    root: r.to_string(),
                    bytes: *b,
                })
                .collect(),
            entry_page: None,
        }
    }

    #[test]
    fn limits_name_the_package_over_them() {
        assert!(check_limits(&sizes(MAX_PACKAGE_BYTES, &[("a", MAX_PACKAGE_BYTES)])).is_ok());
        let main = check_limits(&sizes(MAX_PACKAGE_BYTES + 1, &[])).unwrap_err();
        assert!(main.contains("main package (__APP__"), "{main}");
        let sub =
            check_limits(&sizes(10, &[("a", 5), ("pkgB", MAX_PACKAGE_BYTES + 1)])).unwrap_err();
        assert!(sub.contains("subpackage `pkgB`"), "{sub}");
        let six = [
            ("a", 4 << 20),
            ("b", 4 << 20),
            ("c", 4 << 20),
            ("d", 4 << 20),
            ("e", 4 << 20),
        ];
        let total = check_limits(&sizes(1, &six)).unwrap_err();
        assert!(total.contains("in all"), "{total}");
    }
}
