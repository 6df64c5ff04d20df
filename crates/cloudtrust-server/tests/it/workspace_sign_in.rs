//! The Workspace OpenID Connect server at `/core`, driven by an independent library (the
//! `openidconnect` crate) and by a cookie-keeping HTTP client standing in for the browser:
//! public clients with PKCE, private clients with both authentication methods, refresh with
//! rotation, userinfo, revocation, introspection, consent and end session.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenIntrospectionResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IntrospectionUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::domain::end_users::NewEndUser;
use cloudtrust_server::domain::workspace_clients::{ClientType, NewWorkspaceClient};

use crate::support::{Env, csrf_of, db_test, location, web_client};

pub const REDIRECT: &str = "http://127.0.0.1:53682/callback";
pub const LOGOUT: &str = "http://127.0.0.1:53682/signed-out";
pub const EMAIL: &str = "pat@acme.example";
pub const PASSWORD: &str = "correct horse battery";

/// The clients and the end user of a test.
pub struct Apps {
    pub seed: crate::support::Seed,
    pub public_id: String,
    pub private_id: String,
    pub private_secret: String,
}

/// A Workspace client of `acme`.
pub async fn workspace_client(
    env: &Env,
    client_type: ClientType,
    consent: bool,
) -> (String, Option<String>) {
    let created = env
        .directory()
        .create_workspace_client(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email("owner@acme.example"),
            NewWorkspaceClient {
                display_name: format!("{} app", client_type.as_str()),
                client_type,
                redirect_uris: vec![REDIRECT.to_owned()],
                post_logout_redirect_uris: vec![LOGOUT.to_owned()],
                require_user_consent: consent,
                require_pkce: false,
                allow_offline_access: true,
                owner_contact: None,
            },
        )
        .await
        .expect("client");
    (created.client.client_id, created.secret)
}

/// The seeded customer, one end user, and a public and a private client without consent.
pub async fn apps(env: &Env) -> Apps {
    let seed = env.seed().await;
    env.directory()
        .add_end_user(
            &Actor::operator(),
            "acme",
            &NewEndUser {
                email: EMAIL.into(),
                given_name: "Pat".into(),
                family_name: "Doe".into(),
            },
            PASSWORD,
        )
        .await
        .expect("end user");
    let (public_id, _) = workspace_client(env, ClientType::Public, false).await;
    let (private_id, secret) = workspace_client(env, ClientType::Private, false).await;
    Apps {
        seed,
        public_id,
        private_id,
        private_secret: secret.expect("a private client has a secret"),
    }
}

/// The value of `name` in the query of `url`.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).expect("a URL");
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows an authorization URL as a browser would, signing in (and consenting) when asked;
/// returns where the application is finally sent.
pub async fn through_sign_in(env: &Env, browser: &reqwest::Client, authorize: &str) -> String {
    let mut next = authorize.to_owned();
    for _ in 0..6 {
        if next.starts_with(REDIRECT) {
            return next;
        }
        let url = if next.starts_with('/') {
            env.url(&next)
        } else {
            next.clone()
        };
        let page = browser.get(&url).send().await.expect("page");
        if page.status().is_redirection() {
            next = location(&page).to_owned();
            continue;
        }
        assert_eq!(page.status(), 200, "{url}");
        let html = page.text().await.expect("html");
        let interaction = query_value(&url, "interaction").expect("an interaction");
        let csrf = csrf_of(&html);
        let form: Vec<(&str, &str)> = if url.contains("/core/login") {
            vec![
                ("csrf", &csrf),
                ("interaction", &interaction),
                ("email", EMAIL),
                ("password", PASSWORD),
            ]
        } else {
            assert!(
                html.contains("See your email address") || html.contains("Confirm who you are"),
                "{html}"
            );
            vec![
                ("csrf", &csrf),
                ("interaction", &interaction),
                ("decision", "allow"),
            ]
        };
        let action = if url.contains("/core/login") {
            "/core/login"
        } else {
            "/core/consent"
        };
        let posted = browser
            .post(env.url(action))
            .form(&form)
            .send()
            .await
            .expect("post");
        assert_eq!(
            posted.status(),
            303,
            "{}",
            posted.text().await.unwrap_or_default()
        );
        next = location(&posted).to_owned();
    }
    panic!("the sign-in did not end at the application: {next}");
}

pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The library's HTTP client: redirects are never followed (as `openidconnect` requires).
pub fn library_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// An `openidconnect` client configured by discovery.
pub async fn oidc_client(env: &Env, id: &str, secret: Option<&str>) -> Client {
    let issuer = IssuerUrl::new(env.url("/core")).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &library_http())
        .await
        .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).expect("redirect"))
    .set_revocation_url(RevocationUrl::new(env.url("/core/connect/revocation")).expect("url"))
    .set_introspection_url(IntrospectionUrl::new(env.url("/core/connect/introspect")).expect("url"))
}

db_test! {
    async fn a_public_client_signs_in_with_pkce_and_its_refresh_tokens_rotate(env) {
        let apps = apps(&env).await;
        let http = library_http();
        let client = oidc_client(&env, &apps.public_id, None).await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .add_scope(Scope::new("wsp".into()))
            .set_pkce_challenge(challenge)
            .url();
        let browser = web_client();
        let back = through_sign_in(&env, &browser, url.as_str()).await;
        assert_eq!(query_value(&back, "state").as_deref(), Some(state.secret().as_str()));
        assert_eq!(query_value(&back, "iss"), Some(env.url("/core")), "RFC 9207: the issuer names itself");
        let code = query_value(&back, "code").expect("a code");

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("the code is exchanged");
        let id_token = tokens.id_token().expect("an ID token");
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &nonce).expect("the ID token verifies, nonce included");
        assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
        assert_eq!(claims.email_verified(), Some(true));
        assert_eq!(claims.given_name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("Pat"));
        assert!(claims.auth_time().is_some());
        let expected = AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().expect("alg"), id_token.signing_key(&verifier).expect("key")).expect("hash");
        assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash binds the access token");
        assert!(tokens.expires_in().is_some_and(|d| d.as_secs() > 0));

        let header = crate::support::unverified_claims(tokens.access_token().secret());
        assert_eq!(header["client_id"], apps.public_id.as_str());
        assert_eq!(header["customer"], "acme");
        assert!(header["scope"].as_str().expect("scope").contains("wsp"));

        let info: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .expect("userinfo endpoint")
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));
        assert_eq!(info.subject(), claims.subject());

        let first = tokens.refresh_token().expect("a refresh token with offline_access").clone();
        let rotated = client.exchange_refresh_token(&first).expect("endpoint").request_async(&http).await.expect("refresh");
        let second = rotated.refresh_token().expect("a new refresh token").clone();
        assert_ne!(second.secret(), first.secret(), "each refresh rotates the token");
        let again = client.exchange_refresh_token(&first).expect("endpoint").request_async(&http).await;
        assert!(format!("{again:?}").contains("invalid_grant"), "a spent refresh token is refused: {again:?}");
        let family = client.exchange_refresh_token(&second).expect("endpoint").request_async(&http).await;
        assert!(family.is_err(), "reuse revoked the whole family, the newest token too");
        let revoked: Result<CoreUserInfoClaims, _> = client.user_info(rotated.access_token().clone(), None).expect("endpoint").request_async(&http).await;
        assert!(revoked.is_err(), "access tokens of a revoked family are refused at userinfo");
    }
}

