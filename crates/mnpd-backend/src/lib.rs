//! Storage backends behind the domain's traits. The embedded defaults:
//! metadata in SQLite, packages in a folder, rate limits in process.

pub mod blob_fs;
pub mod blob_s3;
pub mod limiter;
mod lookup_cache;
pub mod postgres;
pub mod redis_limiter;
pub mod sqlite;

pub use lookup_cache::DEFAULT_KEY_TTL;
#[cfg(feature = "test-suite")]
pub mod suite;

pub use blob_fs::FsBlobStore;
pub use blob_s3::{S3BlobStore, S3Settings};
pub use limiter::InProcessLimiter;
pub use postgres::{PgOptions, PgStore};
pub use redis_limiter::{RedisLimiter, RedisLimiterOptions};
pub use sqlite::SqliteStore;
