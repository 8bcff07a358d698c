//! The emulator's fixtures: an account's state written to one file, and
//! an account's state replaced by a file's, every ID kept.
//!
//! The file is a zip: `mnpd-fixture.json` (the format's name and version,
//! then the records table by table) and each package the records name as
//! `packages/<sha256>`, stored as is (packages are zips already). Packages
//! are copied between the blob store and the file in chunks, never held
//! whole in memory. On import every package is checked against its
//! SHA-256 and stored before the records, which go in one transaction.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::reset::delete_unneeded;
use crate::store::{
    AccountStore, BlobStore, FixtureStore, FixtureTable, Has, ImportRefusal, UploadStore,
};

/// What the file says it is: anything else is refused.
pub const FORMAT: &str = "mnpd-fixture";
pub const FORMAT_VERSION: u32 = 1;
const RECORDS_ENTRY: &str = "mnpd-fixture.json";
const PACKAGES_DIR: &str = "packages/";
/// The records document is read whole; packages never are.
const MAX_RECORDS_BYTES: u64 = 256 << 20;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    format: String,
    format_version: u32,
    exported_at: i64,
    tables: Vec<FixtureTable>,
    packages: Vec<String>,
}

/// What an export or an import carried.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FixtureSummary {
    /// Rows per table, in the file's order.
    pub records: Vec<(String, usize)>,
    pub packages: usize,
    /// The account's platforms after an import (empty after an export).
    pub platforms: Vec<String>,
}

#[derive(Debug)]
pub enum FixtureError {
    /// The file is not an intact fixture of this format, or its IDs are
    /// taken: nothing was changed.
    Refused(ImportRefusal),
    Domain(DomainError),
}

impl From<DomainError> for FixtureError {
    fn from(e: DomainError) -> Self {
        FixtureError::Domain(e)
    }
}

impl From<crate::store::StoreError> for FixtureError {
    fn from(e: crate::store::StoreError) -> Self {
        FixtureError::Domain(e.into())
    }
}

fn invalid(message: impl Into<String>) -> FixtureError {
    FixtureError::Refused(ImportRefusal::Invalid(message.into()))
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

pub struct Fixtures {
    accounts: Arc<dyn AccountStore>,
    fixtures: Arc<dyn FixtureStore>,
    uploads: Arc<dyn UploadStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
}

impl Fixtures {
    pub fn new<S>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn FixtureStore> + Has<dyn UploadStore> + ?Sized,
    {
        Fixtures {
            accounts: Has::share(&store),
            fixtures: Has::share(&store),
            uploads: Has::share(&store),
            blobs,
            clock,
        }
    }

    /// Writes the account's state to `out` (created or truncated).
    pub async fn export(&self, account_id: i64, out: &Path) -> Result<FixtureSummary, DomainError> {
        let tables = self.fixtures.export_account(account_id).await?;
        let mut packages = Vec::new();
        let mut files = Vec::new();
        for sha256 in packages_named(&tables, false) {
            // The package of a failed task may have been collected.
            if self.blobs.exists(&sha256).await? {
                files.push(self.blobs.open_local(&sha256).await?);
                packages.push(sha256);
            }
        }
        let summary = summary_of(&tables, packages.len());
        let document = Document {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            exported_at: self.clock.now().unix_timestamp(),
            tables,
            packages: packages.clone(),
        };
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&out)?);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(true);
            let deflated = zip::write::SimpleFileOptions::default();
            zip.start_file(RECORDS_ENTRY, deflated)?;
            serde_json::to_writer(&mut zip, &document)?;
            for (sha256, file) in packages.iter().zip(&files) {
                zip.start_file(format!("{PACKAGES_DIR}{sha256}"), stored)?;
                std::io::copy(&mut std::fs::File::open(&file.path)?, &mut zip)?;
            }
            zip.finish()?.flush()
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        Ok(summary)
    }

    /// Replaces the account's state with the file's: all of it or, when
    /// the file is refused, nothing.
    pub async fn import(
        &self,
        account_id: i64,
        file: &Path,
    ) -> Result<FixtureSummary, FixtureError> {
        let file = file.to_path_buf();
        let blobs = self.blobs.clone();
        let (document, staged) =
            tokio::task::spawn_blocking(move || read_fixture(&file, || blobs.staging_path()))
                .await
                .map_err(internal)??;
        let mut stored = Vec::new();
        // Packages before the records that name them.
        for (sha256, path) in staged {
            self.blobs.commit(&path, &sha256).await?;
            stored.push(sha256);
        }
        let outcome = self
            .fixtures
            .import_account(account_id, &document.tables)
            .await?;
        let replaced = match outcome {
            Ok(replaced) => replaced,
            Err(refusal) => {
                // Stored for nothing: collected unless something else needs them.
                delete_unneeded(
                    self.uploads.as_ref(),
                    self.blobs.as_ref(),
                    self.clock.as_ref(),
                    stored,
                )
                .await?;
                return Err(FixtureError::Refused(refusal));
            }
        };
        delete_unneeded(
            self.uploads.as_ref(),
            self.blobs.as_ref(),
            self.clock.as_ref(),
            replaced,
        )
        .await?;
        let mut summary = summary_of(&document.tables, stored.len());
        summary.platforms = self
            .accounts
            .list_platforms(Some(account_id))
            .await?
            .into_iter()
            .map(|p| p.platform_id)
            .collect();
        Ok(summary)
    }

    /// A fresh path for a fixture on its way in or out, beside the
    /// packages' own staging.
    pub fn scratch_path(&self) -> PathBuf {
        self.blobs.staging_path()
    }
}

