//! The organization service on the real SQLite store: what the console's
//! sign-in relies on (verify, the password epoch, disabled users), the
//! preset keys' lifetime, and the team admin's protection.

mod common;

use common::Env;
use mnpd_domain::entity::Team;
use mnpd_domain::organization::roles::permission;
use mnpd_domain::organization::{
    preset_key, NewTeam, Organization, SealedPassword, DISABLED, ENABLED, MEMBER,
};
use mnpd_domain::DomainError;

fn organization(env: &Env) -> Organization {
    Organization::new(env.store.clone(), env.clock.clone())
}

async fn default_team(env: &Env) -> Team {
    use mnpd_domain::store::AccountStore;
    env.store.get_team(&env.team_id).await.unwrap().unwrap()
}

#[tokio::test]
async fn sign_in_sees_roles_and_ends_at_password_change_or_disable() {
    let env = Env::new().await;
    let org = organization(&env);
    let admin = org
        .bootstrap_admin(&default_team(&env).await, "root", "Root-Pass-1")
        .await
        .unwrap();
    let member = org
        .insert_user(&env.platform_id, "dev", "Dev", MEMBER, "Dev-Pass-1", "t")
        .await
        .unwrap();
    assert!(member.password_hash.starts_with("$argon2id$"));
    assert!(
        !format!("{member:?}").contains("argon2"),
        "Debug shows no hash"
    );

    let signed = org.verify("root", "Root-Pass-1").await.unwrap().unwrap();
    assert_eq!(signed.user.user_id, admin.user_id);
    assert!(signed.permissions.contains(permission::PLATFORM_USERS));
    assert!(
        signed.permissions.contains(permission::MNP_APPROVE),
        "admin of the combined team"
    );
    assert_eq!(signed.memberships.len(), 1);
    assert!(signed.memberships[0].is_admin);
    assert!(org.verify("root", "Root-Pass-2").await.unwrap().is_none());
    assert!(org.verify("nobody", "Root-Pass-1").await.unwrap().is_none());
    let dev = org.verify("dev", "Dev-Pass-1").await.unwrap().unwrap();
    assert!(
        dev.permissions.is_empty(),
        "in no team, a member may do nothing"
    );

    let epoch = org
        .password_epoch(&env.platform_id, &member.user_id)
        .await
        .unwrap();
    assert_eq!(epoch, Some(0));
    org.set_password(&member, "Dev-Pass-2").await.unwrap();
    assert_eq!(
        org.password_epoch(&env.platform_id, &member.user_id)
            .await
            .unwrap(),
        Some(1)
    );
    assert!(org.verify("dev", "Dev-Pass-1").await.unwrap().is_none());
    assert!(org.verify("dev", "Dev-Pass-2").await.unwrap().is_some());

    org.set_status(&member, DISABLED).await.unwrap();
    assert!(org.verify("dev", "Dev-Pass-2").await.unwrap().is_none());
    assert_eq!(
        org.password_epoch(&env.platform_id, &member.user_id)
            .await
            .unwrap(),
        None
    );
    org.set_status(&member, ENABLED).await.unwrap();
    assert!(org.verify("dev", "Dev-Pass-2").await.unwrap().is_some());
}

#[tokio::test]
async fn a_preset_key_serves_once_and_expires() {
    let env = Env::new().await;
    let org = organization(&env);
    let key = org.create_preset_key(&env.caller).await.unwrap();
    let sealed = SealedPassword {
        key_id: key.clone(),
        ciphertext: preset_key::encrypt(&key, "Some-Pass-1"),
    };
    assert_eq!(
        org.open_password(&env.caller, &sealed).await.unwrap(),
        "Some-Pass-1"
    );
    assert!(matches!(
        org.open_password(&env.caller, &sealed).await,
        Err(DomainError::InvalidPresetKey(_))
    ));
    // The sign-in page's keys belong to no account: the API's calls cannot
    // use them, nor can the page use an account's.
    let page_key = org.create_sign_in_key().await.unwrap();
    let page_sealed = SealedPassword {
        key_id: page_key.clone(),
        ciphertext: preset_key::encrypt(&page_key, "Page-Pass-1"),
    };
    assert!(org.open_password(&env.caller, &page_sealed).await.is_err());
    let page_key = org.create_sign_in_key().await.unwrap();
    let page_sealed = SealedPassword {
        key_id: page_key.clone(),
        ciphertext: preset_key::encrypt(&page_key, "Page-Pass-1"),
    };
    assert_eq!(
        org.open_sign_in_password(&page_sealed).await.unwrap(),
        "Page-Pass-1"
    );
    let account_key = org.create_preset_key(&env.caller).await.unwrap();
    let account_sealed = SealedPassword {
        key_id: account_key.clone(),
        ciphertext: preset_key::encrypt(&account_key, "Page-Pass-1"),
    };
    assert!(org.open_sign_in_password(&account_sealed).await.is_err());

    let key = org.create_preset_key(&env.caller).await.unwrap();
    env.clock.advance(preset_key::LIFETIME_SECS);
    let late = SealedPassword {
        key_id: key.clone(),
        ciphertext: preset_key::encrypt(&key, "Some-Pass-1"),
    };
    assert!(matches!(
        org.open_password(&env.caller, &late).await,
        Err(DomainError::InvalidPresetKey(_))
    ));
}

#[tokio::test]
async fn a_team_admin_is_protected_until_replaced() {
    let env = Env::new().await;
    let org = organization(&env);
    let a = org
        .insert_user(&env.platform_id, "alice", "A", MEMBER, "Alice-Pass-1", "t")
        .await
        .unwrap();
    let b = org
        .insert_user(&env.platform_id, "bob", "B", MEMBER, "Bob-Pass-1", "t")
        .await
        .unwrap();
    let team = org
        .create_team(
            &env.caller,
            NewTeam {
                platform_id: Some(env.platform_id.clone()),
                name: "apps".into(),
                admin_user_id: a.user_id.clone(),
                role_types: vec![2],
                remark: None,
                related_team_id: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        org.delete_user(&env.caller, &env.platform_id, &a.user_id)
            .await,
        Err(DomainError::UnableOperateAdmin(_))
    ));
    org.modify_team(
        &env.caller,
        &env.platform_id,
        &team.team_id,
        "apps",
        Some(&b.user_id),
    )
    .await
    .unwrap();
    org.delete_member(&env.caller, &env.platform_id, &team.team_id, &a.user_id)
        .await
        .unwrap();
    org.delete_user(&env.caller, &env.platform_id, &a.user_id)
        .await
        .unwrap();
    assert!(
        matches!(
            org.delete_team(&env.caller, &env.platform_id, &env.team_id)
                .await,
            Err(DomainError::TeamInUse(_))
        ),
        "the default team holds the env's mini program"
    );
    org.delete_team(&env.caller, &env.platform_id, &team.team_id)
        .await
        .unwrap();
}
