//! The administration model's rules (seed 000: API clients follow their owner): who may do
//! what is tested on the directory alone (`Rules`, no server); what it means for tokens, over
//! HTTP (`Env`).

use cloudtrust_server::domain::audit::{Actor, event_types};
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::paging::PageRequest;
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, NOTIFICATIONS};
use cloudtrust_server::error::Error;
use cloudtrust_server::store;

use crate::support::{Rules, db_test};

async fn audit_log(store: &store::Store, customer: &str) -> Vec<(String, String)> {
    store::audit::event_types(&mut store.conn().await.expect("conn"), customer)
        .await
        .expect("audit events")
}

db_test! {
    async fn clients_are_listed_only_for_their_owner(env: Rules) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        directory
            .add_administrator(&operator, "acme", NewAdministrator::with_email("b@acme.example", None, Access::custom([API_CLIENTS]).expect("known")))
            .await
            .expect("admin b");
        let theirs = directory
            .create_api_client(&operator, "acme", AdministratorRef::Email("b@acme.example"), "b's client")
            .await
            .expect("client");
        let owner_view = directory.list_api_clients(&operator, "acme", Some(AdministratorRef::Email(&seed.admin)), None).await.expect("list");
        assert_eq!(owner_view.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [seed.client_id.as_str()]);
        let b_view = directory.list_api_clients(&operator, "acme", Some(AdministratorRef::Email("B@acme.example")), None).await.expect("list");
        assert_eq!(b_view.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [theirs.client.id.as_str()]);
        assert_eq!(directory.list_api_clients(&operator, "acme", None, None).await.expect("operator view").items.len(), 2);
    }
}

db_test! {
    async fn only_administrators_holding_api_clients_can_own_clients(env: Rules) {
        env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        directory
            .add_administrator(&operator, "acme", NewAdministrator::with_email("notify@acme.example", None, Access::custom([NOTIFICATIONS]).expect("known")))
            .await
            .expect("admin");
        let refused = directory
            .create_api_client(&operator, "acme", AdministratorRef::Email("notify@acme.example"), "nope")
            .await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        assert!(directory.list_api_clients(&operator, "acme", Some(AdministratorRef::Email("notify@acme.example")), None).await.expect("list").items.is_empty());
    }
}

db_test! {
    async fn removing_the_owner_removes_its_clients_and_their_tokens(env) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        directory
            .add_administrator(&operator, "acme", NewAdministrator::with_email("keeper@acme.example", None, Access::Full))
            .await
            .expect("second full admin");
        let token = format!("CwsAuth Bearer={}", env.token(&seed.client_id, &seed.secret).await);
        let removed = directory
            .remove_administrator(&operator, "acme", AdministratorRef::Email(&seed.admin))
            .await
            .expect("remove");
        assert_eq!(removed.removed_clients, std::slice::from_ref(&seed.client_id));
        assert!(directory.list_api_clients(&operator, "acme", None, None).await.expect("list").items.is_empty());
        assert_eq!(env.me(&token).await.status(), 401, "tokens of removed clients stop working");
        let response = env.request_token("root", &seed.client_id, &seed.secret).await;
        assert_eq!(response.status(), 400, "a removed client gets no token");
        let events = audit_log(env.server.store(), "acme").await;
        assert!(events.contains(&(event_types::ADMINISTRATOR_DELETE.to_owned(), removed.administrator.id.clone())));
        assert!(events.contains(&(event_types::SECURECLIENT_DELETE.to_owned(), seed.client_id.clone())));
    }
}

db_test! {
    async fn a_deleted_clients_tokens_stop_working_at_once(env) {
        let seed = env.seed().await;
        let token = format!("CwsAuth Bearer={}", env.token(&seed.client_id, &seed.secret).await);
        env.directory()
            .delete_api_client(&Actor::operator(), "acme", &seed.client_id)
            .await
            .expect("delete");
        assert_eq!(env.me(&token).await.status(), 401);
        let response = env.request_token("root", &seed.client_id, &seed.secret).await;
        assert_eq!(response.status(), 400);
        let missing = env.directory().delete_api_client(&Actor::operator(), "acme", &seed.client_id).await;
        assert!(matches!(missing, Err(Error::NotFound { .. })), "{missing:?}");
    }
}

