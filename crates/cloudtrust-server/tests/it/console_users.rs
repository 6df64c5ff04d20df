//! The console's Users tab over plain HTTP: Add User with a typed or a generated password (the
//! generated one shown once), bad input and duplicate emails answered with the page and a
//! message, Reset password, Remove with and without the ticked box, forged forms, and
//! administrators without the `Workspace OAuth Clients` permission neither offered the tab nor
//! allowed its actions.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::end_users::{EndUser, NewEndUser};
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, WORKSPACE_OAUTH_CLIENTS};

use crate::console::{add_administrator, signed_in, with_password};
use crate::support::{Env, db_test};

const TAB: &str = "/console/iam/users";

/// The value of the element `id="{id}" readonly value="…"` of a page.
fn shown(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\" readonly value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The row of the user `email` in a list page.
fn row(html: &str, email: &str) -> Option<String> {
    let start = html.find(&format!("<tr data-user=\"{email}\">"))?;
    let end = html[start..].find("</tr>")? + start;
    Some(html[start..end].to_owned())
}

/// Every end user of `acme`.
async fn users(env: &Env) -> Vec<EndUser> {
    env.directory()
        .list_end_users(&Actor::operator(), "acme")
        .await
        .expect("users")
}

/// Adds `email` to `acme` with `password`, as the operator.
async fn add_user(env: &Env, email: &str, password: &str) -> EndUser {
    let new = NewEndUser {
        email: email.to_owned(),
        given_name: "Pat".to_owned(),
        family_name: "Doe".to_owned(),
    };
    env.directory()
        .add_end_user(&Actor::operator(), "acme", &new, password)
        .await
        .expect("user")
}

/// Whether `email` of `acme` signs in with `password`.
async fn works(env: &Env, email: &str, password: &str) -> bool {
    env.directory()
        .verify_end_user_password("acme", email, password)
        .await
        .expect("verify")
        .is_some()
}

db_test! {
    async fn users_are_added_with_a_typed_or_a_generated_password(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(api_access.contains(&format!("href=\"{TAB}\">Users</a>")), "the Users tab is offered");

        let page = web.get(env.url(TAB)).send().await.expect("request");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.expect("html");
        assert!(html.contains(">Add User</button>") && html.contains("There are no users yet"));
        assert!(html.contains(&format!("href=\"{TAB}\" aria-current=\"page\">Users</a>")), "the tab is the current one");
        assert!(!html.contains("class=\"tabs subtabs\""), "no API Access sub-tabs on the Users tab");

        let typed = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("email", "Pat@Acme.example"), ("given_name", "Pat"), ("family_name", "Doe"),
                ("password_choice", "typed"), ("password", "a typed long password"), ("password_confirm", "a typed long password")])
            .send().await.expect("request");
        assert_eq!(typed.status(), 200);
        assert_eq!(typed.headers()["hx-push-url"], TAB, "a reload asks for the list, not the form");
        let html = typed.text().await.expect("html");
        assert!(html.contains("pat@acme.example is added with the password you typed."), "{html}");
        assert!(shown(&html, "shown-password").is_none() && !html.contains("a typed long password"), "a typed password is never shown");
        let listed = row(&html, "pat@acme.example").expect("the row");
        assert!(listed.contains("Pat Doe") && listed.contains("UTC") && listed.contains(">Reset password</button>") && listed.contains(">Remove</button>"), "{listed}");
        assert!(works(&env, "pat@acme.example", "a typed long password").await, "the typed password works");

        let generated = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("email", "sam@acme.example"), ("given_name", "Sam"), ("family_name", "Roe"), ("password_choice", "generate")])
            .send().await.expect("request");
        assert_eq!(generated.status(), 200);
        let html = generated.text().await.expect("html");
        assert!(html.contains("The user has been added") && html.contains("It is shown only now"));
        assert!(html.contains("<dialog id=\"added-user\" data-show"), "the dialog opens by itself");
        let password = shown(&html, "shown-password").expect("the generated password");
        assert!(password.len() >= 12, "{password}");
        assert!(html.contains("data-copy=\"shown-password\">Copy</button>"));
        assert!(works(&env, "sam@acme.example", &password).await, "the generated password works");

        // Shown once: the list does not show it again.
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(!list.contains(&password) && !list.contains("shown-password"));
        let emails: Vec<String> = users(&env).await.into_iter().map(|u| u.email).collect();
        assert_eq!(emails, ["pat@acme.example", "sam@acme.example"]);
        assert!(row(&list, "sam@acme.example").is_some_and(|r| r.contains("Sam Roe")));
    }
}

