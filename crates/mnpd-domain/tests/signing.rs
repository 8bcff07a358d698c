//! Package signing on the real SQLite store: keys made on first need and
//! sealed at rest, signatures that verify with the published keys, and
//! rotation with its overlap.

mod common;

use std::time::Duration;

use common::*;
use mnpd_domain::entity::Caller;
use mnpd_domain::secret::{self, SecretCipher};
use mnpd_domain::signing::{
    self, signed_message, PackageSignature, PackageSigning, PublishedKey, DEFAULT_OVERLAP_SECS,
    MAX_OVERLAP_SECS,
};
use mnpd_domain::store::SigningKeyStore;
use mnpd_domain::DomainError;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn cipher() -> SecretCipher {
    SecretCipher::from_config(&"5a".repeat(32)).unwrap()
}

fn service(env: &Env, cipher: Option<SecretCipher>) -> PackageSigning {
    PackageSigning::new(env.store.clone(), env.clock.clone(), cipher)
}

/// The service's signature of the test mini program's version.
async fn signed(signing: &PackageSigning, env: &Env, version: &str, size: i64) -> PackageSignature {
    signing
        .sign(PLATFORM, &env.mnp_id, version, SHA, size)
        .await
        .unwrap()
}

fn verifies(key: &PublishedKey, mnp: &str, version: &str, size: i64, signature: &str) -> bool {
    signing::verify(
        &key.public_key,
        &signed_message(PLATFORM, mnp, version, SHA, size),
        signature,
    )
}

