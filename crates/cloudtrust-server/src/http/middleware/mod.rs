//! What every request goes through, one file per concern: its transaction id and log span,
//! the region it is served as, and the headers every response carries.

pub mod region;
pub mod request_id;
pub mod security_headers;
