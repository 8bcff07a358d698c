//! `mnpd admin user ...`: console users, on the data directory or database
//! like the other data commands.

use std::io::BufRead;

use anyhow::{Context, Result};
use mnpd_domain::organization::{password, Organization, DISABLED, ENABLED};
use serde_json::json;

use crate::admin::emit;
use crate::cli::UserCommand;

/// The first line of standard input, or a generated password (then shown).
fn new_password(from_stdin: bool) -> Result<(String, bool)> {
    if !from_stdin {
        return Ok((password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
}

pub async fn run(organization: &Organization, command: UserCommand, j: bool) -> Result<()> {
    match command {
        UserCommand::Create {
            platform_id,
            account,
            name,
            account_type,
            password_stdin,
        } => {
            let (password, generated) = new_password(password_stdin)?;
            let user = organization
                .create_user_as_operator(
                    &platform_id,
                    &account,
                    name.as_deref().unwrap_or(&account),
                    account_type,
                    &password,
                )
                .await?;
            // A password the operator chose is never echoed.
            let shown = generated.then_some(password);
            emit(
                j,
                json!({"UserId": user.user_id, "UserAccount": user.account, "AccountType": user.account_type, "Password": shown}),
                format!(
                    "UserId  {}{}",
                    user.user_id,
                    shown
                        .map(|p| format!("\nPassword {p}   (shown once; store it now)"))
                        .unwrap_or_default()
                ),
            );
        }
        UserCommand::List { platform_id } => {
            let users = organization.platform_users(&platform_id).await?;
            let rows: Vec<_> = users
                .iter()
                .map(|u| json!({"UserId": u.user_id, "UserAccount": u.account, "UserName": u.name, "AccountType": u.account_type, "Status": u.status}))
                .collect();
            let text = users
                .iter()
                .map(|u| {
                    format!(
                        "{}  {}  type {}  {}",
                        u.user_id,
                        u.account,
                        u.account_type,
                        if u.status == ENABLED {
                            "enabled"
                        } else {
                            "disabled"
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            emit(j, json!(rows), text);
        }
        UserCommand::ResetPassword {
            platform_id,
            account,
            password_stdin,
        } => {
            let user = organization.user_by_account(&platform_id, &account).await?;
            let (password, generated) = new_password(password_stdin)?;
            organization.set_password(&user, &password).await?;
            let shown = generated.then_some(password);
            emit(
                j,
                json!({"UserId": user.user_id, "Password": shown}),
                format!(
                    "password of {} changed{}",
                    user.account,
                    shown
                        .map(|p| format!("\nPassword {p}   (shown once; store it now)"))
                        .unwrap_or_default()
                ),
            );
        }
        UserCommand::Disable {
            platform_id,
            account,
        } => set_status(organization, &platform_id, &account, DISABLED, j).await?,
        UserCommand::Enable {
            platform_id,
            account,
        } => set_status(organization, &platform_id, &account, ENABLED, j).await?,
    }
    Ok(())
}

async fn set_status(
    organization: &Organization,
    platform_id: &str,
    account: &str,
    status: i64,
    j: bool,
) -> Result<()> {
    let user = organization.user_by_account(platform_id, account).await?;
    organization.set_status(&user, status).await?;
    let word = if status == ENABLED {
        "enabled"
    } else {
        "disabled"
    };
    emit(
        j,
        json!({"UserId": user.user_id, "Status": status}),
        format!("{} {word}", user.account),
    );
    Ok(())
}
