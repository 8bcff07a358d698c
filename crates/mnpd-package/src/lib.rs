//! mnpd-package: validation of mini program and mini game packages.
//!
//! [`validate`] takes a zip archive exported from the IDE, checks it against
//! [`Limits`] and the rules listed in this crate's README, and returns the
//! [`Manifest`] read from `app.json` (mini program) or `game.json` (mini game).
//!
//! It is pure (no network, no async, no files written) and bounded whatever the
//! input:
//!
//! * memory: entries are inflated through one fixed buffer into nothing; only the
//!   manifest is kept, and never more than [`Limits::max_manifest_bytes`] of it.
//!   The zip crate holds the central directory in memory (the 2.x reader cannot
//!   stream it), and this crate keeps a few copies of the names; the entry count
//!   and the directory's size declared by the end record are checked against
//!   [`Limits::max_entries`] and [`Limits::max_directory_bytes`] before it does,
//!   so memory is bounded by those limits however long the names are. Only a
//!   crafted archive (one whose standard end record is not the one the zip crate
//!   ends up using) can make it hold more, and then in proportion to the
//!   archive's length.
//! * time: every byte read and every seek is counted against an allowance linear
//!   in the archive's length (`budget.rs`): this bounds the zip crate's retries
//!   over candidate end records and reads of overlapping entries. Inflating stops
//!   as soon as an entry exceeds its declared size or a limit.
//!
//! Order of checks: the entry count declared by the end record; the central
//! directory's size; the central directory (count, names, duplicates, names that
//! collide on case-insensitive file systems, symlinks, encryption, compression
//! methods, declared sizes and ratios), so that a zip bomb is refused before anything is
//! inflated; the manifest and the files its pages need; then every entry is
//! inflated to verify its CRC-32 and its size.
//!
//! Notes on the zip crate (2.x):
//!
//! * It keeps one entry per name, silently dropping exact duplicates, so this
//!   crate walks the central directory records itself to find them.
//! * It is not known to panic on any input (a few hundred thousand mutated
//!   archives were tried, see the ignored test `mutated_archives_never_panic_long`),
//!   but a panic inside it would be a bug there: [`validate`] catches unwinding
//!   panics and reports them as [`PackageError::NotAZip`]. A fuzzer's panic hook
//!   still sees them.
#![forbid(unsafe_code)]

mod budget;
mod collisions;
mod end_record;
mod error;
mod json;
mod paths;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom};

use zip::{CompressionMethod, ZipArchive};

use budget::{Budget, Handle};
use error::shown;
pub use error::PackageError;
pub use paths::MAX_NAME_BYTES;

/// Entries whose declared size is at most this are exempt from the per-entry
/// compression ratio check, and so is an archive whose total is at most this:
/// small, highly compressible text files are normal.
pub const RATIO_FLOOR: u64 = 1024 * 1024;

/// The default [`Limits::max_directory_bytes`]: room for 10,000 entries with
/// names of 300 bytes and the usual extra fields, several times what the IDE
/// writes for a package of that many files.
pub const DEFAULT_MAX_DIRECTORY_BYTES: u64 = 4 * 1024 * 1024;

/// Size of the one buffer every entry is inflated through.
const INFLATE_BUFFER: usize = 32 * 1024;

/// Bounds applied by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (files and folders) in the archive.
    pub max_entries: usize,
    /// Largest central directory (every entry's record with its name, extra
    /// field and comment), as declared by the end record. It bounds the memory
    /// one validation takes, whatever the names' count and length.
    pub max_directory_bytes: u64,
    /// Most bytes all entries may unpack to, declared and actual.
    pub max_total_uncompressed: u64,
    /// Most bytes one entry may unpack to, declared and actual.
    pub max_entry_uncompressed: u64,
    /// Highest uncompressed/compressed ratio, for each entry above [`RATIO_FLOOR`]
    /// and for the archive as a whole.
    pub max_ratio: u64,
    /// Largest app.json / game.json.
    pub max_manifest_bytes: u64,
    /// Deepest nesting of arrays and objects in the manifest.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_directory_bytes: DEFAULT_MAX_DIRECTORY_BYTES,
            max_total_uncompressed: 256 * 1024 * 1024,
            max_entry_uncompressed: 64 * 1024 * 1024,
            max_ratio: 200,
            max_manifest_bytes: 1024 * 1024,
            max_json_depth: 32,
        }
    }
}

