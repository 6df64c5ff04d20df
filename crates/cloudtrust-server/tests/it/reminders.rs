//! Reminders that a Workspace OAuth client's secret expires: each sent once per secret and
//! threshold, with a clock moved forward, after a restart, and with two nodes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::domain::workspace_clients::{
    ClientType, NewWorkspaceClient, WorkspaceClient,
};
use cloudtrust_server::{Config, RunningServer};

use crate::smtp_sink::{Delivered, smtp_sink};
use crate::support::{Backend, Env, eventually};

const DAY: i64 = 86_400;

/// Checks for due reminders every second.
fn often(config: &mut Config) {
    config.workspace_reminder_check_secs = 1;
}

async fn reminder_env(backend: Backend) -> Option<Env> {
    Env::with(backend, often).await
}

/// A client of `acme` whose reminders go to `ops@acme.example`.
async fn client(env: &Env, client_type: ClientType) -> WorkspaceClient {
    env.directory()
        .create_workspace_client(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email("owner@acme.example"),
            NewWorkspaceClient {
                display_name: "Payroll".into(),
                client_type,
                redirect_uris: vec!["https://payroll.acme.example/cb".into()],
                post_logout_redirect_uris: vec![],
                require_user_consent: false,
                require_pkce: false,
                allow_offline_access: false,
                owner_contact: Some("ops@acme.example".into()),
            },
        )
        .await
        .expect("client")
        .client
}

/// The reminder files in the mail drop, by name.
fn reminders_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("secret-reminder-"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Waits until the mail drop holds `count` reminders, then a few more checks' time to show
/// that no more come, and returns them.
async fn settled_reminders(env: &Env, count: usize) -> Vec<PathBuf> {
    let dir = env.db.data_dir.path().join("mail");
    let arrived = eventually(Duration::from_secs(10), || async {
        reminders_in(&dir).len() >= count
    })
    .await;
    assert!(arrived, "{count} reminders: {:?}", reminders_in(&dir));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    reminders_in(&dir)
}

fn threshold_of(path: &Path) -> String {
    let name = path
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.rsplit('-').next().unwrap_or_default().to_owned()
}

/// One client through its secret's life: each threshold reminded once, a node that missed
/// thresholds sends only the most urgent, a restart sends nothing again.
async fn reminded_once(env: Env) {
    env.clock.stop();
    env.seed().await;
    let private = client(&env, ClientType::Private).await;
    client(&env, ClientType::Public).await;
    let expires = private.secret.expect("secret").expires_at;
    let now = private.created_at;

    // Fourteen days before the expiry (and a second): one reminder, and only one.
    env.clock.advance(expires - 14 * DAY - now + 1);
    let files = settled_reminders(&env, 1).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(threshold_of(&files[0]), "14");
    let message = std::fs::read_to_string(&files[0]).expect("message");
    assert!(
        message.lines().any(|l| l == "To: ops@acme.example"),
        "{message}"
    );
    assert!(
        message.contains("Subject: The secret of Payroll expires in 14 days"),
        "{message}"
    );
    assert!(message.contains("acme-private-1"), "{message}");
    assert!(
        !message.contains("acme-public-1"),
        "a public client has no secret to remind of"
    );

    // A restart (a new node over the same database) sends nothing again.
    let restarted = RunningServer::start(
        {
            let mut config = env.db.config();
            often(&mut config);
            config
        },
        env.clock.clone(),
    )
    .await
    .expect("restarted");
    let files = settled_reminders(&env, 1).await;
    assert_eq!(files.len(), 1, "{files:?}");
    restarted.stop().await.expect("stopped");

    // Half a day past the expiry, having missed the 7-day and 1-day thresholds: one message,
    // that it has expired.
    env.clock.advance(14 * DAY + DAY / 2);
    let files = settled_reminders(&env, 2).await;
    let thresholds: Vec<String> = files.iter().map(|f| threshold_of(f)).collect();
    assert_eq!(thresholds, ["0", "14"], "{files:?}");
    let expired = files
        .iter()
        .find(|f| threshold_of(f) == "0")
        .expect("expired");
    let message = std::fs::read_to_string(expired).expect("message");
    assert!(
        message.contains("Subject: The secret of Payroll has expired"),
        "{message}"
    );

    // A rotation gives a new secret for the full lifetime: nothing is due for it, and the one
    // it replaced is not reminded of again.
    env.directory()
        .rotate_workspace_secret(&Actor::operator(), "acme", &private.name)
        .await
        .expect("rotated");
    let files = settled_reminders(&env, 2).await;
    assert_eq!(files.len(), 2, "{files:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_sent_once_per_threshold_sqlite() {
    if let Some(env) = reminder_env(Backend::Sqlite).await {
        reminded_once(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn reminders_are_sent_once_per_threshold_postgres() {
    if let Some(env) = reminder_env(Backend::Postgres).await {
        reminded_once(env).await;
    }
}

/// Every message the sink receives within `wait`.
async fn received_within(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<Delivered>,
    wait: Duration,
) -> Vec<String> {
    let mut subjects = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(delivered)) = tokio::time::timeout_at(deadline, received.recv()).await {
        let text = String::from_utf8_lossy(&delivered.data).into_owned();
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        subjects.push(subject);
    }
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn two_nodes_send_each_reminder_once() {
    let (port, mut received) = smtp_sink().await;
    let smtp = |config: &mut Config| {
        often(config);
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    };
    let Some(env) = Env::with(Backend::Postgres, smtp).await else {
        return;
    };
    let mut config = env.db.config();
    smtp(&mut config);
    config.public_url = Some(env.server.base_url.clone());
    let second = RunningServer::start(config, env.clock.clone())
        .await
        .expect("second node");
    env.clock.stop();
    env.seed().await;
    let private = client(&env, ClientType::Private).await;
    let expires = private.secret.expect("secret").expires_at;

    // Seven days before the expiry: the 14-day reminder was never sent, so only the 7-day
    // one goes out, by one of the two nodes.
    env.clock.advance(expires - 7 * DAY - private.created_at);
    let subjects = received_within(&mut received, Duration::from_secs(6)).await;
    assert_eq!(subjects, ["The secret of Payroll expires in 7 days"]);
    env.clock.advance(6 * DAY);
    let subjects = received_within(&mut received, Duration::from_secs(6)).await;
    assert_eq!(subjects, ["The secret of Payroll expires tomorrow"]);
    second.stop().await.expect("stopped");
}
