//! Workspace sign-in in real headless Chromium: an application sends the person to
//! `/core/connect/authorize`; they mistype their password, sign in, allow the application, and
//! the browser goes back to the application with a code that works. Screenshots of the sign-in
//! and consent pages at 1280 and 390 pixels wide.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::end_users::NewEndUser;
use cloudtrust_server::domain::workspace_clients::ClientType;
use openidconnect::PkceCodeChallenge;

use crate::browser::{Chromium, chromium, click, find, follow, screenshots, type_into, until_text};
use crate::support::{db_test, eventually};
use crate::workspace_sign_in::{EMAIL, PASSWORD, REDIRECT, query_value, workspace_client};

db_test! {
    async fn a_person_signs_in_and_consents_in_chromium(env) {
        let Some(Chromium { browser, backend, seed: _seed, downloads: _downloads, profile: _profile, driver: _driver }) =
            chromium(&env).await
        else {
            return;
        };
        env.directory()
            .add_end_user(&Actor::operator(), "acme", &NewEndUser { email: EMAIL.into(), given_name: "Pat".into(), family_name: "Doe".into() }, PASSWORD)
            .await
            .expect("end user");
        let (client_id, _) = workspace_client(&env, ClientType::Public, true).await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut authorize = url::Url::parse(&env.url("/core/connect/authorize")).expect("url");
        authorize.query_pairs_mut().extend_pairs([
            ("response_type", "code"), ("client_id", client_id.as_str()), ("redirect_uri", REDIRECT),
            ("scope", "openid email profile offline_access wsp"), ("state", "from-chromium"),
            ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"),
        ]);
        browser.goto(authorize.as_str()).await.expect("authorize");
        find(&browser, "form[action='/core/login']").await;
        assert!(find(&browser, "#client-name").await.text().await.expect("text").contains("public app"));
        screenshots(&browser, backend, "core-login").await;

        type_into(&browser, "#email", EMAIL).await;
        type_into(&browser, "#password", "not the password").await;
        follow(&browser, "form[action='/core/login'] button[type=submit]").await;
        until_text(&browser, "do not match").await;
        screenshots(&browser, backend, "core-login-error").await;

        type_into(&browser, "#password", PASSWORD).await;
        follow(&browser, "form[action='/core/login'] button[type=submit]").await;
        let scopes = find(&browser, "#scopes").await.text().await.expect("scopes");
        assert!(scopes.contains("See your email address") && scopes.contains("Stay signed in"), "{scopes}");
        screenshots(&browser, backend, "core-consent").await;

        click(&browser, "#allow").await;
        let arrived = eventually(std::time::Duration::from_secs(10), || async {
            browser.current_url().await.is_ok_and(|u| u.as_str().starts_with(REDIRECT))
        })
        .await;
        assert!(arrived, "the browser goes back to the application");
        let back = browser.current_url().await.expect("url").to_string();
        assert_eq!(query_value(&back, "state").as_deref(), Some("from-chromium"));
        let code = query_value(&back, "code").expect("a code");
        let exchanged = env.http.post(env.url("/core/connect/token"))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT),
                    ("client_id", client_id.as_str()), ("code_verifier", verifier.secret().as_str())])
            .send().await.expect("token");
        assert_eq!(exchanged.status(), 200, "the code from the browser works");
        browser.close().await.expect("close");
    }
}
