//! Storage backends behind the domain's traits. The embedded defaults:
//! metadata in SQLite, packages in a folder, rate limits in process.

pub mod blob_fs;
pub mod limiter;
pub mod sqlite;

pub use blob_fs::FsBlobStore;
pub use limiter::InProcessLimiter;
pub use sqlite::SqliteStore;
