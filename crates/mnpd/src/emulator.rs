//! `mnpd admin emulator`: the test-suite controls of a running server
//! started with `--emulator`, called over its own listener.

use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::cli::{
    EmulatorArgs, EmulatorCommand, FaultsCommand, RecordingCommand, StateCommand, TaskModeArg,
    TasksCommand,
};
use crate::upload::api::ApiClient;

pub async fn run(args: EmulatorArgs, json_out: bool) -> Result<()> {
    let server = &args.server;
    let client = ApiClient::new(
        &server.endpoint,
        &server.secret_id,
        &server.secret_key,
        server.region.as_deref(),
        server.ca_cert.as_deref(),
    )?;
    let answer = match args.command {
        EmulatorCommand::Faults(command) => faults(&client, command).await?,
        EmulatorCommand::Tasks(command) => tasks(&client, command).await?,
        EmulatorCommand::Reset { platform_id } => {
            let body = match platform_id {
                Some(id) => json!({ "PlatformId": id }),
                None => json!({}),
            };
            client.control(Method::POST, "reset", Some(body)).await?
        }
        EmulatorCommand::State(StateCommand::Export { file }) => {
            let bytes = client.control_download("state", &file).await?;
            json!({ "File": file.display().to_string(), "Bytes": bytes })
        }
        EmulatorCommand::State(StateCommand::Import { file }) => {
            client.control_upload("state", &file).await?
        }
        EmulatorCommand::Recording(command) => recording(&client, command).await?,
        EmulatorCommand::Replay {
            file,
            task_wait_secs,
        } => {
            let report =
                crate::replay::replay(&client, &file, Duration::from_secs(task_wait_secs)).await?;
            let failed = !report.differences.is_empty();
            print(&serde_json::to_value(&report)?, json_out)?;
            if failed {
                anyhow::bail!(
                    "the replay of {} found {} difference(s) in {} request(s)",
                    file.display(),
                    report.differences.len(),
                    report.requests
                );
            }
            return Ok(());
        }
    };
    print(&answer, json_out)
}

fn print(answer: &Value, json_out: bool) -> Result<()> {
    if json_out {
        println!("{answer}");
    } else {
        println!("{}", serde_json::to_string_pretty(answer)?);
    }
    Ok(())
}

async fn recording(client: &ApiClient, command: RecordingCommand) -> Result<Value> {
    match command {
        RecordingCommand::Start | RecordingCommand::Stop => {
            let on = matches!(command, RecordingCommand::Start);
            client
                .control(Method::PUT, "recording", Some(json!({ "Recording": on })))
                .await
        }
        RecordingCommand::Clear => client.control(Method::DELETE, "recording", None).await,
        RecordingCommand::Status => client.control(Method::GET, "recording/status", None).await,
        RecordingCommand::Download { file } => {
            let bytes = client.control_download("recording", &file).await?;
            Ok(json!({ "File": file.display().to_string(), "Bytes": bytes }))
        }
    }
}

async fn faults(client: &ApiClient, command: FaultsCommand) -> Result<Value> {
    match command {
        FaultsCommand::List => client.control(Method::GET, "faults", None).await,
        FaultsCommand::Add {
            action,
            probability,
            every_nth,
            seed,
            error_code,
            message,
            latency_ms,
        } => {
            let mut rule = Map::new();
            rule.insert("Action".into(), json!(action));
            let optional = [
                ("Probability", probability.map(|p| json!(p))),
                ("EveryNth", every_nth.map(|n| json!(n))),
                ("Seed", seed.map(|s| json!(s))),
                ("ErrorCode", error_code.map(|c| json!(c))),
                ("Message", message.map(|m| json!(m))),
                ("LatencyMs", latency_ms.map(|ms| json!(ms))),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    rule.insert(name.into(), value);
                }
            }
            client
                .control(Method::POST, "faults", Some(Value::Object(rule)))
                .await
        }
        FaultsCommand::Remove { fault_id } => {
            client
                .control(Method::DELETE, &format!("faults/{fault_id}"), None)
                .await
        }
        FaultsCommand::Clear => client.control(Method::DELETE, "faults", None).await,
    }
}

async fn tasks(client: &ApiClient, command: TasksCommand) -> Result<Value> {
    match command {
        TasksCommand::Show => client.control(Method::GET, "tasks", None).await,
        TasksCommand::Mode { mode, delay_ms } => {
            let name = match mode {
                TaskModeArg::Immediate => "immediate",
                TaskModeArg::Delay => "delay",
                TaskModeArg::Manual => "manual",
            };
            let mut body = json!({ "Mode": name });
            if let Some(ms) = delay_ms {
                body["DelayMs"] = json!(ms);
            }
            client.control(Method::PUT, "tasks", Some(body)).await
        }
        TasksCommand::Advance {
            task_id,
            status,
            msg,
        } => {
            let mut body = json!({ "TaskStatus": status.parse::<i64>()? });
            if let Some(msg) = msg {
                body["TaskMsg"] = json!(msg);
            }
            client
                .control(Method::POST, &format!("tasks/{task_id}"), Some(body))
                .await
        }
    }
}
