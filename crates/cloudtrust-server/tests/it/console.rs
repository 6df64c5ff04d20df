//! The web console and the developer portal over plain HTTP: sessions, anti-forgery tokens,
//! lock-out, and permissions enforced by the server whatever the page offers.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, SYSTEM_LOG};

use crate::support::{Env, csrf_of, db_test, location, node_url, web_client};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// Gives `email` of `customer` the console password [`PASSWORD`].
pub(crate) async fn with_password(env: &Env, customer: &str, email: &str) {
    env.directory()
        .set_password(
            &Actor::operator(),
            customer,
            AdministratorRef::Email(email),
            PASSWORD,
        )
        .await
        .expect("password set");
}

/// Adds an administrator of `acme` with `access` and [`PASSWORD`].
pub(crate) async fn add_administrator(env: &Env, email: &str, access: Access) {
    env.directory()
        .add_administrator(
            &Actor::operator(),
            "acme",
            NewAdministrator::with_email(email, None, access),
        )
        .await
        .expect("administrator");
    with_password(env, "acme", email).await;
}

/// Posts the sign-in form from a fresh sign-in page.
async fn sign_in(
    env: &Env,
    web: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = web
        .get(env.url("/console/signin"))
        .send()
        .await
        .expect("sign-in page");
    let csrf = csrf_of(&page.text().await.expect("html"));
    web.post(env.url("/console/signin"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign-in")
}

/// A client signed in as `email`, and the session's anti-forgery token.
pub(crate) async fn signed_in(env: &Env, email: &str) -> (reqwest::Client, String) {
    let web = web_client();
    let response = sign_in(env, &web, email, PASSWORD).await;
    assert_eq!(response.status(), 303, "signed in");
    let page = web
        .get(env.url("/console/iam/api-access"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.expect("html"));
    (web, csrf)
}

fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

db_test! {
    async fn a_session_cookie_is_hardened_and_ends_at_sign_out(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let web = web_client();

        let home = web.get(env.url("/console")).send().await.expect("request");
        assert_eq!((home.status().as_u16(), location(&home)), (303, "/console/iam"));
        let iam = web.get(env.url("/console/iam")).send().await.expect("request");
        assert_eq!((iam.status().as_u16(), location(&iam)), (303, "/console/signin"));

        let page = web.get(env.url("/console/signin")).send().await.expect("request");
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let form_cookie = set_cookie(&page, "cloudtrust_form").to_owned();
        assert!(form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Strict"), "{form_cookie}");
        assert!(!form_cookie.contains("Secure"), "plain HTTP: no Secure flag");
        let signed = form_cookie.split(';').next().expect("pair").trim_start_matches("cloudtrust_form=").to_owned();
        let (token, tag) = signed.rsplit_once('.').expect("a signed token");
        assert!(token.len() >= 32 && !tag.is_empty());

        // A cookie planted by someone else (unsigned, or signed by another key) is refused,
        // even with a matching form field.
        for planted in [token.to_owned(), format!("{token}.AAAA"), format!("{}.{tag}", "x".repeat(43))] {
            let field = planted.split('.').next().expect("token").to_owned();
            let forged = env.http.post(env.url("/console/signin"))
                .header("Cookie", format!("cloudtrust_form={planted}"))
                .form(&[("csrf", field.as_str()), ("email", seed.admin.as_str()), ("password", PASSWORD)])
                .send().await.expect("request");
            assert_eq!(forged.status(), 403, "planted cookie {planted}");
        }

        let wrong = sign_in(&env, &web, &seed.admin, "not the password at all").await;
        assert_eq!(wrong.status(), 401);
        assert!(wrong.text().await.expect("html").contains("do not match an administrator"));
        assert!(env.directory().verify_sign_in(&seed.admin, "not the password at all").await.expect("check").is_empty());

        let response = sign_in(&env, &web, "OWNER@acme.example", PASSWORD).await;
        assert_eq!((response.status().as_u16(), location(&response)), (303, "/console/iam"));
        let session_cookie = set_cookie(&response, "cloudtrust_session").to_owned();
        assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax") && session_cookie.contains("Path=/"), "{session_cookie}");
        let session_pair = session_cookie.split(';').next().expect("pair").to_owned();

        let iam = web.get(env.url("/console/iam")).send().await.expect("request");
        assert_eq!(location(&iam), "/console/iam/administrators", "a Full administrator starts at Administrators");
        let admins = web.get(env.url("/console/iam/administrators")).send().await.expect("request");
        assert_eq!(admins.status(), 200);
        let html = admins.text().await.expect("html");
        assert!(html.contains("owner@acme.example") && html.contains("Add an administrator"));
        let csrf = csrf_of(&html);

        let forged = web.post(env.url("/console/signout")).form(&[("csrf", "forged")]).send().await.expect("request");
        assert_eq!(forged.status(), 403);
        let out = web.post(env.url("/console/signout")).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        assert_eq!((out.status().as_u16(), location(&out)), (303, "/console/signin?signed_out=1"));
        assert!(set_cookie(&out, "cloudtrust_session").contains("Max-Age=0"));

        // The old session token opens nothing any more.
        let replay = env.http.get(env.url("/console/iam/api-access")).header("Cookie", &session_pair).send().await.expect("request");
        assert_eq!((replay.status().as_u16(), location(&replay)), (303, "/console/signin?ended=1"));
    }
}

db_test! {
    async fn forms_without_the_session_token_change_nothing(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let (_, other_csrf) = signed_in(&env, &seed.admin).await;
        assert_ne!(csrf, other_csrf, "each session has its own token");
        let count = || async {
            env.directory().list_api_clients(&Actor::operator(), "acme", None, None).await.expect("clients").items.len()
        };
        let before = count().await;
        let create = |token: String, site: &'static str| {
            web.post(env.url("/console/iam/api-access"))
                .header("Sec-Fetch-Site", site)
                .form(&[("csrf", token), ("name", "forged".to_owned())])
                .send()
        };
        let missing = web.post(env.url("/console/iam/api-access")).form(&[("name", "forged")]).send().await.expect("request");
        assert_eq!(missing.status(), 403);
        assert!(missing.text().await.expect("html").contains("This form could not be accepted"));
        assert_eq!(create(other_csrf.clone(), "same-origin").await.expect("request").status(), 403, "another session's token");
        assert_eq!(create(csrf.clone(), "cross-site").await.expect("request").status(), 403, "a request from another site");
        assert_eq!(count().await, before, "nothing was created");

        let created = create(csrf.clone(), "same-origin").await.expect("request");
        assert_eq!(created.status(), 200);
        let html = created.text().await.expect("html");
        assert!(html.contains("ID and Secret have been created successfully"));
        assert_eq!(count().await, before + 1);

        let empty = web.post(env.url("/console/iam/api-access")).form(&[("csrf", csrf.as_str()), ("name", "  ")]).send().await.expect("request");
        assert_eq!(empty.status(), 400);
        assert!(empty.text().await.expect("html").contains("role=\"alert\""), "the error is shown in place");
    }
}

db_test! {
    async fn idle_and_old_sessions_end(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        env.clock.stop();
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        env.clock.advance(29 * 60);
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!(page.status(), 200, "used within the idle time");
        env.clock.advance(29 * 60);
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!(page.status(), 200, "each use restarts the idle time");
        env.clock.advance(31 * 60);
        let post = web.post(env.url("/console/iam/api-access")).form(&[("csrf", csrf.as_str()), ("name", "late")]).send().await.expect("request");
        assert_eq!(post.status(), 401);
        assert!(post.text().await.expect("html").contains("Your session has ended"));
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!(page.status(), 303);
        assert!(env.directory().list_api_clients(&Actor::operator(), "acme", None, None).await.expect("clients").items.iter().all(|c| c.name != "late"));

        // However busy, a session lasts 12 hours at most: used every 29 minutes, it serves
        // pages up to 11 h 36 min (24 uses) and ends at the first use past 12 hours.
        let (web, _) = signed_in(&env, &seed.admin).await;
        for use_number in 1..=24 {
            env.clock.advance(29 * 60);
            let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
            assert_eq!(page.status(), 200, "use {use_number}, {} minutes in: before the cap", use_number * 29);
        }
        env.clock.advance(29 * 60);
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!((page.status().as_u16(), location(&page)), (303, "/console/signin?ended=1"), "725 minutes in: past the cap");
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!(page.status(), 303, "and it stays ended");
    }
}

async fn lock_out_env(backend: crate::support::Backend) -> Option<Env> {
    Env::with(backend, |config| config.failed_attempts_per_client = 3).await
}

async fn repeated_failures_lock_sign_in(env: Env) {
    let seed = env.seed().await;
    with_password(&env, "acme", &seed.admin).await;
    add_administrator(&env, "other@acme.example", Access::Full).await;
    let web = web_client();
    for _ in 0..3 {
        assert_eq!(
            sign_in(&env, &web, &seed.admin, "wrong password guess")
                .await
                .status(),
            401
        );
    }
    let locked = sign_in(&env, &web, &seed.admin, PASSWORD).await;
    assert_eq!(
        locked.status(),
        429,
        "locked out even with the right password"
    );
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        locked
            .text()
            .await
            .expect("html")
            .contains("Too many failed sign-ins")
    );
    let other = sign_in(&env, &web, "other@acme.example", PASSWORD).await;
    assert_eq!(
        other.status(),
        303,
        "another administrator is not locked out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_sign_in_sqlite() {
    if let Some(env) = lock_out_env(crate::support::Backend::Sqlite).await {
        repeated_failures_lock_sign_in(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn repeated_failures_lock_sign_in_postgres() {
    if let Some(env) = lock_out_env(crate::support::Backend::Postgres).await {
        repeated_failures_lock_sign_in(env).await;
    }
}

db_test! {
    async fn the_server_refuses_what_the_console_does_not_offer(env) {
        env.seed().await;
        add_administrator(&env, "clients@acme.example", Access::custom([API_CLIENTS]).expect("access")).await;
        add_administrator(&env, "auditor@acme.example", Access::custom([SYSTEM_LOG]).expect("access")).await;

        let (web, csrf) = signed_in(&env, "clients@acme.example").await;
        let iam = web.get(env.url("/console/iam")).send().await.expect("request");
        assert_eq!(location(&iam), "/console/iam/api-access");
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(page.contains("Create Client") && !page.contains("href=\"/console/iam/administrators\""), "no Administrators tab");
        let admins = web.get(env.url("/console/iam/administrators")).send().await.expect("request");
        assert_eq!(admins.status(), 403);
        let invite = web.post(env.url("/console/iam/administrators"))
            .form(&[("csrf", csrf.as_str()), ("email", "sneaky@acme.example"), ("access", "full")])
            .send().await.expect("request");
        assert_eq!(invite.status(), 403);
        let owner = env.directory().get_administrator(&Actor::operator(), "acme", AdministratorRef::Email("owner@acme.example")).await.expect("owner");
        let remove = web.post(env.url(&format!("/console/iam/administrators/{}/remove", owner.id)))
            .form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        assert_eq!(remove.status(), 403);
        let everyone = env.directory().list_administrators(&Actor::operator(), "acme", None).await.expect("administrators").items;
        assert!(everyone.iter().all(|a| a.email != "sneaky@acme.example") && everyone.iter().any(|a| a.id == owner.id));

        let (web, csrf) = signed_in(&env, "auditor@acme.example").await;
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(!page.contains("Create Client") && page.contains("API Clients</strong> permission"));
        let create = web.post(env.url("/console/iam/api-access")).form(&[("csrf", csrf.as_str()), ("name", "nope")]).send().await.expect("request");
        assert_eq!(create.status(), 403);
        assert!(create.text().await.expect("html").contains("You are not allowed to do this"));
    }
}

db_test! {
    async fn an_administrator_of_several_customers_picks_one(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let operator = Actor::operator();
        env.directory().create_customer(&operator, Some("globex"), "Globex", Region::Us).await.expect("customer");
        env.directory().add_administrator(&operator, "globex", NewAdministrator::with_email(&seed.admin, None, Access::Full)).await.expect("administrator");
        with_password(&env, "globex", &seed.admin).await;

        let web = web_client();
        let response = sign_in(&env, &web, &seed.admin, PASSWORD).await;
        assert_eq!(location(&response), "/console/customers");
        let iam = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!(location(&iam), "/console/customers", "nothing before a customer is picked");
        let html = web.get(env.url("/console/customers")).send().await.expect("request").text().await.expect("html");
        assert!(html.contains("Acme") && html.contains("Globex"));
        let csrf = csrf_of(&html);
        let globex = env.directory().get_administrator(&operator, "globex", AdministratorRef::Email(&seed.admin)).await.expect("administrator");
        let stranger = env.directory().add_administrator(&operator, "globex", NewAdministrator::with_email("x@globex.example", None, Access::Full)).await.expect("administrator");
        let refused = web.post(env.url("/console/customers")).form(&[("csrf", csrf.as_str()), ("administrator", stranger.id.as_str())]).send().await.expect("request");
        assert_eq!(refused.status(), 403, "only a customer of this sign-in");
        let chosen = web.post(env.url("/console/customers")).form(&[("csrf", csrf.as_str()), ("administrator", globex.id.as_str())]).send().await.expect("request");
        assert_eq!(location(&chosen), "/console/iam");
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(page.contains("<strong id=\"customer-id\">globex</strong>") && page.contains("Switch customer"));
    }
}

db_test! {
    async fn the_portal_generates_a_token_that_works(env) {
        let seed = env.seed().await;
        let web = web_client();
        let page = web.get(env.url("/portal")).send().await.expect("request");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        assert!(html.contains("API Exploration") && html.contains("/cvadapis/me") && html.contains("Generate here"));
        let csrf = csrf_of(&html);
        let generate = |secret: String, token: String| {
            web.post(env.url("/portal/token"))
                .header("HX-Request", "true")
                .form(&[("csrf", token), ("client_id", seed.client_id.clone()), ("client_secret", secret)])
                .send()
        };
        assert_eq!(generate(seed.secret.clone(), "forged".to_owned()).await.expect("request").status(), 403);
        let wrong = generate("not-the-secret".to_owned(), csrf.clone()).await.expect("request");
        assert_eq!(wrong.status(), 400);
        assert!(wrong.text().await.expect("html").contains("The Client ID or the Secret is not right"));
        let done = generate(seed.secret.clone(), csrf.clone()).await.expect("request");
        assert_eq!(done.status(), 200);
        let fragment = done.text().await.expect("html");
        assert!(!fragment.contains("<html"), "the result alone, for the dialog");
        assert!(fragment.contains("Valid for 3600 seconds"));
        let marker = "data-authorization=\"";
        let start = fragment.find(marker).expect("authorization value") + marker.len();
        let authorization = &fragment[start..start + fragment[start..].find('"').expect("end")];
        assert!(authorization.starts_with("CwsAuth Bearer="));
        assert_eq!(env.me(authorization).await.status(), 200, "the generated value works as it is");
    }
}

db_test! {
    async fn administrators_are_invited_changed_and_removed(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let operator = Actor::operator();

        let invited = web.post(env.url("/console/iam/administrators"))
            .form(&[("csrf", csrf.as_str()), ("email", "Pat@Acme.example"), ("display_name", "Pat"), ("access", "custom"), ("permission", "API Clients"), ("permission", "Notifications")])
            .send().await.expect("request");
        assert_eq!(invited.status(), 200);
        assert!(invited.text().await.expect("html").contains("pat@acme.example is invited"));
        let pat = env.directory().get_administrator(&operator, "acme", AdministratorRef::Email("pat@acme.example")).await.expect("invited");
        assert!(pat.pending);
        assert_eq!(pat.access.permission_names(), ["API Clients", "Notifications"]);
        assert!(std::fs::read_dir(env.db.data_dir.path().join("mail")).expect("mail").count() >= 1, "the invitation is sent");

        let duplicate = web.post(env.url("/console/iam/administrators"))
            .form(&[("csrf", csrf.as_str()), ("email", "pat@acme.example"), ("access", "full")])
            .send().await.expect("request");
        assert_eq!(duplicate.status(), 409);
        let html = duplicate.text().await.expect("html");
        assert!(html.contains("role=\"alert\"") && html.contains("value=\"pat@acme.example\""), "the error in place, the input kept");

        let changed = web.post(env.url(&format!("/console/iam/administrators/{}/access", pat.id)))
            .form(&[("csrf", csrf.as_str()), ("access", "full")])
            .send().await.expect("request");
        assert_eq!(changed.status(), 200);
        assert!(changed.text().await.expect("html").contains("The access of pat@acme.example is changed"));
        let pat = env.directory().get_administrator(&operator, "acme", AdministratorRef::Id(&pat.id)).await.expect("changed");
        assert_eq!(pat.access, Access::Full);

        // The last Full administrator cannot reduce itself; the page says why.
        let owner = env.directory().get_administrator(&operator, "acme", AdministratorRef::Email(&seed.admin)).await.expect("owner");
        let refused = web.post(env.url(&format!("/console/iam/administrators/{}/access", owner.id)))
            .form(&[("csrf", csrf.as_str()), ("access", "custom"), ("permission", "API Clients")])
            .send().await.expect("request");
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.expect("html").contains("is the last Full administrator of acme"));
        let nothing = web.post(env.url(&format!("/console/iam/administrators/{}/access", owner.id)))
            .form(&[("csrf", csrf.as_str()), ("access", "sideways")])
            .send().await.expect("request");
        assert_eq!(nothing.status(), 400);

        let removed = web.post(env.url(&format!("/console/iam/administrators/{}/remove", pat.id)))
            .form(&[("csrf", csrf.as_str())])
            .send().await.expect("request");
        assert_eq!(removed.status(), 200);
        assert!(removed.text().await.expect("html").contains("pat@acme.example is removed"));
        assert!(env.directory().list_administrators(&Actor::operator(), "acme", None).await.expect("list").items.iter().all(|a| a.id != pat.id));
        let again = web.post(env.url(&format!("/console/iam/administrators/{}/remove", pat.id)))
            .form(&[("csrf", csrf.as_str())])
            .send().await.expect("request");
        assert_eq!(again.status(), 404);
    }
}

db_test! {
    async fn a_removed_administrator_is_signed_out(env) {
        env.seed().await;
        add_administrator(&env, "temp@acme.example", Access::Full).await;
        let (web, _) = signed_in(&env, "temp@acme.example").await;
        env.directory().remove_administrator(&Actor::operator(), "acme", AdministratorRef::Email("temp@acme.example")).await.expect("removed");
        let page = web.get(env.url("/console/iam/api-access")).send().await.expect("request");
        assert_eq!((page.status().as_u16(), location(&page)), (303, "/console/signin?ended=1"));
    }
}

db_test! {
    async fn a_custom_administrator_is_offered_only_what_it_may_grant(env) {
        env.seed().await;
        add_administrator(&env, "manager@acme.example", Access::custom(["Administrators", API_CLIENTS]).expect("access")).await;
        let (web, _) = signed_in(&env, "manager@acme.example").await;
        let html = web.get(env.url("/console/iam/administrators")).send().await.expect("request").text().await.expect("html");
        let owner_row = html.split("<tr data-email=\"owner@acme.example\">").nth(1).expect("owner row").split("</tr>").next().expect("row end").to_owned();
        assert!(owner_row.contains("Beyond your access") && !owner_row.contains("Remove"), "a Full administrator is beyond a custom one: {owner_row}");
        assert!(html.contains("id=\"add-full\" name=\"access\" value=\"full\" disabled"), "Full cannot be granted");
        assert!(html.contains("value=\"System Log\" disabled"), "a permission it lacks cannot be granted");
        assert!(html.contains("value=\"API Clients\">"), "one it holds can");
    }
}

db_test! {
    async fn clients_are_deleted_by_their_owner_only_and_odd_ids_are_bad_input(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        add_administrator(&env, "other@acme.example", Access::Full).await;
        let others = env.directory()
            .create_api_client(&Actor::operator(), "acme", AdministratorRef::Email("other@acme.example"), "theirs")
            .await
            .expect("client");
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let delete = |id: String| web.post(env.url(&format!("/console/iam/api-access/{id}/delete"))).form(&[("csrf", csrf.as_str())]).send();

        let refused = delete(others.client.id.clone()).await.expect("request");
        assert_eq!(refused.status(), 404, "another administrator's client is not even seen");
        assert!(env.directory().get_api_client(&Actor::operator(), "acme", &others.client.id).await.is_ok(), "still there");

        let deleted = delete(seed.client_id.clone()).await.expect("request");
        assert_eq!(deleted.status(), 200);
        assert!(deleted.text().await.expect("html").contains("The API client ci is deleted"));
        assert_eq!(env.request_token("root", &seed.client_id, &seed.secret).await.status(), 400, "its secret no longer gets tokens");

        for path in ["/console/iam/api-access/a%00b/delete", "/console/iam/administrators/%00/remove", "/console/iam/administrators/%00/access"] {
            let response = web.post(env.url(path)).form(&[("csrf", csrf.as_str()), ("access", "full")]).send().await.expect("request");
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{path}: a NUL is bad input, not an outage ({status})");
        }
    }
}

/// A client like [`web_client`] whose requests come from `address`.
fn web_client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from(address))
        .build()
        .expect("http client")
}

/// Failed sign-ins allowed per source address in [`many_emails_from_one_address_lock_it_out`].
const PER_ADDRESS: u32 = 4;

async fn many_emails_from_one_address_lock_it_out(env: Env) {
    let seed = env.seed().await;
    with_password(&env, "acme", &seed.admin).await;
    let web = web_client();
    // Each email fails once only: far under the per-email limit (10), but together they reach
    // the limit of the address.
    for n in 0..PER_ADDRESS {
        let response = sign_in(
            &env,
            &web,
            &format!("guess{n}@acme.example"),
            "wrong password guess",
        )
        .await;
        assert_eq!(response.status(), 401, "failure {n}");
    }
    let locked = sign_in(&env, &web, &seed.admin, PASSWORD).await;
    assert_eq!(
        locked.status(),
        429,
        "the address is locked out, even for an email that never failed, with its password"
    );
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        locked
            .text()
            .await
            .expect("html")
            .contains(&format!("try again in {wait} seconds")),
        "the page says how long"
    );

    let elsewhere = web_client_from([127, 0, 0, 2]);
    let response = sign_in(&env, &elsewhere, &seed.admin, PASSWORD).await;
    assert_eq!(
        (response.status().as_u16(), location(&response)),
        (303, "/console/iam"),
        "another address is not locked out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_emails_from_one_address_lock_it_out_sqlite() {
    if let Some(env) = Env::with(crate::support::Backend::Sqlite, |config| {
        config.failed_attempts_per_address = PER_ADDRESS
    })
    .await
    {
        many_emails_from_one_address_lock_it_out(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn many_emails_from_one_address_lock_it_out_postgres() {
    if let Some(env) = Env::with(crate::support::Backend::Postgres, |config| {
        config.failed_attempts_per_address = PER_ADDRESS
    })
    .await
    {
        many_emails_from_one_address_lock_it_out(env).await;
    }
}

db_test! {
    async fn a_session_started_on_one_node_serves_pages_on_another_until_signed_out_there(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let other = env.another_node().await;
        let other_url = node_url(&other);
        assert_ne!(other_url, env.base(), "requests reach the second node itself");
        let web = web_client();
        let response = sign_in(&env, &web, &seed.admin, PASSWORD).await;
        assert_eq!(response.status(), 303, "signed in on the first node");
        let session = set_cookie(&response, "cloudtrust_session").split(';').next().expect("pair").to_owned();
        // A plain client with the cookie alone, sent to either node.
        let page = |base: String, path: &'static str| {
            let request = env.http.get(format!("{base}{path}")).header("Cookie", &session);
            async move { request.send().await.expect("request") }
        };

        let on_other = page(other_url.clone(), "/console/iam/api-access").await;
        assert_eq!(on_other.status(), 200, "the other node serves the session");
        let html = on_other.text().await.expect("html");
        assert!(html.contains("<strong id=\"customer-id\">acme</strong>"), "as the same administrator and customer");
        let csrf = csrf_of(&html);
        assert_eq!(page(env.base().to_owned(), "/console/iam/api-access").await.status(), 200, "and the first still does");

        let out = env.http.post(format!("{other_url}/console/signout"))
            .header("Cookie", &session)
            .form(&[("csrf", csrf.as_str())])
            .send().await.expect("request");
        assert_eq!((out.status().as_u16(), location(&out)), (303, "/console/signin?signed_out=1"), "signed out on the other node");

        let on_first = page(env.base().to_owned(), "/console/iam/api-access").await;
        assert_eq!((on_first.status().as_u16(), location(&on_first)), (303, "/console/signin?ended=1"), "the sign-out ended it on the first node too");
        let on_other = page(other_url.clone(), "/console/iam/api-access").await;
        assert_eq!(on_other.status(), 303);
        other.stop().await.expect("stop");
    }
}

async fn sessions_end_after_console_idle_minutes(env: Env) {
    let seed = env.seed().await;
    with_password(&env, "acme", &seed.admin).await;
    env.clock.stop();
    let (web, csrf) = signed_in(&env, &seed.admin).await;
    let api_access = || async {
        web.get(env.url("/console/iam/api-access"))
            .send()
            .await
            .expect("request")
    };
    env.clock.advance(4 * 60);
    assert_eq!(api_access().await.status(), 200, "used within 5 minutes");
    env.clock.advance(4 * 60 + 50);
    assert_eq!(
        api_access().await.status(),
        200,
        "each use restarts the 5 minutes"
    );
    env.clock.advance(5 * 60 + 10);
    let post = web
        .post(env.url("/console/iam/api-access"))
        .form(&[("csrf", csrf.as_str()), ("name", "late")])
        .send()
        .await
        .expect("request");
    assert_eq!(post.status(), 401, "5 minutes and 10 seconds unused: ended");
    assert!(
        post.text()
            .await
            .expect("html")
            .contains("Your session has ended")
    );
    let page = api_access().await;
    assert_eq!(
        (page.status().as_u16(), location(&page)),
        (303, "/console/signin?ended=1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_after_console_idle_minutes_sqlite() {
    if let Some(env) = Env::with(crate::support::Backend::Sqlite, |config| {
        config.console_idle_minutes = 5
    })
    .await
    {
        sessions_end_after_console_idle_minutes(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn sessions_end_after_console_idle_minutes_postgres() {
    if let Some(env) = Env::with(crate::support::Backend::Postgres, |config| {
        config.console_idle_minutes = 5
    })
    .await
    {
        sessions_end_after_console_idle_minutes(env).await;
    }
}

async fn console_forms_are_limited_to_max_body_bytes(env: Env) {
    let seed = env.seed().await;
    with_password(&env, "acme", &seed.admin).await;
    let (web, csrf) = signed_in(&env, &seed.admin).await;
    let form = |length: usize| {
        let start = format!(
            "csrf={}&name=padded&pad=",
            form_urlencoded::byte_serialize(csrf.as_bytes()).collect::<String>()
        );
        assert!(start.len() <= length);
        let body = format!("{start}{}", "a".repeat(length - start.len()));
        web.post(env.url("/console/iam/api-access"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let under = form(1023).await.expect("request");
    assert_eq!(under.status(), 200, "just under the limit");
    assert!(
        under
            .text()
            .await
            .expect("html")
            .contains("ID and Secret have been created successfully")
    );
    let over = form(1025).await.expect("request");
    assert_eq!(over.status(), 413, "just over the limit");
    assert!(over.text().await.expect("html").contains("Too much text"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_forms_are_limited_to_max_body_bytes_sqlite() {
    if let Some(env) = Env::with(crate::support::Backend::Sqlite, |config| {
        config.max_body_bytes = 1024
    })
    .await
    {
        console_forms_are_limited_to_max_body_bytes(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn console_forms_are_limited_to_max_body_bytes_postgres() {
    if let Some(env) = Env::with(crate::support::Backend::Postgres, |config| {
        config.max_body_bytes = 1024
    })
    .await
    {
        console_forms_are_limited_to_max_body_bytes(env).await;
    }
}
