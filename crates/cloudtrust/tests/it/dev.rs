//! `cloudtrust serve --dev`: the newcomer's first command.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Server, cloudtrust, token_status};

fn env_value(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=\"")))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_prints_working_credentials_and_reuses_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(cloudtrust(dir.path()), true).await;
    let printed = server.stdout.join("\n");
    let client_id = env_value(&printed, "CLIENT_ID");
    let secret = env_value(&printed, "CLIENT_SECRET");
    assert_eq!(env_value(&printed, "CUSTOMER_ID"), "demo");
    assert!(printed.contains(&format!(
        "token_url=\"{}/cctrustoauth2/root/tokens/clients\"",
        server.base_url
    )));
    assert!(printed.contains(
        "curl ${token_url} -d \"grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}\""
    ));

    let env_file = dir.path().join("cloudtrust-dev.env");
    let mode = std::fs::metadata(&env_file)
        .expect("env file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the env file is private");
    let saved = std::fs::read_to_string(&env_file).expect("read");
    assert_eq!(env_value(&saved, "CLIENT_ID"), client_id);
    assert_eq!(env_value(&saved, "CLIENT_SECRET"), secret);
    assert_eq!(env_value(&saved, "CONSOLE_EMAIL"), "admin@demo.example");
    let console_password = env_value(&saved, "CONSOLE_PASSWORD");
    assert_eq!(env_value(&printed, "CONSOLE_PASSWORD"), console_password);
    let smart_key = env_value(&saved, "SMART_API_KEY");
    let smart_secret = env_value(&saved, "SMART_SECRET");
    assert!(smart_key.contains('@'));
    assert_eq!(env_value(&printed, "SMART_API_KEY"), smart_key);

    // The Smart Tools key works as the seed's recipe uses it.
    let companies: serde_json::Value = reqwest::get(format!(
        "{}/v0/companies?client_id={}",
        server.base_url,
        smart_key.replace('@', "%40")
    ))
    .await
    .expect("companies")
    .json()
    .await
    .expect("json");
    let company = companies[0]["companyId"].as_i64().expect("companyId");
    let shell = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && curl -s -u \"${{SMART_API_KEY}}:${{SMART_SECRET}}\" '{}/v0/oauth/token?grant_type=client_credentials&scope=Admin,{company}'",
            env_file.display(),
            server.base_url,
        ))
        .output()
        .expect("bash");
    let body: serde_json::Value = serde_json::from_slice(&shell.stdout).expect("curl got JSON");
    assert_eq!(body["expiresIn"], 43199, "{body}");

    // The printed console address and password sign in, with curl keeping the cookies.
    assert!(printed.contains(&format!("{}/console", server.base_url)));
    let shell = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {env} && jar=$(mktemp) && \
             csrf=$(curl -s -c \"$jar\" {base}/console/signin | sed -n 's/.*name=\"csrf\" value=\"\\([^\"]*\\)\".*/\\1/p') && \
             curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -b \"$jar\" {base}/console/signin \
               --data-urlencode \"csrf=$csrf\" --data-urlencode \"email=$CONSOLE_EMAIL\" --data-urlencode \"password=$CONSOLE_PASSWORD\"",
            env = env_file.display(),
            base = server.base_url,
        ))
        .output()
        .expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        format!("303 {}/console/iam", server.base_url),
        "signed in"
    );

    // `source cloudtrust-dev.env` then the seed's curl line, in a real shell.
    let shell = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && curl -s ${{token_url}} -d \"grant_type=client_credentials&client_id=${{CLIENT_ID}}&client_secret=${{CLIENT_SECRET}}\"",
            env_file.display()
        ))
        .output()
        .expect("bash");
    let body: serde_json::Value = serde_json::from_slice(&shell.stdout).expect("curl got JSON");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], "3600");
    assert!(server.stop().success(), "SIGTERM stops the server cleanly");

    // A second start duplicates nothing and prints the same credentials.
    let again = Server::start(cloudtrust(dir.path()), true).await;
    let printed = again.stdout.join("\n");
    assert_eq!(env_value(&printed, "CLIENT_ID"), client_id);
    assert_eq!(env_value(&printed, "CLIENT_SECRET"), secret);
    assert_eq!(env_value(&printed, "SMART_API_KEY"), smart_key);
    assert_eq!(env_value(&printed, "SMART_SECRET"), smart_secret);
    assert_eq!(
        env_value(&printed, "CONSOLE_PASSWORD"),
        console_password,
        "the same password again"
    );
    assert_eq!(
        token_status(&again.base_url, "root", &client_id, &secret).await,
        200
    );
    let list = cloudtrust(dir.path())
        .args(["client", "list", "--customer", "demo", "--json"])
        .output()
        .expect("client list");
    let clients: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(clients.as_array().expect("array").len(), 1);
    let customers = cloudtrust(dir.path())
        .args(["customer", "list", "--json"])
        .output()
        .expect("customer list");
    let customers: serde_json::Value = serde_json::from_slice(&customers.stdout).expect("json");
    assert_eq!(customers.as_array().expect("array").len(), 1);
    assert!(again.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_with_an_smtp_url_names_the_server_without_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = cloudtrust(dir.path());
    // Nothing is invited here, so nothing connects to this port.
    command.env(
        "CLOUDTRUST_SMTP_URL",
        "smtp://mailer:s3cret@127.0.0.1:2525?tls=required",
    );
    let server = Server::start(command, true).await;
    let printed = server.stdout.join("\n");
    let line = printed
        .lines()
        .find(|l| l.starts_with("Invitations to new administrators"))
        .unwrap_or_else(|| panic!("where invitations go, in {printed}"));
    assert_eq!(
        line,
        "Invitations to new administrators are sent by SMTP through smtp://127.0.0.1:2525?tls=required"
    );
    assert!(
        !printed.contains("s3cret") && !printed.contains("mailer"),
        "{printed}"
    );
    assert!(
        !dir.path().join("mail").exists(),
        "no mail drop is set up when SMTP is configured"
    );
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_dev_prints_the_ca_and_hosts_line_and_saves_them() {
    // A data dir given relative to the working directory, as `--data-dir data` would be.
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut command = cloudtrust(std::path::Path::new("data"));
    command
        .current_dir(dir.path())
        .env("CLOUDTRUST_TLS_DEV", "true")
        .env("CLOUDTRUST_TLS_LISTEN", "127.0.0.1:0");
    let server = Server::start(command, true).await;
    let printed = server.stdout.join("\n");
    let hosts_line = printed
        .lines()
        .find(|l| l.starts_with("127.0.0.1 api-us.cloud.com"))
        .unwrap_or_else(|| panic!("a hosts line in {printed}"));
    assert!(hosts_line.contains(" trust.citrixworkspacesapi.net"));
    let env_file = data_dir.join("cloudtrust-dev.env");
    let saved = std::fs::read_to_string(&env_file).expect("env file");
    let ca = env_value(&saved, "DEV_CA");
    let port: u16 = env_value(&saved, "TLS_PORT").parse().expect("port");
    assert!(printed.contains(&ca), "the CA path is printed");
    assert_eq!(
        std::path::Path::new(&ca),
        data_dir.join("cloudtrust-dev-ca.pem"),
        "the CA path is absolute"
    );
    for place in [
        "source ",
        "Database: sqlite://",
        "written to ",
        "Trust this CA in the clients: ",
    ] {
        let line = printed
            .lines()
            .find(|l| l.contains(place))
            .unwrap_or_else(|| panic!("{place:?} in {printed}"));
        let path = &line[line.find(place).expect("found") + place.len()..];
        assert!(path.starts_with('/'), "a printed path is absolute: {line}");
    }

    // Another shell, in another directory, sources the file and uses the CA with curl, and
    // Python opens it as `ssl.create_default_context(cafile=…)` does.
    let shell = std::process::Command::new("bash")
        .current_dir("/")
        .arg("-c")
        .arg(format!(
            "source {env} && python3 -c 'import os, ssl; ssl.create_default_context(cafile=os.environ[\"DEV_CA\"])' && \
             curl -s --cacert \"$DEV_CA\" --resolve \"api-us.cloud.com:$TLS_PORT:127.0.0.1\" \
               \"https://api-us.cloud.com:$TLS_PORT/cctrustoauth2/root/tokens/clients\" \
               -d \"grant_type=client_credentials&client_id=${{CLIENT_ID}}&client_secret=${{CLIENT_SECRET}}\"",
            env = env_file.display(),
        ))
        .output()
        .expect("bash");
    assert!(
        shell.status.success(),
        "{}",
        String::from_utf8_lossy(&shell.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&shell.stdout).expect("curl got JSON");
    assert_eq!(body["token_type"], "bearer");

    let client = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("CA")).expect("pem"),
        ])
        .resolve(
            "api-us.cloud.com",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .expect("client");
    let response = client
        .post(format!(
            "https://api-us.cloud.com:{port}/cctrustoauth2/root/tokens/clients"
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &env_value(&saved, "CLIENT_ID")),
            ("client_secret", &env_value(&saved, "CLIENT_SECRET")),
        ])
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(response.status(), 200);
    assert!(server.stop().success());
}
