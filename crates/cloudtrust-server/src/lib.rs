//! cloudtrust: a self-hostable identity and API-access server that speaks Citrix Cloud's
//! API-access protocols (customers, administrators, API clients and bearer tokens).
//!
//! The layers, from the outside in: [`http`] (axum handlers, thin), [`domain`] (the rules, no SQL),
//! [`keys`] (signing keys and the key-encryption key) and [`store`] (the only module with SQL).
//! [`app`] wires them together: [`app::App::build`] for a configured instance, [`app::serve`] to
//! run it until a shutdown signal.

pub mod app;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod keys;
pub mod links;
pub mod notify;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod usage;

pub use app::{App, RunningServer};
pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{Error, Result};
