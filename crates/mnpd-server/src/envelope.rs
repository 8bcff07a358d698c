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
