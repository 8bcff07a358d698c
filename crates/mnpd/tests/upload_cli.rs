//! `mnpd upload` end to end: the real binary serving on a loopback port,
//! and the real binary uploading to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

const SID: &str = "AKIDuploadclitest";
const SKEY: &str = "upload-cli-test-secret-key";
const PLATFORM: &str = "TUPLOADCLITEST";
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

struct Server {
    child: Child,
    data: tempfile::TempDir,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mnpd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnpd"));
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut child = mnpd()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("MNPD_BOOTSTRAP_SECRET_ID", SID)
        .env("MNPD_BOOTSTRAP_SECRET_KEY", SKEY)
        .env("MNPD_BOOTSTRAP_PLATFORM_ID", PLATFORM)
        .env("MNPD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut endpoint = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("mnpd listening on ") {
            endpoint = Some(url.trim().to_string());
            break;
        }
    }
    Server {
        child,
        data,
        endpoint: endpoint.expect("the server did not say where it listens"),
    }
}

impl Server {
    async fn call(&self, action: &str, params: Value) -> Value {
        let body = serde_json::to_vec(&params).unwrap();
        let host = self.endpoint.trim_start_matches("http://");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let headers =
            mnpd_wire::sign_tc3_post(SID, SKEY, host, action, "2024-08-01", None, now, &body);
        let mut req = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(&self.endpoint)
            .body(body);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let answer: Value =
            serde_json::from_str(&req.send().await.unwrap().text().await.unwrap()).unwrap();
        assert!(answer["Response"]["Error"].is_null(), "{action}: {answer}");
        answer["Response"].clone()
    }

    async fn mini_program(&self) -> String {
        // Each test has a server of its own: one name is enough.
        let name = "cli-test";
        let r = self
            .call(
                "CreateMNP",
                json!({"PlatformId": PLATFORM, "MNPName": name, "MNPType": "Life Service->144_Lilliputian Services",
                       "MNPIcon": "https://example.com/icon.png", "MNPIntro": "cli", "MNPDesc": "cli"}),
            )
            .await;
        r["Data"]["ResourceId"].as_str().unwrap().to_string()
    }

    /// `mnpd upload` with these extra arguments; (exit status, stdout).
    async fn upload(
        &self,
        mnp_id: &str,
        version: &str,
        extra: &[&str],
        path: &Path,
    ) -> (i32, String) {
        let mut cmd = mnpd();
        cmd.args([
            "upload",
            "--endpoint",
            &self.endpoint,
            "--platform-id",
            PLATFORM,
        ])
        .args([
            "--mnp-id",
            mnp_id,
            "--version",
            version,
            "--intro",
            "from the CLI test",
        ])
        .args(extra)
        .arg(path)
        .env("TENCENTCLOUD_SECRET_ID", SID)
        .env("TENCENTCLOUD_SECRET_KEY", SKEY);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        (out.status.code().unwrap_or(-1), stdout)
    }

    /// How many packages the server stores.
    fn stored_packages(&self) -> usize {
        walk(&self.data.path().join("blobs"))
    }

    /// The entry names of the stored package `sha256`.
    fn stored_entries(&self, sha256: &str) -> Vec<String> {
        let path = self
            .data
            .path()
            .join("blobs")
            .join(&sha256[..2])
            .join(sha256);
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        names.sort();
        names
    }
}

