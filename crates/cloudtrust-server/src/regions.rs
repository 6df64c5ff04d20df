//! Regions: which region a request is served as, from its `Host` (or `X-Forwarded-Host` from
//! a trusted proxy), and whether a customer homed in a region may be served there.
//!
//! A regional host (`api-eu.cloud.com`) serves customers of its region only; the global host
//! (`api.cloud.com`) those of `us`, `eu` and `ap-s`. Any other host (`127.0.0.1:8080`, a
//! deployment's own name) serves every customer, as the default region, so a local stand-in
//! works for customers of every region without host mapping.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::customers::Region;

/// How a request is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    /// The regions whose customers may be served; `None` for every region.
    pub regions: Option<Vec<Region>>,
    /// `X-CC-LocalGeo`.
    pub geo: &'static str,
    /// The base URL tokens issued here carry as `iss`.
    pub base_url: String,
    /// Whether the browser reached it over HTTPS (the public URL is `https`, or the request
    /// came to the TLS listener): cookies are then `Secure`.
    pub secure: bool,
}

/// The answer to "may this customer be served here?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Yes.
    Admitted,
    /// No: the customer's home region, and the host that serves it (if any).
    Elsewhere(Region, Option<String>),
}

/// The hosts of a deployment, resolved once at start.
#[derive(Debug)]
pub struct Regions {
    by_host: Vec<(String, Arc<Serving>)>,
    default: Arc<Serving>,
    /// The default, for requests that came to the TLS listener.
    default_over_tls: Arc<Serving>,
    hosts: crate::config::RegionHosts,
    global_host: Option<String>,
    issuers: Vec<String>,
    trusted_proxies: Vec<std::net::IpAddr>,
}

const ALL: [Region; 4] = [Region::Us, Region::Eu, Region::ApS, Region::Jp];
const GLOBAL: [Region; 3] = [Region::Us, Region::Eu, Region::ApS];

fn https(host: &str) -> String {
    format!("https://{host}")
}

impl Regions {
    /// The deployment's regions; `public_url` is the issuer of requests to other hosts.
    pub fn new(config: &Config, public_url: &str) -> Self {
        let mut by_host = Vec::new();
        for region in ALL {
            if let Some(host) = config.region_hosts.host(region) {
                by_host.push((
                    host.to_ascii_lowercase(),
                    Arc::new(Serving {
                        regions: Some(vec![region]),
                        geo: region.geo(),
                        base_url: https(host),
                        secure: true,
                    }),
                ));
            }
        }
        if let Some(host) = config.global_host() {
            by_host.push((
                host.to_ascii_lowercase(),
                Arc::new(Serving {
                    regions: Some(GLOBAL.to_vec()),
                    geo: config.region.geo(),
                    base_url: https(host),
                    secure: true,
                }),
            ));
        }
        let default = Serving {
            regions: None,
            geo: config.region.geo(),
            base_url: public_url.to_owned(),
            secure: public_url.starts_with("https://"),
        };
        let default_over_tls = Arc::new(Serving {
            secure: true,
            ..default.clone()
        });
        let default = Arc::new(default);
        let mut issuers: Vec<String> = by_host.iter().map(|(_, s)| s.base_url.clone()).collect();
        issuers.push(public_url.to_owned());
        Regions {
            by_host,
            default,
            default_over_tls,
            hosts: config.region_hosts.clone(),
            global_host: config.global_host().map(str::to_owned),
            issuers,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// How a request for `host` (with or without a port) is served; `over_tls` when it came
    /// to the TLS listener.
    pub fn serving(&self, host: Option<&str>, over_tls: bool) -> Arc<Serving> {
        let name = host
            .map(|h| {
                h.rsplit_once(':')
                    .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(h, |(name, _)| name)
            })
            .unwrap_or_default();
        self.by_host
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or_else(
                || {
                    if over_tls {
                        self.default_over_tls.clone()
                    } else {
                        self.default.clone()
                    }
                },
                |(_, serving)| serving.clone(),
            )
    }

    /// Whether a customer homed in `home` may be served as `serving`.
    pub fn admits(&self, serving: &Serving, home: Region) -> Admission {
        match &serving.regions {
            Some(regions) if !regions.contains(&home) => {
                let host = self
                    .hosts
                    .host(home)
                    .map(str::to_owned)
                    .or_else(|| self.global_host.clone().filter(|_| GLOBAL.contains(&home)));
                Admission::Elsewhere(home, host)
            }
            _ => Admission::Admitted,
        }
    }

    /// Whether `X-Forwarded-Host` from `peer` names the host a client asked for.
    pub fn trusts_proxy(&self, peer: std::net::IpAddr) -> bool {
        self.trusted_proxies.contains(&peer)
    }

    /// Every issuer tokens of this deployment may carry.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_regions_and_other_hosts_serve_everyone() {
        let regions = Regions::new(&Config::default(), "http://127.0.0.1:8080");
        let eu = regions.serving(Some("API-EU.cloud.com:443"), false);
        assert_eq!(
            (eu.geo, eu.base_url.as_str()),
            ("EU", "https://api-eu.cloud.com")
        );
        assert_eq!(regions.admits(&eu, Region::Eu), Admission::Admitted);
        assert_eq!(
            regions.admits(&eu, Region::Jp),
            Admission::Elsewhere(Region::Jp, Some("api.citrixcloud.jp".to_owned()))
        );
        let global = regions.serving(Some("api.cloud.com"), false);
        assert_eq!(regions.admits(&global, Region::ApS), Admission::Admitted);
        assert!(matches!(
            regions.admits(&global, Region::Jp),
            Admission::Elsewhere(..)
        ));
        let local = regions.serving(Some("127.0.0.1:8080"), false);
        assert_eq!(
            (local.geo, local.base_url.as_str()),
            ("US", "http://127.0.0.1:8080")
        );
        assert_eq!(regions.admits(&local, Region::Jp), Admission::Admitted);
        assert_eq!(
            regions.serving(None, false).base_url,
            "http://127.0.0.1:8080"
        );
        assert!(!regions.serving(None, false).secure);
        assert!(
            regions.serving(None, true).secure,
            "over TLS, cookies are Secure"
        );
        assert!(regions.serving(Some("api-eu.cloud.com"), false).secure);
        assert_eq!(regions.issuers().len(), 6);
    }
}
