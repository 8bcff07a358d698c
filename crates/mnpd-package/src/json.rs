//! Parsing of app.json and game.json, with the nesting depth bounded before parsing.
//!
//! Every error is a reason string completing "<file> is invalid: ...".

use serde_json::{Map, Value};

use crate::paths;
use crate::Subpackage;

/// What app.json says about the pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppJson {
    pub pages: Vec<String>,
    pub subpackages: Vec<Subpackage>,
    pub entry_page: Option<String>,
}

/// Parses app.json: `pages` (required, non-empty list of page paths), `subpackages`
/// or `subPackages` (optional list of `{root, pages}`), `entryPagePath` (optional).
/// Other keys are allowed and ignored.
pub(crate) fn parse_app(bytes: &[u8], max_depth: usize) -> Result<AppJson, String> {
    let value = parse_value(bytes, max_depth)?;
    let obj = value
        .as_object()
        .ok_or_else(|| "the top level must be a JSON object ({ ... })".to_string())?;

    let pages = match obj.get("pages") {
        None => {
            return Err("\"pages\" is missing; list the main package pages, e.g. \
                        \"pages\": [\"pages/index/index\"]"
                .to_string())
        }
        Some(v) => page_list(v, "pages")?,
    };
    if pages.is_empty() {
        return Err("\"pages\" is empty; list at least one page, e.g. \
                    \"pages\": [\"pages/index/index\"]"
            .to_string());
    }

    let subpackages = match (obj.get("subpackages"), obj.get("subPackages")) {
        (Some(_), Some(_)) => {
            return Err(
                "both \"subpackages\" and \"subPackages\" are present; keep only one of them"
                    .to_string(),
            )
        }
        (Some(v), None) => subpackage_list(v, "subpackages")?,
        (None, Some(v)) => subpackage_list(v, "subPackages")?,
        (None, None) => Vec::new(),
    };

    let entry_page = match obj.get("entryPagePath") {
        None => pages.first().cloned(),
        Some(Value::String(entry)) => {
            let listed = pages.iter().any(|p| p == entry)
                || subpackages.iter().any(|s| {
                    s.pages.iter().any(|p| {
                        entry
                            .strip_prefix(&s.root)
                            .and_then(|r| r.strip_prefix('/'))
                            == Some(p)
                    })
                });
            if !listed {
                return Err(format!(
                    "\"entryPagePath\" is {entry:?}, which is not a page listed in \"pages\" or \
                     in a subpackage; set it to one of the listed pages"
                ));
            }
            Some(entry.clone())
        }
        Some(_) => {
            return Err(
                "\"entryPagePath\" must be a string naming a page, e.g. \"pages/index/index\""
                    .to_string(),
            )
        }
    };

    Ok(AppJson {
        pages,
        subpackages,
        entry_page,
    })
}

/// Parses game.json: any JSON object.
pub(crate) fn parse_game(bytes: &[u8], max_depth: usize) -> Result<(), String> {
    let value = parse_value(bytes, max_depth)?;
    if value.is_object() {
        Ok(())
    } else {
        Err("the top level must be a JSON object ({ ... })".to_string())
    }
}

fn parse_value(bytes: &[u8], max_depth: usize) -> Result<Value, String> {
    // Editors on Windows sometimes save JSON with a UTF-8 byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    check_depth(bytes, max_depth)?;
    serde_json::from_slice(bytes).map_err(|e| format!("it is not valid JSON ({e}); fix the syntax"))
}

/// Scans the bytes for `[`/`{` nesting outside strings, without parsing, so that
/// no parser recursion happens on hostile input. Malformed JSON passes this scan
/// and is reported by the parser afterwards.
pub(crate) fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut line = 1u64;
    let mut column = 0u64;
    for &b in bytes {
        if b == b'\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(format!(
                        "it is nested more than {max_depth} levels deep (at line {line}, column \
                         {column}); flatten the structure"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn page_list(value: &Value, field: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{field:?} must be a list of page paths, e.g. [\"pages/index/index\"]"
        ));
    };
    let mut pages = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(page) = item else {
            return Err(format!(
                "{field}[{i}] must be a string page path such as \"pages/index/index\""
            ));
        };
        if let Err(why) = paths::check_page_path(page) {
            return Err(format!(
                "page {page:?} in {field:?} is not a valid relative page path: {why}"
            ));
        }
        pages.push(page.clone());
    }
    Ok(pages)
}

