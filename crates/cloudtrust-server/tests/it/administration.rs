//! The administration REST API (`/administrators`, `/secureClients`, `/systemlog/records`),
//! driven with reqwest only, as Citrix's Go SDK and scripts call it.

use cloudtrust_server::Error;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::{
    ADMINISTRATORS, API_CLIENTS, Access, NOTIFICATIONS, SYSTEM_LOG,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Env, admin_with_token, call, client_token, csrf_of, db_test, error_name, oauth_error,
    web_client,
};

fn create_body(email: &str, access_type: &str, policies: &[&str]) -> Value {
    json!({
        "type": "AdministratorUser",
        "accessType": access_type,
        "providerType": "CitrixSts",
        "email": email,
        "firstName": "Pat",
        "lastName": "Doe",
        "policies": policies.iter().map(|p| json!({
            "name": p, "serviceName": "Platform",
            "checkable": {"value": true, "canChangeValue": true},
        })).collect::<Vec<_>>(),
    })
}

/// Follows `continuationToken` until it is null; returns every item and the number of pages.
async fn all_pages(
    env: &Env,
    token: &str,
    path: &str,
    size_param: &str,
    token_param: &str,
    size: usize,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{path}?{size_param}={size}");
        if let Some(t) = &next {
            url.push_str(&format!("&{token_param}={t}"));
        }
        let (status, body, _) = call(env, token, Method::GET, &url, None).await;
        assert_eq!(status, 200, "{url}: {body}");
        let page = body["items"].as_array().expect("items");
        assert!(page.len() <= size, "a page holds at most {size}");
        items.extend(page.iter().cloned());
        pages += 1;
        assert!(pages < 50, "paging ends");
        match &body["continuationToken"] {
            Value::Null => return (items, pages),
            Value::String(t) => next = Some(t.clone()),
            other => panic!("continuationToken {other}"),
        }
    }
}

