//! One handler per implemented action, grouped by family. An action of the
//! catalog with no handler here answers UnsupportedOperation.

mod mini_program;
mod version;

use std::future::Future;
use std::pin::Pin;

use mnpd_api::Action;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::gateway::Call;
use crate::AppState;

pub type HandlerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Map<String, Value>, ApiError>> + Send + 'a>>;
pub type Handler = fn(&AppState, Call) -> HandlerFuture<'_>;

/// The implemented actions.
pub fn handler_of(action: Action) -> Option<Handler> {
    use Action as A;
    let handler: Handler = match action {
        A::CreateMNP => mini_program::create,
        A::DescribeMNPList => mini_program::list,
        A::DescribeMNPDetail => mini_program::detail,
        A::CreateMNPVersion => version::create,
        A::DescribeMNPVersion => version::describe,
        _ => return None,
    };
    Some(handler)
}

/// The response fields of a generated `...Response` struct, without its
/// RequestId (the envelope adds it).
pub(crate) fn encode<T: Serialize>(response: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(response) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("RequestId");
            Ok(fields)
        }
        Ok(other) => Err(ApiError::Internal(format!(
            "response encoded as {other}, not an object"
        ))),
        Err(e) => Err(ApiError::Internal(format!("encoding the response: {e}"))),
    }
}
