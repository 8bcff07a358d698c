//! The web console at `/console`: static files (HTML, CSS, JavaScript
//! modules) embedded in the binary. The console signs every API call in the
//! browser (TC3-HMAC-SHA256 through WebCrypto) and posts it to `/` as the
//! SDKs do; the server side here only serves files, under a strict
//! Content-Security-Policy.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Scripts, styles, images and API calls from this origin only; no inline
/// script or style, no plugins, no framing, no form submissions (the
/// console's forms are handled by script; a stray submit goes nowhere).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Revalidated on every use (the ETag makes that a 304), so a new binary's
/// console is picked up at once.
const CACHE_CONTROL: &str = "no-cache";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: u64,
}

/// FNV-1a, evaluated at compile time: the ETag of each file.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../console/", $path)),
            etag: fnv1a(include_bytes!(concat!("../console/", $path))),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/main.js", "text/javascript; charset=utf-8"),
    asset!("js/api.js", "text/javascript; charset=utf-8"),
    asset!("js/tc3.js", "text/javascript; charset=utf-8"),
    asset!("js/session.js", "text/javascript; charset=utf-8"),
    asset!("js/preset.js", "text/javascript; charset=utf-8"),
    asset!("js/x25519.js", "text/javascript; charset=utf-8"),
    asset!("js/tasks.js", "text/javascript; charset=utf-8"),
    asset!("js/ui.js", "text/javascript; charset=utf-8"),
    asset!("js/chart.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/signin.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/programs.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/program.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/gradual.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/approvals.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/tasks.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/platforms.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/teams.js", "text/javascript; charset=utf-8"),
    asset!("js/pages/users.js", "text/javascript; charset=utf-8"),
];

/// The console's routes: `/console` (redirects to `/console/`), the page
/// and its files. Merged into the main router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(redirect))
        .route("/console/", get(index))
        .route("/console/{*path}", get(file))
}

/// To the page with a trailing slash, so that its relative links resolve
/// (also behind a proxy that adds a path prefix).
async fn redirect() -> Response {
    let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
    security_headers(r.headers_mut());
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("console/"));
    r
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        let mut r = (StatusCode::NOT_FOUND, "not found\n").into_response();
        security_headers(r.headers_mut());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return r;
    };
    let etag = format!("\"{:016x}\"", asset.etag);
    let mut r = if matches_etag(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = asset.body.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = r.headers_mut();
    security_headers(h);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// `If-None-Match` names this ETag (weakly or not), or is `*`.
fn matches_etag(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(v) = if_none_match {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        serve(path, &headers)
    }

    fn header_of<'a>(r: &'a Response, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    #[test]
    fn every_file_is_served_with_its_type_and_the_policy() {
        for a in ASSETS {
            let r = get(a.path, None);
            assert_eq!(r.status(), StatusCode::OK, "{}", a.path);
            assert_eq!(header_of(&r, "content-type"), a.content_type, "{}", a.path);
            assert_eq!(
                header_of(&r, "content-security-policy"),
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(header_of(&r, "x-content-type-options"), "nosniff");
            assert_eq!(header_of(&r, "cache-control"), CACHE_CONTROL);
            assert!(header_of(&r, "etag").starts_with('"'), "{}", a.path);
            if a.path.ends_with(".js") {
                assert_eq!(a.content_type, "text/javascript; charset=utf-8");
            }
        }
    }

    #[test]
    fn the_policy_allows_no_inline_script_nor_other_origins() {
        let p = CONTENT_SECURITY_POLICY;
        assert!(!p.contains("unsafe"));
        assert!(p.contains("default-src 'none'"));
        assert!(p.contains("script-src 'self';"));
        assert!(!p.contains("http"));
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".html")) {
            let html = std::str::from_utf8(a.body).unwrap();
            // Scripts only by src, styles only by link: nothing inline.
            assert!(
                !html.contains("<script>") && !html.contains("<style"),
                "{}",
                a.path
            );
            assert!(
                !html.contains(" style=") && !html.contains(" onclick="),
                "{}",
                a.path
            );
        }
    }

    #[test]
    fn a_matching_etag_answers_not_modified() {
        let first = get("app.css", None);
        let etag = header_of(&first, "etag").to_string();
        assert_eq!(
            get("app.css", Some(&etag)).status(),
            StatusCode::NOT_MODIFIED
        );
        let weak = format!("\"x\", W/{etag}");
        assert_eq!(
            get("app.css", Some(&weak)).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(get("app.css", Some("\"other\"")).status(), StatusCode::OK);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in ["nope.js", "../Cargo.toml", "js/", "", "index.html/"] {
            let r = get(path, None);
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(header_of(&r, "x-content-type-options"), "nosniff");
        }
    }

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        // Each relative import of each module names a served file.
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap();
            let dir = a.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for line in text.lines().filter(|l| l.contains(" from \"")) {
                let target = line
                    .split(" from \"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for piece in target.split('/') {
                    match piece {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        p => parts.push(p),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    ASSETS.iter().any(|x| x.path == resolved),
                    "{} imports {target} ({resolved}), which is not embedded",
                    a.path
                );
            }
        }
    }
}