db_test! {
    async fn full_custom_and_unprivileged_administrators_get_what_their_rights_allow(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let clients_only = admin_with_token(&env, "clients@acme.example", Access::custom([API_CLIENTS]).expect("known")).await;
        let manager = admin_with_token(&env, "manager@acme.example", Access::custom([ADMINISTRATORS, API_CLIENTS]).expect("known")).await;

        // Full access: everything.
        let (status, body, _) = call(&env, &full, Method::GET, "/administrators/", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["items"].as_array().expect("items").len(), 3);
        assert_eq!(body["continuationToken"], Value::Null);
        let (status, _, _) = call(&env, &full, Method::GET, "/systemlog/records", None).await;
        assert_eq!(status, 200);

        // API Clients only: no administrators, no system log, but its own access and clients.
        for path in ["/administrators", "/systemlog/records"] {
            let (status, body, _) = call(&env, &clients_only, Method::GET, path, None).await;
            assert_eq!((status, error_name(&body)), (403, "authorization"), "{path}");
        }
        let (status, body, _) = call(&env, &clients_only, Method::POST, "/administrators/$create", Some(create_body("x@acme.example", "Full", &[]))).await;
        assert_eq!(status, 403, "{body}");
        let own = env.directory().get_administrator(&Actor::operator(), "acme", AdministratorRef::Email("clients@acme.example")).await.expect("admin");
        let (status, body, _) = call(&env, &clients_only, Method::GET, &format!("/administrators/{}/access", own.id), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accessType"], "Custom");
        let checked: Vec<&str> = body["policies"].as_array().expect("policies").iter()
            .filter(|p| p["checkable"]["value"] == true)
            .map(|p| p["name"].as_str().expect("name")).collect();
        assert_eq!(checked, [API_CLIENTS]);
        assert!(body["policies"].as_array().expect("policies").iter().all(|p| p["checkable"]["canChangeValue"] == false));
        let (status, body, _) = call(&env, &clients_only, Method::GET, &format!("/administrators/{}/access", seed_admin_id(&env, &seed.admin).await), None).await;
        assert_eq!(status, 403, "others' access needs the Administrators permission: {body}");
        let (status, body, _) = call(&env, &clients_only, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"].as_array().expect("items").len(), 1, "only its own client");

        // Administrators + API Clients: manages others, never beyond its own rights.
        let (status, body, _) = call(&env, &manager, Method::POST, "/administrators/$create", Some(create_body("helper@acme.example", "Custom", &[API_CLIENTS]))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["pending"], true);
        assert_eq!(body["userId"], Value::Null);
        assert_eq!(body["accessType"], "Custom");
        assert_eq!(body["type"], "AdministratorUser");
        assert_eq!(body["providerType"], "CitrixSts");
        assert_eq!(body["displayName"], "Pat Doe");
        assert!(body["ucOid"].as_str().expect("ucOid").starts_with("OID:/cloudtrust/"));
        for (email, access, policies) in [("full@acme.example", "Full", vec![]), ("log@acme.example", "Custom", vec![SYSTEM_LOG])] {
            let (status, body, _) = call(&env, &manager, Method::POST, "/administrators/$create", Some(create_body(email, access, &policies))).await;
            assert_eq!((status, error_name(&body)), (403, "authorization"), "{email}");
        }
        let seed_id = seed_admin_id(&env, &seed.admin).await;
        let (status, _, _) = call(&env, &manager, Method::PUT, &format!("/administrators/access?id={seed_id}"), Some(json!({"accessType": "Custom", "policies": []}))).await;
        assert_eq!(status, 403, "a custom administrator cannot reduce a Full one");
        let (status, _, _) = call(&env, &manager, Method::DELETE, &format!("/administrators/{seed_id}"), None).await;
        assert_eq!(status, 403, "nor remove one");
        let unchanged = env.directory().get_administrator(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin)).await.expect("admin");
        assert_eq!(unchanged.access, Access::Full);
    }
}

async fn seed_admin_id(env: &Env, email: &str) -> String {
    env.directory()
        .get_administrator(&Actor::operator(), "acme", AdministratorRef::Email(email))
        .await
        .expect("admin")
        .id
}

db_test! {
    async fn a_reduction_refuses_tokens_issued_before_it_and_limits_new_ones(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let before = admin_with_token(&env, "manager@acme.example", Access::custom([ADMINISTRATORS, API_CLIENTS]).expect("known")).await;
        let (status, _, _) = call(&env, &before, Method::GET, "/administrators", None).await;
        assert_eq!(status, 200);

        let id = seed_admin_id(&env, "manager@acme.example").await;
        let policies = json!([{"name": API_CLIENTS, "serviceName": "Platform", "checkable": {"value": true}}]);
        let (status, body, _) = call(&env, &full, Method::PUT, &format!("/administrators/access?id={id}"), Some(json!({"accessType": "Custom", "policies": policies}))).await;
        assert_eq!(status, 200, "{body}");

        let (status, body, _) = call(&env, &before, Method::GET, "/administrators", None).await;
        assert_eq!((status, error_name(&body)), (401, "authentication"), "the old token is stale at once");
        let after = client_token(&env, "manager@acme.example").await;
        let (status, body, _) = call(&env, &after, Method::GET, "/administrators", None).await;
        assert_eq!((status, error_name(&body)), (403, "authorization"), "a new token has the reduced rights");
        let (status, _, _) = call(&env, &after, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200, "what remains still works");
    }
}

db_test! {
    async fn removing_an_administrator_removes_its_clients_and_their_tokens(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let theirs = admin_with_token(&env, "leaver@acme.example", Access::custom([API_CLIENTS]).expect("known")).await;
        let (status, clients, _) = call(&env, &theirs, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200);
        let client_id = clients["items"][0]["id"].as_str().expect("client id").to_owned();

        let id = seed_admin_id(&env, "leaver@acme.example").await;
        let (status, _, _) = call(&env, &full, Method::DELETE, &format!("/administrators/{id}"), None).await;
        assert_eq!(status, 204);
        let (status, _, _) = call(&env, &theirs, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 401, "the removed administrator's tokens stop working");
        let (status, _, _) = call(&env, &full, Method::GET, &format!("/administrators/{id}"), None).await;
        assert_eq!(status, 404);
        let (_, log, _) = call(&env, &full, Method::GET, "/systemlog/records", None).await;
        let events: Vec<(&str, &str)> = log["items"].as_array().expect("items").iter()
            .map(|r| (r["eventType"].as_str().unwrap_or_default(), r["targetId"].as_str().unwrap_or_default()))
            .collect();
        assert!(events.contains(&("platform/administrator/delete", id.as_str())), "{events:?}");
        assert!(events.contains(&("platform/secureclient/delete", client_id.as_str())), "{events:?}");
    }
}

db_test! {
    async fn the_last_full_administrator_can_be_neither_removed_nor_reduced(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let id = seed_admin_id(&env, &seed.admin).await;
        let (status, _, _) = call(&env, &full, Method::DELETE, &format!("/administrators/{id}"), None).await;
        assert_eq!(status, 403);
        let (status, _, _) = call(&env, &full, Method::PUT, &format!("/administrators/access?id={id}"), Some(json!({"accessType": "Custom", "policies": []}))).await;
        assert_eq!(status, 403);
        let (status, _, _) = call(&env, &full, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200, "and its token still works");
    }
}

db_test! {
    async fn a_stale_etag_is_a_conflict(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        env.directory().add_administrator(&Actor::operator(), "acme", NewAdministrator::with_email("other@acme.example", None, Access::custom([NOTIFICATIONS]).expect("known"))).await.expect("admin");
        let id = seed_admin_id(&env, "other@acme.example").await;
        let (status, _, headers) = call(&env, &full, Method::GET, &format!("/administrators/{id}/access"), None).await;
        assert_eq!(status, 200);
        let etag = headers["etag"].to_str().expect("etag").to_owned();

        let change = |value: bool| json!({"accessType": "Custom", "policies": [{"name": API_CLIENTS, "checkable": {"value": value}}]});
        let send = |etag: String, body: Value| {
            let http = env.http.clone();
            let url = env.url(&format!("/administrators/access?id={id}"));
            let full = full.clone();
            async move {
                http.put(url).header("Authorization", format!("CwsAuth Bearer={full}")).header("If-Match", etag).json(&body)
                    .send().await.expect("request")
            }
        };
        let first = send(etag.clone(), change(true)).await;
        assert_eq!(first.status(), 200);
        let fresh = first.headers()["etag"].to_str().expect("etag").to_owned();
        assert_ne!(fresh, etag);
        let second = send(etag, change(false)).await;
        assert_eq!(second.status(), 409);
        let body: Value = second.json().await.expect("json");
        assert_eq!(error_name(&body), "optimisticConcurrency");
        let now = env.directory().get_administrator(&Actor::operator(), "acme", AdministratorRef::Id(&id)).await.expect("admin");
        assert!(now.access.allows(API_CLIENTS), "the stale change was not applied");
        let unreadable = env.http.put(env.url(&format!("/administrators/access?id={id}")))
            .header("Authorization", format!("CwsAuth Bearer={full}"))
            .header("If-Match", reqwest::header::HeaderValue::from_bytes(b"\"st\xe9le\"").expect("obs-text"))
            .json(&change(false)).send().await.expect("request");
        assert_eq!(unreadable.status(), 409, "an If-Match that is not text matches nothing; it is not ignored");
        assert_eq!(send(fresh, change(false)).await.status(), 200);
    }
}

db_test! {
    async fn long_lists_are_paged_to_the_end(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        for n in 0..6 {
            env.directory().add_administrator(&Actor::operator(), "acme", NewAdministrator::with_email(&format!("admin{n}@acme.example"), None, Access::custom([NOTIFICATIONS]).expect("known"))).await.expect("admin");
            env.directory().create_api_client(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin), &format!("client {n}")).await.expect("client");
        }
        let (admins, pages) = all_pages(&env, &full, "/administrators/", "maxItemCount", "requestContinuation", 2).await;
        assert_eq!(admins.len(), 7);
        assert!(pages >= 4, "{pages} pages");
        let mut emails: Vec<&str> = admins.iter().map(|a| a["email"].as_str().expect("email")).collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), 7, "no administrator twice");

        let (clients, pages) = all_pages(&env, &full, "/secureClients", "maxItemCount", "requestContinuation", 3).await;
        assert_eq!((clients.len(), pages), (7, 3));

        let (records, pages) = all_pages(&env, &full, "/systemlog/records", "Limit", "ContinuationToken", 5).await;
        assert!(records.len() >= 14, "{} records", records.len());
        assert!(pages >= 3);
        let times: Vec<&str> = records.iter().map(|r| r["utcTimestamp"].as_str().expect("time")).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
        let mut ids: Vec<&str> = records.iter().map(|r| r["recordId"].as_str().expect("id")).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), records.len(), "no record twice");
    }
}

