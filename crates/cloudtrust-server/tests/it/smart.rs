//! Smart Tools authentication (seed 004): companies, roles, a token with HTTP Basic, and a
//! protected `/v0` endpoint reading the token from the query.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access};
use serde_json::Value;

use crate::support::{Env, db_test};

async fn get(env: &Env, path: &str, basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut request = env.http.get(env.url(path));
    if let Some((key, secret)) = basic {
        request = request.header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
        );
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Asserts Smart Tools' refusal: 401 with the body README promises.
#[track_caller]
fn assert_refused((status, body): (u16, Value), what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["error"], "unauthorized", "{what}: {body}");
    assert_eq!(
        body["error_description"], "Bad credentials or expired token",
        "{what}: {body}"
    );
}

db_test! {
    async fn a_smart_tools_key_gets_a_token_that_the_v0_api_accepts(env) {
        let seed = env.seed().await;
        let created = env.directory().create_smart_key(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin)).await.expect("key");
        let (key, secret) = (created.key.api_key.clone(), created.secret.clone());
        assert!(key.contains('@'));
        let escaped = key.replace('@', "%40");

        let (status, companies) = get(&env, &format!("/v0/companies?client_id={escaped}"), None).await;
        assert_eq!(status, 200);
        let company = &companies[0];
        assert_eq!(company["authorizedToTweetFlag"], "N");
        assert_eq!(company["name"], "Acme");
        assert!(company["accountType"].is_string() && company["oemCode"].is_string());
        let company_id = company["companyId"].as_i64().expect("companyId is a number");

        let (status, roles) = get(&env, &format!("/v0/roles?client_id={escaped}&company_id={company_id}"), None).await;
        assert_eq!((status, roles), (200, serde_json::json!(["Admin"])));

        let (status, token) = get(&env, &format!("/v0/oauth/token?grant_type=client_credentials&scope=Admin%2C{company_id}"), Some((&key, &secret))).await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(token["expired"], false);
        assert_eq!(token["tokenType"], "bearer");
        assert_eq!(token["scope"], serde_json::json!([company_id.to_string(), "Admin"]));
        assert_eq!(token["expiresIn"], 43199);
        assert_eq!(token["expires_in"], 43199);
        assert_eq!(token["token_type"], "bearer");
        assert_eq!(token["additionalInformation"], serde_json::json!({}));
        assert_eq!(token["value"], token["access_token"]);
        let expiration = token["expiration"].as_str().expect("expiration");
        let format = time::macros::format_description!("[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]");
        let expires = time::PrimitiveDateTime::parse(expiration, format).expect("seed's date format").assume_utc();
        let lifetime = expires.unix_timestamp() - time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((43_190..=43_200).contains(&lifetime), "{lifetime}");
        let value = token["value"].as_str().expect("value");

        let (status, me) = get(&env, &format!("/v0/me?access_token={value}"), None).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["email"], seed.admin.as_str());
        assert_eq!(me["companyId"], company_id);
        assert_eq!(me["role"], "Admin");

        // A Smart Tools token is no CwsAuth bearer token, and the other way round.
        let as_bearer = env.me(&format!("CwsAuth Bearer={value}")).await;
        assert_eq!(as_bearer.status(), 401);
        let body: Value = as_bearer.json().await.expect("common error body");
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/authentication", "{body}");
        let bearer = env.token(&seed.client_id, &seed.secret).await;
        assert_refused(get(&env, &format!("/v0/me?access_token={bearer}"), None).await, "a CwsAuth bearer token at /v0/me");

        // Deleting the key ends its tokens.
        env.directory().delete_smart_key(&Actor::operator(), "acme", &key).await.expect("delete");
        assert_refused(get(&env, &format!("/v0/me?access_token={value}"), None).await, "a token of a deleted key");
    }
}

