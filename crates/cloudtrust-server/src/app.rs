//! Wiring: open the database, check the key-encryption key, load keys, start the background
//! tasks and serve HTTP until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::config::{Config, DEFAULT_TLS_LISTEN};
use crate::domain::Directory;
use crate::domain::console_sessions::ConsoleSessions;
use crate::domain::secrets::SecretHasher;
use crate::domain::tokens::TokenPolicy;
use crate::error::{Error, Result};
use crate::http::region::Regions;
use crate::keys::KeyRing;
use crate::keys::kek::{KekSource, KeyEncryptionKey};
use crate::notify::Notifier;
use crate::store::{self, Backend, Store};
use crate::throttle::Throttle;
use crate::tls::{DevCertificates, ServerCertificate, dev_hosts, ensure_dev_certificates};
use crate::usage::UsageRecorder;
use crate::{changes, http};
use axum_server::tls_rustls::RustlsConfig;

/// Name of the setting that holds the KEK fingerprint.
const KEK_FINGERPRINT: &str = "kek_fingerprint";
/// Label of the subkey that keys the hash of API-client secrets.
const SECRET_HASH_LABEL: &str = "cloudtrust/api-client-secret/v1";

/// What the command line and the server both need: the database and the directory over it.
#[derive(Debug)]
pub struct Foundation {
    /// The configuration in effect.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// The key-encryption key, checked against the database.
    pub kek: KeyEncryptionKey,
    /// The keyed hash of API-client secrets.
    pub secrets: Arc<SecretHasher>,
    /// The cache the token endpoints read.
    pub cache: Arc<AuthCache>,
    /// Customers, administrators and API clients.
    pub directory: Directory,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl Foundation {
    /// Connects, migrates and checks the key-encryption key (creating it on first use).
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Foundation> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir)?;
        }
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let kek = open_kek(&config, &store).await?;
        let secrets = Arc::new(SecretHasher::new(&kek.derive(SECRET_HASH_LABEL)));
        let cache = Arc::new(AuthCache::new(store.clone()));
        let directory =
            Directory::new(store.clone(), clock.clone(), secrets.clone(), cache.clone());
        Ok(Foundation {
            config,
            store,
            kek,
            secrets,
            cache,
            directory,
            clock,
        })
    }
}

async fn open_kek(config: &Config, store: &Store) -> Result<KeyEncryptionKey> {
    let mut kek = KeyEncryptionKey::locate(config.key_encryption_key.as_deref(), &config.data_dir)?;
    let mut conn = store.conn().await?;
    let recorded = store::settings::get(&mut conn, KEK_FINGERPRINT).await?;
    if recorded.is_none()
        && kek.source == KekSource::Generated
        && let Err(e) = kek.save(&config.data_dir)
    {
        // Another process may have written one first: use that.
        kek = KeyEncryptionKey::locate(None, &config.data_dir).map_err(|_| e)?;
    }
    let mismatch = |recorded: &str| {
        Error::internal(format!(
            "this database was set up with another key-encryption key (fingerprint {recorded}, \
             this one {}); run with the data dir that holds its {} (--data-dir) or set \
             CLOUDTRUST_KEY_ENCRYPTION_KEY",
            kek.fingerprint(),
            crate::keys::kek::KEK_FILE,
        ))
    };
    match recorded {
        Some(recorded) if recorded != kek.fingerprint() => return Err(mismatch(&recorded)),
        Some(_) => {}
        None => {
            if kek.source == KekSource::Generated {
                return Err(Error::internal(
                    "the generated key-encryption key was not saved",
                ));
            }
            let in_effect =
                store::settings::set_once(&mut conn, KEK_FINGERPRINT, &kek.fingerprint()).await?;
            if in_effect != kek.fingerprint() {
                return Err(mismatch(&in_effect));
            }
        }
    }
    Ok(kek)
}

/// Everything a request handler can reach.
pub struct Shared {
    /// The configuration in effect.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The key-encryption key.
    pub kek: KeyEncryptionKey,
    /// Signing keys, loaded.
    pub keys: KeyRing,
    /// Clients, administrators and customers in memory.
    pub cache: Arc<AuthCache>,
    /// The directory service.
    pub directory: Directory,
    /// Token usage waiting to be written.
    pub usage: UsageRecorder,
    /// How tokens are issued and checked.
    pub tokens: TokenPolicy,
    /// The keyed hash of API-client secrets.
    pub secrets: Arc<SecretHasher>,
    /// Messages to people.
    pub notifier: Notifier,
    /// Failed-attempt counters of the token endpoints.
    pub throttle: Throttle,
    /// The regions served, by host.
    pub regions: Regions,
    /// Sessions of the web console.
    pub console_sessions: ConsoleSessions,
}