db_test! {
    async fn a_page_longer_than_one_database_read_is_whole_and_in_order(env) {
        // SQLite reads a long page in chunks of 48 rows: a page of 100 crosses two boundaries.
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        for n in 0..120 {
            env.directory().create_api_client(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin), &format!("client {n:03}")).await.expect("client");
        }
        let (status, first, _) = call(&env, &full, Method::GET, "/secureClients?maxItemCount=100", None).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["items"].as_array().expect("items").len(), 100);
        let (clients, pages) = all_pages(&env, &full, "/secureClients", "maxItemCount", "requestContinuation", 100).await;
        assert_eq!((clients.len(), pages), (121, 2));
        let keys: Vec<(&str, &str)> = clients.iter().map(|c| (c["createdDate"].as_str().expect("created"), c["id"].as_str().expect("id"))).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "oldest first (then by id), across the reads");
        let mut ids: Vec<&str> = clients.iter().map(|c| c["id"].as_str().expect("id")).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 121, "no client twice, none left out");
    }
}

db_test! {
    async fn the_system_log_records_each_action_with_its_actor(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let seed_id = seed_admin_id(&env, &seed.admin).await;
        let (status, created, _) = call(&env, &full, Method::POST, "/secureClients/$create", Some(json!({"name": "deploy"}))).await;
        assert_eq!(status, 201, "{created}");
        let client_id = created["client"]["id"].as_str().expect("id").to_owned();
        assert_eq!(created["client"]["owner"]["email"], seed.admin.as_str());
        assert!(created["secret"].as_str().expect("secret").len() >= 43);
        let (status, _, _) = call(&env, &full, Method::DELETE, &format!("/secureClients/{client_id}"), None).await;
        assert_eq!(status, 204);
        let (status, invited, _) = call(&env, &full, Method::POST, "/administrators/$create", Some(create_body("new@acme.example", "Custom", &[NOTIFICATIONS]))).await;
        assert_eq!(status, 201);
        let new_id = invited["ucOid"].as_str().expect("ucOid").to_owned();
        let (status, _, _) = call(&env, &full, Method::PUT, &format!("/administrators/access?id={new_id}"), Some(json!({"accessType": "Custom", "policies": [{"name": API_CLIENTS}]}))).await;
        assert_eq!(status, 200);
        let (status, deleted, _) = call(&env, &full, Method::DELETE, "/administrators/invitations?email=new@acme.example", None).await;
        assert_eq!((status, deleted), (200, Value::Bool(true)));

        let found = crate::support::eventually(std::time::Duration::from_secs(5), || async {
            let (_, log, _) = call(&env, &full, Method::GET, "/systemlog/records?limit=200", None).await;
            log["items"].as_array().expect("items").iter().any(|r| r["eventType"] == "platform/secureclient/token")
        }).await;
        assert!(found, "token issuance reaches the system log");
        let (_, log, _) = call(&env, &full, Method::GET, "/systemlog/records?Limit=200", None).await;
        assert_eq!(log["count"].as_u64(), Some(log["items"].as_array().expect("items").len() as u64));
        assert!(log["estimatedTotalItems"].as_i64().expect("total") >= log["count"].as_i64().expect("count"));
        // The records this test's API calls made, by the seeded Full administrator.
        let by_type = |t: &str| log["items"].as_array().expect("items").iter()
            .find(|r| r["eventType"] == t && r["actorType"] != "system")
            .cloned().unwrap_or_else(|| panic!("{t} recorded"));
        for t in ["platform/secureclient/create", "platform/secureclient/delete", "platform/administrator/create",
                  "platform/administrator/update", "platform/administrator/invitation/delete"] {
            let record = by_type(t);
            assert_eq!(record["actorType"], "administrator", "{t}");
            assert_eq!(record["actorId"], seed_id.as_str(), "{t}");
            assert_eq!(record["customerId"], "acme");
            assert!(record["message"]["en-US"].as_str().is_some_and(|m| !m.is_empty()), "{t}");
        }
        assert_eq!(format!("OID:/cloudtrust/{}", by_type("platform/administrator/create")["targetId"].as_str().expect("target")), new_id);
        assert_eq!(by_type("platform/secureclient/create")["targetId"], client_id.as_str());
        assert_eq!(by_type("platform/secureclient/create")["afterChanges"]["name"], "deploy");
        let update = by_type("platform/administrator/update");
        assert_ne!(update["beforeChanges"]["access"], update["afterChanges"]["access"]);
        assert_eq!(by_type("platform/secureclient/token")["actorType"], "service");

        let (status, body, _) = call(&env, &full, Method::GET, "/systemlog/records?StartDateTime=2030-01-01T00:00:00Z&EndDateTime=2020-01-01T00:00:00Z", None).await;
        assert_eq!((status, error_name(&body)), (400, "outOfRange"));
        let (status, body, _) = call(&env, &full, Method::GET, "/systemlog/records?startDateTime=2000-01-01&endDateTime=2000-01-02", None).await;
        assert_eq!((status, body["count"].as_u64()), (200, Some(0)));
        assert_eq!(body["continuationToken"], Value::Null);
        let (status, body, _) = call(&env, &full, Method::GET, "/systemlog/records?StartDateTime=soon", None).await;
        assert_eq!((status, error_name(&body)), (400, "invalidString"));
    }
}