db_test! {
    async fn bad_credentials_roles_and_companies_are_refused(env) {
        let seed = env.seed().await;
        env.directory().add_administrator(&Actor::operator(), "acme", NewAdministrator::with_email("custom@acme.example", None, Access::custom([API_CLIENTS]).expect("known"))).await.expect("admin");
        let custom = env.directory().create_smart_key(&Actor::operator(), "acme", AdministratorRef::Email("custom@acme.example")).await.expect("key");
        let full = env.directory().create_smart_key(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin)).await.expect("key");
        let company = env.directory().lookup_customer("acme").await.expect("customer").company_id;
        let token_path = |scope: &str| format!("/v0/oauth/token?grant_type=client_credentials&scope={scope}");

        assert_refused(get(&env, &token_path(&format!("Admin,{company}")), Some((&full.key.api_key, "wrong"))).await, "a wrong secret");
        assert_refused(get(&env, &token_path(&format!("Admin,{company}")), Some(("nobody@", "x"))).await, "an unknown key");
        assert_refused(get(&env, &token_path(&format!("Admin,{company}")), None).await, "no credentials");
        for authorization in ["Basic !!!", "Basic bm9jb2xvbg==", "Bearer x"] {
            let response = env.http.get(env.url(&token_path(&format!("Admin,{company}")))).header("Authorization", authorization).send().await.expect("request");
            let status = response.status().as_u16();
            assert_refused((status, response.json().await.expect("JSON body")), &format!("{authorization}: malformed or other credentials"));
        }
        assert_refused(get(&env, &token_path(&format!("Admin,{company}")), Some((&custom.key.api_key, &custom.secret))).await, "a role the key's owner does not hold");
        let (status, body) = get(&env, &token_path(&format!("User,{company}")), Some((&custom.key.api_key, &custom.secret))).await;
        assert_eq!(status, 200, "{body}");
        let custom_token = body["value"].as_str().expect("value").to_owned();
        let (status, me) = get(&env, &format!("/v0/me?access_token={custom_token}"), None).await;
        assert_eq!((status, me["email"].as_str(), me["role"].as_str()), (200, Some("custom@acme.example"), Some("User")), "{me}");
        assert_refused(get(&env, &token_path("Admin,99"), Some((&full.key.api_key, &full.secret))).await, "a company it does not belong to");
        assert_refused(get(&env, &format!("/v0/roles?client_id={}&company_id=99", full.key.api_key.replace('@', "%40")), None).await, "roles in a company it does not belong to");

        for path in [token_path("Admin"), token_path("Admin,Admin"), "/v0/oauth/token?scope=Admin,1".to_owned(),
                     format!("/v0/oauth/token?grant_type=password&scope=Admin,{company}")] {
            let (status, body) = get(&env, &path, Some((&full.key.api_key, &full.secret))).await;
            assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{path}");
        }
        let (status, _) = get(&env, "/v0/companies", None).await;
        assert_eq!(status, 400);
        let (status, _) = get(&env, "/v0/roles?client_id=x&company_id=abc", None).await;
        assert_eq!(status, 400);
        assert_refused(get(&env, "/v0/companies?client_id=nobody%40", None).await, "companies of an unknown key");
        assert_refused(get(&env, "/v0/me?access_token=not.a.token", None).await, "a malformed token");
        assert_refused(get(&env, "/v0/me", None).await, "no token");
        let huge = "k".repeat(10_000);
        assert_refused(get(&env, &token_path(&format!("Admin,{company}")), Some((&huge, "x"))).await, "a key that cannot be one is refused before anything is stored");

        // Removing an administrator takes its keys along, on the record, and the tokens it
        // already holds stop working.
        env.directory().remove_administrator(&Actor::operator(), "acme", AdministratorRef::Email("custom@acme.example")).await.expect("remove");
        assert_refused(get(&env, &format!("/v0/me?access_token={custom_token}"), None).await, "a token issued before its administrator was removed");
        assert_refused(get(&env, &token_path(&format!("User,{company}")), Some((&custom.key.api_key, &custom.secret))).await, "a key of a removed administrator");
        let store = env.server.store();
        let events = cloudtrust_server::store::audit::event_types(&mut store.conn().await.expect("conn"), "acme").await.expect("events");
        assert!(events.contains(&("platform/smartkey/delete".to_owned(), custom.key.api_key.clone())));
    }
}

db_test! {
    async fn a_token_request_without_credentials_is_refused_before_its_parameters_are_read(env) {
        // The endpoint documents HTTP Basic (`SmartBasic`): without credentials the answer is
        // 401, as from Spring's endpoint, whatever is wrong with the parameters besides.
        for path in ["/v0/oauth/token", "/v0/oauth/token?grant_type=&scope=",
                     "/v0/oauth/token?grant_type=password&scope=Admin"] {
            assert_refused(get(&env, path, None).await, path);
        }
    }
}
