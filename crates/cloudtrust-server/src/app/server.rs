//! A node: its services built over a [`Foundation`], its background jobs, and its HTTP (and
//! optional HTTPS) listeners, until stopped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::Foundation;
use super::listener::{self, Capped, Limits, Listening};
use crate::auth::{self, Auth};
use crate::cache::AuthCache;
use crate::changes::Follower;
use crate::clock::Clock;
use crate::config::{Config, DEFAULT_TLS_LISTEN};
use crate::domain::Directory;
use crate::domain::console_sessions::ConsoleSessions;
use crate::domain::tokens::TokenPolicy;
use crate::domain::workspace_sign_in::tokens::issuer_of;
use crate::domain::workspace_sign_in::{SignInPolicy, WorkspaceSignIn};
use crate::error::{Error, Result};
use crate::health::Health;
use crate::http::web::session::FormKey;
use crate::http::{self, BodyLimit, MetricsPlace, PublicUrl, ServiceSet, Services};
use crate::jobs::{self, Jobs, SecretReminders};
use crate::keys::KeyRing;
use crate::notify::Notifier;
use crate::regions::Regions;
use crate::store::{Backend, Store};
use crate::throttle::Throttle;
use crate::tls::{DevCertificates, ServerCertificate, dev_hosts, ensure_dev_certificates};
use crate::usage::UsageRecorder;

/// Label of the subkey that signs the signed-out anti-forgery cookie.
const FORM_KEY_LABEL: &str = "cloudtrust/form-cookie/v1";

/// How long in-flight requests may take to finish when the server stops.
const GRACE: Duration = Duration::from_secs(10);

/// A server running in the background of this process.
pub struct RunningServer {
    /// The main bound address: plain HTTP's, or HTTPS's when plain HTTP is off.
    pub addr: SocketAddr,
    /// The bound plain-HTTP address, unless plain HTTP is off (`plain_http = false`).
    pub plain_addr: Option<SocketAddr>,
    /// The bound HTTPS address, when HTTPS is served.
    pub tls_addr: Option<SocketAddr>,
    /// The bound address of the metrics listener, with `metrics_listen`.
    pub metrics_addr: Option<SocketAddr>,
    /// The development certificates, with `tls_dev`.
    pub dev_certificates: Option<DevCertificates>,
    /// The public base URL (token `iss`).
    pub base_url: String,
    foundation: Foundation,
    directory: Directory,
    cache: Arc<AuthCache>,
    usage: Arc<UsageRecorder>,
    jobs: Jobs,
    listeners: Vec<Listening>,
}

/// Connections the metrics listener accepts at once.
const METRICS_CONNECTIONS: usize = 16;

/// Binds `address` (port 0 picks a free port).
async fn bind(address: SocketAddr, what: &str) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| Error::internal(format!("cannot listen for {what} on {address}: {e}")))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
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

/// The services of a node, and the parts its jobs need.
struct Built {
    services: Services,
    cache: Arc<AuthCache>,
    usage: Arc<UsageRecorder>,
    throttle: Arc<Throttle>,
    keys: Arc<KeyRing>,
}

