//! Names that are distinct in the archive but the same path on the file
//! systems packages are extracted to.
//!
//! Windows and macOS ignore letter case, macOS ignores the difference between
//! composed and decomposed Unicode (NFC and NFD), and Windows drops trailing
//! dots and spaces from every path component. A package holding `App.json` and
//! `app.json` is validated as two files but extracted as one: which one wins
//! is up to the extractor, so the file validated may not be the file run. The
//! same goes for a file `pages/a` next to `Pages/a/b.js`, which needs a folder
//! where the file is.
//!
//! Memory: one folded copy of each name, sorted; no table of folders (a deep
//! archive has far more folder prefixes than entries).

use unicode_normalization::UnicodeNormalization;

/// Two entries that land on the same path: names as in the archive, in archive
/// order, except that a file that is in a folder's way comes first.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Collision {
    pub first: String,
    pub second: String,
    /// `second` needs a folder where `first` is a file (or the reverse).
    pub file_and_folder: bool,
}

/// What a case-insensitive, normalisation-insensitive file system that drops
/// trailing dots and spaces sees of `norm`. Components are joined by NUL
/// (refused in names) rather than '/', so that sorting the keys puts a path
/// right before everything inside it.
fn fold(norm: &str) -> String {
    let lower: String = norm.nfd().flat_map(char::to_lowercase).nfc().collect();
    let components: Vec<&str> = lower
        .split('/')
        .map(|c| c.trim_end_matches(['.', ' ']))
        .collect();
    components.join("\0")
}

/// The first collision among `entries` (the name without its trailing '/',
/// and whether it is a folder), if any. Exact duplicates are not reported
/// here: they are refused earlier, by name.
pub(crate) fn find(entries: &[(&str, bool)]) -> Option<Collision> {
    let mut keys: Vec<(String, usize)> = entries
        .iter()
        .enumerate()
        .map(|(index, (norm, _))| (fold(norm), index))
        .collect();
    keys.sort_unstable();
    let named = |index: usize| {
        let (norm, is_dir) = entries[index];
        if is_dir {
            format!("{norm}/")
        } else {
            norm.to_string()
        }
    };
    let same_path = |a: usize, b: usize| Collision {
        first: named(a.min(b)),
        second: named(a.max(b)),
        file_and_folder: false,
    };
    let in_the_way = |file: usize, other: usize| Collision {
        first: named(file),
        second: named(other),
        file_and_folder: true,
    };
    for window in keys.windows(2) {
        let [(key_a, a), (key_b, b)] = window else {
            continue;
        };
        let (norm_a, norm_b) = (entries[*a].0, entries[*b].0);
        // The folded components both keys share must also be the same as
        // written; otherwise two spellings meet in one folder or file.
        let shared = shared_components(key_a, key_b);
        let (written_a, written_b) = (prefix(norm_a, shared), prefix(norm_b, shared));
        if written_a != written_b {
            return Some(same_path(*a, *b));
        }
        // Sorted keys put a path right before what lies inside it: a file
        // followed by an entry under the same path needs both a file and a
        // folder there.
        let inside = key_b.len() > key_a.len()
            && key_b.starts_with(key_a.as_str())
            && key_b.as_bytes()[key_a.len()] == 0;
        if inside && !entries[*a].1 {
            return Some(in_the_way(*a, *b));
        }
    }
    None
}

/// How many whole components two folded keys share.
fn shared_components(a: &str, b: &str) -> usize {
    let mut count = 0;
    for (x, y) in a.split('\0').zip(b.split('\0')) {
        if x != y {
            break;
        }
        count += 1;
    }
    count
}

/// The first `components` components of a name as written, up to and
/// including the last character of the last one.
fn prefix(norm: &str, components: usize) -> &str {
    let mut end = 0;
    for (index, component) in norm.split('/').take(components).enumerate() {
        end += component.len() + usize::from(index > 0);
    }
    &norm[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Option<Collision> {
        let entries: Vec<(&str, bool)> = names.iter().map(|n| (*n, false)).collect();
        find(&entries)
    }

    fn collide(names: &[&str], first: &str, second: &str) {
        let found = files(names).unwrap_or_else(|| panic!("{names:?} passed"));
        assert_eq!(
            (found.first.as_str(), found.second.as_str()),
            (first, second)
        );
    }

    #[test]
    fn letter_case() {
        collide(&["App.json", "app.json"], "App.json", "app.json");
        collide(&["pages/x.js", "PAGES/y.js"], "pages/x.js", "PAGES/y.js");
        // Beyond ASCII: Greek capital sigma against small sigma.
        collide(&["Σ.js", "σ.js"], "Σ.js", "σ.js");
    }

    #[test]
    fn unicode_normalisation() {
        // "é" composed (U+00E9) and decomposed (e + U+0301).
        collide(
            &["caf\u{e9}.js", "cafe\u{301}.js"],
            "caf\u{e9}.js",
            "cafe\u{301}.js",
        );
        collide(
            &["img/\u{c5}.png", "img/a\u{30a}.png"],
            "img/\u{c5}.png",
            "img/a\u{30a}.png",
        );
    }

    #[test]
    fn trailing_dots_and_spaces() {
        collide(&["a.js", "a.js."], "a.js", "a.js.");
        collide(&["a.js", "a.js "], "a.js", "a.js ");
        collide(&["lib /x.js", "lib/y.js"], "lib /x.js", "lib/y.js");
    }

    #[test]
    fn file_where_a_folder_is_needed() {
        let found = files(&["pages/a", "Pages/a/b.js"]).unwrap();
        assert_eq!(found.first, "pages/a");
        assert_eq!(found.second, "Pages/a/b.js");
        // The same spelling: a file and a folder cannot share a path either.
        let found = files(&["pages/a/b.js", "pages/a"]).unwrap();
        assert!(found.file_and_folder, "{found:?}");
        assert_eq!(found.first, "pages/a");
        // An explicit folder entry against a file of another case.
        let found = find(&[("lib", true), ("LIB", false)]).unwrap();
        assert_eq!(
            (found.first.as_str(), found.second.as_str()),
            ("lib/", "LIB")
        );
    }

    #[test]
    fn distinct_names_pass() {
        for names in [
            &[
                "app.json",
                "app.js",
                "pages/index/index.js",
                "pages/index/index.wxml",
            ][..],
            &["a.js", "a-b.js", "a/b.js", "ab.js"],
            &["pages/a/x.js", "pages/a/y.js", "pages/b.js"],
            &["图标.png", "图标2.png"],
        ] {
            assert_eq!(files(names), None, "{names:?}");
        }
        // Folders named by their entries and by the files inside them.
        assert_eq!(
            find(&[("pages", true), ("pages/a.js", false), ("pages/b", true)]),
            None
        );
    }
}