fn summary_of(tables: &[FixtureTable], packages: usize) -> FixtureSummary {
    FixtureSummary {
        records: tables
            .iter()
            .map(|t| (t.table.clone(), t.rows.len()))
            .collect(),
        packages,
        platforms: Vec::new(),
    }
}

/// The packages the records name: every version's and every task's, or
/// (`required`) only those that must be in the file (a failed task's may
/// have been collected).
fn packages_named(tables: &[FixtureTable], required: bool) -> BTreeSet<String> {
    let mut hashes = BTreeSet::new();
    for table in tables
        .iter()
        .filter(|t| t.table == "versions" || t.table == "tasks")
    {
        for row in &table.rows {
            let failed = row.get("status").and_then(|s| s.as_i64()) == Some(30);
            if required && table.table == "tasks" && failed {
                continue;
            }
            if let Some(sha256) = row.get("sha256").and_then(|s| s.as_str()) {
                hashes.insert(sha256.to_string());
            }
        }
    }
    hashes
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads and checks the file: its document, and each package copied to a
/// staging file (from `fresh`) while its SHA-256 is checked.
fn read_fixture(
    file: &Path,
    fresh: impl Fn() -> PathBuf,
) -> Result<(Document, Vec<(String, PathBuf)>), FixtureError> {
    let not_fixture = |e: &dyn std::fmt::Display| {
        invalid(format!(
            "the file is not an mnpd fixture (a zip written by GET /_mnpd/emulator/state or `mnpd admin emulator state export`): {e}"
        ))
    };
    let opened = std::fs::File::open(file).map_err(|e| FixtureError::Domain(internal(e)))?;
    let mut zip = zip::ZipArchive::new(opened).map_err(|e| not_fixture(&e))?;
    let document: Document = {
        let entry = zip
            .by_name(RECORDS_ENTRY)
            .map_err(|_| not_fixture(&format!("it has no {RECORDS_ENTRY}")))?;
        let mut text = Vec::new();
        entry
            .take(MAX_RECORDS_BYTES)
            .read_to_end(&mut text)
            .map_err(|e| invalid(format!("{RECORDS_ENTRY} is damaged: {e}")))?;
        serde_json::from_slice(&text).map_err(|e| not_fixture(&format!("{RECORDS_ENTRY}: {e}")))?
    };
    if document.format != FORMAT || document.format_version != FORMAT_VERSION {
        return Err(invalid(format!(
            "the file is format {} version {}; this server reads {FORMAT} version {FORMAT_VERSION}",
            document.format, document.format_version
        )));
    }
    let required = packages_named(&document.tables, true);
    let mut wanted: BTreeSet<String> = document.packages.iter().cloned().collect();
    if let Some(missing) = required.difference(&wanted).next() {
        return Err(invalid(format!(
            "the records name package {missing}, which the file does not carry"
        )));
    }
    wanted.retain(|h| is_sha256(h));
    let mut staged = Vec::new();
    let mut staged_paths: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for sha256 in &wanted {
            let mut entry = zip
                .by_name(&format!("{PACKAGES_DIR}{sha256}"))
                .map_err(|_| {
                    invalid(format!(
                        "the file lists package {sha256} but does not hold it"
                    ))
                })?;
            let path = fresh();
            staged_paths.push(path.clone());
            let mut out =
                std::fs::File::create(&path).map_err(|e| FixtureError::Domain(internal(e)))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 << 10];
            loop {
                let n = entry.read(&mut buffer).map_err(|e| {
                    invalid(format!("package {sha256} is damaged in the file: {e}"))
                })?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                out.write_all(&buffer[..n])
                    .map_err(|e| FixtureError::Domain(internal(e)))?;
            }
            let got = hex::encode(hasher.finalize());
            if &got != sha256 {
                return Err(invalid(format!(
                    "package {sha256} is damaged in the file: its content hashes to {got}"
                )));
            }
            staged.push((sha256.clone(), path));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for path in &staged_paths {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    Ok((document, staged))
}