/// Which manifest the package has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// A mini program, described by app.json.
    MiniProgram,
    /// A mini game, described by game.json.
    MiniGame,
}

/// A subpackage declared in app.json.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subpackage {
    /// The subpackage's folder, relative to the project root, without a trailing '/'.
    pub root: String,
    /// Its pages, relative to `root`, as listed in app.json.
    pub pages: Vec<String>,
    /// Bytes its files inflated to (0 in manifests recorded before sizes
    /// were measured).
    #[serde(default)]
    pub bytes: u64,
}

/// What a valid package contains.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// MiniProgram (app.json) or MiniGame (game.json).
    pub kind: PackageKind,
    /// "" when the manifest is at the archive root, or "folder/" when the whole
    /// project sits in one top-level folder.
    pub root: String,
    /// Main package pages as listed in app.json, e.g. "pages/index/index"
    /// (empty for a mini game).
    pub pages: Vec<String>,
    /// Subpackages from app.json's `subpackages` / `subPackages` (empty for a mini game).
    pub subpackages: Vec<Subpackage>,
    /// app.json's `entryPagePath` if present, else the first page (None for a mini game).
    pub entry_page: Option<String>,
    /// Number of file entries (folders not counted).
    pub file_count: u64,
    /// Bytes all entries actually inflated to.
    pub uncompressed_bytes: u64,
    /// Of those, the bytes of the files outside every subpackage's folder:
    /// the main package (0 in manifests recorded before sizes were
    /// measured).
    #[serde(default)]
    pub main_bytes: u64,
}

/// Validates a package and returns its manifest.
///
/// See the crate documentation and README for the rules. Never panics on any
/// input: a panic inside the zip crate is caught and reported as
/// [`PackageError::NotAZip`].
pub fn validate<R: Read + Seek>(reader: R, limits: &Limits) -> Result<Manifest, PackageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        validate_unguarded(reader, limits)
    }))
    .unwrap_or_else(|_| {
        Err(PackageError::NotAZip {
            reason: "the zip reader failed on this archive's structure".to_string(),
        })
    })
}

/// [`validate`] without the panic guard (tests call this so panics surface).
fn validate_unguarded<R: Read + Seek>(
    mut reader: R,
    limits: &Limits,
) -> Result<Manifest, PackageError> {
    let archive_len = reader
        .seek(SeekFrom::End(0))
        .and_then(|len| reader.seek(SeekFrom::Start(0)).map(|_| len))
        .map_err(|e| PackageError::NotAZip {
            reason: format!("the upload cannot be read: {e}"),
        })?;
    let cell = RefCell::new(Budget::new(reader, budget::allowance(archive_len)));
    // Refuse an archive declaring too many entries, or a central directory too
    // large, before the zip crate reads it all into memory. Read errors here are
    // left for the zip crate to report.
    if let Ok(Some(declared)) = end_record::declared(&mut Handle(&cell), archive_len) {
        if declared.entries > u64::try_from(limits.max_entries).unwrap_or(u64::MAX) {
            return Err(PackageError::TooManyEntries {
                count: usize::try_from(declared.entries).unwrap_or(usize::MAX),
                limit: limits.max_entries,
            });
        }
        if declared.directory_bytes > limits.max_directory_bytes {
            return Err(PackageError::DirectoryTooLarge {
                size: declared.directory_bytes,
                entries: declared.entries,
                limit: limits.max_directory_bytes,
            });
        }
    }
    let zip = ZipArchive::new(Handle(&cell)).map_err(|e| PackageError::NotAZip {
        reason: if budget::exhausted(&cell) {
            budget::EXHAUSTED_REASON.to_string()
        } else {
            e.to_string()
        },
    })?;
    let mut session = Session {
        zip,
        cell: &cell,
        limits,
        archive_len,
    };
    session.run()
}

/// One entry as seen in the central directory, after its name passed the checks.
struct Entry {
    /// The name as in the archive (checked, so safe to show).
    name: String,
    /// The name without trailing '/'.
    norm: String,
    is_dir: bool,
    /// Declared uncompressed size.
    size: u64,
}

