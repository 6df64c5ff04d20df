//! The console and the portal in real headless Chromium, driven over WebDriver
//! (`chromedriver`): the seeds' API Access steps as a person follows them, an administrator
//! with custom access, the portal's token and Invoke API, and the refusals of forged forms and
//! ended sessions. Screenshots of each page at 1280 and 390 pixels wide are saved under
//! `target/browser-screenshots/`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::support::{Env, Seed, db_test, eventually};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or `None` when it is not installed (outside CI only: `.ci/run`
/// installs it, and under `CI=true` the browser half may not be skipped).
pub(crate) async fn driver() -> Option<Driver> {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CHROMEDRIVER} and {CHROMIUM} must be installed under CI=true"
        );
        eprintln!("skipping: Debian's chromium and chromium-driver are not installed");
        return None;
    }
    // chromedriver picks a free port itself with `--port=0` and prints it; should a version
    // not announce one, try free ports until one binds (another process may take a port
    // between our check and chromedriver's bind).
    let mut started = None;
    for attempt in 0..5 {
        let port = if attempt == 0 {
            0
        } else {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        if let Some(running) = start_chromedriver(port).await {
            started = Some(running);
            break;
        }
    }
    let (child, port) = started.expect("chromedriver starts and announces its port");
    let driver = Driver { child, port };
    let status = format!("http://127.0.0.1:{port}/status");
    let up = eventually(WAIT, || async {
        reqwest::get(&status)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(up, "chromedriver answers");
    Some(driver)
}

/// Starts chromedriver on `port` (0: a port of its choice) and reads the port it announces;
/// `None` (and the process stopped) when it announces none, e.g. because the port was taken.
async fn start_chromedriver(port: u16) -> Option<(Child, u16)> {
    let mut child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Reads stdout to its end, so that chromedriver never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = announced_port(&line) {
                let _ = tx.send(port);
            }
        }
    });
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(announced)) if announced != 0 => Some((child, announced)),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// The port of chromedriver's "ChromeDriver was started successfully on port 41235." line.
fn announced_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started successfully on port ")?;
    rest.trim().trim_end_matches('.').parse().ok()
}

/// A headless Chromium session over its own chromedriver, for `acme`'s Full administrator
/// (seeded, with the password [`PASSWORD`]). Bind every field: the profile and download folders
/// and chromedriver last as long as their bindings.
pub(crate) struct Chromium {
    pub browser: Client,
    /// `sqlite` or `postgres`, for screenshot names.
    pub backend: &'static str,
    pub seed: Seed,
    pub downloads: tempfile::TempDir,
    pub profile: tempfile::TempDir,
    pub driver: Driver,
}

/// Seeds `env` and starts Chromium, or `None` when it is not installed (outside CI only).
pub(crate) async fn chromium(env: &Env) -> Option<Chromium> {
    let driver = driver().await?;
    let backend = if env.db.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let seed = env.seed().await;
    env.directory()
        .set_password(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email(&seed.admin),
            PASSWORD,
        )
        .await
        .expect("password");
    let profile = tempfile::tempdir().expect("profile");
    let downloads = tempfile::tempdir().expect("downloads");
    let browser = browser(&driver, profile.path(), downloads.path()).await;
    Some(Chromium {
        browser,
        backend,
        seed,
        downloads,
        profile,
        driver,
    })
}

/// A headless Chromium session that saves downloads into `downloads`.
pub(crate) async fn browser(driver: &Driver, profile: &Path, downloads: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,900",
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Where screenshots go: `target/browser-screenshots`, kept as CI artefacts.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// The two widths every page is checked at: a laptop and a phone.
const WIDTHS: [(u32, u32); 2] = [(1280, 900), (390, 844)];

/// Screenshots of the current page at both widths, checking that nothing is wider than the
/// window (no sideways scrolling).
pub(crate) async fn screenshots(browser: &Client, backend: &str, name: &str) {
    for (width, height) in WIDTHS {
        browser
            .set_window_size(width, height)
            .await
            .expect("resize");
        let sizes = browser
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .expect("sizes");
        let (scroll, inner) = (
            sizes[0].as_f64().unwrap_or(0.0),
            sizes[1].as_f64().unwrap_or(0.0),
        );
        assert!(
            scroll <= inner + 1.0,
            "{name} at {width}px: content {scroll}px wide in a {inner}px window"
        );
        let png = browser.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(
            screenshot_dir().join(format!("{name}-{width}-{backend}.png")),
            png,
        )
        .expect("screenshot saved");
    }
    browser.set_window_size(1280, 900).await.expect("resize");
}

pub(crate) async fn find(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} appears: {e}"))
}

