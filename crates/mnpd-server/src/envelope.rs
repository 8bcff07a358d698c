//! The response envelope every answered request gets, HTTP 200 included for
//! errors: `{"Response": {..., "RequestId"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_api::ErrorCode;
use serde::Serialize;
use serde_json::{Map, Value};

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `{"Response": ...}`, serialised straight from borrowed parts: the
/// answer to every request, so no intermediate `Value` tree is built.
#[derive(Serialize)]
struct Envelope<T: Serialize> {
    #[serde(rename = "Response")]
    response: T,
}

#[derive(Serialize)]
struct Success<'a> {
    #[serde(flatten)]
    fields: &'a Map<String, Value>,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

#[derive(Serialize)]
struct Failure<'a> {
    #[serde(rename = "Error")]
    error: ErrorBody<'a>,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Code")]
    code: &'a str,
    #[serde(rename = "Message")]
    message: &'a str,
}

fn respond<T: Serialize>(response: T) -> Response {
    let bytes = serde_json::to_vec(&Envelope { response }).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A success: the action's response fields (without their RequestId, which
/// `handlers::encode` drops) plus RequestId.
pub fn success(fields: Map<String, Value>, request_id: &str) -> Response {
    respond(Success {
        fields: &fields,
        request_id,
    })
}

pub fn error(code: ErrorCode, message: &str, request_id: &str) -> Response {
    respond(Failure {
        error: ErrorBody {
            code: code.as_str(),
            message,
        },
        request_id,
    })
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

    async fn body_of(r: Response) -> Value {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn envelopes() {
        let mut fields = Map::new();
        fields.insert("Data".into(), serde_json::json!({"TaskId": "1"}));
        assert_eq!(
            body_of(success(fields, "r-1")).await,
            serde_json::json!({"Response": {"Data": {"TaskId": "1"}, "RequestId": "r-1"}})
        );
        assert_eq!(
            body_of(error(ErrorCode::InternalError, "why \"quoted\"", "r-2")).await,
            serde_json::json!({"Response": {
                "Error": {"Code": "InternalError", "Message": "why \"quoted\""},
                "RequestId": "r-2"}})
        );
    }

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