db_test! {
    async fn the_last_full_administrator_stays(env: Rules) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        let reduce = directory
            .set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::custom([API_CLIENTS]).expect("known"), None)
            .await;
        assert!(matches!(reduce, Err(Error::Forbidden(_))), "{reduce:?}");
        let remove = directory.remove_administrator(&operator, "acme", AdministratorRef::Email(&seed.admin)).await;
        assert!(matches!(remove, Err(Error::Forbidden(_))), "{remove:?}");
        // Nothing half-done: the owner and its client are untouched.
        let admin = directory.get_administrator(&operator, "acme", AdministratorRef::Email(&seed.admin)).await.expect("still there");
        assert_eq!(admin.access, Access::Full);
        assert_eq!(directory.list_api_clients(&operator, "acme", None, None).await.expect("list").items.len(), 1);
    }
}

db_test! {
    async fn bad_input_is_refused_and_nothing_is_written(env: Rules) {
        env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        for id in ["root", "Acme", "a", "with-dash", "cctrustoauth2"] {
            let refused = directory.create_customer(&operator, Some(id), "X", Region::Eu).await;
            assert!(matches!(refused, Err(Error::Invalid { .. })), "{id}: {refused:?}");
        }
        let duplicate = directory.create_customer(&operator, Some("acme"), "Again", Region::Us).await;
        assert!(matches!(duplicate, Err(Error::Conflict(_))), "{duplicate:?}");
        let generated = directory.create_customer(&operator, None, "Generated", Region::Jp).await.expect("generated id");
        assert_eq!(generated.id.len(), 12);
        assert_eq!(directory.list_customers(&Actor::operator()).await.expect("list").len(), 2);

        let bad_email = directory.add_administrator(&operator, "acme", NewAdministrator::with_email("not-an-email", None, Access::Full)).await;
        assert!(matches!(bad_email, Err(Error::Invalid { .. })));
        let dup_admin = directory.add_administrator(&operator, "acme", NewAdministrator::with_email("OWNER@acme.example", None, Access::Full)).await;
        assert!(matches!(dup_admin, Err(Error::Conflict(_))), "{dup_admin:?}");
        let no_customer = directory.add_administrator(&operator, "nobody", NewAdministrator::with_email("x@y.example", None, Access::Full)).await;
        assert!(matches!(no_customer, Err(Error::NotFound { .. })));
        assert_eq!(directory.list_administrators(&Actor::operator(), "acme", None).await.expect("list").items.len(), 1);

        let unknown_owner = directory.create_api_client(&operator, "acme", AdministratorRef::Email("ghost@acme.example"), "x").await;
        assert!(matches!(unknown_owner, Err(Error::NotFound { .. })));
        let empty_name = directory.create_api_client(&operator, "acme", AdministratorRef::Email("owner@acme.example"), "  ").await;
        assert!(matches!(empty_name, Err(Error::Invalid { .. })));
        assert_eq!(directory.list_api_clients(&operator, "acme", None, None).await.expect("list").items.len(), 1);
    }
}

db_test! {
    async fn every_change_is_audited_and_token_use_is_recorded_in_batches(env) {
        let seed = env.seed().await;
        env.token(&seed.client_id, &seed.secret).await;
        env.token(&seed.client_id, &seed.secret).await;
        let found = crate::support::eventually(std::time::Duration::from_secs(5), || async {
            audit_log(env.server.store(), "acme").await.iter().any(|(t, _)| t == event_types::SECURECLIENT_TOKEN)
        }).await;
        assert!(found, "token usage reaches the audit log");
        let events: Vec<String> = audit_log(env.server.store(), "acme").await.into_iter().map(|(t, _)| t).collect();
        for expected in [event_types::CUSTOMER_CREATE, event_types::ADMINISTRATOR_CREATE, event_types::SECURECLIENT_CREATE] {
            assert!(events.iter().any(|e| e == expected), "{expected} in {events:?}");
        }
        let clients = env.directory().list_api_clients(&Actor::operator(), "acme", None, None).await.expect("list");
        assert!(clients.items[0].last_used_at.is_some(), "last use is recorded");
    }
}

