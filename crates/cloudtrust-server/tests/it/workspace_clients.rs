//! Workspace OAuth clients (`/{customer}/rpclients`): the seed's calls with reqwest, the rules
//! of who may do what, and secrets that rotate with overlap, checked with a clock moved
//! forward.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, WORKSPACE_OAUTH_CLIENTS};
use cloudtrust_server::domain::workspace_clients::{ClientType, NewWorkspaceClient};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Env, Rules, admin_with_token, call, db_test, error_name, parameter};

const DAY: i64 = 86_400;

fn private_body(display_name: &str) -> Value {
    json!({
        "display_name": display_name,
        "client_type": "private",
        "redirect_uris": ["https://app.acme.example/callback", "http://127.0.0.1:53682/callback"],
        "require_user_consent": true,
        "allow_offline_access": true,
    })
}

/// Posts a new client and returns its answer, asserting 201.
async fn create(env: &Env, token: &str, body: Value) -> Value {
    let (status, created, headers) =
        call(env, token, Method::POST, "/acme/rpclients", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["cache-control"], "no-store");
    created
}

/// Sends the seed's curl request: `Authorization: CWSAuth bearer=$token`, nothing else.
async fn seed_call(env: &Env, token: &str, method: Method, path: &str) -> (u16, String) {
    let response = env
        .http
        .request(method, env.url(path))
        .header("Authorization", format!("CWSAuth bearer={token}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

db_test! {
    async fn the_seeds_calls_list_rotate_and_expire_the_old_secret(env) {
        env.clock.stop();
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        let created = create(&env, &token, private_body("Demo Client")).await;
        let client = &created["client"];
        let name = client["name"].as_str().expect("name").to_owned();
        assert_eq!(name, "acme-private-1");
        let secret = created["secret"].as_str().expect("secret").to_owned();
        assert!(secret.len() >= 43, "32 random bytes: {secret}");
        let client_id = client["client_id"].as_str().expect("client_id");
        assert_eq!(client["api_key"], client_id);
        assert!(client_id.len() >= 22 && client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{client_id}");
        let made = client["secret_update_time"].as_i64().expect("secret_update_time");
        let expires = client["secret_expiration"].as_i64().expect("secret_expiration");
        assert_eq!(expires - made, 90 * DAY);
        assert_eq!(client["secret_update_time_old"], Value::Null);
        assert_eq!(client["secret_expiration_old"], Value::Null);
        assert_eq!(client["owner"], seed.admin.as_str());
        assert_eq!(client["owner_contact"], seed.admin.as_str());
        assert_eq!((client["enabled"].clone(), client["client_type"].clone()), (json!(true), json!("private")));
        assert_eq!(client["require_pkce"], false);
        assert_eq!(client["created_time"], made);

        // Step 1 of the seed: list the customer's clients.
        let (status, text) = seed_call(&env, &token, Method::GET, "/acme/rpclients").await;
        assert_eq!(status, 200, "{text}");
        let listed: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        assert_eq!(&listed[0], client);
        assert!(!text.contains(&secret), "a listing never shows a secret");

        // Step 2: rotate, a day later (with a token of that day).
        env.clock.advance(DAY);
        let token = env.token(&seed.client_id, &seed.secret).await;
        let (status, text) = seed_call(&env, &token, Method::POST, &format!("/acme/rpclients/{name}/$rotateSecret")).await;
        assert_eq!(status, 200, "{text}");
        let rotated: Value = serde_json::from_str(&text).expect("JSON");
        let keys: Vec<&str> = rotated.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["client", "secret"]);
        let new_secret = rotated["secret"].as_str().expect("secret").to_owned();
        assert_ne!(new_secret, secret);
        let after = &rotated["client"];
        let now = made + DAY;
        assert_eq!(after["secret_update_time"], now);
        assert_eq!(after["secret_expiration"], now + 90 * DAY);
        // As in the seed's answer: the old secret's update time is the rotation's, its
        // expiration the one it had.
        assert_eq!(after["secret_update_time_old"], now);
        assert_eq!(after["secret_expiration_old"], expires);
        let directory = env.directory();
        let works = |s: String| async move { directory.verify_workspace_client_secret(client_id, &s).await.expect("verify").is_some() };
        assert!(works(secret.clone()).await, "the old secret keeps working");
        assert!(works(new_secret.clone()).await, "the new secret works");
        assert!(!works("not-the-secret".into()).await);

        // Step 3: expire the old secret: 200, empty body; only the new one works.
        let (status, text) = seed_call(&env, &token, Method::POST, &format!("/acme/rpclients/{name}/$expireOldSecret")).await;
        assert_eq!((status, text.as_str()), (200, ""));
        assert!(!works(secret.clone()).await, "the old secret no longer works");
        assert!(works(new_secret.clone()).await);
        let (_, one, _) = call(&env, &token, Method::GET, &format!("/acme/rpclients/{name}"), None).await;
        assert_eq!((one["secret_update_time_old"].clone(), one["secret_expiration_old"].clone()), (Value::Null, Value::Null));
        // Again, with nothing to expire, and with `%24` for `$`.
        let (status, text) = seed_call(&env, &token, Method::POST, &format!("/acme/rpclients/{name}/%24expireOldSecret")).await;
        assert_eq!((status, text.as_str()), (200, ""));
        let (status, text) = seed_call(&env, &token, Method::POST, &format!("/acme/rpclients/{name}/%24rotateSecret")).await;
        assert_eq!(status, 200, "{text}");
        let third: Value = serde_json::from_str(&text).expect("JSON");
        let third = third["secret"].as_str().expect("secret").to_owned();
        assert!(works(third).await && works(new_secret).await, "two secrets at most: the current and the old");
        assert!(!works(secret).await);
    }
}

db_test! {
    async fn public_clients_have_no_secret_and_names_are_never_reused(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        let public = create(&env, &token, json!({
            "display_name": "Desktop app",
            "client_type": "public",
            "redirect_uris": ["http://127.0.0.1/callback", "com.acme.app:/callback"],
        })).await;
        assert_eq!(public["secret"], Value::Null);
        let client = &public["client"];
        assert_eq!(client["name"], "acme-public-1");
        assert_eq!(client["require_pkce"], true, "public clients always use PKCE");
        assert_eq!((client["allow_offline_access"].clone(), client["require_user_consent"].clone()), (json!(false), json!(false)));
        for field in ["secret_update_time", "secret_expiration", "secret_update_time_old", "secret_expiration_old"] {
            assert_eq!(client[field], Value::Null, "{field}");
        }
        let (status, body, _) = call(&env, &token, Method::POST, "/acme/rpclients/acme-public-1/$rotateSecret", None).await;
        assert_eq!((status, parameter(&body, "name")), (400, Some("client_type")), "{body}");

        let first = create(&env, &token, private_body("One")).await;
        assert_eq!(first["client"]["name"], "acme-private-1");
        let second = create(&env, &token, private_body("Two")).await;
        assert_eq!(second["client"]["name"], "acme-private-2");
        assert_ne!(first["client"]["client_id"], second["client"]["client_id"]);
        let (status, body, _) = call(&env, &token, Method::DELETE, "/acme/rpclients/acme-private-2", None).await;
        assert_eq!((status, body), (204, Value::Null));
        let third = create(&env, &token, private_body("Three")).await;
        assert_eq!(third["client"]["name"], "acme-private-3", "a deleted client's name is not reused");
        let (status, body, _) = call(&env, &token, Method::GET, "/acme/rpclients/acme-private-2", None).await;
        assert_eq!((status, error_name(&body)), (404, "notFound"));
        let (_, listed, _) = call(&env, &token, Method::GET, "/acme/rpclients", None).await;
        let mut names: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|c| c["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["acme-private-1", "acme-private-3", "acme-public-1"]);
    }
}

db_test! {
    async fn an_edit_changes_only_what_the_seed_allows(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        create(&env, &token, private_body("Demo Client")).await;
        let path = "/acme/rpclients/acme-private-1";
        let (status, edited, _) = call(&env, &token, Method::PATCH, path, Some(json!({
            "display_name": "Renamed",
            "require_user_consent": false,
            "redirect_uris": ["https://new.acme.example/cb"],
            "owner_contact": "Ops@Acme.example",
        }))).await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["display_name"], "Renamed");
        assert_eq!(edited["require_user_consent"], false);
        assert_eq!(edited["redirect_uris"], json!(["https://new.acme.example/cb"]));
        assert_eq!(edited["owner_contact"], "ops@acme.example");
        assert_eq!(edited["allow_offline_access"], true, "untouched");
        let (status, edited, _) = call(&env, &token, Method::PUT, path, Some(json!({"display_name": "Put"}))).await;
        assert_eq!((status, edited["display_name"].clone()), (200, json!("Put")));

        for (body, field) in [
            (json!({"client_type": "public"}), "client_type"),
            (json!({"allow_offline_access": false}), "allow_offline_access"),
            (json!({"name": "mine"}), "name"),
            (json!({"redirect_uris": ["http://app.acme.example/cb"]}), "redirect_uris"),
            (json!({"redirect_uris": ["https://app.acme.example/cb#frag"]}), "redirect_uris"),
            (json!({"redirect_uris": ["/relative"]}), "redirect_uris"),
            (json!({"display_name": " "}), "display_name"),
            (json!({"owner_contact": "nobody"}), "owner_contact"),
        ] {
            let (status, refused, _) = call(&env, &token, Method::PATCH, path, Some(body.clone())).await;
            assert_eq!((status, parameter(&refused, "name")), (400, Some(field)), "{body} → {refused}");
        }
        let (_, unchanged, _) = call(&env, &token, Method::GET, path, None).await;
        assert_eq!(unchanged["display_name"], "Put", "a refused edit changes nothing");
        let (status, body, _) = call(&env, &token, Method::PATCH, "/acme/rpclients/acme-private-9", Some(json!({"display_name": "x"}))).await;
        assert_eq!((status, error_name(&body)), (404, "notFound"));
        let (status, body, _) = call(&env, &token, Method::POST, "/acme/rpclients", Some(json!({"display_name": "x", "client_type": "both", "redirect_uris": []}))).await;
        assert_eq!((status, error_name(&body), parameter(&body, "name")), (400, "invalidEnum", Some("client_type")));
        let (status, body, _) = call(&env, &token, Method::POST, "/acme/rpclients", Some(json!({"client_type": "private", "redirect_uris": []}))).await;
        assert_eq!((status, error_name(&body), parameter(&body, "name")), (400, "missing", Some("display_name")));
        let mut misspelt = private_body("Misspelt");
        misspelt["requirePkce"] = json!(true);
        let (status, body, _) = call(&env, &token, Method::POST, "/acme/rpclients", Some(misspelt)).await;
        assert_eq!((status, parameter(&body, "name")), (400, Some("requirePkce")), "a setting is never silently dropped");
        let (status, edited, _) = call(&env, &token, Method::PATCH, path, Some(json!({"owner_contact": ""}))).await;
        assert_eq!((status, edited["owner_contact"].clone()), (200, edited["owner"].clone()), "an empty contact means the owner");
    }
}

db_test! {
    async fn only_holders_of_the_permission_of_this_customer_manage_clients(env) {
        let seed = env.seed().await;
        let full = env.token(&seed.client_id, &seed.secret).await;
        create(&env, &full, private_body("Made by the owner")).await;
        let workspace = admin_with_token(&env, "workspace@acme.example", Access::custom([WORKSPACE_OAUTH_CLIENTS, API_CLIENTS]).expect("access")).await;
        let other = admin_with_token(&env, "other@acme.example", Access::custom([API_CLIENTS]).expect("access")).await;

        let (status, listed, _) = call(&env, &workspace, Method::GET, "/acme/rpclients", None).await;
        assert_eq!(status, 200);
        assert_eq!(listed[0]["owner"], seed.admin.as_str(), "every client of the customer is visible");
        let (status, mine, _) = call(&env, &workspace, Method::POST, "/acme/rpclients", Some(private_body("Mine"))).await;
        assert_eq!(status, 201);
        assert_eq!(mine["client"]["owner"], "workspace@acme.example");
        let (status, _, _) = call(&env, &workspace, Method::POST, "/acme/rpclients/acme-private-1/$disable", None).await;
        assert_eq!(status, 200, "also a client someone else made");

        for (method, path) in [
            (Method::GET, "/acme/rpclients"),
            (Method::GET, "/acme/rpclients/acme-private-1"),
            (Method::POST, "/acme/rpclients/acme-private-1/$rotateSecret"),
            (Method::DELETE, "/acme/rpclients/acme-private-1"),
        ] {
            let (status, body, _) = call(&env, &other, method.clone(), path, None).await;
            assert_eq!((status, error_name(&body)), (403, "authorization"), "{method} {path}");
        }
        // Another customer's path, even for a Full administrator.
        env.directory().create_customer(&Actor::operator(), Some("globex"), "Globex", cloudtrust_server::domain::customers::Region::Us).await.expect("customer");
        let (status, body, _) = call(&env, &full, Method::GET, "/globex/rpclients", None).await;
        assert_eq!((status, error_name(&body)), (403, "authorization"));
        let (status, body, _) = call(&env, &full, Method::POST, "/globex/rpclients", Some(json!({"bad": true}))).await;
        assert_eq!((status, error_name(&body)), (403, "authorization"), "refused before the body is read");
        let (status, body, _) = call(&env, &other, Method::PATCH, "/acme/rpclients/acme-private-1", Some(json!({"display_name": " "}))).await;
        assert_eq!((status, error_name(&body)), (403, "authorization"), "the permission before the fields");
        let response = env.http.get(env.url("/acme/rpclients")).send().await.expect("request");
        assert_eq!(response.status(), 401);

        // Access is the owner's current one: taking the permission away refuses at once.
        env.directory().set_access(&Actor::operator(), "acme", AdministratorRef::Email("workspace@acme.example"), Access::custom([API_CLIENTS]).expect("access"), None).await.expect("access changed");
        let (status, _, _) = call(&env, &workspace, Method::GET, "/acme/rpclients", None).await;
        assert_eq!(status, 401, "a token issued before the reduction no longer works");
        let reduced = crate::support::client_token(&env, "workspace@acme.example").await;
        let (status, body, _) = call(&env, &reduced, Method::GET, "/acme/rpclients", None).await;
        assert_eq!((status, error_name(&body)), (403, "authorization"), "nor does a new one manage clients");
    }
}

db_test! {
    async fn disabled_and_deleted_clients_authenticate_nowhere(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        let created = create(&env, &token, private_body("Demo")).await;
        let client_id = created["client"]["client_id"].as_str().expect("id").to_owned();
        let secret = created["secret"].as_str().expect("secret").to_owned();
        let directory = env.directory();
        let works = || async { directory.verify_workspace_client_secret(&client_id, &secret).await.expect("verify").is_some() };
        assert!(works().await);
        let (status, disabled, _) = call(&env, &token, Method::POST, "/acme/rpclients/acme-private-1/%24disable", None).await;
        assert_eq!((status, disabled["enabled"].clone()), (200, json!(false)));
        assert!(!works().await, "a disabled client's secret does not authenticate");
        let (status, enabled, _) = call(&env, &token, Method::POST, "/acme/rpclients/acme-private-1/$enable", None).await;
        assert_eq!((status, enabled["enabled"].clone()), (200, json!(true)));
        assert!(works().await, "enabled again, it works again");
        let (status, _, _) = call(&env, &token, Method::DELETE, "/acme/rpclients/acme-private-1", None).await;
        assert_eq!(status, 204);
        assert!(!works().await);

        let found = crate::support::eventually(std::time::Duration::from_secs(5), || async {
            let (_, log, _) = call(&env, &token, Method::GET, "/systemlog/records?limit=200", None).await;
            log["items"].as_array().is_some_and(|items| items.iter().any(|r| r["eventType"] == "platform/workspaceclient/delete"))
        }).await;
        assert!(found);
        let (_, log, _) = call(&env, &token, Method::GET, "/systemlog/records?limit=200", None).await;
        let text = log.to_string();
        for t in ["create", "disable", "enable", "delete"] {
            assert!(text.contains(&format!("\"platform/workspaceclient/{t}\"")), "{t} recorded");
        }
        assert!(!text.contains(&secret), "the system log never holds a secret");
    }
}

db_test! {
    async fn secrets_expire_on_time_and_the_old_one_keeps_its_own_expiry(rules: Rules) {
        rules.clock.stop();
        rules.seed().await;
        let directory = rules.directory();
        let operator = Actor::operator();
        let created = directory.create_workspace_client(&operator, "acme", AdministratorRef::Email("owner@acme.example"), NewWorkspaceClient {
            display_name: "Server".into(),
            client_type: ClientType::Private,
            redirect_uris: vec!["https://app.acme.example/cb".into()],
            post_logout_redirect_uris: vec![],
            require_user_consent: false,
            require_pkce: false,
            allow_offline_access: true,
            owner_contact: None,
        }).await.expect("created");
        let id = created.client.client_id.clone();
        let first = created.secret.expect("a private client has a secret");
        let works = |secret: &str| {
            let (id, secret) = (id.clone(), secret.to_owned());
            async move { directory.verify_workspace_client_secret(&id, &secret).await.expect("verify").is_some() }
        };
        rules.clock.advance(80 * DAY);
        let (_, second) = directory.rotate_workspace_secret(&operator, "acme", &created.client.name).await.expect("rotated");
        assert!(works(&first).await && works(&second).await, "both work between rotation and the old expiry");
        rules.clock.advance(10 * DAY);
        assert!(!works(&first).await, "the old secret ends at its own expiry");
        assert!(works(&second).await);
        rules.clock.advance(80 * DAY - 1);
        assert!(works(&second).await, "the new one lasts the full lifetime");
        rules.clock.advance(1);
        assert!(!works(&second).await, "an expired secret never authenticates");
        // A rotation after expiry has no old secret to keep.
        let (client, third) = directory.rotate_workspace_secret(&operator, "acme", &created.client.name).await.expect("rotated");
        assert!(client.old_secret.is_none());
        assert!(works(&third).await && !works(&second).await);
    }
}