impl Shared {
    /// Re-reads the signing keys (after another node or the command line changed them).
    pub async fn reload_keys(&self) -> Result<()> {
        self.keys
            .reload(
                &self.store,
                &self.kek,
                self.config.signing_algorithm,
                &*self.clock,
            )
            .await
    }
}

/// A configured instance, ready to serve.
#[derive(Clone)]
pub struct App {
    shared: Arc<Shared>,
}

impl App {
    /// Opens the database and loads the keys; `issuer` is the public base URL.
    pub async fn build(config: Config, clock: Arc<dyn Clock>, issuer: String) -> Result<App> {
        let foundation = Foundation::open(config, clock).await?;
        let keys = KeyRing::load(
            &foundation.store,
            &foundation.kek,
            foundation.config.signing_algorithm,
            &*foundation.clock,
        )
        .await?;
        let regions = Regions::new(&foundation.config, &issuer);
        let tokens = TokenPolicy {
            issuers: regions.issuers().to_vec(),
            issuer,
            audience: foundation.config.token_audience.clone(),
            lifetime_secs: i64::try_from(foundation.config.token_lifetime_secs)
                .map_err(|_| Error::invalid("token_lifetime_secs", "too large"))?,
        };
        let notifier = Notifier::new(&foundation.config)?;
        let usage = UsageRecorder::new(foundation.config.audit_each_token);
        let throttle = Throttle::per_minute(
            foundation.config.failed_attempts_per_client,
            foundation.config.failed_attempts_per_address,
            foundation.config.throttle_shared && foundation.store.backend() == Backend::Postgres,
        );
        let console_sessions = ConsoleSessions::new(
            foundation.store.clone(),
            foundation.clock.clone(),
            i64::try_from(foundation.config.console_idle_minutes.saturating_mul(60))
                .map_err(|_| Error::invalid("console_idle_minutes", "too large"))?,
        );
        Ok(App {
            shared: Arc::new(Shared {
                config: foundation.config,
                store: foundation.store,
                clock: foundation.clock,
                kek: foundation.kek,
                keys,
                cache: foundation.cache,
                directory: foundation.directory,
                usage,
                tokens,
                secrets: foundation.secrets,
                notifier,
                throttle,
                regions,
                console_sessions,
            }),
        })
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The directory service.
    pub fn directory(&self) -> &Directory {
        &self.shared.directory
    }

    /// The axum router.
    pub fn router(&self) -> axum::Router {
        http::router(self.shared.clone())
    }
}

/// A server running in the background of this process.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The bound HTTPS address, when HTTPS is served.
    pub tls_addr: Option<SocketAddr>,
    /// The development certificates, with `tls_dev`.
    pub dev_certificates: Option<DevCertificates>,
    /// The public base URL (token `iss`).
    pub base_url: String,
    /// The instance.
    pub app: App,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    tls: Option<(
        axum_server::Handle<SocketAddr>,
        JoinHandle<std::io::Result<()>>,
    )>,
    tasks: Vec<JoinHandle<()>>,
}

/// What HTTPS serves: the configured certificate, or the development one.
fn tls_certificate(
    config: &Config,
) -> Result<Option<(ServerCertificate, Option<DevCertificates>)>> {
    if config.tls_dev {
        let dev = ensure_dev_certificates(&config.data_dir, &dev_hosts(config))?;
        return Ok(Some((dev.server.clone(), Some(dev))));
    }
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &std::path::Path| {
                std::fs::read(path).map_err(|e| Error::internal(format!("{}: {e}", path.display())))
            };
            Ok(Some((
                ServerCertificate {
                    cert_pem: read(cert)?,
                    key_pem: read(key)?,
                },
                None,
            )))
        }
        (None, None) => Ok(None),
        _ => Err(Error::invalid(
            "tls_cert",
            "tls_cert and tls_key go together",
        )),
    }
}

