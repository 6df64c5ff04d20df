//! Running the `cloudtrust` binary against a fresh database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use crate::testdb::{TestDb, eventually};

pub(crate) use crate::testdb::db_test;

/// What `db_test!` bodies get by default: a fresh database the binary is run against.
pub type DefaultFixture = TestDb;

impl TestDb {
    /// Runs `cloudtrust --data-dir … --database-url … <args>`.
    pub fn run(&self, args: &[&str]) -> Output {
        cloudtrust(self.data_dir.path())
            .args(["--database-url", &self.url])
            .args(args)
            .output()
            .expect("run cloudtrust")
    }

    /// Runs `cloudtrust … <args>` with `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = cloudtrust(self.data_dir.path())
            .args(["--database-url", &self.url])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cloudtrust");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("output")
    }

    /// Runs a command that must succeed with `--json`, returning its JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "cloudtrust {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

/// The customer `acme`, its full administrator `ann@acme.example` and an API client of theirs.
pub struct Acme {
    pub admin_id: String,
    pub client_id: String,
    pub secret: String,
}

/// Makes [`Acme`] with the command line: `cli` runs one command and returns its JSON.
pub fn acme(cli: impl Fn(&[&str]) -> serde_json::Value, client_name: &str) -> Acme {
    cli(&["customer", "create", "--id", "acme", "--name", "Acme"]);
    let admin = cli(&[
        "admin",
        "add",
        "--customer",
        "acme",
        "--email",
        "ann@acme.example",
        "--full",
    ]);
    let client = cli(&[
        "client",
        "create",
        "--customer",
        "acme",
        "--admin",
        "ann@acme.example",
        "--name",
        client_name,
    ]);
    let text = |value: &serde_json::Value| value.as_str().expect("a string").to_owned();
    Acme {
        admin_id: text(&admin["id"]),
        client_id: text(&client["client_id"]),
        secret: text(&client["client_secret"]),
    }
}

/// The binary with a data dir and a clean environment.
pub fn cloudtrust(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudtrust"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("CLOUDTRUST_DATABASE_URL")
        .env_remove("CLOUDTRUST_KEY_ENCRYPTION_KEY")
        // A developer's own mail settings must not send the tests' invitations anywhere.
        .env_remove("CLOUDTRUST_SMTP_URL")
        .env_remove("CLOUDTRUST_MAIL_DIR")
        .env_remove("CLOUDTRUST_MAIL_FROM")
        .env("RUST_LOG", "warn");
    command
}

/// A `cloudtrust serve` process, stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub stdout: Vec<String>,
}

impl Server {
    /// Starts `serve` with extra arguments on a free port and waits until it answers; reads
    /// stdout up to the last line of the dev-mode announcement when `dev` is set.
    pub async fn start(command: Command, dev: bool) -> Server {
        Server::start_on(command, dev, "127.0.0.1:0").await
    }

    /// [`Server::start`] listening on `address`.
    pub async fn start_on(mut command: Command, dev: bool, address: &str) -> Server {
        command
            .args(["serve", "--listen", address])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if dev {
            command.arg("--dev");
        }
        let mut child = command.spawn().expect("spawn serve");
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        // The listening URL is logged on stderr.
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("url=http://") {
                    let url = line[at + 4..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = url_tx.send(url);
                }
            }
        });
        let base_url = url_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs its URL");
        let mut lines = Vec::new();
        if dev {
            let (line_tx, line_rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line_tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                let line = line_rx
                    .recv_timeout(Duration::from_secs(30))
                    .expect("dev output");
                let done = line.starts_with("Invitations to new administrators");
                lines.push(line);
                if done {
                    break;
                }
            }
        }
        Server {
            child,
            base_url,
            stdout: lines,
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let status = self.child.wait().expect("wait");
        std::mem::forget(self);
        status
    }

    /// Sends SIGKILL, which the process cannot catch: nothing is flushed or closed, as in a
    /// crash. Waits for it to be gone.
    pub fn kill(mut self) -> std::process::ExitStatus {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        std::mem::forget(self);
        status
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}

/// Posts the client-credentials form with `http`.
pub async fn request_token(
    http: &reqwest::Client,
    base: &str,
    customer: &str,
    id: &str,
    secret: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/cctrustoauth2/{customer}/tokens/clients"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
}

/// Posts the client-credentials form; the answer's status.
pub async fn token_status(base: &str, customer: &str, id: &str, secret: &str) -> u16 {
    request_token(&reqwest::Client::new(), base, customer, id, secret)
        .await
        .expect("request")
        .status()
        .as_u16()
}
