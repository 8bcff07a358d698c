//! `mnpd upload`: a version from a package or a project folder in one
//! command, through the API of a running server: zip the folder (see
//! [`pack`]), ask DescribeTempSecret4UploadFile2Cos for upload credentials,
//! PUT the package to the answered Path, CreateMNPVersion with that Path as
//! FileUrl, then follow DescribeMNPVersion until the task ends. The last
//! line on stdout is a summary for CI (or one JSON object with `--json`);
//! the exit status is 0 only when the task reached 60.

pub mod api;
mod pack;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::cli::UploadArgs;
use api::{error_chain, ApiClient, CallError};
use mnpd_domain::version_number::VersionNumber;

/// The `BusinessName` asked for; packages are the platform's business.
const BUSINESS_NAME: &str = "tcmpp";
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Polls in a row that may fail (a server restarting) before giving up.
const POLL_RETRIES: u32 = 10;

/// Where a run stopped, and why.
struct Failure {
    stage: &'static str,
    code: Option<String>,
    message: String,
}

impl Failure {
    fn new(stage: &'static str, message: impl Into<String>) -> Self {
        Failure {
            stage,
            code: None,
            message: message.into(),
        }
    }

    fn of_call(stage: &'static str, e: CallError) -> Self {
        match e {
            CallError::Api {
                code,
                message,
                request_id,
            } => Failure {
                stage,
                code: Some(code),
                message: format!("{message} (RequestId {request_id})"),
            },
            CallError::Transport(why) => Failure::new(stage, why),
        }
    }
}

/// What the summary reports.
#[derive(Default)]
struct Summary {
    files: Option<u64>,
    bytes: Option<u64>,
    sha256: Option<String>,
    file_url: Option<String>,
    task_id: Option<String>,
    task_status: Option<i64>,
    task_msg: Option<String>,
}

/// Progress for people: bars and spinners on a terminal, a line per step
/// otherwise (CI logs), nothing with `--quiet`. All on stderr.
struct Ui {
    terminal: bool,
    quiet: bool,
}

impl Ui {
    fn note(&self, line: &str) {
        if !self.quiet {
            if self.terminal {
                eprintln!("{line}");
            } else {
                eprintln!("mnpd upload: {line}");
            }
        }
    }

