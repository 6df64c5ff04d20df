//! The console's Workspace API tab over plain HTTP: Create Client (private and public), the
//! secret shown once, settings, disable and enable, rotation and Expire Now, deletion, bad
//! input answered with the page and a message, forged forms, and administrators without the
//! `Workspace OAuth Clients` permission neither offered the tab nor allowed its actions.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access, WORKSPACE_OAUTH_CLIENTS};
use cloudtrust_server::domain::workspace_clients::{
    ClientType, NewWorkspaceClient, WorkspaceClient,
};

use crate::console::{add_administrator, signed_in, with_password};
use crate::support::{Env, db_test};

const TAB: &str = "/console/iam/workspace-api";

/// The value of the element `id="{id}" readonly value="…"` of a page.
fn shown(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\" readonly value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The CSV carried by the page's Download link, decoded.
fn downloaded_csv(html: &str) -> String {
    let marker = "download=\"workspaceclient.csv\" href=\"data:text/csv;charset=utf-8,";
    let start = html.find(marker).expect("a Download link") + marker.len();
    let end = html[start..].find('"').expect("end of the link") + start;
    let payload = format!("csv={}", &html[start..end]);
    form_urlencoded::parse(payload.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .expect("decoded")
}

/// Every Workspace OAuth client of `acme`.
async fn clients(env: &Env) -> Vec<WorkspaceClient> {
    env.directory()
        .list_workspace_clients(&Actor::operator(), "acme")
        .await
        .expect("clients")
}

/// A private client of `acme` made by its owner, and its secret.
async fn private_client(env: &Env, display_name: &str) -> (WorkspaceClient, String) {
    let created = env
        .directory()
        .create_workspace_client(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email("owner@acme.example"),
            NewWorkspaceClient {
                display_name: display_name.to_owned(),
                client_type: ClientType::Private,
                redirect_uris: vec!["https://app.example.com/callback".to_owned()],
                post_logout_redirect_uris: Vec::new(),
                require_user_consent: true,
                require_pkce: false,
                allow_offline_access: false,
                owner_contact: None,
            },
        )
        .await
        .expect("client");
    let secret = created.secret.expect("a private client's secret");
    (created.client, secret)
}

/// Whether `secret` authenticates the client `client_id` now.
async fn works(env: &Env, client_id: &str, secret: &str) -> bool {
    env.directory()
        .verify_workspace_client_secret(client_id, secret)
        .await
        .expect("verify")
        .is_some()
}

db_test! {
    async fn private_and_public_clients_are_created_and_the_secret_is_shown_once(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(api_access.contains("href=\"/console/iam/workspace-api\">Workspace API</a>"), "API Access → Workspace API");

        let page = web.get(env.url(TAB)).send().await.expect("request");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.expect("html");
        assert!(html.contains(">Create Client</button>") && html.contains("There are no Workspace OAuth clients yet"));

        let created = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("display_name", "Demo Client"), ("client_type", "private"),
                ("redirect_uris", "https://app.example.com/callback\r\nhttp://127.0.0.1:53682/callback\r\n"),
                ("require_user_consent", "yes"), ("allow_offline_access", "yes")])
            .send().await.expect("request");
        assert_eq!(created.status(), 200);
        assert_eq!(created.headers()["hx-push-url"], TAB, "a reload asks for the list, not the form");
        let html = created.text().await.expect("html");
        assert!(html.contains("Client ID and Secret have been created successfully"));
        let client_id = shown(&html, "shown-id").expect("the Client ID");
        let secret = shown(&html, "shown-secret").expect("the Secret");
        assert_eq!(downloaded_csv(&html), format!("Client ID,Secret,Customer ID\r\n{client_id},{secret},acme\r\n"));
        assert!(works(&env, &client_id, &secret).await, "the secret shown works");

        let client = clients(&env).await.into_iter().find(|c| c.client_id == client_id).expect("created");
        assert_eq!((client.name.as_str(), client.display_name.as_str(), client.client_type), ("acme-private-1", "Demo Client", ClientType::Private));
        assert_eq!(client.redirect_uris, ["https://app.example.com/callback", "http://127.0.0.1:53682/callback"]);
        assert!(client.require_user_consent && client.allow_offline_access && !client.require_pkce && client.enabled);
        assert_eq!(client.owner, seed.admin);

        // Shown once: neither the list nor the client's pages show the secret again.
        for path in [TAB.to_owned(), format!("{TAB}/acme-private-1"), format!("{TAB}/acme-private-1/settings"), format!("{TAB}/acme-private-1/rotate")] {
            let page = web.get(env.url(&path)).send().await.expect("request");
            assert_eq!(page.status(), 200, "{path}");
            let html = page.text().await.expect("html");
            assert!(!html.contains(&secret) && !html.contains("shown-secret"), "{path} shows no secret");
        }
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        let row = list.split("<tr data-client=\"acme-private-1\">").nth(1).expect("the row").split("</tr>").next().expect("row end").to_owned();
        assert!(row.contains("Demo Client") && row.contains("Private") && row.contains("Enabled") && row.contains("UTC"), "{row}");
        assert!(row.contains("Edit this client") && row.contains("Disable this client") && row.contains("Delete this client"), "{row}");
        assert!(!row.contains("class=\"warning\""), "90 days away: no warning");

        let public = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("display_name", "Native App"), ("client_type", "public"), ("redirect_uris", "com.example.app:/oauth2redirect")])
            .send().await.expect("request");
        assert_eq!(public.status(), 200);
        let html = public.text().await.expect("html");
        assert!(html.contains("Client ID has been created successfully") && html.contains("is a public client"));
        let public_id = shown(&html, "shown-id").expect("the Client ID");
        assert!(shown(&html, "shown-secret").is_none() && !html.contains("workspaceclient.csv"), "no secret, nothing to download");
        let client = clients(&env).await.into_iter().find(|c| c.client_id == public_id).expect("created");
        assert_eq!((client.name.as_str(), client.client_type), ("acme-public-1", ClientType::Public));
        assert!(client.require_pkce && client.secret.is_none());
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(list.contains("No secret (public)"));
    }
}