db_test! {
    async fn bad_input_and_duplicates_get_the_page_back_with_a_message(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        add_user(&env, "pat@acme.example", "the first long password").await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;

        let duplicate = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("email", "PAT@acme.example"), ("given_name", "Other"), ("family_name", "Pat"), ("password_choice", "generate")])
            .send().await.expect("request");
        assert_eq!(duplicate.status(), 409);
        let html = duplicate.text().await.expect("html");
        assert!(html.contains("role=\"alert\" id=\"add-error\">There is already a user with the email pat@acme.example."), "{html}");
        assert!(html.contains("aria-labelledby=\"add-user-title\" data-show"), "the dialog opens again");
        assert!(html.contains("value=\"PAT@acme.example\"") && html.contains("value=\"Other\"") && html.contains("value=\"Pat\""), "what was typed is kept");
        assert!(shown(&html, "shown-password").is_none(), "no password is shown for a user not added");

        for (email, given, family, choice, password, confirm, says) in [
            ("nobody", "No", "Body", "generate", "", "", "Email: `nobody` is not an email address."),
            ("a@acme.example", "", "Doe", "generate", "", "", "Given name: must not be empty."),
            ("a@acme.example", "Al", " ", "generate", "", "", "Family name: must not be empty."),
            ("a@acme.example", "Al", "Doe", "typed", "short", "short", "Password: must have 12 to 1024 characters."),
            ("a@acme.example", "Al", "Doe", "typed", "a typed long password", "another long password", "Password: the password and its confirmation differ"),
        ] {
            let response = web.post(env.url(TAB))
                .form(&[("csrf", csrf.as_str()), ("email", email), ("given_name", given), ("family_name", family),
                    ("password_choice", choice), ("password", password), ("password_confirm", confirm)])
                .send().await.expect("request");
            assert_eq!(response.status(), 400, "{says}");
            let html = response.text().await.expect("html");
            assert!(html.contains(says), "{says}: {html}");
            assert!(html.contains(&format!("id=\"user-email\" name=\"email\" type=\"email\" required maxlength=\"254\" value=\"{email}\"")), "the email as typed");
            if choice == "typed" {
                assert!(html.contains("id=\"user-typed\" name=\"password_choice\" value=\"typed\" checked"), "the choice as made");
                assert!(!html.contains("a typed long password") && !html.contains("value=\"short\""), "passwords are not written back");
            }
        }
        let emails: Vec<String> = users(&env).await.into_iter().map(|u| u.email).collect();
        assert_eq!(emails, ["pat@acme.example"], "nothing was added");
        assert!(works(&env, "pat@acme.example", "the first long password").await);

        let missing = web.post(env.url(&format!("{TAB}/00000000-0000-0000-0000-000000000000/remove")))
            .form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.expect("request");
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.expect("html").contains("That user does not exist any more"));
        let nul = web.post(env.url(&format!("{TAB}/a%00b/reset-password"))).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        let status = nul.status().as_u16();
        assert!((400..500).contains(&status), "a NUL is bad input, not an outage ({status})");
    }
}

db_test! {
    async fn a_password_is_reset_and_a_user_removed_once_the_box_is_ticked(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let user = add_user(&env, "pat@acme.example", "the first long password").await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;

        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(list.contains(&format!("action=\"{TAB}/{}/reset-password\"", user.id)) && list.contains("Reset the password of pat@acme.example?"));
        assert!(list.contains(&format!("id=\"remove-{}-confirm\" name=\"confirm\" value=\"yes\" required", user.id)), "Remove asks for a ticked box");

        let reset = web.post(env.url(&format!("{TAB}/{}/reset-password", user.id))).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        assert_eq!(reset.status(), 200);
        assert_eq!(reset.headers()["hx-push-url"], TAB);
        let html = reset.text().await.expect("html");
        assert!(html.contains("The password has been reset") && html.contains("The password of pat@acme.example is reset."));
        let password = shown(&html, "shown-password").expect("the new password");
        assert!(!works(&env, "pat@acme.example", "the first long password").await, "the old password stops working");
        assert!(works(&env, "pat@acme.example", &password).await, "the new one works");
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(!list.contains(&password), "shown once");

        // Without the tick nothing is removed.
        let remove = format!("{TAB}/{}/remove", user.id);
        let unticked = web.post(env.url(&remove)).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        assert_eq!(unticked.status(), 400);
        let html = unticked.text().await.expect("html");
        assert!(html.contains("Confirmation: tick the box to confirm") && row(&html, "pat@acme.example").is_some());
        assert_eq!(users(&env).await.len(), 1);
        assert!(works(&env, "pat@acme.example", &password).await);

        let removed = web.post(env.url(&remove)).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.expect("request");
        assert_eq!(removed.status(), 200);
        let html = removed.text().await.expect("html");
        assert!(html.contains("pat@acme.example is removed and can no longer sign in.") && row(&html, "pat@acme.example").is_none());
        assert!(users(&env).await.is_empty());
        assert!(!works(&env, "pat@acme.example", &password).await, "a removed user signs in nowhere");
        let again = web.post(env.url(&remove)).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.expect("request");
        assert_eq!(again.status(), 404);
    }
}

