//! A project folder as a package: zipped on the fly into a temporary file,
//! one file at a time (never the whole package in memory). Left out:
//! whatever a `.mnpdignore` excludes (gitignore syntax, in the folder or any
//! subfolder, applying below where it sits), the `.mnpdignore` files
//! themselves, every `.git` and `node_modules`, and symbolic links (the
//! server refuses packages holding them). `.gitignore` is not read: build
//! output such as `miniprogram_npm` is often git-ignored yet belongs in the
//! package.
//!
//! Entries are added in name order with a fixed timestamp, so the same
//! files make the same bytes (and the server stores them once).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;

pub const IGNORE_FILE: &str = ".mnpdignore";
/// Never part of a package, whatever the ignore files say.
pub const ALWAYS_SKIPPED: [&str; 2] = [".git", "node_modules"];

pub struct Packed {
    /// The zip; deleted when dropped.
    pub zip: tempfile::TempPath,
    /// Files in the zip.
    pub files: u64,
    /// Symbolic links left out, relative to the folder.
    pub skipped_links: Vec<String>,
}

/// The name of `path` inside the zip: relative to `root`, `/`-separated.
fn entry_name(root: &Path, path: &Path) -> Result<String> {
    let relative = path
        .strip_prefix(root)
        .with_context(|| format!("{} is outside {}", path.display(), root.display()))?;
    let mut parts = Vec::new();
    for part in relative.components() {
        let part = part.as_os_str().to_str().with_context(|| {
            format!("{} has a name that is not UTF-8; rename it", path.display())
        })?;
        parts.push(part);
    }
    Ok(parts.join("/"))
}

/// Zips `root` into a temporary file. Blocking: run it off the async
/// runtime.
pub fn pack_folder(root: &Path) -> Result<Packed> {
    let root: PathBuf = root
        .canonicalize()
        .with_context(|| format!("reading {}", root.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix("mnpd-upload-")
        .suffix(".zip")
        .tempfile()
        .context("creating a temporary file for the package")?;
    let mut zip = zip::ZipWriter::new(temp.as_file_mut());
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);

    let walk = ignore::WalkBuilder::new(&root)
        // Only .mnpdignore decides; hidden files are part of a project too.
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let name = entry.file_name();
            !ALWAYS_SKIPPED.iter().any(|skip| name == *skip)
        })
        .build();
    let mut files = 0;
    let mut skipped_links = Vec::new();
    for entry in walk {
        let entry = entry.context("walking the folder")?;
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() || entry.file_name() == IGNORE_FILE {
            continue;
        }
        let name = entry_name(&root, entry.path())?;
        if kind.is_symlink() || !kind.is_file() {
            skipped_links.push(name);
            continue;
        }
        zip.start_file(name.as_str(), options)
            .with_context(|| format!("adding {name} to the package"))?;
        let mut source = std::fs::File::open(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        std::io::copy(&mut source, &mut zip)
            .with_context(|| format!("adding {name} to the package"))?;
        files += 1;
    }
    if files == 0 {
        bail!(
            "{} has no file to upload (after {IGNORE_FILE}, .git and node_modules are left out)",
            root.display()
        );
    }
    zip.finish().context("finishing the package")?;
    temp.as_file_mut().flush().context("writing the package")?;
    Ok(Packed {
        zip: temp.into_temp_path(),
        files,
        skipped_links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, name: &str, body: &str) {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    fn names(packed: &Packed) -> Vec<String> {
        let file = std::fs::File::open(&packed.zip).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect()
    }

    #[test]
    fn ignore_files_git_and_node_modules_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "app.json", "{}");
        write(root, "app.js", "App({})");
        write(root, ".mnpdignore", "*.log\n/docs/\nsecret.txt\n");
        write(root, "debug.log", "x");
        write(root, "docs/readme.md", "x");
        write(root, "secret.txt", "x");
        write(root, ".git/config", "x");
        write(root, "node_modules/a/index.js", "x");
        write(root, "pages/node_modules/b.js", "x");
        write(root, "pages/index/index.js", "Page({})");
        write(root, "pages/index/.mnpdignore", "draft.js\n!keep.log\n");
        write(root, "pages/index/draft.js", "x");
        write(root, "pages/index/keep.log", "x");
        write(root, ".env.example", "x");
        write(root, "miniprogram_npm/lib/index.js", "x");
        write(root, ".gitignore", "miniprogram_npm/\n");
        let packed = pack_folder(root).unwrap();
        assert_eq!(
            names(&packed),
            [
                ".env.example",
                ".gitignore",
                "app.js",
                "app.json",
                "miniprogram_npm/lib/index.js",
                "pages/index/index.js",
                "pages/index/keep.log",
            ]
        );
        assert_eq!(packed.files, 7);
    }

    #[test]
    fn the_same_files_make_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        write(dir.path(), "b/c.js", "x");
        let first = std::fs::read(pack_folder(dir.path()).unwrap().zip).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let second = std::fs::read(pack_folder(dir.path()).unwrap().zip).unwrap();
        assert_eq!(first, second);
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd.js")).unwrap();
        let packed = pack_folder(dir.path()).unwrap();
        assert_eq!(names(&packed), ["app.json"]);
        assert_eq!(packed.skipped_links, ["passwd.js"]);
    }

    #[test]
    fn an_empty_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".mnpdignore", "*\n");
        write(dir.path(), "a.js", "x");
        let err = pack_folder(dir.path()).err().unwrap().to_string();
        assert!(err.contains("no file to upload"), "{err}");
    }
}
