//! RFC 9700 (OAuth 2.0 Security Best Current Practice) against `/core`, one attack per test
//! step: unregistered redirect URIs, missing / plain / wrong PKCE, code replay and the
//! revocation it causes, codes for other clients, refresh-token reuse, disabled clients,
//! expired and expired-old secrets, `prompt=none` without a session, mix-up (`iss`), and the
//! separation of Workspace tokens from API-client tokens.

use openidconnect::PkceCodeChallenge;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::workspace_clients::ClientType;

use crate::support::{Env, db_test, location, oauth_error, web_client};
use crate::workspace_sign_in::{REDIRECT, apps, query_value, through_sign_in, workspace_client};

/// An authorization URL of `client_id` with `extra` parameters.
fn authorize_url(env: &Env, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&env.url("/core/connect/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "s1");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// A code for `client_id` through a signed-in browser, with its PKCE verifier.
async fn code_for(env: &Env, client_id: &str) -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = authorize_url(
        env,
        client_id,
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = through_sign_in(env, &web_client(), &url).await;
    (
        query_value(&back, "code").expect("code"),
        verifier.secret().clone(),
    )
}

async fn exchange(env: &Env, form: &[(&str, &str)]) -> reqwest::Response {
    env.http
        .post(env.url("/core/connect/token"))
        .form(form)
        .send()
        .await
        .expect("token request")
}

async fn userinfo(env: &Env, token: &str) -> u16 {
    env.http
        .get(env.url("/core/connect/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo")
        .status()
        .as_u16()
}

db_test! {
    async fn the_client_and_its_redirect_uri_are_checked_before_anything_is_redirected(env) {
        let apps = apps(&env).await;
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
        let mut evil = url::Url::parse(&authorize_url(&env, &apps.public_id, &pkce)).expect("url");
        let query: Vec<(String, String)> = evil.query_pairs().map(|(k, v)| {
            let value = if k == "redirect_uri" { "https://evil.example/cb".to_owned() } else { v.into_owned() };
            (k.into_owned(), value)
        }).collect();
        evil.query_pairs_mut().clear().extend_pairs(&query);
        for (what, url) in [
            ("unregistered redirect URI", evil.to_string()),
            ("prefix of a registered one", authorize_url(&env, &apps.public_id, &pkce).replace("callback", "callbac")),
            ("unknown client", authorize_url(&env, "no-such-client", &pkce)),
        ] {
            let response = env.http.get(&url).send().await.expect("authorize");
            assert_eq!(response.status(), 400, "{what}");
            assert!(response.headers().get("location").is_none(), "{what}: never redirected");
            assert!(response.text().await.expect("page").contains("cannot go on"), "{what}: an error page");
        }
        let (disabled, _) = workspace_client(&env, ClientType::Public, false).await;
        let name = env.directory().list_workspace_clients(&Actor::operator(), "acme").await.expect("list")
            .into_iter().find(|c| c.client_id == disabled).expect("client").name;
        env.directory().set_workspace_client_enabled(&Actor::operator(), "acme", &name, false).await.expect("disabled");
        let response = env.http.get(authorize_url(&env, &disabled, &pkce)).send().await.expect("authorize");
        assert_eq!(response.status(), 400, "a disabled client gets a page");
        assert!(response.headers().get("location").is_none());

        // From here on the redirect URI is genuine: errors go back, with state and iss.
        for (what, extra, error) in [
            ("no PKCE for a public client", vec![], "invalid_request"),
            ("plain PKCE", vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], "invalid_request"),
            ("PKCE without a method (plain by default)", vec![("code_challenge", challenge.as_str())], "invalid_request"),
            ("unknown scope", vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("scope", "openid admin")], "invalid_scope"),
            ("implicit flow", vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("response_type", "token")], "unsupported_response_type"),
            ("prompt=none without a session", vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("prompt", "none")], "login_required"),
        ] {
            let mut url = url::Url::parse(&authorize_url(&env, &apps.public_id, &[])).expect("url");
            let mut pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).collect();
            pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            url.query_pairs_mut().clear().extend_pairs(&pairs);
            let response = env.http.get(url.as_str()).send().await.expect("authorize");
            assert_eq!(response.status(), 303, "{what}");
            let to = location(&response);
            assert!(to.starts_with(REDIRECT), "{what}: {to}");
            assert_eq!(query_value(to, "error").as_deref(), Some(error), "{what}");
            assert_eq!(query_value(to, "state").as_deref(), Some("s1"), "{what}");
            assert_eq!(query_value(to, "iss"), Some(env.url("/core")), "{what}: mix-up defence");
        }
    }
}

