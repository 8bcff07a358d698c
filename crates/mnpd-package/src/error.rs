//! The error type returned by [`crate::validate`].
//!
//! Every message is written for a person reading a task status: it says what is
//! wrong, names the file or page concerned and says what to change.

/// Why a package was refused.
///
/// Entry names held by the variants are shortened (see [`shown`]) and printed with
/// Rust string escaping, so a hostile name cannot break a log line or a status page.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The bytes are not a zip archive this validator can read: not a zip at all,
    /// truncated, malformed, or structured so that reading it would take far more
    /// work than its size warrants.
    #[error(
        "the upload is not a readable zip archive ({reason}); export the package from the IDE \
         again and upload the .zip file unchanged"
    )]
    NotAZip { reason: String },

    /// More entries (files and folders) than [`crate::Limits::max_entries`].
    #[error(
        "the package contains {count} entries, more than the limit of {limit}; remove unused \
         files (for example node_modules, tests or build output) and export again"
    )]
    TooManyEntries { count: usize, limit: usize },

    /// The files together unpack (as declared, or as actually inflated) to more than
    /// [`crate::Limits::max_total_uncompressed`]. `size` is the amount counted when the
    /// limit was crossed.
    #[error(
        "the package's files unpack to more than the limit of {} for a whole package (at \
         least {} counted); remove large assets or load them from a CDN",
        fmt_bytes(.limit),
        fmt_bytes(.size)
    )]
    TooLarge { size: u64, limit: u64 },

    /// One entry unpacks to more than [`crate::Limits::max_entry_uncompressed`].
    #[error(
        "{name:?} unpacks to {}, more than the per-file limit of {}; shrink the file or load \
         it from a CDN",
        fmt_bytes(.size),
        fmt_bytes(.limit)
    )]
    EntryTooLarge { name: String, size: u64, limit: u64 },

    /// Compression ratio above [`crate::Limits::max_ratio`] for one entry (`name` is
    /// `Some`) or for the archive as a whole (`name` is `None`): a zip-bomb signature.
    #[error("{}", ratio_message(.name, .uncompressed, .compressed, .limit))]
    SuspiciousRatio {
        name: Option<String>,
        uncompressed: u64,
        compressed: u64,
        limit: u64,
    },

    /// An entry name that is absolute, climbs out with `..`, or is otherwise unsafe
    /// to extract.
    #[error(
        "entry {name:?} has an unsafe path ({reason}); package paths must be relative, use '/' \
         as the separator and must not contain '..': zip the project folder itself"
    )]
    UnsafePath { name: String, reason: &'static str },

    /// A symbolic link (unix mode `S_IFLNK` in the external attributes).
    #[error(
        "entry {name:?} is a symbolic link, which packages may not contain; replace the link \
         with a copy of the file it points to"
    )]
    Symlink { name: String },

    /// A password-protected entry.
    #[error(
        "entry {name:?} is encrypted (password-protected); export the package again without a \
         password"
    )]
    Encrypted { name: String },

    /// An entry compressed with something other than "stored" or "deflate".
    #[error(
        "entry {name:?} uses the compression method {method}; only stored and deflate are \
         supported, so re-create the zip with the IDE or a standard zip tool"
    )]
    UnsupportedCompression { name: String, method: String },

    /// The same name twice, after normalisation (`a/` and `a` are the same name).
    #[error(
        "the name {name:?} appears more than once in the package; every file and folder name \
         must be unique, so re-create the zip from the project folder"
    )]
    DuplicateEntry { name: String },

    /// Two names that differ only in letter case, Unicode normalisation (NFC
    /// against NFD) or trailing dots and spaces, which case-insensitive file
    /// systems extract to one path; or a file where another entry needs a
    /// folder. `first` and `second` are in archive order.
    #[error("{}", collision_message(.first, .second, .file_and_folder))]
    NameCollision {
        first: String,
        second: String,
        file_and_folder: bool,
    },

    /// The end record declares a central directory larger than
    /// [`crate::Limits::max_directory_bytes`].
    #[error(
        "the package's central directory (the list of its {entries} entries with their names) \
         takes {}, more than the limit of {}; shorten long file and folder names or remove \
         unused files, then export again",
        fmt_bytes(.size),
        fmt_bytes(.limit)
    )]
    DirectoryTooLarge { size: u64, entries: u64, limit: u64 },

    /// An entry name whose bytes are not UTF-8 (shown here with replacement characters).
    #[error(
        "entry name {name:?} is not valid UTF-8; rename the file using plain characters or \
         re-create the zip with a tool that stores UTF-8 names"
    )]
    NonUtf8Name { name: String },

    /// Neither `app.json` nor `game.json` where one is expected.
    #[error(
        "the package has no app.json or game.json at its root or inside one top-level folder; \
         zip the project folder that contains app.json (mini program) or game.json (mini game)"
    )]
    NoManifest,

    /// The manifest is larger than [`crate::Limits::max_manifest_bytes`].
    #[error(
        "{file:?} is {}, more than the {} allowed for a manifest; remove unneeded content \
         from it",
        fmt_bytes(.size),
        fmt_bytes(.limit)
    )]
    ManifestTooLarge { file: String, size: u64, limit: u64 },

    /// The manifest is not valid JSON, is nested too deeply, or has the wrong shape.
    /// `reason` says what and where.
    #[error("{file:?} is invalid: {reason}")]
    ManifestInvalid { file: String, reason: String },

    /// A page listed in app.json lacks its `.js` or `.wxml` file. `page` is the page
    /// path relative to the project (subpackage root included); `missing` lists the
    /// absent files as paths inside the archive.
    #[error(
        "page {page:?} is listed in app.json but {} missing from the package; add the \
         file(s) or remove the page from app.json",
        missing_list(.missing)
    )]
    MissingPage { page: String, missing: Vec<String> },

    /// game.json without game.js next to it. `expected` is the archive path looked for.
    #[error(
        "game.json requires game.js next to it, but {expected:?} is not in the package; add \
         game.js (the mini game's entry script)"
    )]
    MissingGameEntry { expected: String },

    /// An entry that fails to decompress, fails its CRC-32 check, or does not unpack
    /// to its declared size.
    #[error(
        "entry {name:?} is damaged ({reason}); export the package again and upload the new \
         .zip file"
    )]
    CorruptEntry { name: String, reason: String },
}

