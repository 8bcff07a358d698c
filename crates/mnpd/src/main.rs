//! `mnpd`: the TCMPP API server, its operator commands and an upload
//! client.

mod admin;
mod admin_rollout;
mod admin_user;
mod backends;
mod cli;
mod connections;
mod delivery;
mod emulator;
mod replay;
mod serve;
mod upload;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mnpd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
            cli::Command::Admin(args) => admin::run(args).await.map(|()| ExitCode::SUCCESS),
            // Its summary says how an upload ended; the status is the task's.
            cli::Command::Upload(args) => Ok(upload::run(args).await),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mnpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