db_test! {
    async fn forged_forms_change_nothing(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let user = add_user(&env, "pat@acme.example", "the first long password").await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let (_, other_csrf) = signed_in(&env, &seed.admin).await;
        for action in [TAB.to_owned(), format!("{TAB}/{}/reset-password", user.id), format!("{TAB}/{}/remove", user.id)] {
            for (token, site) in [(None, "same-origin"), (Some(other_csrf.as_str()), "same-origin"), (Some(csrf.as_str()), "cross-site")] {
                let mut form = vec![("email", "forged@acme.example"), ("given_name", "For"), ("family_name", "Ged"), ("password_choice", "generate"), ("confirm", "yes")];
                if let Some(token) = token {
                    form.push(("csrf", token));
                }
                let response = web.post(env.url(&action)).header("Sec-Fetch-Site", site).form(&form).send().await.expect("request");
                assert_eq!(response.status(), 403, "{action} with {token:?} from {site}");
                let html = response.text().await.expect("html");
                assert!(html.contains("This form could not be accepted") && !html.contains("shown-password"));
            }
        }
        assert_eq!(users(&env).await, [user], "nothing added, changed or removed");
        assert!(works(&env, "pat@acme.example", "the first long password").await);
    }
}

db_test! {
    async fn an_administrator_without_the_permission_is_neither_offered_nor_allowed_the_tab(env) {
        env.seed().await;
        add_administrator(&env, "clients@acme.example", Access::custom([API_CLIENTS]).expect("access")).await;
        add_administrator(&env, "workspace@acme.example", Access::custom([WORKSPACE_OAUTH_CLIENTS]).expect("access")).await;
        let user = add_user(&env, "pat@acme.example", "the first long password").await;

        let (web, csrf) = signed_in(&env, "clients@acme.example").await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(!api_access.contains(TAB), "no Users tab");
        let page = web.get(env.url(TAB)).send().await.expect("request");
        assert_eq!(page.status(), 403);
        let html = page.text().await.expect("html");
        assert!(html.contains("Not available to you") && html.contains("Workspace OAuth Clients"));
        assert!(!html.contains("pat@acme.example"), "nothing of the users is shown");
        for (action, form) in [
            (TAB.to_owned(), vec![("email", "sneaky@acme.example"), ("given_name", "Sneaky"), ("family_name", "Pete"), ("password_choice", "generate")]),
            (format!("{TAB}/{}/reset-password", user.id), vec![]),
            (format!("{TAB}/{}/remove", user.id), vec![("confirm", "yes")]),
            (format!("{TAB}/{}/remove", user.id), vec![]),
        ] {
            let mut form = form;
            form.push(("csrf", csrf.as_str()));
            let response = web.post(env.url(&action)).form(&form).send().await.expect("request");
            assert_eq!(response.status(), 403, "{action}");
            let html = response.text().await.expect("html");
            assert!(html.contains("Not available to you") && !html.contains("shown-password"), "{action}");
        }
        assert_eq!(users(&env).await, std::slice::from_ref(&user), "nothing added, changed or removed");
        assert!(works(&env, "pat@acme.example", "the first long password").await);

        // The permission alone is enough: the tab, the list, Add User.
        let (web, csrf) = signed_in(&env, "workspace@acme.example").await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(api_access.contains(&format!("href=\"{TAB}\">Users</a>")));
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(row(&list, "pat@acme.example").is_some() && !list.contains("href=\"/console/iam/administrators\""));
        let added = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("email", "sam@acme.example"), ("given_name", "Sam"), ("family_name", "Roe"), ("password_choice", "generate")])
            .send().await.expect("request");
        assert_eq!(added.status(), 200);
        let password = shown(&added.text().await.expect("html"), "shown-password").expect("password");
        assert!(works(&env, "sam@acme.example", &password).await);
    }
}