    fn bar(&self, len: u64) -> ProgressBar {
        if self.quiet || !self.terminal {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "uploading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }

    fn spinner(&self) -> ProgressBar {
        if self.quiet || !self.terminal {
            return ProgressBar::hidden();
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    }
}

pub async fn run(args: UploadArgs) -> ExitCode {
    let started = Instant::now();
    let ui = Ui {
        terminal: std::io::stderr().is_terminal(),
        quiet: args.quiet,
    };
    let mut summary = Summary::default();
    let outcome = steps(&args, &ui, &mut summary).await;
    let elapsed = started.elapsed();
    print_summary(&args, &summary, outcome.as_ref().err(), elapsed);
    if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn steps(args: &UploadArgs, ui: &Ui, summary: &mut Summary) -> Result<(), Failure> {
    let number = VersionNumber::parse(&args.mnp_version).map_err(|why| {
        Failure::new(
            "check",
            format!(
                "--version {}: {why}; give MAJOR.MINOR.PATCH, e.g. 1.0.0",
                args.mnp_version
            ),
        )
    })?;
    let client = ApiClient::new(
        &args.server.endpoint,
        &args.server.secret_id,
        &args.server.secret_key,
        args.server.region.as_deref(),
        args.server.ca_cert.as_deref(),
    )
    .map_err(|e| Failure::new("credentials", format!("{e:#}")))?;
    // One cheap call before any packing or sending: a wrong key, platform,
    // mini program or version is told before megabytes go over the wire.
    check_version_is_new(&client, args, &number).await?;

    // The package: the zip given, or the folder zipped now.
    let path = args.path.clone();
    let packed;
    let package: &Path = if path.is_dir() {
        packed = tokio::task::spawn_blocking(move || pack::pack_folder(&path))
            .await
            .map_err(|e| Failure::new("pack", e.to_string()))?
            .map_err(|e| Failure::new("pack", format!("{e:#}")))?;
        for link in &packed.skipped_links {
            ui.note(&format!(
                "left out {link}: symbolic links cannot be in a package"
            ));
        }
        summary.files = Some(packed.files);
        &packed.zip
    } else if path.is_file() {
        &args.path
    } else {
        return Err(Failure::new(
            "pack",
            format!(
                "{} is neither a .zip file nor a folder",
                args.path.display()
            ),
        ));
    };
    let size = std::fs::metadata(package)
        .map_err(|e| Failure::new("pack", format!("reading {}: {e}", package.display())))?
        .len();
    summary.bytes = Some(size);
    if let Some(files) = summary.files {
        ui.note(&format!(
            "packed {} into {size} bytes",
            count(files, "file")
        ));
    }

    let grant = client
        .call(
            "DescribeTempSecret4UploadFile2Cos",
            json!({"BusinessName": BUSINESS_NAME, "Suffix": "zip"}),
        )
        .await
        .map_err(|e| Failure::of_call("credentials", e))?;
    let data = &grant["Data"];
    let (Some(target), Some(token)) = (data["Path"].as_str(), data["Token"].as_str()) else {
        return Err(Failure::new(
            "credentials",
            format!("DescribeTempSecret4UploadFile2Cos answered no Path or Token: {data}"),
        ));
    };

    let uploaded = put_package(&client, ui, package, size, target, token).await?;
    summary.sha256 = uploaded["Sha256"].as_str().map(str::to_string);
    let file_url = uploaded["FileUrl"].as_str().unwrap_or(target).to_string();
    summary.file_url = Some(file_url.clone());
    ui.note(&format!("uploaded {size} bytes to {file_url}"));

    let created = client
        .call(
            "CreateMNPVersion",
            json!({
                "PlatformId": args.platform_id,
                "MNPId": args.mnp_id,
                "MNPVersion": args.mnp_version,
                "FileUrl": file_url,
                "MNPVersionIntro": args.intro,
            }),
        )
        .await
        .map_err(|e| Failure::of_call("create", e))?;
    let Some(task_id) = created["Data"]["TaskId"].as_str().map(str::to_string) else {
        return Err(Failure::new(
            "create",
            format!("CreateMNPVersion answered no TaskId: {}", created["Data"]),
        ));
    };
    summary.task_id = Some(task_id.clone());
    ui.note(&format!("created task {task_id}"));

    follow_task(args, &client, ui, &task_id, summary).await
}

/// The mini program exists on the platform and `number` is greater than
/// each of its versions in development, in approval and online (the
/// server checks again when the version is created).
async fn check_version_is_new(
    client: &ApiClient,
    args: &UploadArgs,
    number: &VersionNumber,
) -> Result<(), Failure> {
    let stages = client
        .call(
            "DescribeMNPAllStageVersions",
            json!({"PlatformId": args.platform_id, "MNPId": args.mnp_id}),
        )
        .await
        .map_err(|e| Failure::of_call("check", e))?;
    let rows = stages["Data"].as_array().cloned().unwrap_or_default();
    let highest = rows
        .iter()
        .filter_map(|row| row["MNPVersion"].as_str())
        .filter_map(|v| VersionNumber::parse(v).ok())
        .max();
    match highest {
        Some(highest) if *number <= highest => Err(Failure::new(
            "check",
            format!(
                "version {number} is not greater than {highest}, which {} already has; \
                 give a greater --version",
                args.mnp_id
            ),
        )),
        _ => Ok(()),
    }
}

/// PUTs the package with a progress bar; the server's JSON answer.
async fn put_package(
    client: &ApiClient,
    ui: &Ui,
    package: &Path,
    size: u64,
    target: &str,
    token: &str,
) -> Result<Value, Failure> {
    let file = tokio::fs::File::open(package)
        .await
        .map_err(|e| Failure::new("upload", format!("reading {}: {e}", package.display())))?;
    let bar = ui.bar(size);
    let counted = bar.clone();
    let body = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024)
        .inspect_ok(move |piece| counted.inc(piece.len() as u64));
    let response = client
        .http()
        .put(target)
        .header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(reqwest::header::CONTENT_LENGTH, size)
        .header(reqwest::header::CONTENT_TYPE, "application/zip")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await;
    bar.finish_and_clear();
    let response = response
        .map_err(|e| Failure::new("upload", format!("PUT {target}: {}", error_chain(&e))))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(Failure {
            stage: "upload",
            code: answer["Code"].as_str().map(str::to_string),
            message: match answer["Message"].as_str() {
                Some(message) => format!("{message} (HTTP {})", status.as_u16()),
                None => format!(
                    "HTTP {status}: {}",
                    text.chars().take(200).collect::<String>()
                ),
            },
        });
    }
    Ok(answer)
}

/// Polls DescribeMNPVersion until the task ends, showing its status.
async fn follow_task(
    args: &UploadArgs,
    client: &ApiClient,
    ui: &Ui,
    task_id: &str,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let spinner = ui.spinner();
    let deadline = Instant::now() + Duration::from_secs(args.wait_timeout);
    let mut failed_polls = 0;
    let mut last_status = None;
    let outcome = loop {
        match client
            .call(
                "DescribeMNPVersion",
                json!({"BusinessId": task_id, "PlatformId": args.platform_id}),
            )
            .await
        {
            Ok(answer) => {
                failed_polls = 0;
                let status = answer["Data"]["TaskStatus"].as_i64();
                let msg = answer["Data"]["TaskMsg"].as_str().unwrap_or_default();
                summary.task_status = status;
                summary.task_msg = Some(msg.to_string());
                spinner.set_message(format!(
                    "task {task_id}: TaskStatus {} {msg}",
                    status.unwrap_or(-1)
                ));
                if status != last_status {
                    if !ui.terminal {
                        ui.note(&format!(
                            "task {task_id}: TaskStatus {} {msg}",
                            status.unwrap_or(-1)
                        ));
                    }
                    last_status = status;
                }
                match status {
                    Some(60) => break Ok(()),
                    Some(30) => break Err(Failure::new("task", msg.to_string())),
                    _ => {}
                }
            }
            Err(e @ CallError::Api { .. }) => break Err(Failure::of_call("task", e)),
            Err(e) if failed_polls >= POLL_RETRIES => break Err(Failure::of_call("task", e)),
            Err(_) => failed_polls += 1,
        }
        if Instant::now() >= deadline {
            break Err(Failure::new(
                "wait",
                format!(
                    "the task did not finish within {} s (--wait-timeout); follow it with DescribeMNPVersion",
                    args.wait_timeout
                ),
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    spinner.finish_and_clear();
    outcome
}

fn print_summary(
    args: &UploadArgs,
    summary: &Summary,
    failure: Option<&Failure>,
    elapsed: Duration,
) {
    if args.json {
        let error =
            failure.map(|f| json!({"Stage": f.stage, "Code": f.code, "Message": f.message}));
        println!(
            "{}",
            json!({
                "Ok": failure.is_none(),
                "MNPId": args.mnp_id,
                "MNPVersion": args.mnp_version,
                "TaskId": summary.task_id,
                "TaskStatus": summary.task_status,
                "TaskMsg": summary.task_msg,
                "FileUrl": summary.file_url,
                "Files": summary.files,
                "Bytes": summary.bytes,
                "Sha256": summary.sha256,
                "ElapsedMs": elapsed.as_millis() as u64,
                "Error": error,
            })
        );
        return;
    }
    let task = match (&summary.task_id, summary.task_status) {
        (Some(id), Some(status)) => format!("task {id}, TaskStatus {status}"),
        (Some(id), None) => format!("task {id}"),
        _ => "no task".to_string(),
    };
    let size = match (summary.files, summary.bytes) {
        (Some(files), Some(bytes)) => format!("{}, {bytes} bytes", count(files, "file")),
        (None, Some(bytes)) => format!("{bytes} bytes"),
        _ => "nothing packed".to_string(),
    };
    let time = format!("{:.1} s", elapsed.as_secs_f64());
    match failure {
        None => println!(
            "mnpd upload: OK {} {} ({task}; {size}; {time})",
            args.mnp_id, args.mnp_version
        ),
        Some(f) => {
            let code = f
                .code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default();
            // One line whatever the message holds.
            let message = f.message.replace(['\n', '\r'], " ");
            println!(
                "mnpd upload: FAILED {} {} at {} ({task}; {size}; {time}): {code}{message}",
                args.mnp_id, args.mnp_version, f.stage
            )
        }
    }
}

/// "1 file", "2 files".
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
