//! `tls_dev`: a client that trusts only the development CA reaches
//! `https://api-us.cloud.com/cctrustoauth2/root/tokens/clients` through a resolver override,
//! over HTTP/2, and gets a token whose issuer is that host.

use crate::support::{Backend, Env, token_request};

/// An error and all its sources, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn with_tls_dev(config: &mut cloudtrust_server::Config) {
    config.tls_dev = true;
    config.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    if let Some(env) = Env::with(Backend::Sqlite, with_tls_dev).await {
        an_unmodified_client_reaches_the_real_host_name_over_http2(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn postgres() {
    if let Some(env) = Env::with(Backend::Postgres, with_tls_dev).await {
        an_unmodified_client_reaches_the_real_host_name_over_http2(env).await;
    }
}

async fn an_unmodified_client_reaches_the_real_host_name_over_http2(env: Env) {
    let seed = env.seed().await;
    let tls_addr = env.server.tls_addr.expect("HTTPS is served");
    let dev = env
        .server
        .dev_certificates
        .as_ref()
        .expect("development certificates");
    let ca = std::fs::read(&dev.ca_path).expect("CA file");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("CA")])
        .resolve("api-us.cloud.com", tls_addr)
        .resolve("smart.cloud.com", tls_addr)
        .build()
        .expect("client");

    let port = tls_addr.port();
    let response = client
        .post(format!(
            "https://api-us.cloud.com:{port}/cctrustoauth2/root/tokens/clients"
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &seed.client_id),
            ("client_secret", &seed.secret),
        ])
        .send()
        .await
        .expect("HTTPS request with only the development CA trusted");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["x-cc-localgeo"], "US");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["expires_in"], "3600");

    let health = client
        .get(format!("https://smart.cloud.com:{port}/healthz"))
        .send()
        .await
        .expect("another host");
    assert_eq!(health.status(), 200);

    // Over HTTPS, the console's cookies are `Secure`.
    let sign_in = client
        .get(format!("https://api-us.cloud.com:{port}/console/signin"))
        .send()
        .await
        .expect("console over HTTPS");
    let cookie = sign_in.headers()["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.starts_with("__Host-cloudtrust_form=") && cookie.contains("; Secure"),
        "{cookie}"
    );

    // Over the TLS listener, cookies are `Secure` even where the public URL is plain HTTP,
    // and answers tell the browser to keep to HTTPS.
    assert!(env.base().starts_with("http://"));
    let local = client
        .get(format!("https://localhost:{port}/console/signin"))
        .send()
        .await
        .expect("console over HTTPS on another host");
    let cookie = local.headers()["set-cookie"].to_str().expect("cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert_eq!(
        local.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = env
        .http
        .get(env.url("/console/signin"))
        .send()
        .await
        .expect("plain HTTP");
    let cookie = plain.headers()["set-cookie"].to_str().expect("cookie");
    assert!(!cookie.contains("Secure"), "not over plain HTTP: {cookie}");
    assert!(plain.headers().get("strict-transport-security").is_none());

    // Without the CA, the certificate is not trusted.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([])
        .resolve("api-us.cloud.com", tls_addr)
        .build()
        .expect("client");
    let refused = untrusting
        .get(format!("https://api-us.cloud.com:{port}/healthz"))
        .send()
        .await
        .expect_err("a certificate from an unknown CA is refused");
    let chain = error_chain(&refused);
    assert!(
        chain.contains("invalid peer certificate") && chain.contains("UnknownIssuer"),
        "refused for its certificate, not for another reason: {chain}"
    );

    // The same certificates are used on the next start.
    let pem = std::fs::read(
        env.db
            .data_dir
            .path()
            .join(cloudtrust_server::tls::DEV_CERT_FILE),
    )
    .expect("cert");
    let again = cloudtrust_server::tls::ensure_dev_certificates(env.db.data_dir.path(), &dev.hosts)
        .expect("again");
    assert_eq!(again.server.cert_pem, pem);
}

/// `tls_cert` / `tls_key` serve a given certificate (here: the development one, as files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_certificate_is_served() {
    let files = tempfile::tempdir().expect("temp dir");
    let made = cloudtrust_server::tls::ensure_dev_certificates(
        files.path(),
        &["api-eu.cloud.com".to_owned()],
    )
    .expect("certificate");
    let env = Env::with(Backend::Sqlite, |config| {
        config.tls_cert = Some(files.path().join(cloudtrust_server::tls::DEV_CERT_FILE));
        config.tls_key = Some(files.path().join(cloudtrust_server::tls::DEV_KEY_FILE));
        config.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
    })
    .await
    .expect("sqlite");
    assert!(env.server.dev_certificates.is_none());
    let tls_addr = env.server.tls_addr.expect("HTTPS is served");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(&made.ca_path).expect("CA"),
        )
        .expect("pem")])
        .resolve("api-eu.cloud.com", tls_addr)
        .build()
        .expect("client");
    let response = client
        .get(format!(
            "https://api-eu.cloud.com:{}/healthz",
            tls_addr.port()
        ))
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-cc-localgeo"], "EU");
}

/// `plain_http = false` (`serve --no-plain-http`): HTTPS is the only listener and the base URL
/// is `https://`; a plain-HTTP client finds nothing there. Without HTTPS set up, the server
/// refuses to start rather than serve nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_only_serves_no_plain_http() {
    let Some(env) = Env::with(Backend::Sqlite, |config| {
        with_tls_dev(config);
        config.plain_http = false;
    })
    .await
    else {
        return;
    };
    let seed = env.seed().await;
    let tls_addr = env.server.tls_addr.expect("HTTPS is served");
    assert_eq!(env.server.plain_addr, None);
    assert_eq!(env.server.addr, tls_addr);
    assert_eq!(env.base(), format!("https://{tls_addr}"));
    let dev = env.server.dev_certificates.as_ref().expect("certificates");
    let ca = std::fs::read(&dev.ca_path).expect("CA file");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("CA")])
        .build()
        .expect("client");
    let base = format!("https://localhost:{}", tls_addr.port());
    let response = token_request(&client, &base, "root", &seed.client_id, &seed.secret).await;
    assert_eq!(response.status(), 200);
    let plain = reqwest::Client::new()
        .get(format!("http://{tls_addr}/healthz"))
        .send()
        .await;
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "plain HTTP gets no answer"
    );

    let db = crate::testdb::TestDb::create(Backend::Sqlite)
        .await
        .expect("database");
    let mut config = db.config();
    config.plain_http = false;
    let refused = cloudtrust_server::RunningServer::start(
        config,
        std::sync::Arc::new(cloudtrust_server::SystemClock),
    )
    .await
    .err()
    .expect("nothing to serve");
    assert!(refused.to_string().contains("plain_http"), "{refused}");
}
