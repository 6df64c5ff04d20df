//! The rules of the administration model, in plain Rust: no axum, no SQL.
//!
//! A customer has administrators with Full or custom access; an administrator owns API clients,
//! which never have more rights than their owner has *now*.

pub mod administrators;
pub mod api_clients;
pub mod audit;
pub mod changes;
pub mod console_sessions;
pub mod customers;
pub mod directory;
pub mod end_users;
pub mod paging;
pub mod passwords;
pub mod permissions;
pub mod secrets;
pub mod smart_keys;
pub mod tokens;
pub mod workspace_clients;
pub mod workspace_sign_in;

pub use directory::Directory;
