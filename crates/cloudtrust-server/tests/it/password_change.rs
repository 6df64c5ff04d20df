//! A new password signs out whoever knew the old one: the administrator's console sessions
//! and an end user's Workspace sign-in sessions end when the password is set.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use openidconnect::PkceCodeChallenge;

use crate::console::{signed_in, with_password};
use crate::support::{db_test, location, web_client};
use crate::workspace_sign_in::{EMAIL, REDIRECT, apps, query_value, through_sign_in};

db_test! {
    async fn setting_a_password_ends_the_sessions_that_knew_the_old_one(env) {
        let apps = apps(&env).await;
        with_password(&env, "acme", &apps.seed.admin).await;
        let (console, _) = signed_in(&env, &apps.seed.admin).await;
        assert_eq!(console.get(env.url("/console/iam/api-access")).send().await.expect("page").status(), 200);

        let browser = web_client();
        let authorize = |prompt: &str| {
            let (challenge, _) = PkceCodeChallenge::new_random_sha256();
            let mut url = url::Url::parse(&env.url("/core/connect/authorize")).expect("url");
            url.query_pairs_mut().extend_pairs([
                ("response_type", "code"), ("client_id", apps.public_id.as_str()), ("redirect_uri", REDIRECT),
                ("scope", "openid"), ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"),
            ]);
            if !prompt.is_empty() {
                url.query_pairs_mut().append_pair("prompt", prompt);
            }
            url.to_string()
        };
        through_sign_in(&env, &browser, &authorize("")).await;
        let silent = browser.get(authorize("none")).send().await.expect("authorize");
        assert!(query_value(location(&silent), "code").is_some(), "signed in");

        let operator = Actor::operator();
        env.directory().set_password(&operator, "acme", AdministratorRef::Email(&apps.seed.admin), "a brand new password").await.expect("set");
        env.directory().set_end_user_password(&operator, "acme", EMAIL, "another new password").await.expect("set");

        let page = console.get(env.url("/console/iam/api-access")).send().await.expect("page");
        assert_eq!(page.status(), 303);
        assert_eq!(location(&page), "/console/signin?ended=1", "the console session ended");
        let silent = browser.get(authorize("none")).send().await.expect("authorize");
        assert_eq!(query_value(location(&silent), "error").as_deref(), Some("login_required"), "the sign-in session ended");
    }
}