fn write(root: &Path, name: &str, body: &str) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// A mini program project with things that must not be uploaded.
fn project(root: &Path) {
    write(root, "app.json", r#"{"pages":["pages/index/index"]}"#);
    write(root, "app.js", "App({})");
    write(root, "pages/index/index.js", "Page({})");
    write(root, "pages/index/index.wxml", "<view/>");
    write(root, ".mnpdignore", "*.log\n/secrets/\n");
    write(root, "debug.log", "noise");
    write(root, "secrets/key.pem", "-----BEGIN PRIVATE KEY-----");
    write(root, "node_modules/left-pad/index.js", "module.exports = 1");
    write(root, ".git/HEAD", "ref: refs/heads/main");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_becomes_a_version_without_its_ignored_files() {
    let server = start();
    let mnp = server.mini_program().await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    let (status, stdout) = server.upload(&mnp, "1.0.0", &["--json"], dir.path()).await;
    assert_eq!(status, 0, "{stdout}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["Ok"], true, "{summary}");
    assert_eq!(summary["TaskStatus"], 60, "{summary}");
    assert_eq!(summary["TaskMsg"], "Success", "{summary}");
    assert_eq!(summary["Files"], 4, "{summary}");
    assert!(summary["Error"].is_null(), "{summary}");
    let sha = summary["Sha256"].as_str().unwrap();
    assert_eq!(
        server.stored_entries(sha),
        [
            "app.js",
            "app.json",
            "pages/index/index.js",
            "pages/index/index.wxml"
        ]
    );
    let task = server
        .call(
            "DescribeMNPVersion",
            json!({"BusinessId": summary["TaskId"], "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(task["Data"]["TaskStatus"], 60);

    // The plain summary: one line saying it worked.
    let (status, stdout) = server.upload(&mnp, "1.0.1", &["--quiet"], dir.path()).await;
    assert_eq!(status, 0, "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("mnpd upload: OK {mnp} 1.0.1 (task ")),
        "{stdout}"
    );
    assert!(stdout.contains("TaskStatus 60"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zip_file_is_uploaded_as_it_is() {
    let server = start();
    let mnp = server.mini_program().await;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("package.zip");
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        for (name, body) in [
            ("app.json", r#"{"pages":["pages/a/a"]}"#),
            ("pages/a/a.js", "Page({})"),
            ("pages/a/a.wxml", "<view/>"),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    let (status, stdout) = server.upload(&mnp, "2.0.0", &["--json"], &zip_path).await;
    assert_eq!(status, 0, "{stdout}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(summary["Files"].is_null(), "{summary}");
    assert_eq!(
        summary["Bytes"].as_u64(),
        Some(std::fs::metadata(&zip_path).unwrap().len())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_package_fails_and_the_summary_says_why() {
    let server = start();
    let mnp = server.mini_program().await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    std::fs::remove_file(dir.path().join("pages/index/index.wxml")).unwrap();

    let (status, stdout) = server.upload(&mnp, "1.0.0", &[], dir.path()).await;
    assert_ne!(status, 0, "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("mnpd upload: FAILED {mnp} 1.0.0 at task")),
        "{stdout}"
    );
    assert!(last.contains("TaskStatus 30"), "{last}");
    assert!(last.contains("pages/index/index.wxml"), "{last}");

    let (status, stdout) = server.upload(&mnp, "1.0.0", &["--json"], dir.path()).await;
    assert_ne!(status, 0, "{stdout}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["Ok"], false);
    assert_eq!(summary["TaskStatus"], 30);
    assert_eq!(summary["Error"]["Stage"], "task");
    assert!(
        summary["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("pages/index/index.wxml"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_before_the_task_fail_with_their_code() {
    let server = start();
    let mnp = server.mini_program().await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    // A version that is not MAJOR.MINOR.PATCH: told before anything is
    // packed or sent.
    let (status, stdout) = server.upload(&mnp, "1.0", &[], dir.path()).await;
    assert_ne!(status, 0, "{stdout}");
    assert!(stdout.contains("at check"), "{stdout}");
    assert!(stdout.contains("MAJOR.MINOR.PATCH"), "{stdout}");

    // A mini program the platform does not have: told by the check call.
    let (status, stdout) = server
        .upload("mpnosuchprogram1", "1.0.0", &[], dir.path())
        .await;
    assert_ne!(status, 0, "{stdout}");
    assert!(stdout.contains("at check"), "{stdout}");
    assert!(stdout.contains("InvalidParameterValue"), "{stdout}");

    // A version not greater than one the mini program has: told by the
    // check, with nothing uploaded.
    let (status, stdout) = server.upload(&mnp, "1.2.0", &[], dir.path()).await;
    assert_eq!(status, 0, "{stdout}");
    let stored_before = server.stored_packages();
    // Other content, so that an upload would store another package.
    write(dir.path(), "pages/index/extra.js", "// changed");
    let (status, stdout) = server.upload(&mnp, "1.1.9", &[], dir.path()).await;
    assert_ne!(status, 0, "{stdout}");
    assert!(stdout.contains("at check"), "{stdout}");
    assert!(
        stdout.contains("1.1.9 is not greater than 1.2.0"),
        "{stdout}"
    );
    assert_eq!(server.stored_packages(), stored_before, "nothing uploaded");

    // No scheme against a plain-HTTP server: said what to type instead.
    let host = server.endpoint.trim_start_matches("http://").to_string();
    let mut cmd = mnpd();
    cmd.args(["upload", "--endpoint", &host, "--platform-id", PLATFORM])
        .args(["--mnp-id", &mnp, "--version", "2.0.0", "--intro", "x"])
        .args(["--secret-id", SID, "--secret-key", SKEY])
        .arg(dir.path());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("speaks http; use --endpoint http://{host}")),
        "{stdout}"
    );

    // A wrong key: refused before anything is uploaded.
    let mut cmd = mnpd();
    cmd.args([
        "upload",
        "--endpoint",
        &server.endpoint,
        "--platform-id",
        PLATFORM,
    ])
    .args(["--mnp-id", &mnp, "--version", "1.0.0", "--intro", "x"])
    .args(["--secret-id", SID, "--secret-key", "not-the-key"])
    .arg(dir.path());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("at check"), "{stdout}");
    assert!(stdout.contains("AuthFailure.SignatureFailure"), "{stdout}");

    // Not a file or folder.
    let (status, stdout) = server
        .upload(&mnp, "3.0.0", &[], &dir.path().join("missing"))
        .await;
    assert_ne!(status, 0, "{stdout}");
    assert!(stdout.contains("at pack"), "{stdout}");
}

/// Files below `dir`, in all its folders.
fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