pub(crate) async fn click(browser: &Client, css: &str) {
    find(browser, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Clicks something that loads another page (htmx swaps it in place of the current one) and
/// waits until it is there, so that nothing is looked for on the page being left.
pub(crate) async fn follow(browser: &Client, css: &str) {
    browser
        .execute(
            "document.querySelector('main').dataset.leaving = '1';",
            vec![],
        )
        .await
        .expect("mark the page being left");
    click(browser, css).await;
    let arrived = eventually(WAIT, || async {
        browser
            .execute(
                "const m = document.querySelector('main'); \
                 return !!m && !m.dataset.leaving && document.readyState === 'complete';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            == Some(true)
    })
    .await;
    assert!(arrived, "{css} leads to another page");
}

pub(crate) async fn type_into(browser: &Client, css: &str, text: &str) {
    find(browser, css)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

pub(crate) async fn value(browser: &Client, css: &str) -> String {
    find(browser, css)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

pub(crate) async fn page_text(browser: &Client) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

/// Waits until the page's text contains `text`.
pub(crate) async fn until_text(browser: &Client, text: &str) {
    let found = eventually(WAIT, || async { page_text(browser).await.contains(text) }).await;
    assert!(
        found,
        "the page says {text:?}; it says:\n{}",
        page_text(browser).await
    );
}

pub(crate) async fn is_open(browser: &Client, dialog: &str) -> bool {
    browser
        .execute(
            "const d = document.getElementById(arguments[0]); return !!d && d.open;",
            vec![json!(dialog)],
        )
        .await
        .expect("script")
        .as_bool()
        .unwrap_or(false)
}

pub(crate) async fn until_open(browser: &Client, dialog: &str, open: bool) {
    let reached = eventually(WAIT, || async { is_open(browser, dialog).await == open }).await;
    assert!(reached, "dialog {dialog} open = {open}");
}

pub(crate) async fn sign_in(browser: &Client, env: &Env, email: &str) {
    browser.goto(&env.url("/console")).await.expect("console");
    type_into(browser, "#email", email).await;
    type_into(browser, "#password", PASSWORD).await;
    follow(
        browser,
        "form[action='/console/signin'] button[type=submit]",
    )
    .await;
    find(browser, ".who-email").await;
}

async fn sign_out(browser: &Client) {
    follow(browser, ".signout button").await;
    until_text(browser, "You are signed out.").await;
}

db_test! {
    async fn a_person_follows_the_seeds_in_chromium(env) {
        let Some(Chromium { browser, backend, seed, downloads, profile: _profile, driver: _driver }) =
            chromium(&env).await
        else {
            return;
        };

        // Sign in.
        browser.goto(&env.url("/console")).await.expect("console");
        find(&browser, "#email").await;
        screenshots(&browser, backend, "sign-in").await;
        type_into(&browser, "#email", &seed.admin).await;
        type_into(&browser, "#password", "not the password at all").await;
        follow(&browser, "form[action='/console/signin'] button[type=submit]").await;
        until_text(&browser, "do not match an administrator").await;
        sign_in(&browser, &env, &seed.admin).await;

        // Menu → Identity and Access Management → API Access.
        click(&browser, ".menu summary").await;
        follow(&browser, ".menu a[href='/console/iam']").await;
        find(&browser, "#administrators-heading").await;
        follow(&browser, ".tabs a[href='/console/iam/api-access']").await;
        find(&browser, "#client-name").await;
        let customer = find(&browser, "#customer-id").await;
        assert_eq!(customer.text().await.expect("text"), "acme");
        let create = find(&browser, "form[action='/console/iam/api-access'] button[type=submit]").await;
        assert_eq!(create.text().await.expect("text"), "Create Client");
        let (_, customer_y, _, _) = customer.rectangle().await.expect("rect");
        let (_, create_y, _, _) = create.rectangle().await.expect("rect");
        assert!(customer_y < create_y, "the customer id is above the Create Client button");
        assert!(page_text(&browser).await.contains("Name your Secure Client"));

        // Name the client, Create Client, then copy and download.
        type_into(&browser, "#client-name", "terraform").await;
        follow(&browser, "form[action='/console/iam/api-access'] button[type=submit]").await;
        until_open(&browser, "created-client", true).await;
        until_text(&browser, "ID and Secret have been created successfully").await;
        screenshots(&browser, backend, "api-access-created").await;
        let client_id = value(&browser, "#created-id").await;
        let secret = value(&browser, "#created-secret").await;
        assert!(!client_id.is_empty() && secret.len() >= 43, "{client_id} / {secret}");
        click(&browser, "button[data-copy='created-secret']").await;
        until_text(&browser, "Copied to the clipboard.").await;
        click(&browser, "#download-csv").await;
        let csv_path = downloads.path().join("secureclient.csv");
        let downloaded = eventually(WAIT, || async { std::fs::read_to_string(&csv_path).is_ok_and(|t| t.ends_with('\n')) }).await;
        assert!(downloaded, "secureclient.csv is downloaded");
        let csv = std::fs::read_to_string(&csv_path).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines, ["Client ID,Secret,Customer ID", &format!("{client_id},{secret},acme")]);
        click(&browser, "#created-client button[data-closes]").await;
        until_open(&browser, "created-client", false).await;

        // The credentials from the CSV get a token over HTTP.
        let token = env.token(&client_id, &secret).await;
        assert_eq!(env.me(&format!("CwsAuth Bearer={token}")).await.status(), 200);
        browser.goto(&env.url("/console/iam/api-access")).await.expect("reload");
        let row = find(&browser, &format!("tr[data-client='{client_id}']")).await;
        let row_text = row.text().await.expect("row");
        assert!(row_text.contains("terraform") && row_text.contains("UTC"), "{row_text}");

        // Delete with the keyboard: Enter opens the confirmation, Escape closes it.
        let delete = find(&browser, &format!("button[data-opens='delete-{client_id}']")).await;
        delete.send_keys(&Key::Enter.to_string()).await.expect("Enter");
        until_open(&browser, &format!("delete-{client_id}"), true).await;
        let focused = browser.execute("return document.activeElement.textContent.trim();", vec![]).await.expect("focus");
        assert_eq!(focused, Value::from("Cancel"), "the safe choice has the focus");
        browser.active_element().await.expect("focus").send_keys(&Key::Escape.to_string()).await.expect("Escape");
        until_open(&browser, &format!("delete-{client_id}"), false).await;

        // A forged form is refused, and nothing is created.
        browser.execute("document.querySelector(\"form[action='/console/iam/api-access'] input[name=csrf]\").value = 'forged';", vec![]).await.expect("script");
        type_into(&browser, "#client-name", "forged").await;
        follow(&browser, "form[action='/console/iam/api-access'] button[type=submit]").await;
        until_text(&browser, "This form could not be accepted").await;
        let names: Vec<String> = env.directory().list_api_clients(&Actor::operator(), "acme", None, None).await.expect("clients").items.into_iter().map(|c| c.name).collect();
        assert!(!names.contains(&"forged".to_owned()), "{names:?}");

        // Administrators: add one with custom access.
        browser.goto(&env.url("/console/iam/administrators")).await.expect("administrators");
        type_into(&browser, "#add-email", "dev@acme.example").await;
        type_into(&browser, "#add-name", "Dev").await;
        click(&browser, "#add-custom").await;
        let api_clients = find(&browser, "form[action='/console/iam/administrators'] input[name=permission][value='API Clients']").await;
        api_clients.click().await.expect("tick API Clients");
        follow(&browser, "form[action='/console/iam/administrators'] button[type=submit]").await;
        until_text(&browser, "dev@acme.example is invited").await;
        let row = find(&browser, "tr[data-email='dev@acme.example']").await.text().await.expect("row");
        assert!(row.contains("Custom: API Clients") && row.contains("Invitation sent"), "{row}");
        screenshots(&browser, backend, "administrators").await;
        sign_out(&browser).await;

        // The invitation, read from the mail drop, is accepted with a password.
        let mail_dir = env.db.data_dir.path().join("mail");
        let mail = std::fs::read_dir(&mail_dir).expect("mail").filter_map(Result::ok)
            .map(|e| std::fs::read_to_string(e.path()).expect("message"))
            .find(|m| m.lines().any(|l| l == "To: dev@acme.example")).expect("the invitation");
        let link = mail.lines().find(|l| l.starts_with("http")).expect("link").trim().to_owned();
        browser.goto(&link).await.expect("invitation");
        type_into(&browser, "#password", PASSWORD).await;
        type_into(&browser, "#confirm", PASSWORD).await;
        follow(&browser, "form button[type=submit]").await;
        until_text(&browser, "Invitation accepted").await;

        // The custom administrator sees API Access only, and is refused the rest.
        sign_in(&browser, &env, "dev@acme.example").await;
        click(&browser, ".menu summary").await;
        follow(&browser, ".menu a[href='/console/iam']").await;
        find(&browser, "#client-name").await;
        assert!(browser.find(Locator::Css(".tabs a[href='/console/iam/administrators']")).await.is_err(), "no Administrators tab");
        let text = page_text(&browser).await;
        assert!(text.contains("Create Client") && !text.contains("terraform"), "own clients only");
        browser.goto(&env.url("/console/iam/administrators")).await.expect("administrators");
        until_text(&browser, "Not available to you").await;
        screenshots(&browser, backend, "refused").await;

        // Developer portal: Generate token, then Invoke API.
        browser.goto(&env.url("/portal")).await.expect("portal");
        find(&browser, "#exploration-heading").await;
        screenshots(&browser, backend, "portal").await;
        click(&browser, "#op-getMe summary").await;
        click(&browser, "#op-getMe button[data-opens='set-authentication']").await;
        until_open(&browser, "set-authentication", true).await;
        type_into(&browser, "#portal-client-id", &seed.client_id).await;
        type_into(&browser, "#portal-secret", &seed.secret).await;
        click(&browser, "#set-authentication button[type=submit]").await;
        find(&browser, "#generated-authorization").await;
        let authorization = value(&browser, "#generated-authorization").await;
        assert!(authorization.starts_with("CwsAuth Bearer=ey"), "{authorization}");
        assert!(find(&browser, "#generated-expiry").await.text().await.expect("text").contains("3600 seconds"));
        screenshots(&browser, backend, "portal-token").await;
        click(&browser, "#set-authentication button[data-closes]").await;
        until_open(&browser, "set-authentication", false).await;
        assert_eq!(value(&browser, "#op-getMe input.authorization").await, authorization, "Generate fills the Authorization header");
        click(&browser, "#op-getMe button[type=submit]").await;
        let status = find(&browser, "#op-getMe .response .status").await;
        let answered = eventually(WAIT, || async { status.text().await.is_ok_and(|t| t.starts_with("200")) }).await;
        assert!(answered, "Invoke API answers 200: {}", status.text().await.unwrap_or_default());
        let body = find(&browser, "#op-getMe .response .body").await.text().await.expect("body");
        let me: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("the body shown is JSON ({e}): {body}"));
        assert_eq!(me["Customers"][0]["Id"], "acme", "{body}");
        assert_eq!(me["VerifiedEmail"], seed.admin.as_str(), "the generated token's owner: {body}");
        let headers = find(&browser, "#op-getMe .response .headers").await.text().await.expect("headers");
        assert!(headers.contains("content-type: application/json"), "{headers}");
        screenshots(&browser, backend, "portal-invoked").await;

        // A POST with a JSON body: the form starts from the schema's fields.
        click(&browser, "#op-createSecureClient summary").await;
        let body = find(&browser, "#createSecureClient-body").await;
        assert_eq!(body.prop("value").await.expect("value").unwrap_or_default(), "{\n  \"name\": \"\"\n}");
        body.clear().await.expect("clear");
        body.send_keys("{\"name\": \"from-portal\"}").await.expect("type");
        click(&browser, "#op-createSecureClient button[type=submit]").await;
        let status = find(&browser, "#op-createSecureClient .response .status").await;
        let answered = eventually(WAIT, || async { status.text().await.is_ok_and(|t| t.starts_with("201")) }).await;
        assert!(answered, "Invoke API answers 201: {}", status.text().await.unwrap_or_default());
        let names: Vec<String> = env.directory().list_api_clients(&Actor::operator(), "acme", Some(AdministratorRef::Email(&seed.admin)), None).await.expect("clients").items.into_iter().map(|c| c.name).collect();
        assert!(names.contains(&"from-portal".to_owned()), "{names:?}");

        // A session left idle ends: the next form is refused and the next page asks to sign in.
        browser.goto(&env.url("/console/iam/api-access")).await.expect("api access");
        type_into(&browser, "#client-name", "too late").await;
        env.clock.advance(31 * 60);
        follow(&browser, "form[action='/console/iam/api-access'] button[type=submit]").await;
        until_text(&browser, "Your session has ended").await;
        browser.goto(&env.url("/console/iam/api-access")).await.expect("api access");
        until_text(&browser, "Your session ended. Sign in again to go on.").await;
        browser.close().await.expect("close");
    }
}