db_test! {
    async fn bad_input_gets_the_page_back_with_a_message(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;

        let refused = web.post(env.url(TAB))
            .form(&[("csrf", csrf.as_str()), ("display_name", "Bad App"), ("client_type", "private"), ("redirect_uris", "http://app.example.com/cb")])
            .send().await.expect("request");
        assert_eq!(refused.status(), 400);
        let html = refused.text().await.expect("html");
        assert!(html.contains("role=\"alert\" id=\"create-error\">Redirect URIs: `http://app.example.com/cb` uses http"), "{html}");
        assert!(html.contains("aria-labelledby=\"create-title\" data-show"), "the dialog opens again");
        assert!(html.contains("value=\"Bad App\"") && html.contains(">http://app.example.com/cb</textarea>"), "what was typed is kept");
        for (name, kind, uris, says) in [
            ("", "private", "", "Display name:"),
            ("No Type", "", "", "Client type: must be private or public."),
            ("Fragment", "public", "https://app.example.com/cb#x", "has a fragment"),
            ("Script", "public", "javascript:alert(1)", "must use https"),
        ] {
            let response = web.post(env.url(TAB))
                .form(&[("csrf", csrf.as_str()), ("display_name", name), ("client_type", kind), ("redirect_uris", uris)])
                .send().await.expect("request");
            assert_eq!(response.status(), 400, "{name}");
            assert!(response.text().await.expect("html").contains(says), "{name}: {says}");
        }
        assert!(clients(&env).await.is_empty(), "nothing was created");

        let (client, secret) = private_client(&env, "Kept").await;
        let path = format!("{TAB}/{}", client.name);
        let settings = web.post(env.url(&format!("{path}/settings")))
            .form(&[("csrf", csrf.as_str()), ("display_name", "Changed"), ("redirect_uris", "https://ok.example/cb\nnot a uri")])
            .send().await.expect("request");
        assert_eq!(settings.status(), 400);
        let html = settings.text().await.expect("html");
        assert!(html.contains("Redirect URIs: `not a uri` holds whitespace"), "{html}");
        assert!(html.contains("value=\"Changed\"") && html.contains("https://ok.example/cb\nnot a uri</textarea>"), "the form as typed");
        let unchanged = env.directory().get_workspace_client(&Actor::operator(), "acme", &client.name).await.expect("client");
        assert_eq!(unchanged, client, "nothing changed");

        // A confirmation box left unticked changes nothing.
        for action in ["disable", "delete", "rotate"] {
            let response = web.post(env.url(&format!("{path}/{action}"))).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
            assert_eq!(response.status(), 400, "{action}");
            assert!(response.text().await.expect("html").contains("Confirmation: tick the box to confirm"), "{action}");
        }
        let unchanged = env.directory().get_workspace_client(&Actor::operator(), "acme", &client.name).await.expect("client");
        assert_eq!(unchanged, client, "still enabled, same secret");
        assert!(works(&env, &client.client_id, &secret).await);

        let missing = web.get(env.url(&format!("{TAB}/acme-private-99"))).send().await.expect("request");
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.expect("html").contains("does not exist any more"));
        for (path, get) in [(format!("{TAB}/a%00b"), true), (format!("{TAB}/a%00b/disable"), false), (format!("{TAB}/%00/settings"), false)] {
            let response = if get {
                web.get(env.url(&path)).send().await.expect("request")
            } else {
                web.post(env.url(&path)).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.expect("request")
            };
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{path}: a NUL is bad input, not an outage ({status})");
        }
    }
}

