//! The Workspace API tab in real headless Chromium, following seed 003 as a person does:
//! Create Client (private, then public), copy and download the credentials, disable and enable
//! with the ticked confirmation, Edit this client, Rotate Client Secret, Expire Now, the Client
//! settings tab, and Delete Client from the menu and from the details page. Screenshots of each
//! step at 1280 and 390 pixels wide go with the other browser tests' screenshots.

use std::path::Path;

use cloudtrust_server::domain::audit::Actor;
use fantoccini::Client;

use crate::browser::{
    Chromium, WAIT, chromium, click, find, follow, page_text, screenshots, sign_in, type_into,
    until_open, until_text, value,
};
use crate::support::{Env, db_test, eventually};

/// Whether `secret` authenticates the Workspace OAuth client `client_id` now.
async fn works(env: &Env, client_id: &str, secret: &str) -> bool {
    env.directory()
        .verify_workspace_client_secret(client_id, secret)
        .await
        .expect("verify")
        .is_some()
}

/// Clicks Download in the open dialog and reads the CSV it saves.
async fn download(browser: &Client, downloads: &Path) -> String {
    let path = downloads.join("workspaceclient.csv");
    // A second download of the same name would be saved under another one.
    let _ = std::fs::remove_file(&path);
    click(browser, "#download-csv").await;
    let saved = eventually(WAIT, || async {
        std::fs::read_to_string(&path).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    assert!(saved, "workspaceclient.csv is downloaded");
    std::fs::read_to_string(&path).expect("csv")
}

/// Opens the menu of the client `name` in the list and the confirmation dialog `dialog`,
/// ticks its box and submits it.
async fn confirm_from_menu(browser: &Client, name: &str, dialog: &str) {
    click(
        browser,
        &format!("tr[data-client='{name}'] .row-menu summary"),
    )
    .await;
    click(
        browser,
        &format!("tr[data-client='{name}'] button[data-opens='{dialog}']"),
    )
    .await;
    until_open(browser, dialog, true).await;
    click(browser, &format!("#{dialog}-confirm")).await;
    follow(browser, &format!("#{dialog} button[type=submit]")).await;
}

async fn row_text(browser: &Client, name: &str) -> String {
    find(browser, &format!("tr[data-client='{name}']"))
        .await
        .text()
        .await
        .expect("row")
}

db_test! {
    async fn a_person_follows_the_workspace_api_seed_in_chromium(env) {
        let Some(Chromium { browser, backend, seed, downloads, profile: _profile, driver: _driver }) =
            chromium(&env).await
        else {
            return;
        };

        // Identity and Access Management → API Access → Workspace API.
        sign_in(&browser, &env, &seed.admin).await;
        click(&browser, ".menu summary").await;
        follow(&browser, ".menu a[href='/console/iam']").await;
        follow(&browser, ".tabs a[href='/console/iam/api-access']").await;
        follow(&browser, ".subtabs a[href='/console/iam/workspace-api']").await;
        find(&browser, "#no-clients").await;

        // Create Client: a private client that works with the sample applications.
        click(&browser, "#create-client-button").await;
        until_open(&browser, "create-client", true).await;
        type_into(&browser, "#ws-display-name", "Demo Client").await;
        type_into(&browser, "#ws-redirect-uris", "https://app.example.com/callback\nhttp://127.0.0.1:53682/callback").await;
        click(&browser, "#ws-consent").await;
        click(&browser, "#ws-offline").await;
        screenshots(&browser, backend, "workspace-create").await;
        follow(&browser, "#create-client button[type=submit]").await;
        until_open(&browser, "created-client", true).await;
        until_text(&browser, "Client ID and Secret have been created successfully").await;
        screenshots(&browser, backend, "workspace-created").await;
        let client_id = value(&browser, "#shown-id").await;
        let secret = value(&browser, "#shown-secret").await;
        assert!(!client_id.is_empty() && secret.len() >= 43, "{client_id} / {secret}");
        click(&browser, "button[data-copy='shown-secret']").await;
        until_text(&browser, "Copied to the clipboard.").await;
        let csv = download(&browser, downloads.path()).await;
        assert_eq!(csv.lines().collect::<Vec<_>>(), ["Client ID,Secret,Customer ID", &format!("{client_id},{secret},acme")]);
        click(&browser, "#created-client button[data-closes]").await;
        until_open(&browser, "created-client", false).await;
        assert!(works(&env, &client_id, &secret).await, "the downloaded secret works");

        // The list: name, display name, type, status, secret expiration.
        let name = "acme-private-1";
        let row = row_text(&browser, name).await;
        for words in ["Demo Client", "Private", "Enabled", "UTC"] {
            assert!(row.contains(words), "{row}");
        }
        screenshots(&browser, backend, "workspace-api").await;

        // Disable this client (tick the confirmation box), then enable it again.
        click(&browser, &format!("tr[data-client='{name}'] .row-menu summary")).await;
        click(&browser, &format!("tr[data-client='{name}'] button[data-opens='toggle-{name}']")).await;
        until_open(&browser, &format!("toggle-{name}"), true).await;
        screenshots(&browser, backend, "workspace-disable").await;
        click(&browser, &format!("#toggle-{name}-confirm")).await;
        follow(&browser, &format!("#toggle-{name} button[type=submit]")).await;
        until_text(&browser, "is disabled").await;
        assert!(row_text(&browser, name).await.contains("Disabled"));
        assert!(!works(&env, &client_id, &secret).await, "a disabled client does not authenticate");
        confirm_from_menu(&browser, name, &format!("toggle-{name}")).await;
        until_text(&browser, "is enabled").await;
        assert!(row_text(&browser, name).await.contains("Enabled"));
        assert!(works(&env, &client_id, &secret).await);

        // Edit this client → the details, then Rotate Client Secret after agreeing to the terms.
        click(&browser, &format!("tr[data-client='{name}'] .row-menu summary")).await;
        follow(&browser, &format!("tr[data-client='{name}'] .row-menu a")).await;
        until_text(&browser, "Client Secret Expiration date").await;
        assert!(page_text(&browser).await.contains("No old secret"));
        screenshots(&browser, backend, "workspace-details").await;
        follow(&browser, "#rotate-secret").await;
        find(&browser, "#rotate-agree").await;
        screenshots(&browser, backend, "workspace-rotate").await;
        click(&browser, "#rotate-agree").await;
        follow(&browser, "#rotation button[type=submit]").await;
        until_open(&browser, "rotated-secret", true).await;
        until_text(&browser, "The Client secret has been rotated").await;
        screenshots(&browser, backend, "workspace-rotated").await;
        assert_eq!(value(&browser, "#shown-id").await, client_id);
        let new_secret = value(&browser, "#shown-secret").await;
        assert_ne!(new_secret, secret);
        click(&browser, "button[data-copy='shown-secret']").await;
        until_text(&browser, "Copied to the clipboard.").await;
        let csv = download(&browser, downloads.path()).await;
        assert_eq!(csv.lines().nth(1), Some(format!("{client_id},{new_secret},acme").as_str()));
        click(&browser, "#rotated-secret button[data-closes]").await;
        until_open(&browser, "rotated-secret", false).await;
        assert!(works(&env, &client_id, &secret).await && works(&env, &client_id, &new_secret).await, "both secrets work");

        // The old secret's expiration date beside the new one; Expire Now, confirmed.
        let old = find(&browser, "#old-secret-expiration").await.text().await.expect("old");
        assert!(old.contains("UTC") && old.contains("Expire Now"), "{old}");
        follow(&browser, "#expire-now").await;
        until_text(&browser, "Expire the old Client secret now?").await;
        screenshots(&browser, backend, "workspace-expire").await;
        follow(&browser, "#expiry button[type=submit]").await;
        until_text(&browser, "The old Client secret has been expired and no longer works").await;
        screenshots(&browser, backend, "workspace-expired").await;
        assert!(!works(&env, &client_id, &secret).await, "the old secret no longer works");
        assert!(works(&env, &client_id, &new_secret).await);

        // Client settings: a bad redirect URI is explained, then Save.
        follow(&browser, &format!(".tabs a[href='/console/iam/workspace-api/{name}/settings']")).await;
        let display_name = find(&browser, "#ws-display-name").await;
        display_name.clear().await.expect("clear");
        display_name.send_keys("Renamed Client").await.expect("type");
        click(&browser, "#ws-consent").await;
        let uris = find(&browser, "#ws-redirect-uris").await;
        uris.clear().await.expect("clear");
        uris.send_keys("http://app.example.com/callback").await.expect("type");
        follow(&browser, "#client-settings button[type=submit]").await;
        until_text(&browser, "uses http, which only loopback hosts may").await;
        assert_eq!(value(&browser, "#ws-display-name").await, "Renamed Client", "what was typed is kept");
        let uris = find(&browser, "#ws-redirect-uris").await;
        uris.clear().await.expect("clear");
        uris.send_keys("https://app.example.com/callback").await.expect("type");
        follow(&browser, "#client-settings button[type=submit]").await;
        until_text(&browser, "The settings are saved.").await;
        screenshots(&browser, backend, "workspace-settings").await;
        let saved = env.directory().get_workspace_client(&Actor::operator(), "acme", name).await.expect("client");
        assert_eq!(saved.display_name, "Renamed Client");
        assert_eq!(saved.redirect_uris, ["https://app.example.com/callback"]);
        assert!(!saved.require_user_consent);

        // A public client: the dialog shows its Client ID only; Delete this client from the menu.
        follow(&browser, ".back a").await;
        click(&browser, "#create-client-button").await;
        until_open(&browser, "create-client", true).await;
        type_into(&browser, "#ws-display-name", "Native App").await;
        click(&browser, "#ws-public").await;
        type_into(&browser, "#ws-redirect-uris", "com.example.app:/oauth2redirect").await;
        follow(&browser, "#create-client button[type=submit]").await;
        until_open(&browser, "created-client", true).await;
        until_text(&browser, "Client ID has been created successfully").await;
        assert!(browser.find(fantoccini::Locator::Css("#shown-secret")).await.is_err(), "no secret");
        assert!(browser.find(fantoccini::Locator::Css("#download-csv")).await.is_err(), "nothing to download");
        click(&browser, "#created-client button[data-closes]").await;
        until_open(&browser, "created-client", false).await;
        assert!(row_text(&browser, "acme-public-1").await.contains("No secret (public)"));
        confirm_from_menu(&browser, "acme-public-1", "delete-acme-public-1").await;
        until_text(&browser, "The client Native App (acme-public-1) is deleted").await;
        assert!(browser.find(fantoccini::Locator::Css("tr[data-client='acme-public-1']")).await.is_err());

        // Delete Client from the details page.
        follow(&browser, &format!("tr[data-client='{name}'] a[href='/console/iam/workspace-api/{name}']")).await;
        click(&browser, "#delete-client-button").await;
        until_open(&browser, "delete-client", true).await;
        click(&browser, "#delete-client-confirm").await;
        follow(&browser, "#delete-client button[type=submit]").await;
        until_text(&browser, "The client Renamed Client (acme-private-1) is deleted").await;
        find(&browser, "#no-clients").await;
        let current_url = browser.current_url().await.expect("url");
        assert_eq!(current_url.path(), "/console/iam/workspace-api", "the address is the list's");
        assert!(!works(&env, &client_id, &new_secret).await, "a deleted client authenticates nowhere");
        browser.close().await.expect("close");
    }
}