db_test! {
    async fn an_invited_administrator_accepts_through_the_link_once(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let (status, body, _) = call(&env, &full, Method::POST, "/administrators/$create", Some(create_body("Invitee@Acme.example", "Custom", &[API_CLIENTS]))).await;
        assert_eq!(status, 201, "{body}");
        let mail_dir = env.db.data_dir.path().join("mail");
        let mail = std::fs::read_dir(&mail_dir).expect("mail drop").next().expect("one message").expect("entry").path();
        let message = std::fs::read_to_string(mail).expect("message");
        assert!(message.lines().any(|l| l == "To: invitee@acme.example"), "{message}");
        let link = message.lines().find(|l| l.starts_with("http")).expect("link").trim().to_owned();
        assert!(link.starts_with(&env.url("/invitations/")), "{link}");

        let (_, listed, _) = call(&env, &full, Method::GET, "/administrators", None).await;
        let pending = listed["items"].as_array().expect("items").iter().find(|a| a["email"] == "invitee@acme.example").expect("listed while pending").clone();
        assert_eq!((pending["pending"].clone(), pending["userId"].clone()), (Value::Bool(true), Value::Null));
        let refused = env.directory().create_api_client(&Actor::operator(), "acme", AdministratorRef::Email("invitee@acme.example"), "early").await;
        assert!(
            matches!(&refused, Err(Error::Forbidden(m)) if m.contains("has not accepted the invitation yet")),
            "a pending administrator owns nothing: {:?}", refused.map(|c| c.client.id)
        );

        let web = web_client();
        let page = web.get(&link).send().await.expect("request");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        assert!(html.contains("invitee@acme.example"));
        let csrf = csrf_of(&html);
        let accept = |password: &'static str, confirm: &'static str| {
            web.post(&link).form(&[("csrf", csrf.as_str()), ("password", password), ("confirm", confirm)]).send()
        };
        assert_eq!(web.post(&link).form(&[("password", "a long enough passphrase")]).send().await.expect("request").status(), 403, "a form without its token is refused");
        assert_eq!(accept("a long enough passphrase", "another passphrase").await.expect("request").status(), 400);
        assert_eq!(accept("short", "short").await.expect("request").status(), 400);
        assert_eq!(accept("a long enough passphrase", "a long enough passphrase").await.expect("request").status(), 200);
        assert_eq!(accept("a long enough passphrase", "a long enough passphrase").await.expect("request").status(), 404, "a link works once");
        assert_eq!(env.directory().verify_sign_in("invitee@acme.example", "a long enough passphrase").await.expect("sign-in").len(), 1, "the chosen password signs in");

        let (_, listed, _) = call(&env, &full, Method::GET, "/administrators?maxItemCount=10", None).await;
        let accepted = listed["items"].as_array().expect("items").iter().find(|a| a["email"] == "invitee@acme.example").expect("listed").clone();
        assert_eq!(accepted["pending"], false);
        assert!(accepted["userId"].is_string());
        // An invitation left alone expires.
        let (status, _, _) = call(&env, &full, Method::POST, "/administrators/$create", Some(create_body("late@acme.example", "Full", &[]))).await;
        assert_eq!(status, 201);
        env.clock.advance(8 * 24 * 3600);
        let full = env.token(&seed.client_id, &seed.secret).await;
        let (_, listed, _) = call(&env, &full, Method::GET, "/administrators", None).await;
        let late = listed["items"].as_array().expect("items").iter().find(|a| a["email"] == "late@acme.example").expect("listed").clone();
        assert_eq!((late["pending"].clone(), late["invitationExpired"].clone()), (Value::Bool(true), Value::Bool(true)));
        let late_mail = std::fs::read_dir(&mail_dir).expect("mail drop").filter_map(Result::ok)
            .map(|e| std::fs::read_to_string(e.path()).expect("message"))
            .find(|m| m.lines().any(|l| l == "To: late@acme.example")).expect("the late invitation");
        let late_link = late_mail.lines().find(|l| l.starts_with("http")).expect("link").trim().to_owned();
        let expired = web.get(&late_link).send().await.expect("request");
        assert_eq!(expired.status(), 404, "an expired invitation is not shown");
        let accept_late = web.post(&late_link).form(&[("csrf", csrf.as_str()), ("password", "a long enough passphrase"), ("confirm", "a long enough passphrase")]).send().await.expect("request");
        assert_eq!(accept_late.status(), 404, "nor accepted");
        let token = client_token(&env, "invitee@acme.example").await;
        let (status, _, _) = call(&env, &token, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200);
        let (status, _, _) = call(&env, &full, Method::DELETE, "/administrators/invitations?email=invitee@acme.example", None).await;
        assert_eq!(status, 404, "an accepted administrator has no invitation left");
    }
}

