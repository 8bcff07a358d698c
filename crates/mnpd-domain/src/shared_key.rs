//! Random signing keys that every node of a deployment shares through the
//! metadata store (offline package URLs, upload tokens): created once by
//! whichever node needs one first, then read once per process.

use tokio::sync::OnceCell;

use crate::error::DomainError;
use crate::store::SettingStore;

pub struct SharedKey {
    /// The server setting that holds the key, hex-encoded.
    setting: &'static str,
    cell: OnceCell<Vec<u8>>,
}

impl SharedKey {
    pub fn new(setting: &'static str) -> Self {
        SharedKey {
            setting,
            cell: OnceCell::new(),
        }
    }

    pub async fn get(&self, store: &dyn SettingStore) -> Result<&[u8], DomainError> {
        let key = self
            .cell
            .get_or_try_init(|| async {
                let initial = hex::encode(rand::random::<[u8; 32]>());
                let stored = store.setting_or_init(self.setting, &initial).await?;
                hex::decode(stored).map_err(|e| {
                    DomainError::Internal(format!("the stored {} is not hex: {e}", self.setting))
                })
            })
            .await?;
        Ok(key)
    }
}
