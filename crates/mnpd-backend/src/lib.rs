//! Storage backends behind the domain's traits. The embedded defaults:
//! metadata in SQLite, packages in a folder, rate limits in process.
//!
//! - `metadata/`: the metadata store, one file per kind of record, each
//!   statement written once for SQLite and PostgreSQL;
//! - `sql/`: runs those statements on either engine, with the few hooks
//!   in which the engines differ;
//! - `blob_fs`, `blob_s3`: packages in a folder or an S3-compatible bucket;
//! - `limiter`, `redis_limiter`: rate limits in process or in Redis.

pub mod blob_fs;
pub mod blob_s3;
pub mod limiter;
mod lookup_cache;
mod metadata;
pub mod redis_limiter;
mod sql;

#[cfg(feature = "test-suite")]
pub mod suite;

pub use blob_fs::FsBlobStore;
pub use blob_s3::{S3BlobStore, S3Settings};
pub use limiter::InProcessLimiter;
pub use lookup_cache::DEFAULT_KEY_TTL;
pub use metadata::{PgOptions, PgStore, SqlStore, SqliteStore};
pub use redis_limiter::{RedisLimiter, RedisLimiterOptions};