struct Session<'a, R> {
    zip: ZipArchive<Handle<'a, R>>,
    cell: &'a RefCell<Budget<R>>,
    limits: &'a Limits,
    archive_len: u64,
}

/// Where the manifest is.
struct Located {
    kind: PackageKind,
    root: String,
    index: usize,
}

impl<R: Read + Seek> Session<'_, R> {
    fn run(&mut self) -> Result<Manifest, PackageError> {
        let count = self.zip.len();
        if count > self.limits.max_entries {
            return Err(PackageError::TooManyEntries {
                count,
                limit: self.limits.max_entries,
            });
        }
        let entries = self.scan_central_directory()?;
        self.check_hidden_duplicates()?;
        check_collisions(&entries)?;

        let located = locate_manifest(&entries)?;
        let files: HashMap<&str, usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_dir)
            .map(|(i, e)| (e.norm.as_str(), i))
            .collect();

        let mut buf = vec![0u8; INFLATE_BUFFER];
        let mut total = 0u64;
        let manifest_entry = &entries[located.index];
        if manifest_entry.size > self.limits.max_manifest_bytes {
            return Err(PackageError::ManifestTooLarge {
                file: manifest_entry.name.clone(),
                size: manifest_entry.size,
                limit: self.limits.max_manifest_bytes,
            });
        }
        let mut manifest_bytes = Vec::new();
        self.inflate(
            located.index,
            manifest_entry,
            &mut total,
            &mut buf,
            Some(&mut manifest_bytes),
        )?;

        let invalid = |reason: String| PackageError::ManifestInvalid {
            file: manifest_entry.name.clone(),
            reason,
        };
        let mut manifest = Manifest {
            kind: located.kind,
            root: located.root.clone(),
            pages: Vec::new(),
            subpackages: Vec::new(),
            entry_page: None,
            file_count: 0,
            uncompressed_bytes: 0,
            main_bytes: 0,
        };
        match located.kind {
            PackageKind::MiniProgram => {
                let app = json::parse_app(&manifest_bytes, self.limits.max_json_depth)
                    .map_err(invalid)?;
                check_pages(&located.root, &app, &files)?;
                manifest.pages = app.pages;
                manifest.subpackages = app.subpackages;
                manifest.entry_page = app.entry_page;
            }
            PackageKind::MiniGame => {
                json::parse_game(&manifest_bytes, self.limits.max_json_depth).map_err(invalid)?;
                let expected = format!("{}game.js", located.root);
                if !files.contains_key(expected.as_str()) {
                    return Err(PackageError::MissingGameEntry { expected });
                }
            }
        }
        drop(manifest_bytes);

        // A file belongs to the subpackage whose folder holds it, else to
        // the main package (app.json itself included).
        let folders: Vec<String> = manifest
            .subpackages
            .iter()
            .map(|sub| format!("{}{}/", located.root, sub.root))
            .collect();
        let mut main_bytes = total;
        for (index, entry) in entries.iter().enumerate() {
            if index == located.index {
                continue;
            }
            let before = total;
            self.inflate(index, entry, &mut total, &mut buf, None)?;
            let bytes = total - before;
            match folders
                .iter()
                .position(|f| entry.norm.starts_with(f.as_str()))
            {
                Some(sub) => manifest.subpackages[sub].bytes += bytes,
                None => main_bytes += bytes,
            }
        }
        manifest.file_count = files.len() as u64;
        manifest.uncompressed_bytes = total;
        manifest.main_bytes = main_bytes;
        Ok(manifest)
    }

    /// Checks every entry's central-directory record, without inflating anything.
    fn scan_central_directory(&mut self) -> Result<Vec<Entry>, PackageError> {
        let limits = self.limits;
        let mut entries = Vec::with_capacity(self.zip.len());
        let mut seen: HashSet<String> = HashSet::with_capacity(self.zip.len());
        let mut declared_total = 0u64;
        let mut compressed_total = 0u64;
        for index in 0..self.zip.len() {
            let raw = self.raw_meta(index)?;
            let name = match std::str::from_utf8(&raw.name) {
                Ok(name) => name,
                Err(_) => {
                    return Err(PackageError::NonUtf8Name {
                        name: shown(&String::from_utf8_lossy(&raw.name)),
                    })
                }
            };
            let checked =
                paths::check_entry_name(name).map_err(|reason| PackageError::UnsafePath {
                    name: shown(name),
                    reason,
                })?;
            if !seen.insert(checked.norm.clone()) {
                return Err(PackageError::DuplicateEntry {
                    name: shown(&checked.norm),
                });
            }
            if raw
                .unix_mode
                .is_some_and(|mode| mode & 0o170_000 == 0o120_000)
            {
                return Err(PackageError::Symlink { name: shown(name) });
            }
            if raw.encrypted {
                return Err(PackageError::Encrypted { name: shown(name) });
            }
            if raw.method != CompressionMethod::Stored && raw.method != CompressionMethod::Deflated
            {
                return Err(PackageError::UnsupportedCompression {
                    name: shown(name),
                    method: format!("{:?}", raw.method),
                });
            }
            if raw.size > RATIO_FLOOR && raw.size > raw.compressed.saturating_mul(limits.max_ratio)
            {
                return Err(PackageError::SuspiciousRatio {
                    name: Some(shown(name)),
                    uncompressed: raw.size,
                    compressed: raw.compressed,
                    limit: limits.max_ratio,
                });
            }
            if raw.size > limits.max_entry_uncompressed {
                return Err(PackageError::EntryTooLarge {
                    name: shown(name),
                    size: raw.size,
                    limit: limits.max_entry_uncompressed,
                });
            }
            declared_total = declared_total.saturating_add(raw.size);
            if declared_total > limits.max_total_uncompressed {
                return Err(PackageError::TooLarge {
                    size: declared_total,
                    limit: limits.max_total_uncompressed,
                });
            }
            compressed_total = compressed_total.saturating_add(raw.compressed);
            entries.push(Entry {
                name: name.to_string(),
                norm: checked.norm,
                is_dir: checked.is_dir,
                size: raw.size,
            });
        }
        if compressed_total > self.archive_len {
            return Err(PackageError::NotAZip {
                reason: "its entries claim more compressed data than the archive holds, so \
                         they overlap (a zip-bomb technique)"
                    .to_string(),
            });
        }
        if declared_total > RATIO_FLOOR
            && declared_total > self.archive_len.saturating_mul(limits.max_ratio)
        {
            return Err(PackageError::SuspiciousRatio {
                name: None,
                uncompressed: declared_total,
                compressed: self.archive_len,
                limit: limits.max_ratio,
            });
        }
        Ok(entries)
    }

    /// The central-directory facts about one entry. Opening an entry raw reads its
    /// local header but inflates nothing.
    fn raw_meta(&mut self, index: usize) -> Result<RawMeta, PackageError> {
        let meta = match self.zip.by_index_raw(index) {
            Ok(file) => Ok(RawMeta {
                name: file.name_raw().to_vec(),
                unix_mode: file.unix_mode(),
                encrypted: file.encrypted(),
                method: file.compression(),
                size: file.size(),
                compressed: file.compressed_size(),
            }),
            Err(e) => Err(e.to_string()),
        };
        meta.map_err(|e| self.failure(index, format!("its local header cannot be read: {e}")))
    }

    /// The zip crate keeps one entry per name, so exact duplicates are invisible
    /// through it. Walk the central directory records ourselves to find them.
    fn check_hidden_duplicates(&mut self) -> Result<(), PackageError> {
        let start = self.zip.central_directory_start();
        let max_records = self.limits.max_entries.saturating_add(1);
        let walk = walk_central_directory(&mut Handle(self.cell), start, max_records);
        if budget::exhausted(self.cell) {
            return Err(PackageError::NotAZip {
                reason: budget::EXHAUSTED_REASON.to_string(),
            });
        }
        if let Some(name) = walk.duplicate {
            return Err(PackageError::DuplicateEntry {
                name: shown(&String::from_utf8_lossy(&name)),
            });
        }
        if walk.records > self.limits.max_entries {
            return Err(PackageError::TooManyEntries {
                count: walk.records,
                limit: self.limits.max_entries,
            });
        }
        if walk.records > self.zip.len() {
            return Err(PackageError::NotAZip {
                reason: format!(
                    "its central directory holds {} records for {} distinct entries",
                    walk.records,
                    self.zip.len()
                ),
            });
        }
        Ok(())
    }

    /// Inflates one entry through `buf`, counting actual bytes against the limits
    /// and the declared size; keeps the bytes in `keep` (the manifest) if given.
    fn inflate(
        &mut self,
        index: usize,
        entry: &Entry,
        total: &mut u64,
        buf: &mut [u8],
        mut keep: Option<&mut Vec<u8>>,
    ) -> Result<(), PackageError> {
        let limits = self.limits;
        let cell = self.cell;
        let corrupt = |reason: String| {
            if budget::exhausted(cell) {
                PackageError::NotAZip {
                    reason: budget::EXHAUSTED_REASON.to_string(),
                }
            } else {
                PackageError::CorruptEntry {
                    name: shown(&entry.name),
                    reason,
                }
            }
        };
        let mut file = match self.zip.by_index(index) {
            Ok(file) => file,
            Err(e) => return Err(corrupt(format!("it cannot be opened: {e}"))),
        };
        let mut actual = 0u64;
        loop {
            let n = match file.read(buf) {
                Ok(0) => break,
                Ok(n) => n.min(buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt(describe_read_error(&e))),
            };
            actual = actual.saturating_add(n as u64);
            *total = total.saturating_add(n as u64);
            if *total > limits.max_total_uncompressed {
                return Err(PackageError::TooLarge {
                    size: *total,
                    limit: limits.max_total_uncompressed,
                });
            }
            if actual > limits.max_entry_uncompressed {
                return Err(PackageError::EntryTooLarge {
                    name: shown(&entry.name),
                    size: actual,
                    limit: limits.max_entry_uncompressed,
                });
            }
            if actual > entry.size {
                return Err(corrupt(format!(
                    "it unpacks to more than its declared size of {} bytes",
                    entry.size
                )));
            }
            if let Some(out) = keep.as_deref_mut() {
                if actual > limits.max_manifest_bytes {
                    return Err(PackageError::ManifestTooLarge {
                        file: shown(&entry.name),
                        size: actual,
                        limit: limits.max_manifest_bytes,
                    });
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
        if actual != entry.size {
            return Err(corrupt(format!(
                "it unpacks to {actual} bytes but declares {} bytes",
                entry.size
            )));
        }
        Ok(())
    }

    /// The error for an entry that cannot be read.
    fn failure(&self, index: usize, reason: String) -> PackageError {
        if budget::exhausted(self.cell) {
            return PackageError::NotAZip {
                reason: budget::EXHAUSTED_REASON.to_string(),
            };
        }
        PackageError::CorruptEntry {
            name: shown(self.zip.name_for_index(index).unwrap_or("(unnamed entry)")),
            reason,
        }
    }
}

struct RawMeta {
    name: Vec<u8>,
    unix_mode: Option<u32>,
    encrypted: bool,
    method: CompressionMethod,
    size: u64,
    compressed: u64,
}

fn describe_read_error(e: &io::Error) -> String {
    let text = e.to_string();
    if text.contains("checksum") {
        "its CRC-32 checksum does not match its content".to_string()
    } else {
        format!("it cannot be decompressed: {text}")
    }
}

/// Refuses names that are distinct here but one path where the package is
/// extracted (see `collisions.rs`).
fn check_collisions(entries: &[Entry]) -> Result<(), PackageError> {
    let names: Vec<(&str, bool)> = entries
        .iter()
        .map(|e| (e.norm.as_str(), e.is_dir))
        .collect();
    match collisions::find(&names) {
        None => Ok(()),
        Some(c) => Err(PackageError::NameCollision {
            first: shown(&c.first),
            second: shown(&c.second),
            file_and_folder: c.file_and_folder,
        }),
    }
}

/// Finds app.json or game.json at the root, or inside the one top-level folder
/// that holds everything else (ignoring `__MACOSX/` and `.DS_Store` noise).
fn locate_manifest(entries: &[Entry]) -> Result<Located, PackageError> {
    let find = |root: &str| -> Result<Option<Located>, PackageError> {
        let lookup = |file: &str| {
            let wanted = format!("{root}{file}");
            entries.iter().position(|e| !e.is_dir && e.norm == wanted)
        };
        match (lookup("app.json"), lookup("game.json")) {
            (Some(index), Some(_)) => Err(PackageError::ManifestInvalid {
                file: entries[index].name.clone(),
                reason: "the package has both app.json and game.json; a mini program keeps \
                         only app.json and a mini game only game.json"
                    .to_string(),
            }),
            (Some(index), None) => Ok(Some(Located {
                kind: PackageKind::MiniProgram,
                root: root.to_string(),
                index,
            })),
            (None, Some(index)) => Ok(Some(Located {
                kind: PackageKind::MiniGame,
                root: root.to_string(),
                index,
            })),
            (None, None) => Ok(None),
        }
    };
    if let Some(found) = find("")? {
        return Ok(found);
    }
    let mut top: Option<&str> = None;
    for entry in entries.iter().filter(|e| !paths::is_noise(&e.norm)) {
        let first = match entry.norm.split_once('/') {
            Some((first, _)) => first,
            // A file at the root, next to the folder: the folder does not hold everything.
            None if !entry.is_dir => return Err(PackageError::NoManifest),
            None => entry.norm.as_str(),
        };
        match top {
            None => top = Some(first),
            Some(t) if t == first => {}
            Some(_) => return Err(PackageError::NoManifest),
        }
    }
    let top = top.ok_or(PackageError::NoManifest)?;
    find(&format!("{top}/"))?.ok_or(PackageError::NoManifest)
}

/// Every page (main and subpackages) needs `<page>.js` and `<page>.wxml`.
fn check_pages(
    root: &str,
    app: &json::AppJson,
    files: &HashMap<&str, usize>,
) -> Result<(), PackageError> {
    let main = app.pages.iter().map(|p| p.to_string());
    let sub = app
        .subpackages
        .iter()
        .flat_map(|s| s.pages.iter().map(move |p| format!("{}/{p}", s.root)));
    for page in main.chain(sub) {
        let missing: Vec<String> = ["js", "wxml"]
            .iter()
            .map(|ext| format!("{root}{page}.{ext}"))
            .filter(|file| !files.contains_key(file.as_str()))
            .collect();
        if !missing.is_empty() {
            return Err(PackageError::MissingPage {
                page: shown(&page),
                missing: missing.iter().map(|m| shown(m)).collect(),
            });
        }
    }
    Ok(())
}

/// What the raw walk of the central directory found.
struct Walk {
    records: usize,
    duplicate: Option<Vec<u8>>,
}

const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: u64 = 46;

/// Counts the central directory records from `start` (at most `max_records`) and
/// reports the first raw name that occurs twice. Stops quietly at anything that
/// is not a record: the zip crate has already parsed the records it uses.
fn walk_central_directory<R: Read + Seek>(reader: &mut R, start: u64, max_records: usize) -> Walk {
    let mut walk = Walk {
        records: 0,
        duplicate: None,
    };
    let mut names: HashSet<Vec<u8>> = HashSet::new();
    let mut pos = start;
    let mut header = [0u8; CENTRAL_HEADER_LEN as usize];
    while walk.records < max_records {
        if reader.seek(SeekFrom::Start(pos)).is_err() || reader.read_exact(&mut header).is_err() {
            break;
        }
        let u16_at = |at: usize| u64::from(u16::from_le_bytes([header[at], header[at + 1]]));
        let signature = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        if signature != CENTRAL_HEADER_SIGNATURE {
            break;
        }
        let (name_len, extra_len, comment_len) = (u16_at(28), u16_at(30), u16_at(32));
        walk.records += 1;
        // Longer names are refused by the name rules; they are not worth keeping.
        if name_len as usize <= MAX_NAME_BYTES {
            let mut name = vec![0u8; name_len as usize];
            if reader.read_exact(&mut name).is_err() {
                break;
            }
            if walk.duplicate.is_none() && !names.insert(name.clone()) {
                walk.duplicate = Some(name);
                break;
            }
        }
        pos = pos
            .saturating_add(CENTRAL_HEADER_LEN)
            .saturating_add(name_len)
            .saturating_add(extra_len)
            .saturating_add(comment_len);
    }
    walk
}
