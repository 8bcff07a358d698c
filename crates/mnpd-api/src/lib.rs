//! The API model of the TencentCloud API 3.0 service `tcmpp`, version `2024-08-01`.
//!
//! Most of this crate is generated from `spec/tcmpp-2024-08-01.json` by `mnpd-codegen`
//! (see `src/generated.rs`; regenerate with `cargo run -p mnpd-codegen`):
//!
//! * [`Action`]: the actions, with their wire names and request/response object names;
//! * [`object_schema`], [`FieldSchema`], [`FieldType`]: the field lists of all objects;
//! * [`ErrorCode`]: the error codes of the service plus the common API 3.0 ones;
//! * [`model`]: one serde struct per object, and [`ApiRequest`] linking requests to actions.
//!
//! [`params`] is written by hand: it checks and decodes request parameters.

mod generated;
pub mod params;

pub use generated::*;
pub use params::{decode, from_flat, validate, ParamError};