db_test! {
    async fn codes_work_once_for_their_client_with_their_verifier_and_replay_revokes(env) {
        let apps = apps(&env).await;
        let public = apps.public_id.as_str();
        // Wrong verifier: refused, and the code is spent.
        let (code, verifier) = code_for(&env, public).await;
        let wrong = "x".repeat(43);
        for form in [
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", public)],
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", public), ("code_verifier", wrong.as_str())],
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", public), ("code_verifier", verifier.as_str())],
        ] {
            let (status, body) = oauth_error(exchange(&env, &form).await).await;
            assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{form:?}");
        }

        // Another client presenting the code gets nothing.
        let (code, verifier) = code_for(&env, public).await;
        let stolen = env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&apps.private_secret))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", verifier.as_str())])
            .send().await.expect("token");
        let (status, body) = oauth_error(stolen).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

        // Replay: the second use fails and revokes what the first gave.
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", public), ("code_verifier", verifier.as_str())];
        let first = exchange(&env, &form).await;
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()["cache-control"], "no-store");
        let tokens: serde_json::Value = first.json().await.expect("json");
        assert!(tokens["expires_in"].is_number(), "expires_in is a number here: {tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        let access = tokens["access_token"].as_str().expect("access token");
        assert_eq!(userinfo(&env, access).await, 200);
        let (status, body) = oauth_error(exchange(&env, &form).await).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(userinfo(&env, access).await, 401, "the replay revoked the access token");
        let refresh = tokens["refresh_token"].as_str().expect("refresh token");
        let (status, _) = oauth_error(exchange(&env, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", public)]).await).await;
        assert_eq!(status, 400, "and its refresh token");

        // A code lives 60 seconds.
        let (code, verifier) = code_for(&env, public).await;
        env.clock.advance(61);
        let (status, body) = oauth_error(exchange(&env, &[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", public), ("code_verifier", verifier.as_str())]).await).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    }
}

db_test! {
    async fn private_clients_need_a_valid_secret_and_an_enabled_client(env) {
        let apps = apps(&env).await;
        let operator = Actor::operator();
        let name = env.directory().list_workspace_clients(&operator, "acme").await.expect("list")
            .into_iter().find(|c| c.client_id == apps.private_id).expect("client").name;
        let redeem = |secret: String| {
            let env = &env;
            let id = apps.private_id.clone();
            async move {
                let (code, verifier) = code_for(env, &id).await;
                env.http.post(env.url("/core/connect/token")).basic_auth(&id, Some(secret))
                    .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", verifier.as_str())])
                    .send().await.expect("token")
            }
        };
        assert_eq!(redeem(apps.private_secret.clone()).await.status(), 200, "PKCE is optional for a private client, and used here");
        let (status, body) = oauth_error(redeem("wrong".into()).await).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));

        let rotated = env.directory().rotate_workspace_secret(&operator, "acme", &name).await.expect("rotated");
        let (_, new) = rotated;
        assert_eq!(redeem(apps.private_secret.clone()).await.status(), 200, "the old secret works until expired");
        assert_eq!(redeem(new.clone()).await.status(), 200);
        env.directory().expire_old_workspace_secret(&operator, "acme", &name).await.expect("expired");
        assert_eq!(redeem(apps.private_secret.clone()).await.status(), 401, "not after $expireOldSecret");

        env.directory().set_workspace_client_enabled(&operator, "acme", &name, false).await.expect("disabled");
        let disabled = env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&new))
            .form(&[("grant_type", "authorization_code"), ("code", "whatever"), ("redirect_uri", REDIRECT)])
            .send().await.expect("token");
        let (status, body) = oauth_error(disabled).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")), "the seed: 400 for a disabled client");
        env.directory().set_workspace_client_enabled(&operator, "acme", &name, true).await.expect("enabled");

        env.clock.advance(91 * 86_400);
        let expired = env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&new))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "whatever")])
            .send().await.expect("token");
        assert_eq!(expired.status(), 401, "an expired secret never authenticates");
    }
}