db_test! {
    async fn bad_requests_get_the_common_errors(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let post = |body: &'static str, content_type: &'static str| {
            let request = env.http.post(env.url("/administrators/$create"))
                .header("Authorization", format!("CwsAuth Bearer={full}"))
                .header("Content-Type", content_type)
                .body(body);
            async move {
                let response = request.send().await.expect("request");
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("common error body");
                (status, error_name(&body).to_owned())
            }
        };
        assert_eq!(post("{}", "text/plain").await, (415, "unsupportedMediaType".to_owned()));
        assert_eq!(post("{", "application/json").await, (400, "invalidJson".to_owned()));
        assert_eq!(post(r#"{"type":"AdministratorUser","providerType":"CitrixSts","email":"a@b.c"}"#, "application/json").await, (400, "missing".to_owned()));
        assert_eq!(post(r#"{"type":"AdministratorUser","accessType":"Root","providerType":"CitrixSts","email":"a@b.c"}"#, "application/json").await, (400, "invalidEnum".to_owned()));
        assert_eq!(post(r#"{"type":"AdministratorGroup","accessType":"Full","providerType":"CitrixSts","email":"a@b.c"}"#, "application/json").await, (400, "invalidEnum".to_owned()));
        assert_eq!(post(r#"{"type":"AdministratorUser","accessType":"Full","providerType":"CitrixSts","email":"nope"}"#, "application/json").await, (400, "invalidString".to_owned()));
        assert_eq!(post(r#"{"type":"AdministratorUser","accessType":"Custom","providerType":"CitrixSts","email":"a@b.c","policies":[{"name":"Root"}]}"#, "application/json").await, (400, "invalidString".to_owned()));
        let (status, body, _) = call(&env, &full, Method::POST, "/administrators/$create", Some(create_body(&seed.admin, "Full", &[]))).await;
        assert_eq!((status, error_name(&body)), (409, "conflict"), "an existing email");

        let (status, body, _) = call(&env, &full, Method::GET, "/administrators?maxItemCount=0", None).await;
        assert_eq!((status, error_name(&body)), (400, "outOfRange"));
        let (status, body, _) = call(&env, &full, Method::GET, "/secureClients?requestContinuation=!!", None).await;
        assert_eq!((status, error_name(&body)), (400, "invalidString"));
        let (status, body, _) = call(&env, &full, Method::GET, "/secureClients/no-such-client", None).await;
        assert_eq!((status, error_name(&body)), (404, "notFound"));
        for path in ["/secureClients/a%00b", "/administrators/%00", "/administrators?requestContinuation=AA"] {
            let (status, _, _) = call(&env, &full, Method::GET, path, None).await;
            assert!((400..500).contains(&status), "{path}: a NUL is bad input, not an outage ({status})");
        }
        let nul = env.request_token("root", "a\u{0}b", "x").await;
        assert_eq!(nul.status(), 400);
        // A path parameter that is not UTF-8 once decoded gets each API's own error shape.
        for path in ["/administrators/%FF", "/administrators/%FF/access", "/secureClients/%FF"] {
            let (status, body, _) = call(&env, &full, Method::GET, path, None).await;
            assert_eq!((status, error_name(&body)), (400, "invalidString"), "{path}");
        }
        let (status, body) = oauth_error(env.request_token("%FF", &seed.client_id, &seed.secret).await).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
        let page = env.http.get(env.url("/invitations/%FF")).send().await.expect("request");
        assert_eq!(page.status(), 400);
        assert!(page.text().await.expect("html").contains("This address is not valid"));
        let (status, body, _) = call(&env, &full, Method::PUT, "/administrators/access", Some(json!({"accessType": "Full"}))).await;
        assert_eq!((status, error_name(&body)), (400, "missing"));
        let (status, body, _) = call(&env, &full, Method::POST, "/secureClients/$create", Some(json!({"name": ""}))).await;
        assert_eq!((status, error_name(&body)), (400, "invalidString"));

        let html = env.http.get(env.url("/administrators")).header("Authorization", format!("CwsAuth Bearer={full}")).header("Accept", "text/html").send().await.expect("request");
        assert_eq!(html.status(), 406);
        let other = env.http.get(env.url("/administrators")).header("Authorization", format!("CwsAuth Bearer={full}")).header("Citrix-CustomerId", "globex").send().await.expect("request");
        assert_eq!(other.status(), 403, "another customer's header");
        let anonymous = env.http.get(env.url("/secureClients")).send().await.expect("request");
        assert_eq!(anonymous.status(), 401);
    }
}

db_test! {
    async fn clients_of_other_administrators_are_invisible(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        let other = admin_with_token(&env, "other@acme.example", Access::custom([API_CLIENTS]).expect("known")).await;
        let (_, theirs, _) = call(&env, &other, Method::GET, "/secureClients", None).await;
        let their_id = theirs["items"][0]["id"].as_str().expect("id").to_owned();
        let (_, mine, _) = call(&env, &full, Method::GET, "/secureClients", None).await;
        assert!(mine["items"].as_array().expect("items").iter().all(|c| c["id"] != their_id.as_str()));
        let (status, _, _) = call(&env, &full, Method::GET, &format!("/secureClients/{their_id}"), None).await;
        assert_eq!(status, 404, "even a Full administrator sees only its own clients");
        let (status, _, _) = call(&env, &full, Method::DELETE, &format!("/secureClients/{their_id}"), None).await;
        assert_eq!(status, 404);
        let (status, _, _) = call(&env, &other, Method::GET, "/secureClients", None).await;
        assert_eq!(status, 200, "and it still works");
        let (status, own, _) = call(&env, &full, Method::GET, &format!("/secureClients/{}", seed.client_id), None).await;
        assert_eq!(status, 200);
        assert_eq!(own["owner"]["email"], seed.admin.as_str());
    }
}

/// The `jti` of a bearer token.
fn jti(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims["jti"].as_str().expect("jti").to_owned()
}

async fn each_token_gets_a_record_when_configured(env: Env) {
    let seed = env.seed().await;
    let first = env.token(&seed.client_id, &seed.secret).await;
    let second = env.token(&seed.client_id, &seed.secret).await;
    let expected = [jti(&first), jti(&second)];
    let recorded = crate::support::eventually(std::time::Duration::from_secs(5), || async {
        let (_, log, _) = call(
            &env,
            &first,
            Method::GET,
            "/systemlog/records?Limit=200",
            None,
        )
        .await;
        let issued: Vec<&str> = log["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|r| r["eventType"] == "platform/secureclient/token/issued")
            .filter_map(|r| r["targetId"].as_str())
            .collect();
        expected.iter().all(|j| issued.contains(&j.as_str()))
    })
    .await;
    assert!(recorded, "every token has its record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_gets_a_record_when_configured_sqlite() {
    if let Some(env) = Env::with(crate::support::Backend::Sqlite, |c| {
        c.audit_each_token = true
    })
    .await
    {
        each_token_gets_a_record_when_configured(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn each_token_gets_a_record_when_configured_postgres() {
    if let Some(env) = Env::with(crate::support::Backend::Postgres, |c| {
        c.audit_each_token = true
    })
    .await
    {
        each_token_gets_a_record_when_configured(env).await;
    }
}

db_test! {
    async fn two_full_administrators_cannot_demote_each_other_at_once(env) {
        env.seed().await;
        let operator = Actor::operator();
        let directory = env.directory();
        let fulls = || async {
            let mut emails: Vec<String> = directory.list_administrators(&Actor::operator(), "acme", None).await.expect("list").items.into_iter()
                .filter(|x| x.access == Access::Full).map(|x| x.email).collect();
            emails.sort_unstable();
            emails
        };
        let refused = directory.set_access(&operator, "acme", AdministratorRef::Email("owner@acme.example"), Access::custom([API_CLIENTS]).expect("known"), None).await;
        assert!(matches!(&refused, Err(Error::Forbidden(m)) if m.contains("is the last Full administrator")), "the only Full administrator stays: {:?}", refused.err());
        let custom = Access::custom([NOTIFICATIONS]).expect("known");
        for round in 0..5 {
            let (a, b) = (format!("a{round}@acme.example"), format!("b{round}@acme.example"));
            for email in [&a, &b] {
                directory.add_administrator(&operator, "acme", NewAdministrator::with_email(email, None, Access::Full)).await.expect("admin");
            }
            // Every Full administrator but this round's two is demoted first, so that exactly
            // two remain and each demotion alone would leave one.
            for earlier in fulls().await.into_iter().filter(|e| *e != a && *e != b) {
                directory.set_access(&operator, "acme", AdministratorRef::Email(&earlier), custom.clone(), None).await.expect("demote an earlier Full administrator");
            }
            let mut both = vec![a.clone(), b.clone()];
            both.sort_unstable();
            assert_eq!(fulls().await, both, "round {round}: exactly two Full administrators before the race");

            let (first, second) = tokio::join!(
                directory.set_access(&operator, "acme", AdministratorRef::Email(&a), custom.clone(), None),
                directory.set_access(&operator, "acme", AdministratorRef::Email(&b), custom.clone(), None),
            );
            let refusals: Vec<String> = [&first, &second].into_iter().filter_map(|r| r.as_ref().err()).map(ToString::to_string).collect();
            assert_eq!(refusals.len(), 1, "round {round}: exactly one demotion is refused: {refusals:?}");
            assert!(
                [&first, &second].into_iter().any(|r| matches!(r, Err(Error::Forbidden(m)) if m.contains("is the last Full administrator of acme"))),
                "round {round}: refused as the last Full administrator, not by an accident: {refusals:?}"
            );
            let survivor = if first.is_err() { &a } else { &b };
            assert_eq!(fulls().await, vec![survivor.clone()], "round {round}: the refused one is the only Full administrator left");
        }
    }
}
