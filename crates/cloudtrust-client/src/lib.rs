//! Rust client SDK for cloudtrust and Citrix Cloud API access.
//!
//! Two layers:
//!
//! - [`TokenSource`] gets bearer tokens for an API client (client id and secret) with the
//!   OAuth 2.0 client-credentials grant — or from the deprecated trust service — caches them,
//!   renews them before they expire (see [`renew_after`]), lets many concurrent callers share
//!   one token request, and backs off when the token endpoint answers `429` or `503`.
//! - [`ApiClient`] sends authenticated requests (`Authorization: CwsAuth Bearer=…`,
//!   `Citrix-CustomerId: …`), retries once with a new token after a `401`, and offers typed
//!   calls for cloudtrust's APIs, listings as [`Stream`](futures_util::Stream)s that follow
//!   continuation tokens.
//!
//! A third part, [`verify`] (features `verify` and `axum`, on by default), is for services that
//! *receive* cloudtrust tokens: a [`verify::Verifier`] checks them offline against the issuer's
//! published keys, and an axum extractor and middleware answer refusals as Citrix Cloud does.
//!
//! The same code works against real Citrix Cloud, in the customer's [`Region`], and against a
//! cloudtrust server at any base URL:
//!
//! ```no_run
//! use cloudtrust_client::{ApiClient, Region, TokenSource};
//! use futures_util::TryStreamExt;
//!
//! # async fn demo() -> Result<(), cloudtrust_client::ClientError> {
//! // Citrix Cloud, European region; `cloudtrust` would take `.base_url("https://…")`.
//! let source = TokenSource::builder("acme", "client-id", "client-secret")
//!     .region(Region::Eu)
//!     .build();
//! let header = source.authorization().await?; // "CwsAuth Bearer=eyJ…"
//!
//! let api = ApiClient::new(source);
//! let me = api.me().await?;
//! println!("signed in as {} in {}", me.display_name, me.customers[0].name);
//!
//! let mut administrators = api.administrators();
//! while let Some(admin) = administrators.try_next().await? {
//!     println!("{} ({})", admin.email, admin.access_type);
//! }
//! # let _ = header;
//! # Ok(()) }
//! ```
//!
//! The existing constructor takes a base URL directly:
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudtrust_client::ClientError> {
//! let source = cloudtrust_client::TokenSource::new(
//!     "http://127.0.0.1:8080", "root", "client-id", "client-secret",
//! );
//! let token = source.token().await?;
//! # let _ = token;
//! # Ok(()) }
//! ```
//!
//! Renewal happens at 90 % of a token's lifetime or a minute before it expires, whichever
//! comes first, but not before half its lifetime:
//!
//! ```
//! use std::time::Duration;
//! use cloudtrust_client::renew_after;
//!
//! assert_eq!(renew_after(Duration::from_secs(3600)), Duration::from_secs(3240));
//! assert_eq!(renew_after(Duration::from_secs(300)), Duration::from_secs(240));
//! assert_eq!(renew_after(Duration::from_secs(10)), Duration::from_secs(5));
//! ```

mod api;
mod error;
mod retry;
mod token;
#[cfg(feature = "verify")]
pub mod verify;

pub use api::ApiClient;
pub use error::ClientError;
pub use retry::Retry;
pub use token::{
    LEGACY_TRUST_HOST, RENEW_BEFORE, Region, TokenSource, TokenSourceBuilder, renew_after,
};
