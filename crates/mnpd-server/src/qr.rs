//! The preview QR codes: a PNG per preview or trial version, encoding a link
//! (under the public base URL) that opens that version at its entrance path,
//! and the page that link lands on.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_domain::entity::PreviewKind;

use crate::AppState;

/// A PNG of `content` as a QR code.
pub fn render_png(content: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(content.as_bytes()).map_err(|e| e.to_string())?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(256, 256)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

pub async fn png(
    State(state): State<Arc<AppState>>,
    Path((kind, mnp_id, file)): Path<(String, String, String)>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such preview\n").into_response();
    let Some(kind) = PreviewKind::parse(&kind) else {
        return not_found();
    };
    let Some(version_id) = file
        .strip_suffix(".png")
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return not_found();
    };
    let preview = match state.previews.current(&mnp_id, kind, version_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "QR code: storage unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "retry\n").into_response();
        }
    };
    match render_png(&state.previews.qr_content(&preview)) {
        Ok(png) => {
            let mut r = png.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        // Only a link longer than a QR code holds fails here: an entrance
        // path stored before its length was capped. Nothing is wrong with
        // the request or the server, there is just no such image: 404, with
        // what to do about it.
        Err(e) => {
            tracing::warn!(error = %e, mnp_id = %mnp_id, "preview QR code cannot be drawn");
            (
                StatusCode::NOT_FOUND,
                format!(
                    "no QR code for this preview: its link does not fit in one; set the preview again with an entrance path of at most {} bytes\n",
                    mnpd_domain::preview::MAX_ENTRANCE_PATH_BYTES
                ),
            )
                .into_response()
        }
    }
}

/// Where a scanned QR code lands: says what the host app is to open.
pub async fn open(
    Path(mnp_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| query.get(k).cloned().unwrap_or_default();
    axum::Json(serde_json::json!({
        "MNPId": mnp_id,
        "MNPVersionId": field("version_id"),
        "Path": field("path"),
        "Mode": field("mode"),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use mnpd_domain::entity::{Preview, PreviewKind};
    use mnpd_domain::preview::{qr_link, MAX_ENTRANCE_PATH_BYTES};

    /// The longest accepted path, made of bytes that form-encoding triples,
    /// behind a long public URL and the largest ids, still fits one code.
    #[test]
    fn longest_entrance_path_renders() {
        let page = "pages/index/index?q=";
        let path = format!("{page}{}", "%".repeat(MAX_ENTRANCE_PATH_BYTES - page.len()));
        let preview = Preview {
            mnp_id: "mp".to_string() + &"z".repeat(14),
            kind: PreviewKind::Preview,
            mnp_version_id: i64::MAX,
            entrance_path: path,
            updated_at: 0,
        };
        let public_url = format!("https://{}.example", "a".repeat(590));
        super::render_png(&qr_link(&public_url, &preview)).expect("the longest path renders");
    }
}
