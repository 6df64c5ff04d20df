//! A Token Management Service: a backend-for-frontend over a **private** Workspace OAuth
//! client. The browser signs in through the Workspace OpenID Connect server (authorization
//! code flow with PKCE, state and nonce); this service exchanges the code with the client
//! secret, keeps the access, refresh and ID tokens in its own memory, and gives the browser
//! only an `HttpOnly` cookie holding a random session id. The browser's calls (`/api/me`)
//! are answered with the session's tokens, refreshed before they expire.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = token_management_service::Config::from_env()?;
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! token_management_service::serve(config, listener).await?;
//! # Ok(())
//! # }
//! ```

mod api;
mod config;
mod cookies;
mod expiring_map;
mod pages;
mod provider;
mod sessions;
mod sign_in;
mod sign_out;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError};

use expiring_map::ExpiringMap;
use provider::{PendingLogin, Provider};
use sessions::{Session, Sessions};

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The issuer's discovery document could not be read.
    #[error(
        "cannot read the OpenID Connect discovery document of {issuer} ({reason}); is the \
         server running, and is WORKSPACE_ISSUER its issuer?"
    )]
    Discovery {
        /// The issuer.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
    /// Serving failed.
    #[error("serving failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// What every request handler shares.
struct App {
    config: Config,
    provider: Provider,
    sessions: Sessions,
    pending: ExpiringMap<PendingLogin>,
}

type SharedApp = Arc<App>;

impl App {
    /// The session named by the browser's session cookie, with its key.
    fn session(&self, jar: &CookieJar) -> Option<(String, Arc<Session>)> {
        let key = jar.get(cookies::SESSION)?.value().to_owned();
        let session = self.sessions.get(&key)?;
        Some((key, session))
    }
}

/// The service, ready to serve: it has read the server's discovery document.
pub struct Service {
    app: SharedApp,
}

impl Service {
    /// Discovers the server at `config.issuer`.
    pub async fn start(config: Config) -> Result<Service, StartError> {
        let provider = Provider::discover(&config).await?;
        let app = App {
            sessions: ExpiringMap::new(config.max_sessions, config.session_idle),
            pending: ExpiringMap::new(config.max_pending_logins, config.login_timeout),
            provider,
            config,
        };
        Ok(Service { app: Arc::new(app) })
    }

    /// The page to open in a browser.
    pub fn home_url(&self) -> String {
        self.app.config.home_url()
    }

    /// Serves on `listener` until the task is dropped or serving fails.
    pub async fn serve(self, listener: TcpListener) -> Result<(), StartError> {
        let callback = self.app.config.callback_path().to_owned();
        let router = Router::new()
            .route("/", get(pages::home))
            .route("/login", get(sign_in::login))
            .route(&callback, get(sign_in::callback))
            .route("/api/me", get(api::me))
            .route("/logout", post(sign_out::logout))
            .with_state(self.app);
        axum::serve(listener, router).await?;
        Ok(())
    }
}

/// Discovers the server named by `config` and serves on `listener`.
pub async fn serve(config: Config, listener: TcpListener) -> Result<(), StartError> {
    Service::start(config).await?.serve(listener).await
}