db_test! {
    async fn a_client_is_edited_disabled_enabled_and_deleted(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let (client, secret) = private_client(&env, "Demo Client").await;
        let path = format!("{TAB}/{}", client.name);
        let post = |action: &str, fields: Vec<(&'static str, String)>| {
            let mut form = vec![("csrf", csrf.clone())];
            form.extend(fields);
            web.post(env.url(&format!("{path}/{action}"))).form(&form).send()
        };

        let details = web.get(env.url(&path)).send().await.expect("request");
        assert_eq!(details.status(), 200);
        let html = details.text().await.expect("html");
        for words in ["Client details", "Client settings", "Client Secret Expiration date", "Rotate Client Secret", "No old secret", &client.client_id, "https://app.example.com/callback", "Delete Client"] {
            assert!(html.contains(words), "the details page shows {words}");
        }
        let settings = web.get(env.url(&format!("{path}/settings"))).send().await.expect("request").text().await.expect("html");
        assert!(settings.contains("value=\"Demo Client\"") && settings.contains("id=\"ws-consent\" name=\"require_user_consent\" value=\"yes\" checked"));
        assert!(settings.contains(">https://app.example.com/callback</textarea>") && settings.contains(">Save</button>"));

        let saved = post("settings", vec![("display_name", "Renamed".to_owned()), ("redirect_uris", "https://new.example/cb\nhttp://localhost:8080/cb".to_owned())]).await.expect("request");
        assert_eq!(saved.status(), 200);
        let html = saved.text().await.expect("html");
        assert!(html.contains("The settings are saved.") && html.contains("value=\"Renamed\""));
        let edited = env.directory().get_workspace_client(&Actor::operator(), "acme", &client.name).await.expect("client");
        assert_eq!(edited.display_name, "Renamed");
        assert!(!edited.require_user_consent, "an unticked box turns consent off");
        assert_eq!(edited.redirect_uris, ["https://new.example/cb", "http://localhost:8080/cb"]);
        assert_eq!((edited.client_id.as_str(), edited.secret), (client.client_id.as_str(), client.secret), "nothing else changes");

        let disabled = post("disable", vec![("confirm", "yes".to_owned())]).await.expect("request");
        assert_eq!(disabled.status(), 200);
        let html = disabled.text().await.expect("html");
        assert!(html.contains("is disabled. Applications using it stop working"));
        let row = html.split(&format!("<tr data-client=\"{}\">", client.name)).nth(1).expect("row").split("</tr>").next().expect("row end").to_owned();
        assert!(row.contains("Disabled") && row.contains("Enable this client"), "{row}");
        assert!(!works(&env, &client.client_id, &secret).await, "a disabled client authenticates nowhere");
        let details = web.get(env.url(&path)).send().await.expect("request").text().await.expect("html");
        assert!(details.contains("<span class=\"state off\">Disabled</span>"));

        let enabled = post("enable", vec![("confirm", "yes".to_owned())]).await.expect("request");
        assert_eq!(enabled.status(), 200);
        assert!(enabled.text().await.expect("html").contains("is enabled. Applications can use it again."));
        assert!(works(&env, &client.client_id, &secret).await);

        let deleted = post("delete", vec![("confirm", "yes".to_owned())]).await.expect("request");
        assert_eq!(deleted.status(), 200);
        assert_eq!(deleted.headers()["hx-push-url"], TAB);
        let html = deleted.text().await.expect("html");
        assert!(html.contains("The client Renamed (acme-private-1) is deleted") && !html.contains("<tr data-client"));
        assert!(clients(&env).await.is_empty());
        assert!(!works(&env, &client.client_id, &secret).await, "a deleted client authenticates nowhere");
        let again = post("delete", vec![("confirm", "yes".to_owned())]).await.expect("request");
        assert_eq!(again.status(), 404);
    }
}