fn subpackage_list(value: &Value, field: &str) -> Result<Vec<Subpackage>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{field:?} must be a list of objects like {{\"root\": \"packageA\", \"pages\": \
             [\"pages/cat/cat\"]}}"
        ));
    };
    let mut subpackages = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(format!(
                "{field}[{i}] must be an object like {{\"root\": \"packageA\", \"pages\": \
                 [\"pages/cat/cat\"]}}"
            ));
        };
        subpackages.push(subpackage(obj, &format!("{field}[{i}]"))?);
    }
    Ok(subpackages)
}

fn subpackage(obj: &Map<String, Value>, at: &str) -> Result<Subpackage, String> {
    let root = match obj.get("root") {
        Some(Value::String(root)) => root,
        Some(_) => return Err(format!("{at}.root must be a string folder name")),
        None => {
            return Err(format!(
                "{at}.root is missing; name the subpackage's folder"
            ))
        }
    };
    let root = paths::check_subpackage_root(root).map_err(|why| {
        format!("subpackage root {root:?} in {at}.root is not a valid relative folder: {why}")
    })?;
    let pages = match obj.get("pages") {
        Some(v) => page_list(v, &format!("{at}.pages"))?,
        None => {
            return Err(format!(
                "{at}.pages is missing; list the subpackage's pages relative to its root"
            ))
        }
    };
    Ok(Subpackage {
        root: root.to_string(),
        pages,
        bytes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_brackets_in_strings() {
        let text = br#"{"a": "[[[[[[[[[[", "b": "\"[[[[[[", "c": [[1]]}"#;
        assert!(check_depth(text, 3).is_ok());
        assert!(check_depth(text, 2).is_err());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        let err = check_depth(deep.as_bytes(), 32).unwrap_err();
        assert!(
            err.contains("32 levels") && err.contains("line 1, column 33"),
            "{err}"
        );
        // Unbalanced input never underflows.
        assert!(check_depth(b"]]]]}}}{", 1).is_ok());
    }

    #[test]
    fn app_json_shapes() {
        let app = parse_app(
            br#"{"pages":["pages/a/a","pages/b/b"],"subPackages":[{"root":"pkg/","pages":["p/c"]}],"entryPagePath":"pkg/p/c","window":{}}"#,
            32,
        )
        .unwrap();
        assert_eq!(app.pages, ["pages/a/a", "pages/b/b"]);
        assert_eq!(
            app.subpackages,
            [Subpackage {
                root: "pkg".into(),
                pages: vec!["p/c".into()],
                bytes: 0,
            }]
        );
        assert_eq!(app.entry_page.as_deref(), Some("pkg/p/c"));

        let bad = |json: &str, needle: &str| {
            let err = parse_app(json.as_bytes(), 32).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        };
        bad("[]", "JSON object");
        bad("{}", "\"pages\" is missing");
        bad(r#"{"pages":[]}"#, "\"pages\" is empty");
        bad(r#"{"pages":"pages/a/a"}"#, "must be a list");
        bad(r#"{"pages":["a", 3]}"#, "pages[1]");
        bad(r#"{"pages":["../a"]}"#, "\"../a\"");
        bad(
            r#"{"pages":["a"],"subpackages":{}}"#,
            "\"subpackages\" must be a list",
        );
        bad(
            r#"{"pages":["a"],"subpackages":[{"pages":[]}]}"#,
            "subpackages[0].root",
        );
        bad(
            r#"{"pages":["a"],"subpackages":[{"root":"p"}]}"#,
            "subpackages[0].pages",
        );
        bad(
            r#"{"pages":["a"],"subpackages":[],"subPackages":[]}"#,
            "keep only one",
        );
        bad(r#"{"pages":["a"],"entryPagePath":"b"}"#, "\"b\"");
        bad(r#"{"pages":["a"],"entryPagePath":1}"#, "entryPagePath");
        bad("{\"pages\":\n[\"a\",]}", "line 2 column 6");
        bad("\u{feff}{\"pages\": 1}", "must be a list");
    }

    #[test]
    fn game_json() {
        assert!(parse_game(br#"{"deviceOrientation":"portrait"}"#, 32).is_ok());
        assert!(parse_game(b"[1]", 32).is_err());
        assert!(parse_game(b"{", 32).is_err());
    }
}
