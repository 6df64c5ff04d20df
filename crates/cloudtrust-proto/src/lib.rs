//! Wire types of cloudtrust: the JSON bodies its endpoints send and accept, shared by the
//! server, the client SDK and the command line so that all three agree field by field.
//!
//! Field names follow Citrix Cloud's documented wire format exactly (see `WIRE.md`); they are
//! a contract with existing clients and must not be renamed.

pub mod admin;
pub mod authorization;
pub mod error;
pub mod me;
pub mod oidc;
pub mod smart;
pub mod systemlog;
pub mod token;
pub mod workspace;

pub use error::{ApiError, ApiErrorParameter, OAuthErrorBody};
pub use me::{MeCustomer, MeResponse, MeSite};
pub use oidc::{WorkspaceTokenRequest, WorkspaceTokenResponse};
pub use token::{
    ClientCredentialsRequest, ClientCredentialsResponse, TokenActionRequest, TokenIntrospection,
    TrustTokenRequest, TrustTokenResponse,
};
