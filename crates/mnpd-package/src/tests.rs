//! Tests of `validate` on packages built in memory with the zip crate's writer,
//! and on hostile archives made by patching their bytes.

use std::cell::Cell;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::{
    validate, validate_unguarded, Limits, Manifest, PackageError, PackageKind, Subpackage,
};

// ---------------------------------------------------------------------------
// Building packages

/// An ordered list of entries; names ending in '/' are folders.
#[derive(Clone)]
struct Pkg {
    entries: Vec<(String, Vec<u8>, CompressionMethod)>,
}

impl Pkg {
    fn new() -> Self {
        Pkg {
            entries: Vec::new(),
        }
    }

    fn add(mut self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.entries.push((
            name.to_string(),
            data.as_ref().to_vec(),
            CompressionMethod::Deflated,
        ));
        self
    }

    fn add_stored(mut self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.entries.push((
            name.to_string(),
            data.as_ref().to_vec(),
            CompressionMethod::Stored,
        ));
        self
    }

    fn remove(mut self, name: &str) -> Self {
        let before = self.entries.len();
        self.entries.retain(|(n, _, _)| n != name);
        assert_eq!(before, self.entries.len() + 1, "no entry {name}");
        self
    }

    fn replace(self, name: &str, data: impl AsRef<[u8]>) -> Self {
        let mut pkg = self;
        let entry = pkg
            .entries
            .iter_mut()
            .find(|(n, _, _)| n == name)
            .expect("entry to replace");
        entry.1 = data.as_ref().to_vec();
        pkg
    }

    /// The same entries inside `folder/`.
    fn wrapped(self, folder: &str) -> Self {
        let mut pkg = Pkg::new();
        pkg.entries
            .push((format!("{folder}/"), Vec::new(), CompressionMethod::Stored));
        for (name, data, method) in self.entries {
            pkg.entries.push((format!("{folder}/{name}"), data, method));
        }
        pkg
    }