async fn build(foundation: &Foundation, issuer: &str) -> Result<Built> {
    let config = &foundation.config;
    let store = &foundation.store;
    let clock = foundation.clock.clone();
    let keys = Arc::new(
        KeyRing::load(
            store.clone(),
            foundation.kek.clone(),
            config.signing_algorithm,
            clock.clone(),
        )
        .await?,
    );
    let regions = Arc::new(Regions::new(config, issuer));
    let tokens = TokenPolicy {
        issuers: regions.issuers().to_vec(),
        issuer: issuer.to_owned(),
        audience: config.token_audience.clone(),
        lifetime_secs: i64::try_from(config.token_lifetime_secs)
            .map_err(|_| Error::invalid("token_lifetime_secs", "too large"))?,
    };
    let cache = Arc::new(AuthCache::new(store.clone(), config.cache_max_entries));
    let directory: Directory = foundation.directory.clone().reporting_to(cache.clone());
    let usage = Arc::new(UsageRecorder::new(config.audit_each_token));
    let throttle = Arc::new(Throttle::per_minute(
        config.failed_attempts_per_client,
        config.failed_attempts_per_address,
        config.throttle_shared && store.backend() == Backend::Postgres,
        clock.clone(),
    ));
    let sessions = ConsoleSessions::new(
        store.clone(),
        clock.clone(),
        i64::try_from(config.console_idle_minutes.saturating_mul(60))
            .map_err(|_| Error::invalid("console_idle_minutes", "too large"))?,
    );
    let sign_in = WorkspaceSignIn::new(
        store.clone(),
        clock.clone(),
        keys.clone(),
        SignInPolicy {
            access_lifetime_secs: tokens.lifetime_secs,
            refresh_lifetime_secs: config.workspace_refresh_lifetime_secs(),
            session_idle_secs: i64::try_from(config.console_idle_minutes.saturating_mul(60))
                .map_err(|_| Error::invalid("console_idle_minutes", "too large"))?,
        },
        regions.issuers().iter().map(|i| issuer_of(i)).collect(),
    );
    let auth = Arc::new(Auth::new(auth::Parts {
        cache: cache.clone(),
        directory: directory.clone(),
        secrets: foundation.secrets.clone(),
        throttle: throttle.clone(),
        clock: clock.clone(),
        regions: regions.clone(),
        usage: usage.clone(),
        keys: keys.clone(),
        tokens,
    }));
    let services = Services::new(ServiceSet {
        auth,
        directory,
        sessions,
        sign_in,
        notifier: Arc::new(Notifier::new(config)?),
        clock,
        keys: keys.clone(),
        health: Health::new(store.clone(), keys.clone()),
        regions,
        public_url: PublicUrl(Arc::from(issuer)),
        body_limit: BodyLimit(config.max_body_bytes),
        form_key: FormKey::new(&foundation.kek.derive(FORM_KEY_LABEL)),
        metrics_place: match config.metrics_listen {
            Some(_) => MetricsPlace::OwnListener,
            None => MetricsPlace::Main,
        },
    });
    Ok(Built {
        services,
        cache,
        usage,
        throttle,
        keys,
    })
}