impl RunningServer {
    /// Binds `config.listen` (port 0 picks a free port), builds the app and starts serving.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr()?;
        let base_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{addr}"),
        };
        let app = App::build(config, clock, base_url.clone()).await?;
        let (shutdown, receiver) = watch::channel(false);
        let shared = app.shared.clone();
        let tasks = vec![
            tokio::spawn(changes::follow(shared.clone(), receiver.clone())),
            tokio::spawn(flush_usage(shared.clone(), receiver.clone())),
            tokio::spawn(purge_system_log(shared.clone(), receiver.clone())),
            tokio::spawn(share_failures(shared.clone(), receiver.clone())),
        ];
        let router = app.router();
        let (tls, tls_addr, dev_certificates) = match tls_certificate(&app.shared.config)? {
            None => (None, None, None),
            Some((certificate, dev)) => {
                let address = match app.shared.config.tls_listen {
                    Some(address) => address,
                    None => DEFAULT_TLS_LISTEN
                        .parse()
                        .map_err(|_| Error::internal("bad default TLS address"))?,
                };
                let rustls = RustlsConfig::from_pem(certificate.cert_pem, certificate.key_pem)
                    .await
                    .map_err(|e| Error::invalid("tls_cert", format!("cannot use it: {e}")))?;
                let handle = axum_server::Handle::new();
                let serve = axum_server::bind_rustls(address, rustls)
                    .handle(handle.clone())
                    .serve(
                        router
                            .clone()
                            .into_make_service_with_connect_info::<SocketAddr>(),
                    );
                let task = tokio::spawn(serve);
                let bound = handle.listening().await.ok_or_else(|| {
                    Error::internal(format!("cannot listen for HTTPS on {address}"))
                })?;
                (Some((handle, task)), Some(bound), dev)
            }
        };
        let mut stop = receiver;
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
        });
        Ok(RunningServer {
            addr,
            tls_addr,
            dev_certificates,
            tls,
            base_url,
            app,
            shutdown,
            server,
            tasks,
        })
    }

    /// Runs until `signal` completes, then stops gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<()> {
        signal.await;
        self.stop().await
    }

    /// Stops accepting requests, lets those in flight finish, writes pending usage and closes
    /// the database.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        if let Some((handle, task)) = self.tls {
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
            let _ = task.await;
        }
        let served = self
            .server
            .await
            .map_err(|e| Error::internal(format!("server task: {e}")))?;
        for task in self.tasks {
            let _ = task.await;
        }
        let shared = &self.app.shared;
        shared.usage.flush(&shared.store).await?;
        shared.store.close().await;
        served.map_err(Error::from)
    }
}

async fn flush_usage(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(shared.config.usage_flush_millis.max(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = shared.usage.flush(&shared.store).await {
            tracing::warn!(error = %e, "writing token usage failed; will retry");
        }
    }
}

/// How often old system-log records are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

async fn purge_system_log(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let keep = i64::try_from(shared.config.audit_retention_days.saturating_mul(86_400))
        .unwrap_or(i64::MAX);
    loop {
        let before = shared.clock.now().saturating_sub(keep);
        match shared.directory.purge_system_log(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "old system-log records deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting old system-log records failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Writes this node's failed token requests to the shared counts every second, and announces
/// a block for every key whose total across nodes reached its limit in this window.
async fn share_failures(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    if !shared.throttle.is_shared() {
        return;
    }
    let mut last_prune = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        let now = shared.clock.now();
        if let Err(e) = write_failures(&shared, now).await {
            tracing::warn!(error = %e, "sharing failed token requests failed");
        }
        if now - last_prune >= crate::throttle::WINDOW_SECS {
            let pruned = match shared.store.conn().await {
                Ok(mut conn) => {
                    let before = now - 2 * crate::throttle::WINDOW_SECS;
                    store::failed_attempts::prune(&mut conn, before).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "pruning shared failure counts failed");
            }
            last_prune = now;
        }
    }
}

async fn write_failures(shared: &Shared, now: i64) -> Result<()> {
    let pending = shared.throttle.take_pending();
    if pending.is_empty() {
        return Ok(());
    }
    let window = now - now.rem_euclid(crate::throttle::WINDOW_SECS);
    let until = window + crate::throttle::WINDOW_SECS;
    let written = async {
        let mut tx = shared.store.begin().await?;
        for (key, n) in &pending {
            let total = store::failed_attempts::add(&mut tx, key, window, *n).await?;
            if total >= shared.throttle.limit_of(key) {
                store::failed_attempts::announce_block(
                    &mut tx,
                    changes::THROTTLE_CHANNEL,
                    key,
                    until,
                )
                .await?;
            }
        }
        tx.commit().await
    }
    .await;
    if written.is_err() {
        // Counted again with the next batch, so an outage does not forgive failures.
        shared.throttle.put_back(pending);
    }
    written
}
