//! What every request goes through, one file per concern: its transaction id and log span,
//! the region it is served as, the headers every response carries, and the draining of bodies
//! too large to accept.

pub mod oversized_body;
pub mod region;
pub mod request_id;
pub mod security_headers;