db_test! {
    async fn a_private_client_authenticates_both_ways_introspects_revokes_and_ends_the_session(env) {
        let apps = apps(&env).await;
        let http = library_http();
        for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
            let client = oidc_client(&env, &apps.private_id, Some(&apps.private_secret)).await.set_auth_type(auth_type.clone());
            let (url, _, nonce) = client
                .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
                .add_scope(Scope::new("offline_access".into()))
                .url();
            let browser = web_client();
            let back = through_sign_in(&env, &browser, url.as_str()).await;
            let code = query_value(&back, "code").expect("a code");
            let tokens = client.exchange_code(AuthorizationCode::new(code)).expect("endpoint").request_async(&http).await
                .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
            let id_token = tokens.id_token().expect("id token");
            id_token.claims(&client.id_token_verifier(), &nonce).expect("verifies");

            let introspected: CoreTokenIntrospectionResponse = client.introspect(tokens.access_token()).request_async(&http).await.expect("introspection");
            assert!(introspected.active());
            assert_eq!(introspected.client_id().map(|c| c.as_str()), Some(apps.private_id.as_str()));
            let refresh = tokens.refresh_token().expect("refresh token").clone();
            let introspected = client.introspect(&AccessToken::new(refresh.secret().clone())).request_async(&http).await.expect("introspection");
            assert!(introspected.active(), "the refresh token is active");

            // `oauth2` sends revocations only over HTTPS (RFC 7009 §2); the request by hand.
            let revoked = env.http.post(env.url("/core/connect/revocation"))
                .basic_auth(&apps.private_id, Some(&apps.private_secret))
                .form(&[("token", refresh.secret().as_str()), ("token_type_hint", "refresh_token")])
                .send().await.expect("revocation");
            assert_eq!(revoked.status(), 200);
            let after = client.introspect(&AccessToken::new(refresh.secret().clone())).request_async(&http).await.expect("introspection");
            assert!(!after.active(), "a revoked refresh token is inactive");
            let after = client.introspect(tokens.access_token()).request_async(&http).await.expect("introspection");
            assert!(!after.active(), "revoking the refresh token revoked its family's access tokens");

            // RP-initiated logout: back to the registered URI with the state, session ended.
            let hint = id_token.to_string();
            let mut end = url::Url::parse(&env.url("/core/connect/endsession")).expect("url");
            end.query_pairs_mut().extend_pairs([("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", LOGOUT), ("state", "bye")]);
            let out = browser.get(end.as_str()).send().await.expect("endsession");
            assert_eq!(out.status(), 303);
            assert_eq!(location(&out), format!("{LOGOUT}?state=bye"));
            let (url, state, _) = client
                .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
                .add_extra_param("prompt", "none")
                .url();
            let silent = browser.get(url.as_str()).send().await.expect("authorize");
            let to = location(&silent).to_owned();
            assert!(to.starts_with(REDIRECT), "{to}");
            assert_eq!(query_value(&to, "error").as_deref(), Some("login_required"), "the session ended");
            assert_eq!(query_value(&to, "state").as_deref(), Some(state.secret().as_str()));
        }
    }
}

