//! `mnpd admin`: operator commands on a data directory.

use std::sync::Arc;

use anyhow::{Context, Result};
use mnpd_domain::admin::Admin;
use mnpd_domain::application::Applications;
use mnpd_domain::clock::SystemClock;
use mnpd_domain::organization::{password, Organization};
use mnpd_domain::signing::{PackageSigning, PublishedKey};
use serde_json::json;

use crate::backends::open_metadata;
use crate::cli::*;

fn parse_time(s: &str) -> Result<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("--expires-at `{s}` is not RFC 3339, e.g. 2030-01-01T00:00:00Z")
        })?;
    Ok(t.unix_timestamp())
}

/// Prints `value` as JSON, or `text` for people.
pub(crate) fn emit(json_out: bool, value: serde_json::Value, text: String) {
    if json_out {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

pub async fn run(args: AdminArgs) -> Result<()> {
    // The emulator commands talk to a running server, not to its data.
    let command = match args.command {
        AdminCommand::Emulator(emulator) => return crate::emulator::run(emulator, args.json).await,
        AdminCommand::Data(command) => command,
    };
    // A one-shot command: nothing to gain from remembering keys.
    let metadata = open_metadata(
        &args.data_dir,
        args.database_url.as_deref(),
        std::time::Duration::ZERO,
    )
    .await?;
    let cipher = cipher_of(args.secret_encryption_key.as_deref())?;
    let admin = Admin::new(metadata.store(), Arc::new(SystemClock)).with_cipher(cipher.clone());
    let signing = PackageSigning::new(metadata.store(), Arc::new(SystemClock), cipher);
    let organization = Organization::new(metadata.store(), Arc::new(SystemClock));
    let j = args.json;
    match command {
        DataCommand::Account(AccountCommand::Create {
            name,
            secret_id,
            secret_key,
        }) => {
            let (account, key) = admin
                .create_account(&name, secret_id.as_deref(), secret_key.as_deref())
                .await?;
            // A key the operator chose is never echoed; a generated one is
            // shown this once.
            let shown_key = key.generated.then(|| key.key.secret_key.clone());
            emit(
                j,
                json!({"AccountId": account.id, "Name": account.name, "SecretId": key.key.secret_id, "SecretKey": shown_key}),
                format!(
                    "account {} ({})\nSecretId  {}{}",
                    account.id,
                    account.name,
                    key.key.secret_id,
                    shown_key
                        .map(|k| format!("\nSecretKey {k}   (shown once; store it now)"))
                        .unwrap_or_default()
                ),
            );
        }
        DataCommand::Key(KeyCommand::Create {
            of,
            secret_id,
            secret_key,
        }) => {
            let key = admin
                .create_key(&of, secret_id.as_deref(), secret_key.as_deref())
                .await?;
            let shown_key = key.generated.then(|| key.key.secret_key.clone());
            emit(
                j,
                json!({"AccountId": key.key.account_id, "SecretId": key.key.secret_id, "SecretKey": shown_key}),
                format!(
                    "SecretId  {}{}",
                    key.key.secret_id,
                    shown_key
                        .map(|k| format!("\nSecretKey {k}   (shown once; store it now)"))
                        .unwrap_or_default()
                ),
            );
        }
        DataCommand::Key(KeyCommand::List) => {
            let keys = admin.list_keys().await?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| json!({"SecretId": k.secret_id, "AccountId": k.account_id, "Enabled": k.enabled, "CreatedAt": k.created_at}))
                .collect();
            let text = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}  account {}  {}",
                        k.secret_id,
                        k.account_id,
                        if k.enabled { "enabled" } else { "disabled" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            emit(j, json!(rows), text);
        }
        DataCommand::Key(KeyCommand::Disable { secret_id }) => {
            admin.set_key_enabled(&secret_id, false).await?;
            emit(
                j,
                json!({"SecretId": secret_id, "Enabled": false}),
                format!("{secret_id} disabled"),
            );
        }
        DataCommand::Key(KeyCommand::Enable { secret_id }) => {
            admin.set_key_enabled(&secret_id, true).await?;
            emit(
                j,
                json!({"SecretId": secret_id, "Enabled": true}),
                format!("{secret_id} enabled"),
            );
        }
        DataCommand::Platform(PlatformCommand::Create {
            secret_id,
            platform_id,
            name,
            expires_at,
        }) => {
            let expires = expires_at.as_deref().map(parse_time).transpose()?;
            let (p, team) = admin
                .create_platform(&secret_id, platform_id.as_deref(), name.as_deref(), expires)
                .await?;
            // Every platform starts with its super admin, the default
            // team's admin, as the first start makes one.
            let password = password::generate();
            let user = organization
                .bootstrap_admin(&team, "admin", &password)
                .await?;
            // Its package signing key, as the first start makes one.
            signing.ensure_key(&p.platform_id).await?;
            emit(
                j,
                json!({"PlatformId": p.platform_id, "AccountId": p.account_id, "ExpiresAt": p.expires_at, "TeamId": team.team_id,
                       "AdminUserId": user.user_id, "AdminAccount": user.account, "AdminPassword": password}),
                format!(
                    "PlatformId {}\nTeamId     {}\nAdmin      {} (UserId {})\nPassword   {password}   (shown once; store it now)",
                    p.platform_id, team.team_id, user.account, user.user_id
                ),
            );
        }
        DataCommand::Platform(PlatformCommand::List) => {
            let ps = admin.list_platforms().await?;
            let rows: Vec<_> = ps
                .iter()
                .map(|p| json!({"PlatformId": p.platform_id, "AccountId": p.account_id, "Name": p.name, "ExpiresAt": p.expires_at}))
                .collect();
            let text = ps
                .iter()
                .map(|p| format!("{}  account {}  {}", p.platform_id, p.account_id, p.name))
                .collect::<Vec<_>>()
                .join("\n");
            emit(j, json!(rows), text);
        }
        DataCommand::Platform(PlatformCommand::HostKey { platform_id }) => {
            if !admin
                .list_platforms()
                .await?
                .iter()
                .any(|p| p.platform_id == platform_id)
            {
                anyhow::bail!("no platform `{platform_id}`; `mnpd admin platform list` shows them");
            }
            let applications = Applications::new(metadata.store(), Arc::new(SystemClock));
            let key = applications.host_sdk_key(&platform_id).await?;
            let key_hex = hex::encode(key);
            let key_id = mnpd_domain::host_config::key_id(&key);
            emit(
                j,
                json!({"PlatformId": platform_id, "HostSdkKey": key_hex, "KeyId": key_id}),
                format!("PlatformId {platform_id}\nHostSdkKey {key_hex}\nKeyId      {key_id}"),
            );
        }
        DataCommand::Platform(PlatformCommand::SigningKey(SigningKeyCommand::List {
            platform_id,
        })) => {
            let keys = signing.published_keys(&platform_id).await?;
            emit(j, json!(keys), keys_text(&keys));
        }
        DataCommand::Platform(PlatformCommand::SigningKey(SigningKeyCommand::Rotate {
            platform_id,
            overlap_secs,
        })) => {
            let (new, keys) = signing.rotate(&platform_id, overlap_secs).await?;
            emit(
                j,
                json!({"New": new, "Published": keys}),
                format!(
                    "new key {} signs from now on\n{}",
                    new.key_id,
                    keys_text(&keys)
                ),
            );
        }
        DataCommand::Migrate => {
            // Opening the store applied every migration.
            emit(
                j,
                json!({"Migrated": true}),
                "database schema is up to date".into(),
            );
        }
        DataCommand::User(command) => {
            crate::admin_user::run(&organization, command, j).await?;
        }
        DataCommand::Team(TeamCommand::Create { platform_id, name }) => {
            let team = admin.create_team(&platform_id, name.as_deref()).await?;
            emit(
                j,
                json!({"TeamId": team.team_id, "PlatformId": team.platform_id, "Name": team.name}),
                format!("TeamId {}", team.team_id),
            );
        }
    }
    metadata.close().await;
    Ok(())
}

/// Published signing keys, one a line, for people.
fn keys_text(keys: &[PublishedKey]) -> String {
    keys.iter()
        .map(|k| {
            let status = match k.not_after {
                None => "current".to_string(),
                Some(end) => format!("published until {}", mnpd_domain::version::format_time(end)),
            };
            format!(
                "{}  {}  {}  created {}  {status}",
                k.key_id,
                k.algorithm,
                k.public_key,
                mnpd_domain::version::format_time(k.created_at)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