db_test! {
    async fn workspace_and_api_client_tokens_are_not_interchangeable_and_removed_users_lose_theirs(env) {
        let apps = apps(&env).await;
        let api_token = env.token(&apps.seed.client_id, &apps.seed.secret).await;
        assert_eq!(userinfo(&env, &api_token).await, 401, "an API-client token is not accepted at userinfo");
        let (code, verifier) = code_for(&env, &apps.public_id).await;
        let tokens: serde_json::Value = exchange(&env, &[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", apps.public_id.as_str()), ("code_verifier", verifier.as_str())]).await.json().await.expect("json");
        let access = tokens["access_token"].as_str().expect("access");
        let me = env.me(&format!("CwsAuth Bearer={access}")).await;
        assert_eq!(me.status(), 401, "a Workspace token is not accepted by the API-client APIs");
        env.directory().remove_end_user(&Actor::operator(), "acme", crate::workspace_sign_in::EMAIL).await.expect("removed");
        assert_eq!(userinfo(&env, access).await, 401, "a removed user's tokens stop working");
        let refresh = tokens["refresh_token"].as_str().expect("refresh");
        let (status, _) = oauth_error(exchange(&env, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", apps.public_id.as_str())]).await).await;
        assert_eq!(status, 400);
    }
}

db_test! {
    async fn sign_in_pauses_after_too_many_wrong_passwords(env) {
        let apps = apps(&env).await;
        env.clock.stop();
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let url = authorize_url(&env, &apps.public_id, &[("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")]);
        let browser = web_client();
        let started = browser.get(&url).send().await.expect("authorize");
        let login = env.url(location(&started));
        let html = browser.get(&login).send().await.expect("login page").text().await.expect("html");
        let csrf = crate::support::csrf_of(&html);
        let interaction = query_value(&login, "interaction").expect("interaction");
        let attempt = |password: &'static str| {
            let form = [("csrf", csrf.clone()), ("interaction", interaction.clone()), ("email", crate::workspace_sign_in::EMAIL.to_owned()), ("password", password.to_owned())];
            let request = browser.post(env.url("/core/login")).form(&form);
            async move { request.send().await.expect("sign-in") }
        };
        for _ in 0..10 {
            assert_eq!(attempt("not the password").await.status(), 401);
        }
        let paused = attempt("not the password").await;
        assert_eq!(paused.status(), 429);
        assert!(paused.headers().get("retry-after").is_some());
        let right = attempt(crate::workspace_sign_in::PASSWORD).await;
        assert_eq!(right.status(), 429, "paused for the right password too, so guessing learns nothing");
        let forged = browser.post(env.url("/core/login")).form(&[("csrf", "forged"), ("interaction", interaction.as_str()), ("email", "x"), ("password", "y")]).send().await.expect("post");
        assert_eq!(forged.status(), 403, "a form without the page's token is refused");
    }
}

db_test! {
    async fn tokens_expire_access_after_its_lifetime_and_refresh_after_thirty_unused_days(env) {
        let apps = apps(&env).await;
        let (code, verifier) = code_for(&env, &apps.private_id).await;
        let tokens: serde_json::Value = env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&apps.private_secret))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", verifier.as_str())])
            .send().await.expect("token").json().await.expect("json");
        let introspect = |token: String| {
            let request = env.http.post(env.url("/core/connect/introspect")).basic_auth(&apps.private_id, Some(&apps.private_secret)).form(&[("token", token)]);
            async move { request.send().await.expect("introspect").json::<serde_json::Value>().await.expect("json") }
        };
        let access = tokens["access_token"].as_str().expect("access").to_owned();
        let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
        assert_eq!(introspect(access.clone()).await["active"], true);
        let public = env.http.post(env.url("/core/connect/introspect")).form(&[("token", access.as_str()), ("client_id", apps.public_id.as_str())]).send().await.expect("introspect");
        assert_eq!(public.status(), 400, "a public client cannot introspect");
        env.clock.advance(3601);
        assert_eq!(introspect(access.clone()).await, serde_json::json!({"active": false}), "expired");
        let refreshed: serde_json::Value = env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&apps.private_secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("scope", "openid")])
            .send().await.expect("token").json().await.expect("json");
        assert_eq!(refreshed["scope"], "openid", "narrowed on request");
        let next = refreshed["refresh_token"].as_str().expect("rotated, even when narrowed").to_owned();
        env.clock.advance(31 * 86_400);
        assert_eq!(introspect(next.clone()).await["active"], false);
        let (status, body) = oauth_error(env.http.post(env.url("/core/connect/token")).basic_auth(&apps.private_id, Some(&apps.private_secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", next.as_str())]).send().await.expect("token")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "thirty days unused");
    }
}
