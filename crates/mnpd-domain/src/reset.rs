//! The emulator's reset: an account, or one platform of it, back to its
//! first-start state. The account, its keys, its platforms and their
//! default teams stay; everything the API created goes, packages included.
//! The platforms' package signing keys stay too: hosts built against the
//! published keys (as with the host SDK key) keep trusting the platform.

use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::store::{AccountStore, BlobStore, Has, ResetStore, UploadStore};

pub struct Resets {
    accounts: Arc<dyn AccountStore>,
    resets: Arc<dyn ResetStore>,
    uploads: Arc<dyn UploadStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
}

impl Resets {
    pub fn new<S>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn ResetStore> + Has<dyn UploadStore> + ?Sized,
    {
        Resets {
            accounts: Has::share(&store),
            resets: Has::share(&store),
            uploads: Has::share(&store),
            blobs,
            clock,
        }
    }

    /// Resets the account's platforms, or only `platform_id` (which must be
    /// the account's); the platforms reset. The account's uploads go with
    /// an account reset only: an upload belongs to no platform.
    pub async fn reset(
        &self,
        account_id: i64,
        platform_id: Option<&str>,
    ) -> Result<Vec<String>, DomainError> {
        let mut platforms: Vec<String> = self
            .accounts
            .list_platforms(Some(account_id))
            .await?
            .into_iter()
            .map(|p| p.platform_id)
            .collect();
        if let Some(only) = platform_id {
            if !platforms.iter().any(|p| p == only) {
                return Err(DomainError::InvalidPlatformId(only.to_string()));
            }
            platforms = vec![only.to_string()];
        }
        let mut hashes = Vec::new();
        for platform in &platforms {
            hashes.extend(self.resets.reset_platform(platform).await?);
        }
        if platform_id.is_none() {
            hashes.extend(self.resets.delete_uploads_of(account_id).await?);
        }
        delete_unneeded(
            self.uploads.as_ref(),
            self.blobs.as_ref(),
            self.clock.as_ref(),
            hashes,
        )
        .await?;
        Ok(platforms)
    }
}

/// Deletes the packages of `hashes` nothing names any more. Another
/// account may hold the same content; `blob_needed` sees its versions, live
/// tasks and uploads, as the sweep of failed packages does.
pub(crate) async fn delete_unneeded(
    uploads: &dyn UploadStore,
    blobs: &dyn BlobStore,
    clock: &dyn Clock,
    mut hashes: Vec<String>,
) -> Result<(), DomainError> {
    hashes.sort();
    hashes.dedup();
    let now = clock.now().unix_timestamp();
    for sha256 in hashes {
        if !uploads.blob_needed(&sha256, now).await? {
            if let Err(e) = blobs.delete(&sha256).await {
                tracing::warn!(%sha256, error = %e, "a package nothing names could not be deleted; the next start collects it");
            }
        }
    }
    Ok(())
}
