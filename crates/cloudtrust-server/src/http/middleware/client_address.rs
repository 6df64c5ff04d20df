//! The address a request really comes from. From a peer listed in `trusted_proxies` (a load
//! balancer), it is the rightmost address of `Forwarded` (RFC 7239 `for=`) or, without it,
//! `X-Forwarded-For` that is not itself a trusted proxy: the hops a client can write itself
//! are left of the ones the proxies appended. From anyone else, the TCP peer. Throttling, the
//! logs and the system log use this address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::regions::Regions;

/// The client's address, as an extractor for handlers (read from the request being handled,
/// [`super::request_id::current`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            super::request_id::current(|log| log.client()).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

/// An address of a `Forwarded` `for=` value: `192.0.2.1`, `"[2001:db8::1]:4711"`,
/// `192.0.2.1:80`; `unknown` and obfuscated names are not addresses.
fn forwarded_for(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    value
        .parse()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The hops a request went through, oldest first: `Forwarded` if present, else
/// `X-Forwarded-For`. An unparsable hop ends the list there (nothing left of it is trusted).
fn hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| forwarded_for(v))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(forwarded_for)
        .collect()
}

/// The client address of `request` from the TCP peer `peer`, as the module says.
pub fn resolve<B>(regions: &Regions, peer: IpAddr, request: &Request<B>) -> IpAddr {
    let mut client = peer;
    if regions.trusts_proxy(peer) {
        for hop in hops(request.headers()).into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip;
                    if !regions.trusts_proxy(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_values_are_read_as_rfc_7239_writes_them() {
        assert_eq!(forwarded_for("192.0.2.60"), Some([192, 0, 2, 60].into()));
        assert_eq!(
            forwarded_for("\"[2001:db8:cafe::17]:4711\""),
            "2001:db8:cafe::17".parse().ok()
        );
        assert_eq!(forwarded_for("192.0.2.60:80"), Some([192, 0, 2, 60].into()));
        assert_eq!(forwarded_for("unknown"), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=198.51.100.17;proto=https, For=\"[2001:db8::1]\""),
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.9.9.9"));
        assert_eq!(
            hops(&headers),
            vec![Some([198, 51, 100, 17].into()), "2001:db8::1".parse().ok()]
        );
    }
}
