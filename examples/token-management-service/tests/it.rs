//! The service against a real cloudtrust server (in-process, on a fresh SQLite database),
//! driven as a browser drives it: a cookie-keeping HTTP client that follows redirects by hand
//! and keeps everything it was sent, so that the test can tell what reached the browser.

use std::sync::Arc;
use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::end_users::NewEndUser;
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::domain::workspace_clients::{ClientType, NewWorkspaceClient};
use cloudtrust_server::keys::rotation;
use cloudtrust_server::{Foundation, RunningServer, SystemClock};
use reqwest::StatusCode;
use token_management_service::Config;
use url::Url;

const CUSTOMER: &str = "acme";
const ADMIN: &str = "owner@acme.example";
const EMAIL: &str = "pat@acme.example";
const PASSWORD: &str = "correct horse battery";
/// The server's access-token lifetime: short, so that the test sees tokens expire.
const ACCESS_LIFETIME: Duration = Duration::from_secs(4);
/// How long before expiry the service refreshes, in the test.
const REFRESH_MARGIN: Duration = Duration::from_secs(2);

/// A cloudtrust server with a customer, its Full administrator and an end user.
struct Server {
    server: RunningServer,
    config: cloudtrust_server::Config,
    // Dropped last: the database outlives the server.
    _data_dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let config = cloudtrust_server::Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(format!(
                "sqlite://{}/cloudtrust.db?mode=rwc",
                data_dir.path().display()
            )),
            token_lifetime_secs: ACCESS_LIFETIME.as_secs(),
            ..cloudtrust_server::Config::default()
        };
        let server = RunningServer::start(config.clone(), Arc::new(SystemClock))
            .await
            .expect("server starts");
        let directory = server.directory();
        let operator = Actor::operator();
        directory
            .create_customer(&operator, Some(CUSTOMER), "Acme", Region::Us)
            .await
            .expect("customer");
        directory
            .add_administrator(
                &operator,
                CUSTOMER,
                NewAdministrator::with_email(ADMIN, None, Access::Full),
            )
            .await
            .expect("administrator");
        let user = NewEndUser {
            email: EMAIL.to_owned(),
            given_name: "Pat".to_owned(),
            family_name: "Doe".to_owned(),
        };
        directory
            .add_end_user(&operator, CUSTOMER, &user, PASSWORD)
            .await
            .expect("end user");
        Server {
            server,
            config,
            _data_dir: data_dir,
        }
    }

    fn issuer(&self) -> String {
        format!("{}/core", self.server.base_url)
    }

    /// A private Workspace client of the administrator, as `serve --dev` makes one; returns
    /// its id and secret.
    async fn private_client(&self, bff: &str, consent: bool) -> (String, String) {
        let created = self
            .server
            .directory()
            .create_workspace_client(
                &Actor::operator(),
                CUSTOMER,
                AdministratorRef::Email(ADMIN),
                NewWorkspaceClient {
                    display_name: "Token Management Service".to_owned(),
                    client_type: ClientType::Private,
                    redirect_uris: vec![format!("{bff}/callback")],
                    post_logout_redirect_uris: vec![format!("{bff}/")],
                    require_user_consent: consent,
                    require_pkce: true,
                    allow_offline_access: true,
                    owner_contact: None,
                },
            )
            .await
            .expect("client");
        (created.client.client_id, created.secret.expect("a secret"))
    }

    /// Replaces the server's signing key (as `cloudtrust keys rotate` does) and waits until
    /// the server publishes the new one; returns its key id.
    async fn rotate_signing_key(&self) -> String {
        let foundation = Foundation::open(self.config.clone(), Arc::new(SystemClock))
            .await
            .expect("foundation");
        let algorithm = foundation.config.signing_algorithm;
        let new = rotation::rotate(
            &foundation.store,
            &foundation.kek,
            algorithm,
            &SystemClock,
            60,
        )
        .await
        .expect("rotated");
        let jwks = format!("{}/.well-known/openid-configuration/jwks", self.issuer());
        for _ in 0..100 {
            let published = reqwest::get(&jwks)
                .await
                .expect("jwks")
                .text()
                .await
                .expect("body");
            if published.contains(&new.kid) {
                return new.kid;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not publish the new key {}", new.kid);
    }

    /// `SELECT COUNT(*)` of `sql` in the server's database.
    async fn count(&self, sql: &'static str) -> i64 {
        let mut conn = self.server.store().conn().await.expect("connection");
        sqlx::query_scalar(sql)
            .fetch_one(&mut *conn)
            .await
            .expect("count")
    }

    /// Refresh tokens ever issued and kept: each refresh adds one (spent ones stay, marked).
    async fn refresh_tokens_issued(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM workspace_refresh_tokens")
            .await
    }

    /// Refresh tokens that still work.
    async fn live_refresh_tokens(&self) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM workspace_refresh_tokens t JOIN workspace_grants g \
             ON g.id = t.grant_id WHERE t.used_at IS NULL AND g.revoked_at IS NULL",
        )
        .await
    }

    /// Grants not revoked.
    async fn live_grants(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM workspace_grants WHERE revoked_at IS NULL")
            .await
    }
}

