//! End users of the Workspace sign-in, below HTTP: who may manage them, passwords checked
//! against Argon2id hashes, every change in the system log.

use cloudtrust_server::Error;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::end_users::NewEndUser;
use cloudtrust_server::domain::paging::PageRequest;
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, WORKSPACE_OAUTH_CLIENTS};

use crate::support::{Rules, db_test};

fn pat() -> NewEndUser {
    NewEndUser {
        email: "Pat@Acme.example".into(),
        given_name: "Pat".into(),
        family_name: "Doe".into(),
    }
}

db_test! {
    async fn end_users_sign_in_with_their_password_and_changes_are_recorded(rules: Rules) {
        rules.seed().await;
        let directory = rules.directory();
        let operator = Actor::operator();
        let user = directory.add_end_user(&operator, "acme", &pat(), "correct horse battery").await.expect("added");
        assert_eq!(user.email, "pat@acme.example");
        assert_eq!(user.name(), "Pat Doe");
        let found = directory.verify_end_user_password("acme", "PAT@acme.example", "correct horse battery").await.expect("verify");
        assert_eq!(found.map(|u| u.id), Some(user.id.clone()));
        for (customer, email, password) in [
            ("acme", "pat@acme.example", "wrong horse battery"),
            ("acme", "nobody@acme.example", "correct horse battery"),
            ("other", "pat@acme.example", "correct horse battery"),
            ("acme", "not an email", "correct horse battery"),
        ] {
            let found = directory.verify_end_user_password(customer, email, password).await.expect("verify");
            assert!(found.is_none(), "{customer} {email}");
        }
        let again = directory.add_end_user(&operator, "acme", &pat(), "another long password").await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        directory.set_end_user_password(&operator, "acme", "pat@acme.example", "a new long password").await.expect("set");
        assert!(directory.verify_end_user_password("acme", "pat@acme.example", "correct horse battery").await.expect("verify").is_none());
        assert!(directory.verify_end_user_password("acme", "pat@acme.example", "a new long password").await.expect("verify").is_some());
        directory.remove_end_user(&operator, "acme", "pat@acme.example").await.expect("removed");
        assert!(directory.verify_end_user_password("acme", "pat@acme.example", "a new long password").await.expect("verify").is_none());

        let page = PageRequest { continuation: None, limit: 100 };
        let (log, _) = directory.read_system_log(&operator, "acme", (0, i64::MAX), &page).await.expect("log");
        let types: Vec<&str> = log.items.iter().map(|e| e.event_type.as_str()).collect();
        for t in ["platform/workspaceuser/create", "platform/workspaceuser/password", "platform/workspaceuser/delete"] {
            assert!(types.contains(&t), "{t} in {types:?}");
        }
        let text = serde_json::to_string(&log.items.iter().map(|e| (&e.before_changes, &e.after_changes)).collect::<Vec<_>>()).expect("json");
        assert!(!text.contains("horse") && !text.contains("$argon2"), "no password or hash in the log");
    }
}

db_test! {
    async fn only_holders_of_the_workspace_permission_manage_end_users(rules: Rules) {
        rules.seed().await;
        let directory = rules.directory();
        let operator = Actor::operator();
        for (email, permission) in [("ws@acme.example", WORKSPACE_OAUTH_CLIENTS), ("api@acme.example", API_CLIENTS)] {
            directory.add_administrator(&operator, "acme", NewAdministrator::with_email(email, None, Access::custom([permission]).expect("access"))).await.expect("administrator");
        }
        let operator = &operator;
        let actor = |email: &'static str| async move {
            let admin = directory.get_administrator(operator, "acme", AdministratorRef::Email(email)).await.expect("administrator");
            Actor::administrator(&admin)
        };
        let workspace = actor("ws@acme.example").await;
        let other = actor("api@acme.example").await;
        directory.add_end_user(&workspace, "acme", &pat(), "correct horse battery").await.expect("the permission suffices");
        assert_eq!(directory.list_end_users(&workspace, "acme").await.expect("list").len(), 1);
        let refused = directory.add_end_user(&other, "acme", &NewEndUser { email: "sam@acme.example".into(), ..pat() }, "correct horse battery").await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        assert!(matches!(directory.list_end_users(&other, "acme").await, Err(Error::Forbidden(_))));
        assert!(matches!(directory.remove_end_user(&other, "acme", "pat@acme.example").await, Err(Error::Forbidden(_))));
        assert!(matches!(directory.set_end_user_password(&other, "acme", "pat@acme.example", "x".repeat(20).as_str()).await, Err(Error::Forbidden(_))));
    }
}
