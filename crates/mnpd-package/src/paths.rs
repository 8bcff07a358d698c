//! Rules for entry names and for page paths named in app.json.

/// Longest accepted entry name, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// A checked entry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryName {
    /// The name without its trailing '/' (used to detect duplicates and to look files up).
    pub norm: String,
    /// The name ended with '/': a directory entry.
    pub is_dir: bool,
}

/// Checks an entry name (already known to be UTF-8). Returns why it is unsafe.
pub(crate) fn check_entry_name(name: &str) -> Result<EntryName, &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return Err("the name is longer than 1024 bytes");
    }
    check_characters(name)?;
    let (body, is_dir) = match name.strip_suffix('/') {
        Some(body) => (body, true),
        None => (name, false),
    };
    check_components(body)?;
    Ok(EntryName {
        norm: body.to_string(),
        is_dir,
    })
}

/// Checks a page path from app.json, such as "pages/index/index".
pub(crate) fn check_page_path(page: &str) -> Result<(), &'static str> {
    if page.is_empty() {
        return Err("it is empty");
    }
    if page.len() > MAX_NAME_BYTES {
        return Err("it is longer than 1024 bytes");
    }
    check_characters(page)?;
    if page.ends_with('/') {
        return Err(
            "it ends with '/'; name the page file without extension, e.g. \"pages/index/index\"",
        );
    }
    check_components(page)
}

/// Checks a subpackage root from app.json and returns it without its trailing '/'.
pub(crate) fn check_subpackage_root(root: &str) -> Result<&str, &'static str> {
    let body = root.strip_suffix('/').unwrap_or(root);
    if body.is_empty() {
        return Err("it is empty");
    }
    if body.len() > MAX_NAME_BYTES {
        return Err("it is longer than 1024 bytes");
    }
    check_characters(body)?;
    check_components(body)?;
    Ok(body)
}

fn check_characters(path: &str) -> Result<(), &'static str> {
    if path.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if path.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Err("it is an absolute path");
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("it is an absolute Windows path with a drive letter");
    }
    if path.contains('\\') {
        return Err("it contains a backslash; use '/' as the separator");
    }
    Ok(())
}

fn check_components(body: &str) -> Result<(), &'static str> {
    for component in body.split('/') {
        match component {
            "" => return Err("it has an empty path component ('//')"),
            ".." => return Err("it has a '..' component that climbs out of the package"),
            "." => return Err("it has a '.' component"),
            _ => {}
        }
    }
    Ok(())
}

/// macOS archive noise that is ignored when looking for the single top-level folder.
pub(crate) fn is_noise(norm: &str) -> bool {
    norm.split('/').next() == Some("__MACOSX") || norm.rsplit('/').next() == Some(".DS_Store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let ok = |n: &str| check_entry_name(n).unwrap();
        assert_eq!(
            ok("pages/index/index.js"),
            EntryName {
                norm: "pages/index/index.js".into(),
                is_dir: false
            }
        );
        assert_eq!(
            ok("pages/"),
            EntryName {
                norm: "pages".into(),
                is_dir: true
            }
        );
        ok("images/图标.png");
        ok("a..b/c");
        for bad in [
            "",
            "/etc/passwd",
            "\\evil",
            "C:\\x.js",
            "c:x.js",
            "a\\b.js",
            "../x.js",
            "a/../../x.js",
            "a/..",
            "a//b.js",
            "a/./b.js",
            "./a.js",
            "a\0b",
            "a\nb",
            "pages//",
            "/",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_entry_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
    }

    #[test]
    fn page_paths_and_roots() {
        assert!(check_page_path("pages/index/index").is_ok());
        for bad in ["", "/pages/index", "pages/", "../x", "pages\\x", "a//b"] {
            assert!(check_page_path(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_subpackage_root("packageA/"), Ok("packageA"));
        assert_eq!(check_subpackage_root("sub/pkg"), Ok("sub/pkg"));
        for bad in ["", "/", "../pkg", "/pkg", "pkg//"] {
            assert!(check_subpackage_root(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn noise() {
        assert!(is_noise("__MACOSX"));
        assert!(is_noise("__MACOSX/folder/._app.json"));
        assert!(is_noise(".DS_Store"));
        assert!(is_noise("folder/.DS_Store"));
        assert!(!is_noise("folder/app.json"));
    }
}
