//! An account's records out to a fixture and back in with the same IDs
//! (the emulator's fixtures).
//!
//! The tables and columns are listed here, with their types, rather than
//! read from the schema: a fixture is untrusted input, and only these names
//! ever reach an SQL text. A test compares the lists with the schema, so a
//! column added by a migration is not silently left out.
//!
//! What is not carried: leases (a task running when exported is claimed
//! again after the import), the insertion-order `seq` of approvals, their
//! items, sensitive APIs and permission requests (rows are inserted in that
//! order, so it is kept), release numbers (internal; renumbered in order,
//! the online version following), and uploads (they expire within minutes, and belong to no platform).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use mnpd_domain::store::*;
use serde_json::{Map, Value as Json};

use super::resets::clear_platform;
use super::SqlStore;
use crate::sql::{placeholders, sql, Row, Tx, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Text,
    /// An integer or null.
    MaybeInt,
    /// A text or null.
    MaybeText,
}
use Kind::*;

pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) columns: &'static [(&'static str, Kind)],
    /// The account's rows; `$1` is the account.
    of_account: &'static str,
    order: &'static str,
}

/// The account's platforms (`$1` the account), and their mini programs:
/// macros, so that each table's filter is one literal.
macro_rules! platforms {
    () => {
        "SELECT platform_id FROM platforms WHERE account_id = $1"
    };
}
macro_rules! mini_programs {
    () => {
        concat!(
            "SELECT mnp_id FROM mini_programs WHERE platform_id IN (",
            platforms!(),
            ")"
        )
    };
}