fn ratio_message(
    name: &Option<String>,
    uncompressed: &u64,
    compressed: &u64,
    limit: &u64,
) -> String {
    let what = match name {
        Some(name) => format!("entry {name:?}"),
        None => "the archive as a whole".to_string(),
    };
    format!(
        "{what} expands from {} to {}, a ratio above the limit of {limit}:1 that marks a zip \
         bomb; remove padding or generated filler files and export again",
        fmt_bytes(compressed),
        fmt_bytes(uncompressed)
    )
}

fn collision_message(first: &str, second: &str, file_and_folder: &bool) -> String {
    let what = if *file_and_folder {
        format!("entry {first:?} is a file where {second:?} needs a folder of the same name")
    } else {
        format!(
            "entries {first:?} and {second:?} name the same path on case-insensitive file \
             systems (Windows, macOS): they differ only in letter case, Unicode normalisation \
             or trailing dots or spaces"
        )
    };
    format!(
        "{what}, so the file a device extracts may not be the one validated; rename one of \
         them so that no two paths are equal when case is ignored, and export again"
    )
}

fn missing_list(missing: &[String]) -> String {
    let quoted: Vec<String> = missing.iter().map(|m| format!("{m:?}")).collect();
    match quoted.len() {
        0 => "a file is".to_string(),
        1 => format!("{} is", quoted[0]),
        _ => format!("{} are", quoted.join(" and ")),
    }
}

/// Human-readable byte count: "512 bytes", "256 MiB", "1.9 KiB (2000 bytes)".
pub(crate) fn fmt_bytes(n: &u64) -> String {
    // Powers of two, so `n & (size - 1) == 0` tests for an exact multiple.
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    let n = *n;
    for (unit, size) in UNITS {
        if n >= size {
            return if n & (size - 1) == 0 {
                format!("{} {unit}", n / size)
            } else {
                // Truncated, so that a value just under a limit never prints as the limit.
                let tenths = (u128::from(n) * 10 / u128::from(size)) as u64;
                format!("{}.{} {unit} ({n} bytes)", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{n} bytes")
}

/// Maximum number of characters of a name kept in an error.
const SHOWN_CHARS: usize = 200;

/// A name as stored in an error: cut to [`SHOWN_CHARS`] characters.
pub(crate) fn shown(name: &str) -> String {
    match name.char_indices().nth(SHOWN_CHARS) {
        None => name.to_string(),
        Some((cut, _)) => format!("{}…", &name[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(fmt_bytes(&0), "0 bytes");
        assert_eq!(fmt_bytes(&1023), "1023 bytes");
        assert_eq!(fmt_bytes(&2048), "2 KiB");
        assert_eq!(fmt_bytes(&2000), "1.9 KiB (2000 bytes)");
        assert_eq!(fmt_bytes(&(256 << 20)), "256 MiB");
        assert_eq!(
            fmt_bytes(&u64::MAX),
            "16777215.9 TiB (18446744073709551615 bytes)"
        );
    }

    #[test]
    fn shown_names_are_cut() {
        assert_eq!(shown("a.js"), "a.js");
        let long = "é".repeat(300);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), SHOWN_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn messages_name_the_culprit() {
        let e = PackageError::MissingPage {
            page: "pages/a/a".into(),
            missing: vec!["pages/a/a.js".into()],
        };
        assert_eq!(
            e.to_string(),
            "page \"pages/a/a\" is listed in app.json but \"pages/a/a.js\" is missing from the \
             package; add the file(s) or remove the page from app.json"
        );
        let e = PackageError::UnsafePath {
            name: "a\nb".into(),
            reason: "it contains a control character",
        };
        assert!(e.to_string().contains("\"a\\nb\""), "{e}");
    }
}
