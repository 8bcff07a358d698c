//! The response envelope every answered request gets, HTTP 200 included for
//! errors: `{"Response": {..., "RequestId"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_api::ErrorCode;
use serde_json::{json, Map, Value};

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn respond(body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A success: the action's response fields plus RequestId.
pub fn success(mut fields: Map<String, Value>, request_id: &str) -> Response {
    fields.insert("RequestId".into(), Value::String(request_id.to_string()));
    respond(json!({ "Response": fields }))
}

pub fn error(code: ErrorCode, message: &str, request_id: &str) -> Response {
    respond(json!({
        "Response": {
            "Error": { "Code": code.as_str(), "Message": message },
            "RequestId": request_id,
        }
    }))
}

/// Longest error message sent: messages quote what the caller sent, and a
/// huge parameter must not come back whole.
pub const MAX_MESSAGE_CHARS: usize = 1000;

pub fn bounded_message(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push_str("… (truncated)");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        assert_eq!(bounded_message("short".into()), "short");
        let long = "é".repeat(5000);
        let cut = bounded_message(long);
        assert!(cut.ends_with("(truncated)"));
        assert_eq!(
            cut.chars().count(),
            MAX_MESSAGE_CHARS + "… (truncated)".chars().count()
        );
    }
}