/// The service running in-process, for a new private client with `consent`.
async fn start_service(server: &Server, consent: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let bff = format!("http://{}", listener.local_addr().expect("address"));
    let (id, secret) = server.private_client(&bff, consent).await;
    let mut config =
        Config::new(&server.issuer(), &id, &secret, &format!("{bff}/callback")).expect("config");
    config.refresh_margin = REFRESH_MARGIN;
    config.post_logout_redirect_uri = Some(Url::parse(&format!("{bff}/")).expect("url"));
    tokio::spawn(async move {
        if let Err(e) = token_management_service::serve(config, listener).await {
            panic!("the service stopped: {e}");
        }
    });
    bff
}

/// One response as the browser saw it.
struct Seen {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

/// A browser: keeps cookies, follows no redirect by itself, remembers all it was sent.
struct Browser {
    http: reqwest::Client,
    seen: Vec<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            seen: Vec::new(),
        }
    }

    async fn record(&mut self, response: reqwest::Response) -> Seen {
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().expect("ASCII header").to_owned())
                .collect::<Vec<_>>()
        };
        let location = header(reqwest::header::LOCATION).pop();
        let set_cookies = header(reqwest::header::SET_COOKIE);
        let body = response.text().await.expect("body");
        self.seen
            .extend(location.iter().chain(&set_cookies).cloned());
        self.seen.push(body.clone());
        Seen {
            status,
            location,
            set_cookies,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Seen {
        let response = self.http.get(url).send().await.expect("GET");
        self.record(response).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Seen {
        let response = self.http.post(url).form(form).send().await.expect("POST");
        self.record(response).await
    }

    /// Follows redirects from `url`, signing in and deciding on consent on the server's
    /// pages, until the browser is sent to an address starting with `until`; returns it.
    async fn sign_in(&mut self, url: &str, until: &str, decision: &str) -> String {
        let mut next = url.to_owned();
        for _ in 0..10 {
            if next.starts_with(until) {
                return next;
            }
            let page = self.get(&next).await;
            if page.status.is_redirection() {
                next = resolve(&next, page.location.as_deref().expect("a location"));
                continue;
            }
            assert_eq!(page.status, StatusCode::OK, "{next}: {}", page.body);
            let here = Url::parse(&next).expect("url");
            let interaction = here
                .query_pairs()
                .find(|(k, _)| k == "interaction")
                .map(|(_, v)| v.into_owned())
                .expect("an interaction");
            let csrf = csrf_of(&page.body);
            let mut form = vec![
                ("csrf", csrf.as_str()),
                ("interaction", interaction.as_str()),
            ];
            if here.path() == "/core/login" {
                form.extend([("email", EMAIL), ("password", PASSWORD)]);
            } else {
                assert_eq!(here.path(), "/core/consent", "{}", page.body);
                form.push(("decision", decision));
            }
            let action = here.join(here.path()).expect("url").to_string();
            let posted = self.post(&action, &form).await;
            assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
            next = resolve(&action, posted.location.as_deref().expect("a location"));
        }
        panic!("the sign-in did not come back to {until}: {next}");
    }
}

/// `location` taken relative to `from`.
fn resolve(from: &str, location: &str) -> String {
    Url::parse(from)
        .expect("url")
        .join(location)
        .expect("location")
        .to_string()
}

/// The anti-forgery token of the first form of a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a csrf field") + marker.len();
    let end = html[start..].find('"').expect("end of the value") + start;
    html[start..end].to_owned()
}