#[tokio::test]
async fn a_signature_verifies_with_the_published_key_only_for_its_fields() {
    let env = Env::new().await;
    let signing = service(&env, Some(cipher()));
    let published = signing.published_keys(PLATFORM).await.unwrap();
    assert_eq!(published.len(), 1, "the first key is made on first need");
    let key = &published[0];
    assert_eq!(key.algorithm, "Ed25519");
    assert_eq!(key.not_after, None);
    assert_eq!(key.created_at, START);
    assert!(key.key_id.len() == 16 && key.key_id.bytes().all(|b| b.is_ascii_hexdigit()));

    let sig = signed(&signing, &env, "1.2.3", 4096).await;
    assert_eq!(
        (sig.key_id.as_str(), sig.algorithm),
        (key.key_id.as_str(), "Ed25519")
    );
    assert!(verifies(key, &env.mnp_id, "1.2.3", 4096, &sig.signature));
    assert!(!verifies(key, &env.mnp_id, "1.2.4", 4096, &sig.signature));
    assert!(!verifies(key, &env.mnp_id, "1.2.3", 4097, &sig.signature));
    assert!(!verifies(
        key,
        "mpsomeotherprogr",
        "1.2.3",
        4096,
        &sig.signature
    ));
    // The hash may come in either case; the message has it lowercase.
    let upper = signing
        .sign(PLATFORM, &env.mnp_id, "1.2.3", &SHA.to_uppercase(), 4096)
        .await
        .unwrap();
    assert!(verifies(key, &env.mnp_id, "1.2.3", 4096, &upper.signature));

    // Stable: the same key on the next call, and after a restart.
    assert_eq!(signing.published_keys(PLATFORM).await.unwrap(), published);
    assert_eq!(
        service(&env, Some(cipher()))
            .published_keys(PLATFORM)
            .await
            .unwrap(),
        published
    );
    assert_eq!(signing.ensure_key(PLATFORM).await.unwrap(), published[0]);

    // Fields that would make the message ambiguous are refused.
    for (mnp, version, sha) in [
        ("mp\nx", "1.0.0", SHA),
        ("mpx", "1.0.0\n2", SHA),
        ("mpx", "1.0.0", "not-a-hash"),
    ] {
        assert!(matches!(
            signing.sign(PLATFORM, mnp, version, sha, 1).await,
            Err(DomainError::Internal(_))
        ));
    }
    for unknown in [
        signing
            .sign("TNOSUCHPLATFORM", "mpx", "1.0.0", SHA, 1)
            .await
            .err(),
        signing.published_keys("TNOSUCHPLATFORM").await.err(),
        signing.rotate("TNOSUCHPLATFORM", 60).await.err(),
    ] {
        assert!(matches!(unknown, Some(DomainError::InvalidPlatformId(_))));
    }
    assert!(env
        .store
        .signing_keys("TNOSUCHPLATFORM")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn private_keys_are_sealed_when_a_key_is_configured_and_stored_as_given_otherwise() {
    let env = Env::new().await;
    service(&env, Some(cipher()))
        .ensure_key(PLATFORM)
        .await
        .unwrap();
    let stored = env.store.signing_keys(PLATFORM).await.unwrap();
    assert!(secret::is_sealed(&stored[0].private_key));
    let seed = secret::open(Some(&cipher()), &stored[0].private_key).unwrap();
    assert!(!stored[0].private_key.contains(&seed));
    // Without the key, the sealed private key cannot sign.
    assert!(matches!(
        service(&env, None)
            .sign(PLATFORM, &env.mnp_id, "1.0.0", SHA, 1)
            .await,
        Err(DomainError::Internal(_))
    ));

    let plain = Env::new().await;
    service(&plain, None).ensure_key(PLATFORM).await.unwrap();
    let stored = plain.store.signing_keys(PLATFORM).await.unwrap();
    assert!(!secret::is_sealed(&stored[0].private_key));
    assert_eq!(
        base64_len(&stored[0].private_key),
        32,
        "the seed, base64, as given"
    );
    // A key configured later still opens the keys stored before it.
    let sig = service(&plain, Some(cipher()))
        .sign(PLATFORM, &plain.mnp_id, "1.0.0", SHA, 1)
        .await
        .unwrap();
    assert_eq!(sig.key_id, stored[0].key_id);
}

fn base64_len(b64: &str) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
        .len()
}

#[tokio::test]
async fn rotation_signs_with_the_new_key_and_publishes_both_for_the_overlap() {
    let env = Env::new().await;
    let signing = service(&env, Some(cipher()));
    let old = signing.ensure_key(PLATFORM).await.unwrap();
    let by_old = signed(&signing, &env, "1.0.0", 10).await;
    assert_eq!(by_old.key_id, old.key_id);

    env.clock.advance(50);
    let (new, published) = signing.rotate(PLATFORM, 100).await.unwrap();
    assert_ne!(new.key_id, old.key_id);
    assert_eq!((new.created_at, new.not_after), (START + 50, None));
    let retiring = PublishedKey {
        not_after: Some(START + 150),
        ..old.clone()
    };
    assert_eq!(published, vec![new.clone(), retiring.clone()]);
    assert_eq!(signing.published_keys(PLATFORM).await.unwrap(), published);

    // During the overlap, the old key's signature still verifies with the
    // old public key; new signatures are by the new key.
    assert!(verifies(
        &retiring,
        &env.mnp_id,
        "1.0.0",
        10,
        &by_old.signature
    ));
    let by_new = signed(&signing, &env, "1.0.0", 10).await;
    assert_eq!(by_new.key_id, new.key_id);
    assert!(verifies(&new, &env.mnp_id, "1.0.0", 10, &by_new.signature));
    assert!(!verifies(&old, &env.mnp_id, "1.0.0", 10, &by_new.signature));

    // Past the overlap, only the new key is published.
    env.clock.advance(99);
    assert_eq!(signing.published_keys(PLATFORM).await.unwrap().len(), 2);
    env.clock.advance(1);
    assert_eq!(
        signing.published_keys(PLATFORM).await.unwrap(),
        vec![new.clone()]
    );

    // A second rotation retires the current key, not the one already gone;
    // an overlap of 0 ends at once.
    let (newest, published) = signing.rotate(PLATFORM, 0).await.unwrap();
    assert_eq!(published, vec![newest]);
    let stored = env.store.signing_keys(PLATFORM).await.unwrap();
    assert_eq!(
        stored.iter().map(|k| k.not_after).collect::<Vec<_>>(),
        vec![None, Some(START + 150), Some(START + 150)]
    );

    for bad in [-1, MAX_OVERLAP_SECS + 1] {
        assert!(matches!(
            signing.rotate(PLATFORM, bad).await,
            Err(DomainError::InvalidValue(_))
        ));
    }
    assert_eq!(env.store.signing_keys(PLATFORM).await.unwrap().len(), 3);
    assert_eq!(DEFAULT_OVERLAP_SECS, 7 * 86_400);
}

#[tokio::test]
async fn another_nodes_rotation_is_signed_with_after_the_refresh() {
    let env = Env::new().await;
    let this_node = service(&env, None).with_refresh(Duration::from_millis(300));
    let other_node = service(&env, None);
    let old = this_node.ensure_key(PLATFORM).await.unwrap();
    let first = signed(&this_node, &env, "1.0.0", 1).await;
    assert_eq!(first.key_id, old.key_id);
    let (new, _) = other_node.rotate(PLATFORM, 600).await.unwrap();
    // Still the key in memory (no storage read while signing)...
    let cached = signed(&this_node, &env, "1.0.0", 1).await;
    assert_eq!(cached.key_id, old.key_id);
    // ... which the overlap keeps published; then the new one.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let fresh = signed(&this_node, &env, "1.0.0", 1).await;
    assert_eq!(fresh.key_id, new.key_id);
}

#[tokio::test]
async fn nodes_making_the_first_key_at_once_agree_on_it() {
    let env = Env::new().await;
    let nodes: Vec<_> = (0..4).map(|_| service(&env, None)).collect();
    let made = futures::future::join_all(nodes.iter().map(|n| n.ensure_key(PLATFORM))).await;
    let ids: Vec<_> = made.into_iter().map(|k| k.unwrap().key_id).collect();
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert_eq!(env.store.signing_keys(PLATFORM).await.unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_owner_describes_or_rotates_through_the_api() {
    let env = Env::new().await;
    let signing = service(&env, None);
    let stranger = Caller {
        account_id: env.caller.account_id + 1000,
        ..env.caller.clone()
    };
    assert!(matches!(
        signing.describe_owned(&stranger, PLATFORM).await,
        Err(DomainError::InvalidPlatformId(_))
    ));
    assert!(matches!(
        signing.rotate_owned(&stranger, PLATFORM, None).await,
        Err(DomainError::InvalidPlatformId(_))
    ));
    let keys = signing.describe_owned(&env.caller, PLATFORM).await.unwrap();
    assert_eq!(keys.len(), 1);
    let (new, published) = signing
        .rotate_owned(&env.caller, PLATFORM, None)
        .await
        .unwrap();
    assert_eq!(published[0], new);
    assert_eq!(published[1].not_after, Some(START + DEFAULT_OVERLAP_SECS));
}