/// In the order they are inserted back: each after what it refers to.
pub(super) const TABLES: &[Table] = &[
    Table {
        name: "platforms",
        columns: &[
            ("platform_id", Text),
            ("name", Text),
            ("expires_at", MaybeInt),
            ("created_at", Int),
            ("default_team_id", MaybeText),
        ],
        of_account: "account_id = $1",
        order: "created_at, platform_id",
    },
    Table {
        name: "teams",
        columns: &[
            ("team_id", Text),
            ("platform_id", Text),
            ("name", Text),
            ("created_at", Int),
            ("role_types", Text),
            ("related_team_id", MaybeText),
            ("admin_user_id", MaybeText),
            ("remark", Text),
            ("create_user", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "created_at, team_id",
    },
    Table {
        name: "users",
        columns: &[
            ("user_id", Text),
            ("platform_id", Text),
            ("account", Text),
            ("name", Text),
            ("account_type", Int),
            ("password_hash", Text),
            ("status", Int),
            ("password_epoch", Int),
            ("create_user", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "created_at, user_id",
    },
    Table {
        name: "team_members",
        columns: &[
            ("team_id", Text),
            ("user_id", Text),
            ("role_id", Int),
            ("created_at", Int),
        ],
        of_account: concat!(
            "team_id IN (SELECT team_id FROM teams WHERE platform_id IN (",
            platforms!(),
            "))"
        ),
        order: "team_id, user_id",
    },
    Table {
        name: "mini_programs",
        columns: &[
            ("mnp_id", Text),
            ("platform_id", Text),
            ("team_id", Text),
            ("name", Text),
            ("mnp_type", Text),
            ("icon", Text),
            ("intro", Text),
            ("description", Text),
            ("status", Int),
            ("create_user", Text),
            ("created_at", Int),
            ("update_user", Text),
            ("updated_at", Int),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "created_at, mnp_id",
    },
    Table {
        name: "mini_program_numbers",
        columns: &[("number", Int), ("mnp_id", Text)],
        of_account: concat!("mnp_id IN (", mini_programs!(), ")"),
        order: "number",
    },
    Table {
        name: "tasks",
        columns: &[
            ("task_id", Text),
            ("platform_id", Text),
            ("mnp_id", Text),
            ("mnp_version", Text),
            ("file_url", Text),
            ("intro", Text),
            ("sha256", Text),
            ("size", Int),
            ("status", Int),
            ("msg", Text),
            ("attempts", Int),
            ("mnp_version_id", MaybeInt),
            ("create_user", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("package_collected_at", MaybeInt),
            ("create_actor", Text),
            ("kind", Int),
            ("compile", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "created_at, task_id",
    },
    Table {
        name: "versions",
        columns: &[
            ("mnp_version_id", Int),
            ("mnp_id", Text),
            ("platform_id", Text),
            ("version", Text),
            ("intro", Text),
            ("sha256", Text),
            ("size", Int),
            ("manifest", Text),
            ("task_id", Text),
            ("create_user", Text),
            ("created_at", Int),
            ("create_actor", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "mnp_version_id",
    },
    Table {
        name: "applications",
        columns: &[
            ("number", Int),
            ("application_id", Text),
            ("platform_id", Text),
            ("team_id", Text),
            ("name", Text),
            ("logo", Text),
            ("intro", Text),
            ("remark", Text),
            ("android_app_key", Text),
            ("ios_app_key", Text),
            ("application_type", Int),
            ("create_user", Text),
            ("created_at", Int),
            ("update_user", Text),
            ("updated_at", Int),
            ("android_app_url", Text),
            ("ios_app_url", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "number",
    },
    Table {
        name: "approvals",
        columns: &[
            ("approval_no", Text),
            ("platform_id", Text),
            ("mnp_id", Text),
            ("mnp_version_id", Int),
            ("status", Int),
            ("apply_user", Text),
            ("apply_time", Int),
            ("updated_at", Int),
            ("apply_actor", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "seq",
    },
    Table {
        name: "approval_items",
        columns: &[
            ("approval_no", Text),
            ("application_id", Text),
            ("status", Int),
            ("note", Text),
            ("approval_user", Text),
            ("approval_time", Int),
            ("approval_actor", Text),
        ],
        of_account: concat!(
            "approval_no IN (SELECT approval_no FROM approvals WHERE platform_id IN (",
            platforms!(),
            "))"
        ),
        order: "seq",
    },
    Table {
        name: "releases",
        columns: &[
            ("release_id", Int),
            ("mnp_id", Text),
            ("platform_id", Text),
            ("mnp_version_id", Int),
            ("kind", Text),
            ("release_user", Text),
            ("released_at", Int),
            ("release_actor", Text),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "release_id",
    },
    Table {
        name: "online_versions",
        columns: &[
            ("mnp_id", Text),
            ("mnp_version_id", Int),
            ("release_id", Int),
            ("updated_at", Int),
        ],
        of_account: concat!("mnp_id IN (", mini_programs!(), ")"),
        order: "mnp_id",
    },
    Table {
        name: "previews",
        columns: &[
            ("mnp_id", Text),
            ("kind", Text),
            ("mnp_version_id", Int),
            ("entrance_path", Text),
            ("updated_at", Int),
        ],
        of_account: concat!("mnp_id IN (", mini_programs!(), ")"),
        order: "mnp_id, kind",
    },
    Table {
        name: "mnp_domains",
        columns: &[
            ("domain_id", Int),
            ("platform_id", Text),
            ("mnp_id", Text),
            ("domain_type", Int),
            ("url", Text),
            ("host", Text),
            ("status", Int),
            ("create_user", Text),
            ("created_at", Int),
        ],
        of_account: concat!("mnp_id IN (", mini_programs!(), ")"),
        order: "domain_id",
    },
    Table {
        name: "global_domains",
        columns: &[
            ("domain_id", Int),
            ("platform_id", Text),
            ("list_type", Int),
            ("host", Text),
            ("create_user", Text),
            ("created_at", Int),
            ("update_user", Text),
            ("updated_at", Int),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "domain_id",
    },
    Table {
        name: "sensitive_apis",
        columns: &[
            ("api_id", Text),
            ("platform_id", Text),
            ("application_id", Text),
            ("api_name", Text),
            ("api_desc", Text),
            ("api_type", Int),
            ("status", Int),
            ("create_user", Text),
            ("created_at", Int),
            ("update_user", Text),
            ("updated_at", Int),
        ],
        of_account: concat!("platform_id IN (", platforms!(), ")"),
        order: "seq",
    },
    Table {
        name: "sensitive_api_requests",
        columns: &[
            ("request_no", Text),
            ("platform_id", Text),
            ("mnp_id", Text),
            ("application_id", Text),
            ("api_id", Text),
            ("api_name", Text),
            ("api_desc", Text),
            ("api_type", Int),
            ("status", Int),
            ("apply_reason", Text),
            ("apply_user", Text),
            ("apply_time", Int),
            ("approval_user", Text),
            ("approval_time", Int),
            ("approval_note", Text),
        ],
        of_account: concat!("mnp_id IN (", mini_programs!(), ")"),
        order: "seq",
    },
];

/// Columns of the schema a fixture leaves out on purpose (see the top).
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const NOT_CARRIED: &[(&str, &str)] = &[
    ("platforms", "account_id"),
    ("tasks", "lease_owner"),
    ("tasks", "lease_until"),
    ("approvals", "seq"),
    ("approval_items", "seq"),
    ("sensitive_apis", "seq"),
    ("sensitive_api_requests", "seq"),
];

/// Tables of the schema a fixture leaves out, with why: a table a migration
/// adds must be carried (`TABLES`) or named here, a test checks.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const TABLES_NOT_CARRIED: &[(&str, &str)] = &[
    ("accounts", "the importing account is the server's own"),
    (
        "api_keys",
        "keys stay the server's; a fixture holds no secret",
    ),
    ("server_settings", "the server's, not an account's"),
    ("uploads", "expire within minutes and belong to no platform"),
    (
        "mini_program_counts",
        "kept by triggers as mini programs are inserted",
    ),
    (
        "console_sessions",
        "sessions stay with the server that signed them in",
    ),
    ("preset_keys", "live minutes and are used once"),
    ("console_sign_in_failures", "lock-outs stay with the server"),
    ("package_pins", "held by requests in flight on this server"),
    ("package_deletions", "sweeps in flight on this server"),
    (
        "package_signing_keys",
        "private keys stay with the server (a fixture holds no secret), and hosts trust the keys it published; an imported platform new to the server gets its own key on first need",
    ),
    (
        "rollouts",
        "a gradual release watches live devices; a fixture starts from the online versions",
    ),
    (
        "rollout_events",
        "the history of gradual releases, not carried",
    ),
    ("install_counts", "what devices reported to this deployment"),
    (
        "install_failure_reasons",
        "what devices reported to this deployment",
    ),
    ("install_series", "what devices reported to this deployment"),
];

/// A column that names a record of another table: its value must be one of
/// that table's rows in the same file, so that a fixture cannot reach a
/// record outside the account it is imported into.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("platform_id", "platforms", "platform_id"),
    ("team_id", "teams", "team_id"),
    ("related_team_id", "teams", "team_id"),
    ("admin_user_id", "users", "user_id"),
    ("user_id", "users", "user_id"),
    ("mnp_id", "mini_programs", "mnp_id"),
    ("task_id", "tasks", "task_id"),
    ("mnp_version_id", "versions", "mnp_version_id"),
    ("approval_no", "approvals", "approval_no"),
    ("release_id", "releases", "release_id"),
    ("application_id", "applications", "application_id"),
];

/// The columns given their numbers anew by a sequence when a row is
/// inserted: advanced past the imported ones, so no number is handed out
/// twice.
const SEQUENCES: &[(&str, &str)] = &[
    ("versions", "mnp_version_id"),
    ("applications", "number"),
    ("mini_program_numbers", "number"),
    ("mnp_domains", "domain_id"),
    ("global_domains", "domain_id"),
];

fn to_json(row: &Row, column: &str, kind: Kind) -> Json {
    match kind {
        Int | MaybeInt => row
            .get::<Option<i64>>(column)
            .map_or(Json::Null, Json::from),
        Text | MaybeText => row
            .get::<Option<String>>(column)
            .map_or(Json::Null, Json::from),
    }
}

fn invalid(message: String) -> ImportRefusal {
    ImportRefusal::Invalid(message)
}

/// Columns added after the fixture format was fixed. A row of a file
/// exported before them lacks them, which means the column's default: ""
/// for a text, null for a nullable one. Any other missing column is refused.
const LATER_COLUMNS: &[(&str, &str)] = &[
    // Migration 0013: the platform's recorded default team (none recorded
    // means its oldest team).
    ("platforms", "default_team_id"),
    // Migration 0014 (ModifyApplicationAppUrl): not set.
    ("applications", "android_app_url"),
    ("applications", "ios_app_url"),
];

/// The row's values in the table's column order, checked against the types.
fn values_of<'r>(
    table: &Table,
    index: usize,
    row: &'r Map<String, Json>,
) -> Result<Vec<Value<'r>>, ImportRefusal> {
    if let Some(unknown) = row
        .keys()
        .find(|k| !table.columns.iter().any(|(c, _)| c == k))
    {
        return Err(invalid(format!(
            "row {index} of `{}` has a column `{unknown}` this server does not have",
            table.name
        )));
    }
    table
        .columns
        .iter()
        .map(|&(column, kind)| {
            let wrong = |what: &str| {
                invalid(format!(
                    "row {index} of `{}`: `{column}` must be {what}",
                    table.name
                ))
            };
            match (kind, row.get(column)) {
                (Int | MaybeInt, Some(Json::Number(n))) => n
                    .as_i64()
                    .map(Value::from)
                    .ok_or_else(|| wrong("an integer")),
                (MaybeInt, Some(Json::Null)) => Ok(Value::Int(None)),
                (MaybeText, Some(Json::Null)) => Ok(Value::Text(None)),
                (MaybeText, None) if LATER_COLUMNS.contains(&(table.name, column)) => {
                    Ok(Value::Text(None))
                }
                (MaybeText, Some(Json::String(s))) => Ok(Value::Text(Some(s.as_str()))),
                (Text, Some(Json::String(s))) => Ok(Value::Text(Some(s.as_str()))),
                (Text, None) if LATER_COLUMNS.contains(&(table.name, column)) => {
                    Ok(Value::Text(Some("")))
                }
                (Int, _) => Err(wrong("an integer")),
                (MaybeInt, _) => Err(wrong("an integer or null")),
                (Text, _) => Err(wrong("a string")),
                (MaybeText, _) => Err(wrong("a string or null")),
            }
        })
        .collect()
}

/// The rows of each table of the file, every table present (empty when
/// the file has none of it); unknown tables refused.
fn by_table(tables: &[FixtureTable]) -> Result<Vec<&[Map<String, Json>]>, ImportRefusal> {
    if let Some(unknown) = tables
        .iter()
        .find(|t| !TABLES.iter().any(|known| known.name == t.table))
    {
        return Err(invalid(format!(
            "the file has a table `{}` this server does not have",
            unknown.table
        )));
    }
    Ok(TABLES
        .iter()
        .map(|known| {
            tables
                .iter()
                .find(|t| t.table == known.name)
                .map_or(&[][..], |t| t.rows.as_slice())
        })
        .collect())
}

/// Refuses a row that names a record the file does not hold.
fn check_references(rows: &[&[Map<String, Json>]]) -> Result<(), ImportRefusal> {
    let key_of = |table: &str, column: &str| -> HashSet<String> {
        let at = TABLES.iter().position(|t| t.name == table).expect("listed");
        rows[at]
            .iter()
            .filter_map(|r| r.get(column).map(|v| v.to_string()))
            .collect()
    };
    let owned: HashMap<&str, HashSet<String>> = REFERENCES
        .iter()
        .map(|&(column, table, key)| (column, key_of(table, key)))
        .collect();
    for (table, table_rows) in TABLES.iter().zip(rows) {
        for (index, row) in table_rows.iter().enumerate() {
            for &(column, owner, key) in REFERENCES {
                if owner == table.name && column == key {
                    continue;
                }
                match row.get(column) {
                    None | Some(Json::Null) => {}
                    Some(value) if owned[column].contains(&value.to_string()) => {}
                    Some(value) => {
                        return Err(invalid(format!(
                            "row {index} of `{}` names {column} {value}, which is not among the file's `{owner}`",
                            table.name
                        )))
                    }
                }
            }
        }
    }
    Ok(())
}

fn collision(table: &str, row: &Map<String, Json>) -> ImportRefusal {
    let key = TABLES
        .iter()
        .find(|t| t.name == table)
        .and_then(|t| t.columns.first())
        .map(|(c, _)| (*c, row.get(*c).cloned().unwrap_or(Json::Null)));
    let (column, value) = key.unwrap_or(("row", Json::Null));
    ImportRefusal::Collision(format!(
        "the file's {table} {column} {value} is already used on this server by another account (or twice in the file); import it into a server where these IDs are free, e.g. a fresh one started with --fixture"
    ))
}

#[async_trait]
impl FixtureStore for SqlStore {
    async fn export_account(&self, account_id: i64) -> StoreResult<Vec<FixtureTable>> {
        // One transaction: a consistent picture even while requests run.
        let mut tx = self.db.begin().await?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            let rows = sql(format!(
                "SELECT {} FROM {} WHERE {} ORDER BY {}",
                columns.join(", "),
                table.name,
                table.of_account,
                table.order
            ))
            .bind(account_id)
            .fetch_all(&mut tx)
            .await?;
            tables.push(FixtureTable {
                table: table.name.to_string(),
                rows: rows
                    .iter()
                    .map(|row| {
                        table
                            .columns
                            .iter()
                            .map(|&(c, kind)| (c.to_string(), to_json(row, c, kind)))
                            .collect()
                    })
                    .collect(),
            });
        }
        tx.commit().await?;
        Ok(tables)
    }

    async fn import_account(
        &self,
        account_id: i64,
        tables: &[FixtureTable],
    ) -> StoreResult<Result<Vec<String>, ImportRefusal>> {
        let rows = match by_table(tables).and_then(|rows| {
            check_references(&rows)?;
            Ok(rows)
        }) {
            Ok(rows) => rows,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut tx = self.db.begin().await?;
        let outcome = import_in(&mut tx, account_id, &rows).await?;
        let platforms = match outcome {
            Ok(platforms) => platforms,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let hashes = platforms.1;
        tx.commit().await?;
        for platform in &platforms.0 {
            self.lookups.forget_tasks_of_platform(platform);
        }
        Ok(Ok(hashes))
    }
}

/// The import's statements, in `tx`: the account's platforms (as the
/// reset leaves them, the file's created), then each table's rows. The
/// account's platforms and the hashes the replaced tasks named.
async fn import_in(
    tx: &mut Tx,
    account_id: i64,
    rows: &[&[Map<String, Json>]],
) -> StoreResult<Result<(Vec<String>, Vec<String>), ImportRefusal>> {
    let mut platforms: Vec<String> = sql("SELECT platform_id FROM platforms WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.get("platform_id"))
        .collect();
    let mut hashes = Vec::new();
    for platform in &platforms {
        hashes.extend(clear_platform(tx, platform).await?);
    }
    let mut releases: HashMap<i64, i64> = HashMap::new();
    for (table, table_rows) in TABLES.iter().zip(rows) {
        if table.name == "mini_program_numbers" {
            // The trigger numbered each mini program on insert; they get
            // their exported numbers back, inserted below.
            sql(format!(
                "DELETE FROM mini_program_numbers WHERE mnp_id IN (SELECT mnp_id FROM mini_programs WHERE platform_id IN ({}))",
                platforms!()
            ))
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        }
        if table.name == "mini_program_numbers" {
            // The trigger numbered each mini program on insert; they get
            // their exported numbers back, inserted below.
            sql(format!(
                "DELETE FROM mini_program_numbers WHERE mnp_id IN (SELECT mnp_id FROM mini_programs WHERE platform_id IN ({}))",
                platforms!()
            ))
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        }
        for (index, row) in table_rows.iter().enumerate() {
            let row = &with_account_actor(row, account_id);
            let values = match values_of(table, index, row) {
                Ok(values) => values,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let done = match table.name {
                "platforms" => import_platform(tx, account_id, &values, &mut platforms).await,
                "releases" => {
                    let old = row["release_id"].as_i64().unwrap_or_default();
                    insert(tx, table, &values, 1, " RETURNING release_id")
                        .await
                        .and_then(|row| {
                            let row =
                                row.ok_or_else(|| StoreError::Other("no release_id".into()))?;
                            releases.insert(old, row.get("release_id"));
                            Ok(true)
                        })
                }
                "online_versions" => {
                    let mut values = values;
                    let old = row["release_id"].as_i64().unwrap_or_default();
                    values[2] = Value::Int(releases.get(&old).copied());
                    insert(tx, table, &values, 0, "").await.map(|_| true)
                }
                _ => insert(tx, table, &values, 0, "").await.map(|_| true),
            };
            match done {
                Ok(true) => {}
                Ok(false) | Err(StoreError::Conflict(_)) => {
                    return Ok(Err(collision(table.name, row)))
                }
                Err(e) => return Err(e),
            }
        }
        if table.name == "platforms" {
            // The file's platforms get the file's teams, not their own.
            let file_platforms: Vec<&str> = table_rows
                .iter()
                .filter_map(|r| r["platform_id"].as_str())
                .collect();
            // The file's platforms get the file's teams, users and
            // memberships, not those the reset left.
            for statement in [
                "DELETE FROM team_members WHERE team_id IN (SELECT team_id FROM teams WHERE platform_id IN ({}))",
                "DELETE FROM teams WHERE platform_id IN ({})",
                "DELETE FROM users WHERE platform_id IN ({})",
            ] {
                if file_platforms.is_empty() {
                    break;
                }
                let mut delete = sql(
                    statement.replace("{}", &placeholders(1, file_platforms.len())),
                );
                for p in &file_platforms {
                    delete = delete.bind(*p);
                }
                delete.execute(&mut *tx).await?;
            }
        }
    }
    for (table, column) in SEQUENCES {
        tx.advance_sequence(table, column).await?;
    }
    Ok(Ok((platforms, hashes)))
}

/// The row with an actor naming an account (`account:<id>`, an account's
/// own number on the server that exported it) naming the importing one.
fn with_account_actor(
    row: &Map<String, Json>,
    account_id: i64,
) -> std::borrow::Cow<'_, Map<String, Json>> {
    let names_account = |(k, v): (&String, &Json)| {
        k.ends_with("_actor") && v.as_str().is_some_and(|a| a.starts_with("account:"))
    };
    if !row.iter().any(names_account) {
        return std::borrow::Cow::Borrowed(row);
    }
    let mut owned = row.clone();
    for (name, value) in owned.iter_mut() {
        if names_account((name, value)) {
            *value = Json::String(format!("account:{account_id}"));
        }
    }
    std::borrow::Cow::Owned(owned)
}

/// Creates the file's platform for the account; true when it is the
/// account's already, false when another account has it.
async fn import_platform(
    tx: &mut Tx,
    account_id: i64,
    values: &[Value<'_>],
    platforms: &mut Vec<String>,
) -> StoreResult<bool> {
    let Value::Text(Some(platform_id)) = values[0] else {
        return Ok(false);
    };
    let owner = sql("SELECT account_id FROM platforms WHERE platform_id = $1")
        .bind(platform_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.get::<i64>("account_id"));
    match owner {
        Some(owner) => Ok(owner == account_id),
        None => {
            sql("INSERT INTO platforms (platform_id, account_id, name, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(values[0])
                .bind(account_id)
                .bind(values[1])
                .bind(values[2])
                .bind(values[3])
                .execute(&mut *tx)
                .await?;
            platforms.push(platform_id.to_string());
            Ok(true)
        }
    }
}

/// Inserts the row's values, leaving out the first `skip` columns (given
/// anew by the table), with `returning` appended.
async fn insert(
    tx: &mut Tx,
    table: &Table,
    values: &[Value<'_>],
    skip: usize,
    returning: &str,
) -> StoreResult<Option<Row>> {
    let columns: Vec<&str> = table.columns[skip..].iter().map(|(c, _)| *c).collect();
    let mut insert = sql(format!(
        "INSERT INTO {} ({}) VALUES ({}){returning}",
        table.name,
        columns.join(", "),
        placeholders(1, columns.len())
    ));
    for value in &values[skip..] {
        insert = insert.bind(*value);
    }
    if returning.is_empty() {
        insert.execute(&mut *tx).await?;
        Ok(None)
    } else {
        insert.fetch_optional(&mut *tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_from_before_a_later_column_takes_its_default() {
        let applications = TABLES.iter().find(|t| t.name == "applications").unwrap();
        let mut row = Map::new();
        for (column, kind) in applications.columns {
            if !LATER_COLUMNS.contains(&("applications", column)) {
                let v = if matches!(kind, Int) {
                    Json::from(1)
                } else {
                    Json::from("x")
                };
                row.insert(column.to_string(), v);
            }
        }
        let values = values_of(applications, 0, &row).unwrap();
        assert_eq!(values.len(), applications.columns.len());
        // Any other missing column is still refused.
        row.remove("name");
        assert!(values_of(applications, 0, &row).is_err());
    }

    #[test]
    fn a_platform_from_before_its_default_team_takes_null() {
        let platforms = TABLES.iter().find(|t| t.name == "platforms").unwrap();
        let mut row = Map::new();
        row.insert("platform_id".into(), Json::from("TPLATFORM0000000001"));
        row.insert("name".into(), Json::from("p"));
        row.insert("expires_at".into(), Json::Null);
        row.insert("created_at".into(), Json::from(1));
        let values = values_of(platforms, 0, &row).unwrap();
        assert!(matches!(values.last(), Some(Value::Text(None))));
        // A nullable column that was always there must still be given.
        row.remove("expires_at");
        assert!(values_of(platforms, 0, &row).is_err());
    }

    /// The `name` column of `query`'s rows on a new SQLite store, sorted.
    async fn names_in_schema(query: String) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open(&dir.path().join("meta.db")).await.unwrap();
        let mut names: Vec<String> = sql(query)
            .fetch_all(store.db.read())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("name"))
            .collect();
        names.sort();
        names
    }

    /// A column a migration adds to a carried table must be carried, or
    /// named in `NOT_CARRIED` with the reason at the top of this file.
    #[tokio::test]
    async fn every_column_of_a_carried_table_is_carried_or_named() {
        for table in TABLES {
            let schema = names_in_schema(format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.name
            ))
            .await;
            let mut listed: Vec<String> = table
                .columns
                .iter()
                .map(|(c, _)| c.to_string())
                .chain(
                    NOT_CARRIED
                        .iter()
                        .filter(|(t, _)| *t == table.name)
                        .map(|(_, c)| c.to_string()),
                )
                .collect();
            listed.sort();
            assert_eq!(schema, listed, "the columns of `{}`", table.name);
        }
    }

    /// A table a migration adds must be carried, or named in
    /// `TABLES_NOT_CARRIED` with the reason.
    #[tokio::test]
    async fn every_table_is_carried_or_named() {
        let schema = names_in_schema(
            "SELECT name FROM sqlite_master WHERE type = 'table'
                AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%'"
                .into(),
        )
        .await;
        let mut listed: Vec<String> = TABLES
            .iter()
            .map(|t| t.name.to_string())
            .chain(TABLES_NOT_CARRIED.iter().map(|(t, _)| t.to_string()))
            .collect();
        listed.sort();
        assert_eq!(schema, listed);
    }
}