impl RunningServer {
    /// Binds `config.listen` and, with HTTPS, `config.tls_listen` (port 0 picks a free
    /// port), builds the services and starts serving.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer> {
        let serves_tls = config.tls_dev || config.tls_cert.is_some() || config.tls_key.is_some();
        if !config.plain_http && !serves_tls {
            return Err(Error::invalid(
                "plain_http",
                "is false (HTTPS only), but HTTPS is not set up: set tls_cert and tls_key, or tls_dev",
            ));
        }
        let plain = match config.plain_http {
            true => Some(bind(config.listen, "HTTP").await?),
            false => None,
        };
        let tls_listener = match serves_tls {
            true => {
                let address = match config.tls_listen {
                    Some(address) => address,
                    None => DEFAULT_TLS_LISTEN
                        .parse()
                        .map_err(|_| Error::internal("bad default TLS address"))?,
                };
                Some(bind(address, "HTTPS").await?)
            }
            false => None,
        };
        let (addr, scheme) = match (&plain, &tls_listener) {
            (Some((_, addr)), _) => (*addr, "http"),
            (None, Some((_, addr))) => (*addr, "https"),
            (None, None) => return Err(Error::internal("no listener")),
        };
        let base_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("{scheme}://{addr}"),
        };
        let foundation = Foundation::open(config, clock).await?;
        let Built {
            services,
            cache,
            usage,
            throttle,
            keys,
        } = build(&foundation, &base_url).await?;
        let config = &foundation.config;
        let store = &foundation.store;
        let jobs = Jobs::new();
        jobs.spawn(jobs::retire_keys(keys.clone(), jobs.cancellation()));
        if config.signing_key_rotation_days > 0 {
            let max_age = i64::try_from(config.signing_key_rotation_days.saturating_mul(86_400))
                .map_err(|_| Error::invalid("signing_key_rotation_days", "too large"))?;
            let keep = crate::keys::rotation::keep_after_rotation(
                i64::try_from(config.token_lifetime_secs)
                    .map_err(|_| Error::invalid("token_lifetime_secs", "too large"))?,
            );
            jobs.spawn(jobs::rotate_keys(
                keys.clone(),
                max_age,
                keep,
                jobs.cancellation(),
            ));
        }
        jobs.spawn(
            Follower {
                store: store.clone(),
                cache: cache.clone(),
                keys,
                throttle: throttle.clone(),
                clock: foundation.clock.clone(),
                poll_every: Duration::from_millis(config.change_poll_millis),
            }
            .run(jobs.cancellation()),
        );
        jobs.spawn(jobs::flush_usage(
            usage.clone(),
            store.clone(),
            Duration::from_millis(config.usage_flush_millis.max(10)),
            jobs.cancellation(),
        ));
        jobs.spawn(jobs::purge_system_log(
            services.directory.clone(),
            foundation.clock.clone(),
            config.audit_retention_days,
            jobs.cancellation(),
        ));
        jobs.spawn(jobs::purge_revocations(
            services.directory.clone(),
            jobs.cancellation(),
        ));
        jobs.spawn(jobs::purge_sign_in(
            services.sign_in.clone(),
            jobs.cancellation(),
        ));
        jobs.spawn(jobs::share_failures(
            throttle,
            store.clone(),
            jobs.cancellation(),
        ));
        jobs.spawn(
            SecretReminders {
                directory: services.directory.clone(),
                notifier: services.notifier.clone(),
                clock: foundation.clock.clone(),
                days: config.workspace_secret_reminder_days.clone(),
                every: Duration::from_secs(config.workspace_reminder_check_secs.max(1)),
            }
            .run(jobs.cancellation()),
        );
        let directory = services.directory.clone();
        let metrics_router = http::metrics_router(services.clone());
        let router = http::router(
            services,
            Duration::from_secs(config.body_read_timeout.max(1)),
        );
        let limits = Limits {
            header_read: Duration::from_secs(config.header_read_timeout.max(1)),
            max_connections: config.max_connections,
        };
        let capped = Capped::new(limits.max_connections);
        let mut listeners = Vec::new();
        let mut tls_addr = None;
        let mut dev_certificates = None;
        if let (Some((tls_listener, bound)), Some((certificate, dev))) =
            (tls_listener, tls_certificate(config)?)
        {
            let acceptor = listener::tls_acceptor(&certificate.cert_pem, &certificate.key_pem)
                .map_err(|e| Error::invalid("tls_cert", format!("cannot use it: {e}")))?;
            listeners.push(listener::serve(
                tls_listener,
                Some(acceptor),
                capped.clone(),
                limits,
                router.clone().over_tls().for_each_connection(),
            ));
            tls_addr = Some(bound);
            dev_certificates = dev;
        }
        let plain_addr = plain.as_ref().map(|(_, bound)| *bound);
        if let Some((plain_listener, _)) = plain {
            listeners.push(listener::serve(
                plain_listener,
                None,
                capped,
                limits,
                router.for_each_connection(),
            ));
        }
        let mut metrics_addr = None;
        if let Some(address) = config.metrics_listen {
            let (metrics_listener, bound) = bind(address, "metrics").await?;
            // A scraper or two: a few connections are plenty, and the rest cannot crowd out
            // clients of the main listeners.
            let capped = Capped::new(METRICS_CONNECTIONS);
            listeners.push(listener::serve(
                metrics_listener,
                None,
                capped,
                limits,
                metrics_router.into_make_service(),
            ));
            metrics_addr = Some(bound);
        }
        Ok(RunningServer {
            addr,
            plain_addr,
            tls_addr,
            metrics_addr,
            dev_certificates,
            base_url,
            foundation,
            directory,
            cache,
            usage,
            jobs,
            listeners,
        })
    }

    /// The directory of this node (changes made through it reach this node's cache at once).
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.foundation.store
    }

    /// Whether the key-encryption key came from the data dir (`cloudtrust.kek`, next to the
    /// database) rather than from the configuration.
    pub fn key_encryption_key_in_data_dir(&self) -> bool {
        self.foundation.kek.source != crate::keys::kek::KekSource::Config
    }

    /// How many entries each table of this node's cache holds, by name.
    pub fn cache_entries(&self) -> [(&'static str, usize); 3] {
        self.cache.entries()
    }

    /// Whether this node follows changes made elsewhere, so its cache serves from memory.
    pub fn follows_changes(&self) -> bool {
        self.cache.is_trusted()
    }

    /// Runs until `signal` completes, then stops gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<()> {
        signal.await;
        self.stop().await
    }

    /// Stops accepting requests, lets those in flight finish, stops the jobs, writes pending
    /// usage and closes the database.
    pub async fn stop(self) -> Result<()> {
        self.jobs.cancellation().cancel();
        for listening in &self.listeners {
            listening.stop();
        }
        for listening in self.listeners {
            listening.stopped(GRACE).await;
        }
        self.jobs.stop().await;
        self.usage.flush(&self.foundation.store).await?;
        self.foundation.store.close().await;
        Ok(())
    }
}