db_test! {
    async fn a_secret_is_rotated_and_the_old_one_expired_now(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        env.clock.stop();
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let (client, old_secret) = private_client(&env, "Demo Client").await;
        let path = format!("{TAB}/{}", client.name);

        let rotation = web.get(env.url(&format!("{path}/rotate"))).send().await.expect("request");
        assert_eq!(rotation.status(), 200);
        let html = rotation.text().await.expect("html");
        assert!(html.contains("id=\"rotate-agree\" name=\"confirm\" value=\"yes\" required") && html.contains(">Rotate</button>"));
        assert!(html.contains("keeps working until it expires"));
        assert!(html.contains("valid for 90 days from now"), "the configured lifetime");

        let rotated = web.post(env.url(&format!("{path}/rotate"))).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.expect("request");
        assert_eq!(rotated.status(), 200);
        assert_eq!(rotated.headers()["hx-push-url"], path.as_str());
        let html = rotated.text().await.expect("html");
        assert!(html.contains("The Client secret has been rotated") && html.contains("The old secret keeps working until"));
        assert_eq!(shown(&html, "shown-id").as_deref(), Some(client.client_id.as_str()));
        let new_secret = shown(&html, "shown-secret").expect("the new secret");
        assert_ne!(new_secret, old_secret);
        assert_eq!(downloaded_csv(&html), format!("Client ID,Secret,Customer ID\r\n{},{new_secret},acme\r\n", client.client_id));
        assert!(works(&env, &client.client_id, &new_secret).await && works(&env, &client.client_id, &old_secret).await, "both work until the old one is expired");

        let details = web.get(env.url(&path)).send().await.expect("request").text().await.expect("html");
        assert!(!details.contains(&new_secret), "shown once");
        let old = details.split("id=\"old-secret-expiration\">").nth(1).expect("old secret").split("</dd>").next().expect("end").to_owned();
        assert!(old.contains("UTC") && old.contains(">Expire Now</a>"), "{old}");

        let confirm = web.get(env.url(&format!("{path}/expire-old"))).send().await.expect("request");
        assert_eq!(confirm.status(), 200);
        let html = confirm.text().await.expect("html");
        assert!(html.contains("Expire the old Client secret now?") && html.contains(">Expire Now</button>"));
        let expired = web.post(env.url(&format!("{path}/expire-old"))).form(&[("csrf", csrf.as_str())]).send().await.expect("request");
        assert_eq!(expired.status(), 200);
        let html = expired.text().await.expect("html");
        assert!(html.contains("The old Client secret has been expired and no longer works") && html.contains("No old secret"));
        assert!(!works(&env, &client.client_id, &old_secret).await, "the old secret no longer works");
        assert!(works(&env, &client.client_id, &new_secret).await, "the new one does");
        let nothing = web.get(env.url(&format!("{path}/expire-old"))).send().await.expect("request").text().await.expect("html");
        assert!(nothing.contains("nothing to expire"));
        let again = web.post(env.url(&format!("{path}/expire-old"))).form(&[("csrf", csrf.as_str())]).send().await.expect("request").text().await.expect("html");
        assert!(again.contains("nothing to expire") && !again.contains("has been expired"), "no expiry is confirmed that did not happen");

        // The list warns from 14 days before the secret expires, and once it has.
        env.clock.advance(80 * 86_400);
        let (web, _) = signed_in(&env, &seed.admin).await;
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(list.contains("Expires in 10 days: rotate the secret"), "{list}");
        env.clock.advance(11 * 86_400);
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(list.contains("Expired: this secret no longer works"));
        let details = web.get(env.url(&path)).send().await.expect("request").text().await.expect("html");
        assert!(details.contains("Expired: this secret no longer works"), "the details page warns too");

        let public = web.post(env.url(TAB)).form(&[("csrf", csrf.as_str()), ("display_name", "Native"), ("client_type", "public")]).send().await.expect("request");
        assert_eq!(public.status(), 200);
        let refused = web.get(env.url(&format!("{TAB}/acme-public-1/rotate"))).send().await.expect("request");
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.expect("html").contains("a public client has no secret to rotate"));
    }
}