/// The `Set-Cookie` line setting cookie `name`, if any.
fn set_cookie<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.set_cookies
        .iter()
        .map(String::as_str)
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` line sets.
fn cookie_value(line: &str) -> &str {
    let pair = line.split(';').next().unwrap_or_default();
    pair.split_once('=').map(|(_, v)| v).unwrap_or_default()
}

/// Whether `line` carries attribute `attribute` (case-insensitively, as browsers read it).
fn has_attribute(line: &str, attribute: &str) -> bool {
    line.split(';')
        .skip(1)
        .any(|a| a.trim().eq_ignore_ascii_case(attribute))
}

/// `GET /api/me` with a browser holding no cookie but `session` (if any).
async fn me_with_session_cookie(
    bff: &str,
    session: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new().get(format!("{bff}/api/me"));
    if let Some(session) = session {
        request = request.header(reqwest::header::COOKIE, format!("tms_session={session}"));
    }
    let response = request.send().await.expect("GET /api/me");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

fn json(seen: &Seen) -> serde_json::Value {
    serde_json::from_str(&seen.body).unwrap_or_else(|e| panic!("{e}: {}", seen.body))
}

#[tokio::test]
async fn a_browser_signs_in_calls_the_api_through_refreshes_and_signs_out_without_ever_holding_a_token()
 {
    let server = Server::start().await;
    let bff = start_service(&server, false).await;
    let mut browser = Browser::new();

    let home = browser.get(&format!("{bff}/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body.contains("href=\"/login\"") && home.body.contains("Sign in"),
        "{}",
        home.body
    );

    let login = browser.get(&format!("{bff}/login")).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let authorize = login.location.clone().expect("to the server");
    assert!(
        authorize.starts_with(&format!("{}/connect/authorize?", server.issuer())),
        "{authorize}"
    );
    let request = Url::parse(&authorize).expect("url");
    let param = |name: &str| {
        request
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert!(
        param("code_challenge").is_some() && param("state").is_some() && param("nonce").is_some()
    );
    assert_eq!(
        param("scope").as_deref(),
        Some("openid profile email offline_access")
    );
    let pending = set_cookie(&login, "tms_login").expect("the sign-in cookie");
    assert!(
        has_attribute(pending, "HttpOnly") && has_attribute(pending, "SameSite=Lax"),
        "{pending}"
    );
    assert!(pending.contains("Max-Age="), "short-lived: {pending}");

    let back = browser
        .sign_in(&authorize, &format!("{bff}/callback"), "allow")
        .await;
    let callback = browser.get(&back).await;
    assert_eq!(callback.status, StatusCode::SEE_OTHER, "{}", callback.body);
    assert_eq!(callback.location.as_deref(), Some("/"));
    let session_line = set_cookie(&callback, "tms_session")
        .expect("the session cookie")
        .to_owned();
    assert!(has_attribute(&session_line, "HttpOnly"), "{session_line}");
    assert!(
        has_attribute(&session_line, "SameSite=Lax"),
        "{session_line}"
    );
    assert!(
        !has_attribute(&session_line, "Secure"),
        "plain HTTP on loopback: {session_line}"
    );
    let session = cookie_value(&session_line).to_owned();
    assert!(session.len() >= 43, "a random id of 256 bits: {session}");
    assert_eq!(
        server.refresh_tokens_issued().await,
        1,
        "the code exchange gave a refresh token"
    );

    let home = browser.get(&format!("{bff}/")).await;
    assert!(
        home.body.contains(EMAIL) && home.body.contains("Pat Doe"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("action=\"/logout\"") && home.body.contains("/api/me"),
        "{}",
        home.body
    );

    let me = browser.get(&format!("{bff}/api/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(json(&me)["email"], EMAIL);
    assert_eq!(
        server.refresh_tokens_issued().await,
        1,
        "a fresh access token is not refreshed"
    );

    // Within the refresh margin of its expiry, the access token is replaced before use, and
    // concurrent calls of the session share a single refresh (a second use of the spent
    // refresh token would revoke the whole family).
    tokio::time::sleep(ACCESS_LIFETIME - REFRESH_MARGIN + Duration::from_millis(800)).await;
    let calls = (0..4).map(|_| browser.http.get(format!("{bff}/api/me")).send());
    for response in concurrently(calls).await {
        let response = response.expect("GET /api/me");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.expect("body");
        browser.seen.push(body.clone());
        let claims: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(claims["email"], EMAIL);
    }
    assert_eq!(
        server.refresh_tokens_issued().await,
        2,
        "one refresh for the four calls"
    );
    assert_eq!(
        server.live_refresh_tokens().await,
        1,
        "the rotated refresh token is live"
    );
    let me = browser.get(&format!("{bff}/api/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        server.refresh_tokens_issued().await,
        2,
        "the new access token is used as is"
    );

    // Once it has expired, too.
    tokio::time::sleep(ACCESS_LIFETIME + Duration::from_millis(500)).await;
    let me = browser.get(&format!("{bff}/api/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(json(&me)["email"], EMAIL);
    assert_eq!(
        server.refresh_tokens_issued().await,
        3,
        "refreshed after expiry"
    );
    assert_eq!(server.live_grants().await, 1);

    let (status, body) = me_with_session_cookie(&bff, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "not_signed_in");
    let (status, _) = me_with_session_cookie(&bff, Some("made-up")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = me_with_session_cookie(&bff, Some(&session)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session cookie alone is the session"
    );

    for seen in &browser.seen {
        assert!(!seen.contains("eyJ"), "a JWT reached the browser: {seen}");
    }

    let logout = browser.post(&format!("{bff}/logout"), &[]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    let cleared = set_cookie(&logout, "tms_session").expect("the session cookie is cleared");
    assert!(
        cleared.contains("Max-Age=0") && cookie_value(cleared).is_empty(),
        "{cleared}"
    );
    for seen in logout.set_cookies.iter().chain([&logout.body]) {
        assert!(!seen.contains("eyJ"), "a JWT reached the browser: {seen}");
    }
    assert_eq!(
        server.live_refresh_tokens().await,
        0,
        "the refresh token is revoked"
    );
    assert_eq!(server.live_grants().await, 0, "and with it the grant");
    let (status, _) = me_with_session_cookie(&bff, Some(&session)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session is gone from the server"
    );
    let me = browser.get(&format!("{bff}/api/me")).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    // RP-initiated logout: the ID token goes to the server as the hint, and the server sends
    // the browser back to the registered address.
    let end = logout
        .location
        .clone()
        .expect("to the end-session endpoint");
    let end_url = Url::parse(&end).expect("url");
    assert_eq!(
        end_url.as_str().split('?').next(),
        Some(format!("{}/connect/endsession", server.issuer()).as_str())
    );
    let hint = end_url.query_pairs().find(|(k, _)| k == "id_token_hint");
    assert!(hint.is_some_and(|(_, v)| v.starts_with("eyJ")), "{end}");
    let ended = browser.get(&end).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    assert_eq!(ended.location.as_deref(), Some(format!("{bff}/").as_str()));
    let home = browser.get(&format!("{bff}/")).await;
    assert!(home.body.contains("You are not signed in"), "{}", home.body);
}

/// Runs the futures of `calls` concurrently.
async fn concurrently<F>(calls: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = calls.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.expect("task"));
    }
    outputs
}

/// A browser signed in to the service at `bff`.
async fn signed_in_browser(bff: &str) -> Browser {
    let mut browser = Browser::new();
    let login = browser.get(&format!("{bff}/login")).await;
    let authorize = login.location.clone().expect("to the server");
    let back = browser
        .sign_in(&authorize, &format!("{bff}/callback"), "allow")
        .await;
    let callback = browser.get(&back).await;
    assert_eq!(callback.status, StatusCode::SEE_OTHER, "{}", callback.body);
    assert_eq!(callback.location.as_deref(), Some("/"));
    browser
}

#[tokio::test]
async fn after_the_server_rotates_its_signing_key_the_service_reads_the_new_one() {
    let server = Server::start().await;
    let bff = start_service(&server, false).await;
    let mut before = signed_in_browser(&bff).await;
    let kid = server.rotate_signing_key().await;

    let mut after = signed_in_browser(&bff).await;
    let me = after.get(&format!("{bff}/api/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        json(&me)["email"],
        EMAIL,
        "signed in with an ID token of key {kid}"
    );
    let me = before.get(&format!("{bff}/api/me")).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "a session from before goes on: {}",
        me.body
    );
}

#[tokio::test]
async fn a_denied_consent_a_foreign_state_and_a_stray_callback_get_an_error_page() {
    let server = Server::start().await;
    let bff = start_service(&server, true).await;

    let mut browser = Browser::new();
    let login = browser.get(&format!("{bff}/login")).await;
    let authorize = login.location.clone().expect("to the server");
    let back = browser
        .sign_in(&authorize, &format!("{bff}/callback"), "deny")
        .await;
    assert!(back.contains("error=access_denied"), "{back}");
    let denied = browser.get(&back).await;
    assert_eq!(denied.status, StatusCode::BAD_REQUEST);
    assert!(denied.body.contains("access was denied"), "{}", denied.body);
    assert!(set_cookie(&denied, "tms_session").is_none());

    let login = browser.get(&format!("{bff}/login")).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let foreign = format!("{bff}/callback?code=abc&state=not-mine");
    assert_error_page(&browser.get(&foreign).await, "state does not match");
    // The sign-in was spent by the first answer.
    assert_error_page(&browser.get(&foreign).await, "not started in this browser");
    let stray = format!("{bff}/callback?code=abc&state=x");
    assert_error_page(
        &Browser::new().get(&stray).await,
        "not started in this browser",
    );
    let (status, _) = me_with_session_cookie(&bff, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Asserts that `page` is an error page (`400`) saying `text`.
fn assert_error_page(page: &Seen, text: &str) {
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains(text), "{text}: {}", page.body);
}

#[test]
fn without_its_environment_the_service_says_what_is_missing_and_exits_with_2() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_token-management-service"))
        .env_clear()
        .env("WORKSPACE_ISSUER", "http://127.0.0.1:8080/core")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WORKSPACE_CLIENT_ID, WORKSPACE_CLIENT_SECRET, WORKSPACE_REDIRECT_URI"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
