//! The URL a host is handed for a package (`Packages::download_url`, and
//! the offline package actions through it) in each delivery mode, on the
//! real SQLite store with folder and S3 package storage.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use mnpd_backend::{S3BlobStore, S3Settings};
use mnpd_domain::delivery::{cdn_token, CdnDelivery, PackageDelivery};
use mnpd_domain::entity::Version;
use mnpd_domain::package::Packages;
use mnpd_domain::store::{BlobStore, VersionStore};
use mnpd_domain::DomainError;

const PUBLIC_URL: &str = "https://mnpd.example.com";
const TTL: i64 = 600;
const CDN_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn packages(env: &Env, blobs: Arc<dyn BlobStore>, delivery: PackageDelivery) -> Packages {
    Packages::new(env.store.clone(), blobs, env.clock.clone(), PUBLIC_URL, TTL)
        .with_delivery(delivery)
}

/// S3 storage that signs offline; nothing is sent to its endpoint (a
/// closed port).
fn s3_blobs(env: &Env) -> Arc<dyn BlobStore> {
    Arc::new(
        S3BlobStore::open(S3Settings {
            bucket: "pkgs".into(),
            prefix: "prod".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            allow_http: true,
            path_style: true,
            staging_dir: env.dir.path().join("s3-staging"),
        })
        .unwrap(),
    )
}

fn cdn() -> PackageDelivery {
    PackageDelivery::Cdn(CdnDelivery::new("https://cdn.example.com/mnp", CDN_KEY).unwrap())
}

/// A recorded version of the test's mini program, released.
async fn released(env: &Env) -> Version {
    env.application("Host").await;
    let id = env.recorded_version("1.2.3").await;
    env.approve(id).await;
    env.releases()
        .release(&env.caller, &env.platform_id, id)
        .await
        .unwrap();
    env.store.get_version(id).await.unwrap().unwrap()
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn mnpd_delivery_is_todays_signed_url() {
    let env = Env::new().await;
    let version = released(&env).await;
    let served = packages(&env, env.blobs.clone(), PackageDelivery::Mnpd);
    let url = served.download_url(&version).await.unwrap();
    let path = Packages::path_of(&version);
    assert!(
        url.starts_with(&format!(
            "{PUBLIC_URL}{path}?expires={}&signature=",
            START + TTL
        )),
        "{url}"
    );
    assert_eq!(url, served.signed_url(&version).await.unwrap());
    // The download route accepts it.
    let q = query_of(&url);
    let file = path.rsplit('/').next().unwrap();
    let allowed = served
        .authorize(
            &version.new.mnp_id,
            version.mnp_version_id,
            file,
            START + TTL,
            &q["signature"],
        )
        .await
        .unwrap();
    assert_eq!(allowed.mnp_version_id, version.mnp_version_id);
    let offline = served
        .offline_package_url(&env.caller, &env.platform_id, &env.mnp_id)
        .await
        .unwrap();
    assert_eq!(
        offline, url,
        "the offline package actions answer the same URL"
    );
}

#[tokio::test]
async fn presigned_delivery_answers_a_presigned_get_of_the_object() {
    let env = Env::new().await;
    let version = released(&env).await;
    let sha = &version.new.sha256;
    let served = packages(&env, s3_blobs(&env), PackageDelivery::Presigned);
    for url in [
        served.download_url(&version).await.unwrap(),
        served
            .offline_package_url(&env.caller, &env.platform_id, &env.mnp_id)
            .await
            .unwrap(),
    ] {
        let (object, _) = url.split_once('?').unwrap();
        assert_eq!(
            object,
            format!("http://127.0.0.1:9/pkgs/prod/blobs/{}/{sha}", &sha[..2])
        );
        let q = query_of(&url);
        assert_eq!(q["X-Amz-Expires"], TTL.to_string(), "as long as mnpd's URL");
        assert!(q.contains_key("X-Amz-Signature"), "{url}");
    }
    // A folder cannot sign: a deployment refused at start, an error here.
    let folder = packages(&env, env.blobs.clone(), PackageDelivery::Presigned);
    assert!(matches!(
        folder.download_url(&version).await,
        Err(DomainError::Internal(m)) if m.contains("S3")
    ));
}

#[tokio::test]
async fn cdn_delivery_answers_the_object_key_under_the_cdn_with_a_token() {
    let env = Env::new().await;
    let version = released(&env).await;
    let sha = &version.new.sha256;
    let served = packages(&env, s3_blobs(&env), cdn());
    let url = served.download_url(&version).await.unwrap();
    let path = format!("/mnp/prod/blobs/{}/{sha}", &sha[..2]);
    let expires = START + TTL;
    let token = cdn_token(&hex::decode(CDN_KEY).unwrap(), &path, expires);
    assert_eq!(
        url,
        format!("https://cdn.example.com{path}?expires={expires}&token={token}")
    );
    // The clock moves: so does the expiry, and the token with it.
    env.clock.advance(30);
    let later = served
        .offline_package_url(&env.caller, &env.platform_id, &env.mnp_id)
        .await
        .unwrap();
    assert_eq!(query_of(&later)["expires"], (expires + 30).to_string());
    assert_ne!(query_of(&later)["token"], token);

    let folder = packages(&env, env.blobs.clone(), cdn());
    assert!(matches!(
        folder.download_url(&version).await,
        Err(DomainError::Internal(m)) if m.contains("S3")
    ));
}
