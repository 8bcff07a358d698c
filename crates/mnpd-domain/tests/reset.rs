//! The emulator's reset on the real SQLite store: the account's records and
//! the packages only they named go; another account's platform is refused.

mod common;

use common::*;
use mnpd_domain::reset::Resets;
use mnpd_domain::store::{BlobStore, TaskStore};
use mnpd_domain::DomainError;

#[tokio::test]
async fn a_reset_deletes_the_accounts_records_and_packages_only() {
    let env = Env::new().await;
    let task_id = env.create("1.0.0", "good.zip").await.unwrap();
    assert!(env.run_once("w").await);
    let sha256 = env.task(&task_id).await.sha256;
    let resets = Resets::new(env.store.clone(), env.blobs.clone(), env.clock.clone());
    assert!(matches!(
        resets
            .reset(env.caller.account_id, Some("TNOTTHISACCOUNTS"))
            .await,
        Err(DomainError::InvalidPlatformId(_))
    ));
    assert!(env.blobs.exists(&sha256).await.unwrap(), "nothing reset");
    assert_eq!(
        resets.reset(env.caller.account_id, None).await.unwrap(),
        vec![env.platform_id.clone()]
    );
    assert_eq!(env.store.get_task(&task_id).await.unwrap(), None);
    assert!(
        !env.blobs.exists(&sha256).await.unwrap(),
        "the package nothing names any more is collected"
    );
}