db_test! {
    async fn passwords_are_checked_and_set_only_by_their_owner_or_the_operator(env: Rules) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        directory.set_password(&operator, "acme", AdministratorRef::Email(&seed.admin), "a long enough passphrase").await.expect("set");
        let customers = |matched: Vec<cloudtrust_server::domain::administrators::Administrator>| matched.into_iter().map(|a| a.customer_id).collect::<Vec<_>>();
        assert_eq!(customers(directory.verify_sign_in("Owner@acme.example", "a long enough passphrase").await.expect("check")), ["acme"]);
        assert!(directory.verify_sign_in(&seed.admin, "a long enough passphrasE").await.expect("check").is_empty());
        assert!(directory.verify_sign_in("nobody@acme.example", "a long enough passphrase").await.expect("check").is_empty());
        assert!(directory.verify_sign_in("not an email", "a long enough passphrase").await.expect("check").is_empty());
        let short = directory.set_password(&operator, "acme", AdministratorRef::Email(&seed.admin), "short").await;
        assert!(matches!(short, Err(Error::Invalid { .. })));

        directory.add_administrator(&operator, "acme", NewAdministrator::with_email("other@acme.example", None, Access::Full)).await.expect("admin");
        let other = directory.get_administrator(&operator, "acme", AdministratorRef::Email("other@acme.example")).await.expect("admin");
        let refused = directory.set_password(&Actor::administrator(&other), "acme", AdministratorRef::Email(&seed.admin), "someone else's passphrase").await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "not even a Full administrator sets another's password");
        directory.set_password(&Actor::administrator(&other), "acme", AdministratorRef::Email("other@acme.example"), "my own passphrase!").await.expect("its own");
        let events = audit_log(env.store(), "acme").await;
        assert!(events.contains(&(event_types::ADMINISTRATOR_PASSWORD.to_owned(), other.id.clone())));
    }
}

db_test! {
    async fn system_log_records_past_retention_are_purged_and_newer_ones_kept(env: Rules) {
        env.seed().await;
        env.clock.stop();
        let operator = Actor::operator();
        let directory = env.directory();
        let everything = (0, i64::MAX);
        let count = || async {
            directory.read_system_log(&operator, "acme", everything, &PageRequest::first(1000)).await.expect("log").1
        };
        let old = count().await;
        assert!(old >= 3, "the seed is on the record ({old})");
        env.clock.advance(10);
        directory.add_administrator(&operator, "acme", NewAdministrator::with_email("later@acme.example", None, Access::Full)).await.expect("admin");
        let cutoff = cloudtrust_server::Clock::now(&*env.clock);
        assert_eq!(directory.purge_system_log(cutoff).await.expect("purge"), u64::try_from(old).expect("count"));
        assert_eq!(count().await, 1, "the newer record stays");
        assert_eq!(directory.purge_system_log(cutoff).await.expect("purge again"), 0, "idempotent");
    }
}

/// A company id drawn that another customer already has is drawn again, instead of refusing
/// the new customer. PostgreSQL only: a trigger makes the first insert meet the taken id, and
/// counts the attempts in a sequence, which a rolled-back transaction does not undo. (SQLite
/// triggers cannot change the row being inserted, and SQLite has no state that survives a
/// rollback.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn a_company_id_that_is_taken_is_drawn_again() {
    let Some(env) = crate::support::Env::new(crate::support::Backend::Postgres).await else {
        return;
    };
    env.seed().await;
    let operator = Actor::operator();
    let taken = env
        .directory()
        .lookup_customer("acme")
        .await
        .expect("customer")
        .company_id;
    let store = env.server.store();
    let mut conn = store.conn().await.expect("conn");
    for statement in [
        "CREATE SEQUENCE customer_inserts".to_owned(),
        format!(
            "CREATE FUNCTION collide_once() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF nextval('customer_inserts') = 1 THEN NEW.company_id := {taken}; END IF; \
             RETURN NEW; END $$"
        ),
        "CREATE TRIGGER collide_once BEFORE INSERT ON customers \
         FOR EACH ROW EXECUTE FUNCTION collide_once()"
            .to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await
            .expect("test trigger");
    }

    let created = env
        .directory()
        .create_customer(&operator, Some("globex"), "Globex", Region::Us)
        .await
        .expect("created despite the collision");
    assert_ne!(created.company_id, taken);
    let (attempts,): (i64,) = sqlx::query_as("SELECT last_value FROM customer_inserts")
        .fetch_one(&mut *conn)
        .await
        .expect("attempts");
    assert_eq!(
        attempts, 2,
        "the first insert met the taken id; the second drew another"
    );
    let stored = env
        .directory()
        .lookup_customer("globex")
        .await
        .expect("stored");
    assert_eq!(stored.company_id, created.company_id);
    assert_eq!(
        env.directory()
            .lookup_customer("acme")
            .await
            .expect("acme")
            .company_id,
        taken,
        "the other customer keeps its id"
    );
}
