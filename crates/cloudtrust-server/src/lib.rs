//! cloudtrust: a self-hostable identity and API-access server that speaks Citrix Cloud's
//! API-access protocols (customers, administrators, API clients and bearer tokens).
//!
//! The layers point one way: [`http`] (axum handlers, thin) calls the services — [`auth`]
//! (credentials and tokens) and [`domain`] (the rules, in plain Rust) — which use [`store`] (the
//! only module with SQL), [`keys`] and the token endpoints' [`cache`]. [`app`] alone wires
//! them: [`Foundation`] for the command line and the server, [`RunningServer`] for a node with
//! its [`jobs`] and listeners. `docs/architecture.md` draws the picture.

pub mod app;
pub mod auth;
pub mod backup;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod links;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod private_files;
pub mod regions;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod usage;

pub use app::{Foundation, RunningServer};
pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{Error, Result};
