//! The mini program platform's domain: entities, their rules, and the
//! services that carry out a use case. Storage is reached through the traits
//! in [`store`]; nothing here knows HTTP or SQL.

pub mod account;
pub mod admin;
pub mod application;
pub mod approval;
pub mod category;
pub mod clock;
pub mod collect;
pub mod compile;
pub mod console_session;
pub mod delivery;
pub mod domains;
pub mod entity;
pub mod error;
pub mod fixture;
pub mod host_config;
pub mod host_delivery;
pub mod ids;
pub mod mini_program;
pub mod organization;
pub mod package;
pub mod preview;
pub mod release;
pub mod reset;
pub mod rollout;
pub mod secret;
pub mod sensitive_api;
pub mod server_domain;
pub mod shared_key;
pub mod signing;
pub mod stage;
pub mod store;
pub mod task;
pub mod task_pacing;
pub mod telemetry;
pub mod upload;
pub mod version;
pub mod version_number;

pub use error::DomainError;