    fn build(&self) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in &self.entries {
            let options = SimpleFileOptions::default().compression_method(*method);
            if name.ends_with('/') {
                w.add_directory(name.as_str(), options).unwrap();
            } else {
                w.start_file(name.as_str(), options).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn file_bytes(&self) -> u64 {
        self.entries.iter().map(|(_, d, _)| d.len() as u64).sum()
    }

    /// Bytes of the files whose names start with `prefix`.
    fn bytes_under(&self, prefix: &str) -> u64 {
        self.entries
            .iter()
            .filter(|(n, _, _)| n.starts_with(prefix))
            .map(|(_, d, _)| d.len() as u64)
            .sum()
    }

    fn file_count(&self) -> u64 {
        self.entries
            .iter()
            .filter(|(n, _, _)| !n.ends_with('/'))
            .count() as u64
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const APP_JSON: &str = r##"{
  "pages": ["pages/index/index", "pages/logs/logs"],
  "subpackages": [
    { "root": "packageA", "pages": ["pages/cat/cat", "pages/dog/dog"] }
  ],
  "window": { "navigationBarTitleText": "Demo", "backgroundColor": "#ffffff" },
  "sitemapLocation": "sitemap.json",
  "style": "v2"
}
"##;

fn page_files(pkg: Pkg, page: &str) -> Pkg {
    pkg.add(&format!("{page}.js"), "Page({ data: {} })\n")
        .add(&format!("{page}.json"), "{ \"usingComponents\": {} }\n")
        .add(
            &format!("{page}.wxml"),
            "<view class=\"container\">{{motto}}</view>\n",
        )
        .add(&format!("{page}.wxss"), ".container { padding: 20rpx; }\n")
}

/// A realistic mini program: two pages, a subpackage with two pages, an image.
fn mini_program() -> Pkg {
    let pkg = Pkg::new()
        .add("app.js", "App({ onLaunch() {} })\n")
        .add("app.json", APP_JSON)
        .add("app.wxss", "page { background: #fff; }\n")
        .add(
            "project.config.json",
            r#"{"appid": "mpabc123", "compileType": "miniprogram"}"#,
        )
        .add(
            "sitemap.json",
            r#"{"rules": [{"action": "allow", "page": "*"}]}"#,
        )
        .add("pages/", "")
        .add("pages/index/", "");
    let pkg = page_files(pkg, "pages/index/index").add("pages/logs/", "");
    let pkg = page_files(pkg, "pages/logs/logs");
    let pkg = page_files(pkg, "packageA/pages/cat/cat");
    let pkg = page_files(pkg, "packageA/pages/dog/dog");
    pkg.add("images/", "")
        .add_stored("images/logo.png", Rng(7).bytes(4096))
}

fn mini_game() -> Pkg {
    Pkg::new()
        .add(
            "game.json",
            r#"{"deviceOrientation": "portrait", "showStatusBar": false}"#,
        )
        .add("game.js", "import './js/main'\n")
        .add("js/main.js", "export default class Main {}\n")
        .add_stored("images/bg.jpg", Rng(9).bytes(2048))
}

fn check(bytes: &[u8]) -> Result<Manifest, PackageError> {
    check_with(bytes, &Limits::default())
}

fn check_with(bytes: &[u8], limits: &Limits) -> Result<Manifest, PackageError> {
    validate_unguarded(Cursor::new(bytes), limits)
}

/// Asserts the error matches `pattern` and its message contains every needle.
macro_rules! assert_refused {
    ($result:expr, $pattern:pat, $($needle:expr),+ $(,)?) => {{
        let err = $result.expect_err("package should be refused");
        assert!(matches!(err, $pattern), "unexpected error: {err:?}");
        let message = err.to_string();
        if std::env::var_os("MNPD_SHOW_MESSAGES").is_some() {
            eprintln!("{message}");
        }
        $(assert!(message.contains($needle), "message lacks {:?}: {message}", $needle);)+
        err
    }};
}

// ---------------------------------------------------------------------------
// Patching archives (test-only parsing of well-formed archives from the writer)

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// (central record offset, local header offset) of the entry `name`.
fn locate_entry(z: &[u8], name: &str) -> (usize, usize) {
    let eocd = (0..=z.len() - 22)
        .rev()
        .find(|&i| z[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("end of central directory");
    let mut pos = u32_at(z, eocd + 16);
    for _ in 0..u16_at(z, eocd + 10) {
        let name_len = u16_at(z, pos + 28);
        if &z[pos + 46..pos + 46 + name_len] == name.as_bytes() {
            return (pos, u32_at(z, pos + 42));
        }
        pos += 46 + name_len + u16_at(z, pos + 30) + u16_at(z, pos + 32);
    }
    panic!("no entry {name}");
}

/// Writes `value` at `central_at` in the central record and `local_at` in the
/// local header of `name`.
fn patch(z: &mut [u8], name: &str, central_at: usize, local_at: usize, value: &[u8]) {
    let (central, local) = locate_entry(z, name);
    z[central + central_at..central + central_at + value.len()].copy_from_slice(value);
    z[local + local_at..local + local_at + value.len()].copy_from_slice(value);
}

fn set_declared_size(z: &mut [u8], name: &str, size: u32) {
    patch(z, name, 24, 22, &size.to_le_bytes());
}

/// Replaces every occurrence of `from` by `to` (same length).
fn replace_bytes(z: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= z.len() {
        if &z[i..i + from.len()] == from {
            z[i..i + from.len()].copy_from_slice(to);
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found >= 2, "expected local and central copies of {from:?}");
}

/// A reader that counts the bytes read from it.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

// ---------------------------------------------------------------------------
// Valid packages

fn expected_mini_program(pkg: &Pkg, root: &str) -> Manifest {
    let sub_bytes = pkg.bytes_under(&format!("{root}packageA/"));
    Manifest {
        kind: PackageKind::MiniProgram,
        root: root.to_string(),
        pages: vec!["pages/index/index".into(), "pages/logs/logs".into()],
        subpackages: vec![Subpackage {
            root: "packageA".into(),
            pages: vec!["pages/cat/cat".into(), "pages/dog/dog".into()],
            bytes: sub_bytes,
        }],
        entry_page: Some("pages/index/index".into()),
        file_count: pkg.file_count(),
        uncompressed_bytes: pkg.file_bytes(),
        main_bytes: pkg.file_bytes() - sub_bytes,
    }
}

#[test]
fn realistic_mini_program_passes() {
    let pkg = mini_program();
    let manifest = check(&pkg.build()).unwrap();
    assert_eq!(manifest, expected_mini_program(&pkg, ""));
    assert_eq!(manifest.file_count, 22);
    // The public, guarded entry point agrees.
    assert_eq!(
        validate(Cursor::new(pkg.build()), &Limits::default()).unwrap(),
        manifest
    );
}

#[test]
fn mini_program_in_one_folder_passes() {
    let pkg = mini_program().wrapped("demo");
    let manifest = check(&pkg.build()).unwrap();
    assert_eq!(manifest, expected_mini_program(&pkg, "demo/"));
}

#[test]
fn macos_noise_is_ignored_when_finding_the_folder() {
    let pkg = mini_program()
        .wrapped("demo")
        .add("__MACOSX/", "")
        .add("__MACOSX/demo/._app.json", [0u8; 16])
        .add(".DS_Store", [0u8; 8]);
    assert_eq!(check(&pkg.build()).unwrap().root, "demo/");
}

#[test]
fn entry_page_path_and_sub_packages_spelling() {
    let json = r#"{"pages":["pages/index/index","pages/logs/logs"],
        "subPackages":[{"root":"packageA/","pages":["pages/cat/cat","pages/dog/dog"]}],
        "entryPagePath":"packageA/pages/dog/dog"}"#;
    let pkg = mini_program().replace("app.json", json);
    let manifest = check(&pkg.build()).unwrap();
    assert_eq!(
        manifest.entry_page.as_deref(),
        Some("packageA/pages/dog/dog")
    );
    assert_eq!(manifest.subpackages[0].root, "packageA");
}

#[test]
fn each_subpackage_is_measured_apart_from_the_main_package() {
    let json = r#"{"pages":["pages/index/index","pages/logs/logs"],
        "subpackages":[{"root":"packageA","pages":["pages/cat/cat","pages/dog/dog"]},
                       {"root":"packageB","pages":["p/x"]}]}"#;
    let pkg = page_files(mini_program().replace("app.json", json), "packageB/p/x")
        .add_stored("packageB/big.bin", Rng(3).bytes(5000))
        // A folder named like a subpackage's prefix is not inside it.
        .add_stored("packageAB/other.bin", Rng(4).bytes(700));
    let manifest = check(&pkg.build()).unwrap();
    let a = pkg.bytes_under("packageA/");
    let b = pkg.bytes_under("packageB/");
    assert!(b > 5000);
    assert_eq!(manifest.subpackages[0].bytes, a);
    assert_eq!(manifest.subpackages[1].bytes, b);
    assert_eq!(manifest.main_bytes, pkg.file_bytes() - a - b);
    assert_eq!(manifest.uncompressed_bytes, pkg.file_bytes());
}

#[test]
fn mini_game_passes() {
    let pkg = mini_game();
    let manifest = check(&pkg.build()).unwrap();
    assert_eq!(
        manifest,
        Manifest {
            kind: PackageKind::MiniGame,
            root: String::new(),
            pages: vec![],
            subpackages: vec![],
            entry_page: None,
            file_count: 4,
            uncompressed_bytes: pkg.file_bytes(),
            main_bytes: pkg.file_bytes(),
        }
    );
    let wrapped = check(&mini_game().wrapped("game").build()).unwrap();
    assert_eq!(wrapped.root, "game/");
}

#[test]
fn validates_from_a_file() {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&mini_program().build()).unwrap();
    let manifest = validate(&mut file, &Limits::default()).unwrap();
    assert_eq!(manifest.pages.len(), 2);
}

#[test]
fn manifest_serializes() {
    let manifest = check(&mini_program().build()).unwrap();
    let json = serde_json::to_value(&manifest).unwrap();
    assert_eq!(json["kind"], "mini_program");
    let back: Manifest = serde_json::from_value(json).unwrap();
    assert_eq!(back, manifest);
}

// ---------------------------------------------------------------------------
// One refusal per error variant

#[test]
fn not_a_zip() {
    assert_refused!(
        check(b""),
        PackageError::NotAZip { .. },
        "not a readable zip"
    );
    assert_refused!(
        check(b"<html><body>404 Not Found</body></html>"),
        PackageError::NotAZip { .. },
        "export the package"
    );
}

#[test]
fn truncated_copies_fail_cleanly() {
    let good = mini_program().build();
    for cut in 0..good.len() {
        let err = check(&good[..cut]).expect_err("truncated archive accepted");
        assert!(
            matches!(
                err,
                PackageError::NotAZip { .. } | PackageError::CorruptEntry { .. }
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn too_many_entries() {
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    assert_refused!(
        check_with(&mini_program().build(), &limits),
        PackageError::TooManyEntries { limit: 5, .. },
        "limit of 5"
    );
}

#[test]
fn too_many_entries_declared_by_the_end_record() {
    // The declared count is refused before the central directory is parsed.
    let mut z = mini_program().build();
    let eocd = z.len() - 22;
    z[eocd + 8..eocd + 12].copy_from_slice(&[0x60, 0xea, 0x60, 0xea]);
    assert_refused!(
        check(&z),
        PackageError::TooManyEntries {
            count: 60_000,
            limit: 10_000
        },
        "60000 entries"
    );
}

#[test]
fn too_large_in_total() {
    let limits = Limits {
        max_total_uncompressed: 1000,
        ..Limits::default()
    };
    assert_refused!(
        check_with(&mini_program().build(), &limits),
        PackageError::TooLarge { limit: 1000, .. },
        "1000 bytes"
    );
}

#[test]
fn entry_too_large() {
    let limits = Limits {
        max_entry_uncompressed: 2000,
        ..Limits::default()
    };
    assert_refused!(
        check_with(&mini_program().build(), &limits),
        PackageError::EntryTooLarge { .. },
        "\"images/logo.png\"",
        "2000 bytes"
    );
}

/// 200 MiB of zeros, streamed into the writer (deflate makes it ~200 KiB).
fn zero_bomb() -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    w.start_file("app.json", options).unwrap();
    w.write_all(br#"{"pages":["pages/index/index"]}"#).unwrap();
    w.start_file("bomb.bin", options).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..200 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_bomb_fails_before_inflating() {
    let bomb = zero_bomb();
    assert!(bomb.len() < 1024 * 1024, "bomb is {} bytes", bomb.len());
    let read = Rc::new(Cell::new(0));
    let reader = Counting {
        inner: Cursor::new(&bomb),
        read: read.clone(),
    };
    let started = std::time::Instant::now();
    let result = validate_unguarded(reader, &Limits::default());
    assert_refused!(
        result,
        PackageError::SuspiciousRatio { name: Some(_), .. },
        "\"bomb.bin\"",
        "200 MiB",
        "zip bomb"
    );
    // Only the directory and local headers were read, not the compressed data.
    assert!(read.get() < 16 * 1024, "read {} bytes", read.get());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn lying_declared_size_is_caught_while_inflating() {
    let mut z = Pkg::new()
        .add("app.json", r#"{"pages":["p"]}"#)
        .add("p.js", "")
        .add("p.wxml", "")
        .add("big.bin", vec![0u8; 4 * 1024 * 1024])
        .build();
    set_declared_size(&mut z, "big.bin", 1000);
    assert_refused!(
        check(&z),
        PackageError::CorruptEntry { .. },
        "\"big.bin\"",
        "more than its declared size of 1000"
    );
}

#[test]
fn archive_wide_ratio() {
    // Each entry stays under the per-entry floor; together they are a bomb.
    let mut pkg = mini_program();
    for i in 0..20 {
        pkg = pkg.add(&format!("filler/{i}.bin"), vec![0u8; 900 * 1024]);
    }
    assert_refused!(
        check(&pkg.build()),
        PackageError::SuspiciousRatio { name: None, .. },
        "the archive as a whole"
    );
}

#[test]
fn unsafe_paths() {
    for (name, needle) in [
        ("../evil.js", "'..'"),
        ("pages/../../evil.js", "'..'"),
        ("/etc/passwd", "absolute"),
        ("\\evil.js", "absolute"),
        ("C:\\evil.js", "drive letter"),
        ("pages\\evil.js", "backslash"),
        ("pages//evil.js", "empty path component"),
        ("pages/\0.js", "NUL"),
    ] {
        let z = mini_program().add(name, "x").build();
        let err = assert_refused!(check(&z), PackageError::UnsafePath { .. }, needle);
        assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
    }
}

#[test]
fn symlink() {
    let mut w = ZipWriter::new_append(Cursor::new(mini_program().build())).unwrap();
    w.add_symlink(
        "images/link.png",
        "/etc/passwd",
        SimpleFileOptions::default(),
    )
    .unwrap();
    let z = w.finish().unwrap().into_inner();
    assert_refused!(
        check(&z),
        PackageError::Symlink { .. },
        "\"images/link.png\"",
        "symbolic link"
    );
}

#[test]
fn encrypted() {
    let mut z = mini_program().build();
    // General purpose flag bit 0: encrypted.
    patch(&mut z, "app.js", 8, 6, &1u16.to_le_bytes());
    assert_refused!(
        check(&z),
        PackageError::Encrypted { .. },
        "\"app.js\"",
        "without a password"
    );
}

#[test]
fn unsupported_compression() {
    let mut z = mini_program().build();
    // Method 12 is bzip2.
    patch(&mut z, "app.js", 10, 8, &12u16.to_le_bytes());
    assert_refused!(
        check(&z),
        PackageError::UnsupportedCompression { .. },
        "\"app.js\""
    );
}

#[test]
fn duplicate_entries() {
    // Exactly the same name twice (the zip crate would silently keep one).
    let mut z = mini_program().add("QQQ.js", "second").build();
    replace_bytes(&mut z, b"QQQ.js", b"app.js");
    assert_refused!(
        check(&z),
        PackageError::DuplicateEntry { .. },
        "\"app.js\"",
        "more than once"
    );
    // A file and a folder with the same name.
    let z = mini_program().add("pages/index", "not a folder").build();
    assert_refused!(
        check(&z),
        PackageError::DuplicateEntry { .. },
        "\"pages/index\""
    );
}

#[test]
fn names_colliding_on_case_insensitive_file_systems() {
    assert_refused!(
        check(&mini_program().add("App.json", "{}").build()),
        PackageError::NameCollision { .. },
        "\"app.json\" and \"App.json\"",
        "letter case",
        "rename one of them"
    );
    // The composed and decomposed forms of "é".
    let z = mini_program()
        .add("images/caf\u{e9}.png", "a")
        .add("images/cafe\u{301}.png", "b")
        .build();
    assert_refused!(
        check(&z),
        PackageError::NameCollision { .. },
        "Unicode normalisation"
    );
    for twin in ["app.js.", "app.js "] {
        assert_refused!(
            check(&mini_program().add(twin, "x").build()),
            PackageError::NameCollision { .. },
            "trailing dots or spaces"
        );
    }
    // A file where a folder of the same name (another case) is needed.
    let z = mini_program().add("Pages/index", "a file").build();
    assert_refused!(
        check(&z),
        PackageError::NameCollision { .. },
        "\"Pages/index\""
    );
    // The same, spelt alike, with no folder entry of its own.
    let z = mini_program()
        .add("lib", "a file")
        .add("lib/x.js", "")
        .build();
    assert_refused!(
        check(&z),
        PackageError::NameCollision {
            file_and_folder: true,
            ..
        },
        "entry \"lib\" is a file where \"lib/x.js\" needs a folder"
    );
}

#[test]
fn central_directory_too_large() {
    // 200 entries with 1000-byte names: about 210 KiB of central directory.
    let mut pkg = mini_program();
    for i in 0..200 {
        pkg = pkg.add(&format!("long/{i:04}{}.js", "n".repeat(991)), "");
    }
    let z = pkg.build();
    let limits = Limits {
        max_directory_bytes: 128 * 1024,
        ..Limits::default()
    };
    let err = assert_refused!(
        check_with(&z, &limits),
        PackageError::DirectoryTooLarge { limit: 131_072, .. },
        "central directory",
        "more than the limit of 128 KiB",
        "shorten long file and folder names"
    );
    let PackageError::DirectoryTooLarge { entries, size, .. } = err else {
        unreachable!()
    };
    assert_eq!(entries, pkg.entries.len() as u64);
    assert!(size > 200 * 1000, "{size}");
    // Refused from the end record: the zip crate never parses the directory, so
    // the reads are the end record's alone.
    let counter = Rc::new(Cell::new(0u64));
    let reader = Counting {
        inner: Cursor::new(&z),
        read: counter.clone(),
    };
    assert!(validate_unguarded(reader, &limits).is_err());
    assert!(counter.get() < 4096, "read {} bytes", counter.get());
    // Under the default limit the same package passes.
    check(&z).unwrap();
}

#[test]
fn non_utf8_name() {
    let mut z = mini_program().add("images/QQQQ.png", "x").build();
    replace_bytes(&mut z, b"QQQQ", &[b'Q', 0xff, 0xfe, b'Q']);
    assert_refused!(
        check(&z),
        PackageError::NonUtf8Name { .. },
        "images/Q",
        "not valid UTF-8"
    );
}

#[test]
fn no_manifest() {
    let needle = "no app.json or game.json at its root or inside one top-level folder";
    let z = mini_program().remove("app.json").build();
    assert_refused!(check(&z), PackageError::NoManifest, needle);
    // Two top-level folders: neither holds everything.
    let mut pkg = mini_program().wrapped("one");
    pkg.entries.extend(mini_program().wrapped("two").entries);
    assert_refused!(check(&pkg.build()), PackageError::NoManifest, needle);
    // A file next to the folder.
    let z = mini_program().wrapped("one").add("README.md", "hi").build();
    assert_refused!(check(&z), PackageError::NoManifest, needle);
    assert_refused!(check(&Pkg::new().build()), PackageError::NoManifest, needle);
}

#[test]
fn manifest_too_large() {
    let limits = Limits {
        max_manifest_bytes: 100,
        ..Limits::default()
    };
    assert_refused!(
        check_with(&mini_program().wrapped("demo").build(), &limits),
        PackageError::ManifestTooLarge { .. },
        "\"demo/app.json\"",
        "100 bytes"
    );
}

#[test]
fn manifest_invalid() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "{\n  \"pages\": [\"pages/index/index\",]\n}",
            &["not valid JSON", "line 2 column"],
        ),
        (r#"{"pages": "pages/index/index"}"#, &["must be a list"]),
        (r#"{"pages": []}"#, &["\"pages\" is empty"]),
        (r#"{"window": {}}"#, &["\"pages\" is missing"]),
        (r#"{"pages": ["pages/index/index", 7]}"#, &["pages[1]"]),
        (r#"[1, 2]"#, &["JSON object"]),
    ];
    for (json, needles) in cases {
        let z = mini_program().replace("app.json", json).build();
        let err = assert_refused!(
            check(&z),
            PackageError::ManifestInvalid { .. },
            "\"app.json\""
        );
        for needle in needles {
            assert!(err.to_string().contains(needle), "{json}: {err}");
        }
    }
    // Too deep, inside an otherwise ignored key.
    let deep = format!(
        r#"{{"pages": ["pages/index/index"], "x": {}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let z = mini_program().replace("app.json", deep).build();
    assert_refused!(
        check(&z),
        PackageError::ManifestInvalid { .. },
        "nested more than 32 levels"
    );
    // Both manifests.
    let z = mini_program().add("game.json", "{}").build();
    assert_refused!(
        check(&z),
        PackageError::ManifestInvalid { .. },
        "both app.json and game.json"
    );
    // A broken game.json.
    let z = mini_game().replace("game.json", "{oops}").build();
    assert_refused!(
        check(&z),
        PackageError::ManifestInvalid { .. },
        "\"game.json\"",
        "line 1 column 2"
    );
}

#[test]
fn missing_page_files() {
    let z = mini_program().remove("pages/logs/logs.wxml").build();
    let err = assert_refused!(
        check(&z),
        PackageError::MissingPage { .. },
        "\"pages/logs/logs\"",
        "\"pages/logs/logs.wxml\" is missing"
    );
    assert!(!err.to_string().contains("logs.js"), "{err}");

    let z = mini_program()
        .wrapped("demo")
        .remove("demo/packageA/pages/dog/dog.js")
        .remove("demo/packageA/pages/dog/dog.wxml")
        .build();
    assert_refused!(
        check(&z),
        PackageError::MissingPage { .. },
        "page \"packageA/pages/dog/dog\"",
        "\"demo/packageA/pages/dog/dog.js\" and \"demo/packageA/pages/dog/dog.wxml\" are missing"
    );
}

#[test]
fn missing_game_entry() {
    let z = mini_game().wrapped("g").remove("g/game.js").build();
    assert_refused!(
        check(&z),
        PackageError::MissingGameEntry { .. },
        "\"g/game.js\""
    );
}

#[test]
fn corrupt_entry() {
    let content = b"Page({ data: { motto: 'corrupt me' } })\n";
    let pkg = mini_program().add_stored("pages/index/extra.js", content);
    let mut z = pkg.build();
    let at = z
        .windows(content.len())
        .position(|w| w == content)
        .expect("stored content");
    z[at] ^= 0x20;
    assert_refused!(
        check(&z),
        PackageError::CorruptEntry { .. },
        "\"pages/index/extra.js\"",
        "CRC-32"
    );

    // A deflated entry whose compressed bytes are damaged.
    let pkg = mini_program().add("blob.bin", Rng(3).bytes(20_000));
    let mut z = pkg.build();
    let (_, local) = locate_entry(&z, "blob.bin");
    let data = local + 30 + u16_at(&z, local + 26) + u16_at(&z, local + 28);
    for b in &mut z[data + 100..data + 140] {
        *b = !*b;
    }
    assert_refused!(check(&z), PackageError::CorruptEntry { .. }, "\"blob.bin\"");
}

// ---------------------------------------------------------------------------
// Robustness

fn mutation_run(seed: u64, rounds: usize) {
    let good = mini_program()
        .add_stored("stored.txt", "plain stored text for the mutator")
        .wrapped("demo")
        .build();
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 2];
    for round in 0..rounds {
        let mut z = good.clone();
        match round % 5 {
            // Flip a few random bits anywhere.
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(z.len());
                    z[i] ^= 1 << rng.below(8);
                }
            }
            // Overwrite a 16- or 32-bit field in the central directory area.
            1 => {
                let tail = 1 + rng.below(z.len().min(2048));
                let i = z.len() - tail;
                let value = match rng.below(4) {
                    0 => 0,
                    1 => u32::MAX,
                    2 => 0x8000_0000,
                    _ => rng.next() as u32,
                };
                let width = if rng.below(2) == 0 { 2 } else { 4 };
                let end = (i + width).min(z.len());
                z[i..end].copy_from_slice(&value.to_le_bytes()[..end - i]);
            }
            // Truncate, keeping the tail sometimes.
            2 => {
                let cut = rng.below(z.len());
                if rng.below(2) == 0 {
                    z.truncate(cut);
                } else {
                    z.drain(cut..cut + rng.below(z.len() - cut));
                }
            }
            // Insert random bytes.
            3 => {
                let at = rng.below(z.len());
                let n = 1 + rng.below(64);
                let junk = rng.bytes(n);
                z.splice(at..at, junk);
            }
            // Duplicate a region (repeated structures).
            _ => {
                let start = rng.below(z.len());
                let len = rng.below(z.len() - start).min(512);
                let copy = z[start..start + len].to_vec();
                let at = rng.below(z.len());
                z.splice(at..at, copy);
            }
        }
        let result = check(&z);
        outcomes[usize::from(result.is_err())] += 1;
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    }
    assert!(outcomes[1] > 0, "no mutation was refused: {outcomes:?}");
}

#[test]
fn mutated_archives_never_panic() {
    mutation_run(0x5eed_1234_abcd_0001, 400);
}

#[test]
fn repeated_end_records_stay_bounded() {
    // A central directory of 2000 parseable records, followed by 20,000 end
    // records that each claim 9,000 entries: the zip crate tries every end record
    // and re-reads the 2000 records each time. The read budget bounds that work.
    let mut z = vec![b'j'; 100];
    let mut record = vec![0u8; 46];
    record[..4].copy_from_slice(&0x0201_4b50u32.to_le_bytes());
    for _ in 0..2000 {
        z.extend_from_slice(&record);
    }
    let mut eocd = vec![0u8; 22];
    eocd[..4].copy_from_slice(&0x0605_4b50u32.to_le_bytes());
    eocd[8..10].copy_from_slice(&9_000u16.to_le_bytes());
    eocd[10..12].copy_from_slice(&9_000u16.to_le_bytes());
    eocd[16..20].copy_from_slice(&100u32.to_le_bytes());
    for _ in 0..20_000 {
        z.extend_from_slice(&eocd);
    }
    let started = std::time::Instant::now();
    assert_refused!(check(&z), PackageError::NotAZip { .. }, "far more work");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