db_test! {
    async fn discovery_names_every_endpoint_and_citrix_discovery_needs_an_application_id(env) {
        let apps = apps(&env).await;
        let document: serde_json::Value = env.http.get(env.url("/core/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
        let issuer = env.url("/core");
        assert_eq!(document["issuer"], issuer.as_str());
        for (key, path) in [
            ("authorization_endpoint", "/connect/authorize"), ("token_endpoint", "/connect/token"),
            ("userinfo_endpoint", "/connect/userinfo"), ("jwks_uri", "/.well-known/openid-configuration/jwks"),
            ("revocation_endpoint", "/connect/revocation"), ("introspection_endpoint", "/connect/introspect"),
            ("end_session_endpoint", "/connect/endsession"),
        ] {
            assert_eq!(document[key], format!("{issuer}{path}"), "{key}");
        }
        assert_eq!(document["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(document["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(document["authorization_response_iss_parameter_supported"], true);
        let jwks: serde_json::Value = env.http.get(env.url("/core/.well-known/openid-configuration/jwks")).send().await.expect("jwks").json().await.expect("json");
        assert!(!jwks["keys"].as_array().expect("keys").is_empty());

        let discovery = |app: Option<&str>, customer: &str| {
            let mut request = env.http.get(env.url("/citrixapi/discovery/configurations")).header("Citrix-CustomerId", customer);
            if let Some(app) = app {
                request = request.header("Citrix-ApplicationId", app);
            }
            request.send()
        };
        assert_eq!(discovery(None, "acme").await.expect("request").status(), 401);
        assert_eq!(discovery(Some("no-such-app"), "acme").await.expect("request").status(), 403);
        assert_eq!(discovery(Some(&apps.public_id), "other").await.expect("request").status(), 403);
        let found: serde_json::Value = discovery(Some(&apps.public_id), "acme").await.expect("request").json().await.expect("json");
        assert_eq!(found["customerId"], "acme");
        let endpoints = found["services"][0]["endpoints"].as_array().expect("endpoints");
        assert!(endpoints.iter().any(|e| e["id"] == "token" && e["url"] == format!("{issuer}/connect/token")));
        let by_query = env.http.get(env.url(&format!("/citrixapi/discovery/configurations?ApplicationId={}", apps.public_id))).header("Citrix-CustomerId", "acme").send().await.expect("request");
        assert_eq!(by_query.status(), 200);
        let by_host = env.http.get(env.url("/citrixapi/discovery/configurations")).header("Host", "acme.cloud.com").header("Citrix-ApplicationId", apps.public_id.as_str()).send().await.expect("request");
        assert_eq!(by_host.status(), 200, "the customer from a {{customer}}.cloud.com host");

        // An application id PostgreSQL cannot hold (a NUL) is bad input there and no client
        // on SQLite: either way an answer the document lists.
        let odd = env.http.get(env.url("/citrixapi/discovery/configurations?ApplicationId=app%00")).header("Citrix-CustomerId", "acme").send().await.expect("request");
        let status = odd.status().as_u16().to_string();
        let document: serde_json::Value = env.http.get(env.url("/openapi.json")).send().await.expect("request").json().await.expect("json");
        assert!(document["paths"]["/citrixapi/discovery/configurations"]["get"]["responses"][&status].is_object(), "{status} is documented");
    }
}

db_test! {
    async fn consent_is_asked_once_remembered_and_can_be_withdrawn(env) {
        apps(&env).await;
        let (client_id, _) = workspace_client(&env, ClientType::Public, true).await;
        let http = library_http();
        let client = oidc_client(&env, &client_id, None).await;
        let authorize = |prompt: Option<&str>| {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let mut request = client
                .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
                .add_scope(Scope::new("email".into()))
                .add_scope(Scope::new("offline_access".into()))
                .set_pkce_challenge(challenge);
            if let Some(prompt) = prompt {
                request = request.add_extra_param("prompt", prompt);
            }
            (request.url().0.to_string(), verifier)
        };
        let browser = web_client();
        let (url, verifier) = authorize(None);
        let first = browser.get(&url).send().await.expect("authorize");
        let login = location(&first).to_owned();
        assert!(login.starts_with("/core/login?interaction="), "{login}");
        let back = through_sign_in(&env, &browser, &url).await;
        let code = query_value(&back, "code").expect("code after consent");
        let tokens = client.exchange_code(AuthorizationCode::new(code)).expect("endpoint").set_pkce_verifier(verifier).request_async(&http).await.expect("tokens");

        // Signed in and consented: straight back with a code, no page.
        let (url, _) = authorize(None);
        let direct = browser.get(&url).send().await.expect("authorize");
        assert!(location(&direct).starts_with(REDIRECT), "remembered: {}", location(&direct));
        // prompt=consent asks again; prompt=none never shows a page.
        let (url, _) = authorize(Some("consent"));
        let asked = browser.get(&url).send().await.expect("authorize");
        assert!(location(&asked).starts_with("/core/consent?interaction="), "{}", location(&asked));
        let page = browser.get(env.url(location(&asked))).send().await.expect("consent page").text().await.expect("html");
        assert!(page.contains("See your email address") && page.contains("Stay signed in"), "scopes in words: {page}");

        // An administrator withdraws it on the console's Users page.
        crate::console::with_password(&env, "acme", "owner@acme.example").await;
        let (console, csrf) = crate::console::signed_in(&env, "owner@acme.example").await;
        let user = env.directory().list_end_users(&Actor::operator(), "acme").await.expect("users").remove(0);
        let withdrawn = console.post(env.url(&format!("/console/iam/users/{}/withdraw-consent", user.id))).form(&[("csrf", csrf.as_str())]).send().await.expect("withdraw");
        assert_eq!(withdrawn.status(), 200);
        let html = withdrawn.text().await.expect("html");
        assert!(html.contains(&format!("The consent of {EMAIL} to {client_id} is withdrawn")), "{html}");
        let log = env.directory().read_system_log(&Actor::operator(), "acme", (0, i64::MAX), &cloudtrust_server::domain::paging::PageRequest { continuation: None, limit: 100 }).await.expect("log").0;
        assert!(log.items.iter().any(|e| e.event_type == "platform/workspaceuser/consent/withdraw"));
        let refreshed = client.exchange_refresh_token(tokens.refresh_token().expect("refresh")).expect("endpoint").request_async(&http).await;
        assert!(refreshed.is_err(), "withdrawing consent revoked the refresh token");
        let (url, _) = authorize(Some("none"));
        let silent = browser.get(&url).send().await.expect("authorize");
        assert_eq!(query_value(location(&silent), "error").as_deref(), Some("consent_required"));

        // Deny sends access_denied back.
        let (url, _) = authorize(None);
        let asked = browser.get(&url).send().await.expect("authorize");
        let consent_url = env.url(location(&asked));
        let html = browser.get(&consent_url).send().await.expect("page").text().await.expect("html");
        let interaction = query_value(&consent_url, "interaction").expect("interaction");
        let denied = browser.post(env.url("/core/consent")).form(&[("csrf", csrf_of(&html).as_str()), ("interaction", interaction.as_str()), ("decision", "deny")]).send().await.expect("deny");
        assert_eq!(query_value(location(&denied), "error").as_deref(), Some("access_denied"));
    }
}
