//! The authenticated API client against a real server: typed calls, listings over several
//! pages, errors, and a new token after the server stops accepting the old one.

use std::collections::BTreeSet;
use std::time::Duration;

use cloudtrust_client::ClientError;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::audit::event_types::SECURECLIENT_TOKEN;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::paging::PageRequest;
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::domain::workspace_clients::{ClientType, NewWorkspaceClient};
use futures_util::TryStreamExt;

use crate::{CUSTOMER, OWNER, Server, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_names_the_owner_and_the_customer() {
    let server = Server::start(3600).await;
    let api = server.api();
    let me = api.me().await.expect("me");
    assert_eq!(me.verified_email, OWNER);
    assert_eq!(me.customers.len(), 1);
    assert_eq!(me.customers[0].id, CUSTOMER);
    assert_eq!(
        api.customer_id().await.expect("customer"),
        CUSTOMER,
        "learnt for a `root` source"
    );
    // Now sent in `Citrix-CustomerId`, which the server checks against the token.
    assert_eq!(api.me().await.expect("me again"), me);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_follow_continuation_tokens_across_pages() {
    let server = Server::start(3600).await;
    let directory = server.server.directory();
    let operator = Actor::operator();
    for n in 0..7 {
        directory
            .add_administrator(
                &operator,
                CUSTOMER,
                NewAdministrator::with_email(&format!("admin{n}@acme.example"), None, Access::Full),
            )
            .await
            .expect("administrator");
    }
    for n in 0..4 {
        directory
            .create_api_client(
                &operator,
                CUSTOMER,
                AdministratorRef::Email(OWNER),
                &format!("client {n}"),
            )
            .await
            .expect("client");
    }
    let api = server.api().with_page_size(3);

    let administrators: Vec<_> = api.administrators().try_collect().await.expect("listed");
    let emails: BTreeSet<_> = administrators.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(administrators.len(), 8, "{emails:?}");
    assert_eq!(emails.len(), 8, "no administrator twice");
    assert!(emails.contains(OWNER));

    let clients: Vec<_> = api.secure_clients().try_collect().await.expect("listed");
    let ids: BTreeSet<_> = clients.iter().map(|c| c.id.as_str()).collect();
    assert_eq!((clients.len(), ids.len()), (5, 5), "{ids:?}");
    assert!(ids.contains(server.client_id.as_str()));

    // Token use is recorded in batches, whenever they are written: left out of the comparison.
    let records: Vec<_> = api.system_log(None, None).try_collect().await.expect("log");
    let (all, _) = directory
        .read_system_log(
            &operator,
            CUSTOMER,
            (0, i64::MAX),
            &PageRequest::first(1000),
        )
        .await
        .expect("system log");
    let ids: Vec<_> = records
        .iter()
        .filter(|r| r.event_type != SECURECLIENT_TOKEN)
        .map(|r| r.record_id.as_str())
        .collect();
    let expected: Vec<_> = all
        .items
        .iter()
        .filter(|e| e.event_type != SECURECLIENT_TOKEN)
        .map(|e| e.id.as_str())
        .collect();
    assert!(ids.len() >= 14, "several pages of records: {}", ids.len());
    assert_eq!(ids, expected, "every record, in the server's order");

    let nothing: Vec<_> = api
        .system_log(Some("2000-01-01T00:00:00Z"), Some("2000-01-02T00:00:00Z"))
        .try_collect()
        .await
        .expect("empty range");
    assert!(nothing.is_empty());

    // Refusals end the stream with the server's error.
    let refused = api
        .system_log(Some("2000-01-02T00:00:00Z"), Some("2000-01-01T00:00:00Z"))
        .try_collect::<Vec<_>>()
        .await;
    match refused {
        Err(ClientError::Api {
            status: 400,
            error: Some(error),
            ..
        }) => assert_eq!(error.name(), "outOfRange"),
        other => panic!("outOfRange, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_clients_are_listed_for_the_tokens_customer() {
    let server = Server::start(3600).await;
    let api = server.api();
    assert!(api.workspace_clients().await.expect("listed").is_empty());
    server
        .server
        .directory()
        .create_workspace_client(
            &Actor::operator(),
            CUSTOMER,
            AdministratorRef::Email(OWNER),
            NewWorkspaceClient {
                display_name: "Portal".to_owned(),
                client_type: ClientType::Private,
                redirect_uris: vec!["https://portal.acme.example/callback".to_owned()],
                post_logout_redirect_uris: Vec::new(),
                require_user_consent: false,
                require_pkce: false,
                allow_offline_access: false,
                owner_contact: None,
            },
        )
        .await
        .expect("workspace client");
    let listed = api.workspace_clients().await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].display_name, "Portal");
    assert_eq!(listed[0].owner, OWNER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_common_error_body() {
    let server = Server::start(3600).await;
    let api = server.api();
    match api
        .get_json::<serde_json::Value>("/administrators/nobody", &[])
        .await
    {
        Err(ClientError::Api {
            path,
            status: 404,
            error: Some(error),
        }) => {
            assert_eq!(path, "/administrators/nobody");
            assert_eq!(error.name(), "notFound");
        }
        other => panic!("notFound, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_replaced_and_the_call_sent_again() {
    let server = Server::start(3600).await;
    let api = server.api();
    api.me().await.expect("me");
    let old = api.token_source().token().await.expect("cached token");

    // Retire the key that signed the cached token, as after a leak: the server refuses
    // every token it signed, though none has expired.
    server.rotate_signing_key(true).await;
    let refused = eventually(Duration::from_secs(10), || async {
        server.me(&old).await == 401
    })
    .await;
    assert!(refused, "the server refuses the old token");

    let me = api.me().await.expect("answered with a new token");
    assert_eq!(me.verified_email, OWNER);
    let new = api.token_source().token().await.expect("token");
    assert_ne!(new, old, "the refused token was replaced");
    assert_eq!(server.me(&new).await, 200);
}