db_test! {
    async fn forged_forms_change_nothing(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        let (web, csrf) = signed_in(&env, &seed.admin).await;
        let (_, other_csrf) = signed_in(&env, &seed.admin).await;
        let (client, secret) = private_client(&env, "Demo Client").await;
        let path = format!("{TAB}/{}", client.name);
        let actions = [
            TAB.to_owned(),
            format!("{path}/settings"),
            format!("{path}/disable"),
            format!("{path}/rotate"),
            format!("{path}/expire-old"),
            format!("{path}/delete"),
        ];
        for action in &actions {
            for (token, site) in [(None, "same-origin"), (Some(other_csrf.as_str()), "same-origin"), (Some(csrf.as_str()), "cross-site")] {
                let mut form = vec![("display_name", "Forged"), ("client_type", "private"), ("confirm", "yes")];
                if let Some(token) = token {
                    form.push(("csrf", token));
                }
                let response = web.post(env.url(action)).header("Sec-Fetch-Site", site).form(&form).send().await.expect("request");
                assert_eq!(response.status(), 403, "{action} with {token:?} from {site}");
                assert!(response.text().await.expect("html").contains("This form could not be accepted"));
            }
        }
        let now = clients(&env).await;
        assert_eq!(now, std::slice::from_ref(&client), "nothing created, changed or deleted");
        assert!(works(&env, &client.client_id, &secret).await);
    }
}

db_test! {
    async fn an_administrator_without_the_permission_is_neither_offered_nor_allowed_the_tab(env) {
        let seed = env.seed().await;
        with_password(&env, "acme", &seed.admin).await;
        add_administrator(&env, "clients@acme.example", Access::custom([API_CLIENTS]).expect("access")).await;
        add_administrator(&env, "workspace@acme.example", Access::custom([WORKSPACE_OAUTH_CLIENTS]).expect("access")).await;
        let (client, secret) = private_client(&env, "Demo Client").await;
        let path = format!("{TAB}/{}", client.name);

        let (web, csrf) = signed_in(&env, "clients@acme.example").await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(!api_access.contains(TAB), "no Workspace API tab");
        for page in [TAB.to_owned(), path.clone(), format!("{path}/settings"), format!("{path}/rotate"), format!("{path}/expire-old")] {
            let response = web.get(env.url(&page)).send().await.expect("request");
            assert_eq!(response.status(), 403, "{page}");
            let html = response.text().await.expect("html");
            assert!(html.contains("Not available to you") && html.contains("Workspace OAuth Clients"), "{page}");
            assert!(!html.contains(&client.client_id), "{page} shows nothing of the client");
        }
        for (action, form) in [
            (TAB.to_owned(), vec![("display_name", "Sneaky"), ("client_type", "private")]),
            (format!("{path}/settings"), vec![("display_name", "Sneaky")]),
            (format!("{path}/disable"), vec![("confirm", "yes")]),
            (format!("{path}/rotate"), vec![("confirm", "yes")]),
            (format!("{path}/expire-old"), vec![]),
            (format!("{path}/delete"), vec![("confirm", "yes")]),
        ] {
            let mut form = form;
            form.push(("csrf", csrf.as_str()));
            let response = web.post(env.url(&action)).form(&form).send().await.expect("request");
            assert_eq!(response.status(), 403, "{action}");
            assert!(response.text().await.expect("html").contains("You are not allowed to do this"), "{action}");
        }
        assert_eq!(clients(&env).await, std::slice::from_ref(&client), "nothing created, changed or deleted");
        assert!(works(&env, &client.client_id, &secret).await);

        // The permission alone is enough: the tab, every client of the customer, Create Client.
        let (web, csrf) = signed_in(&env, "workspace@acme.example").await;
        let api_access = web.get(env.url("/console/iam/api-access")).send().await.expect("request").text().await.expect("html");
        assert!(api_access.contains(&format!("href=\"{TAB}\">Workspace API</a>")));
        let list = web.get(env.url(TAB)).send().await.expect("request").text().await.expect("html");
        assert!(list.contains("Demo Client") && !list.contains("href=\"/console/iam/administrators\""));
        let created = web.post(env.url(TAB)).form(&[("csrf", csrf.as_str()), ("display_name", "Theirs"), ("client_type", "public")]).send().await.expect("request");
        assert_eq!(created.status(), 200);
        let theirs = clients(&env).await.into_iter().find(|c| c.display_name == "Theirs").expect("created");
        assert_eq!(theirs.owner, "workspace@acme.example");
    }
}
