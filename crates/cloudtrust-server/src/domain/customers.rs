//! Customers (tenants): id rules, regions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a customer is homed; each region has its own public API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region {
    /// United States (`api-us.cloud.com`).
    #[serde(rename = "us")]
    Us,
    /// European Union (`api-eu.cloud.com`).
    #[serde(rename = "eu")]
    Eu,
    /// Asia Pacific South (`api-ap-s.cloud.com`).
    #[serde(rename = "ap-s")]
    ApS,
    /// Japan (`api.citrixcloud.jp`).
    #[serde(rename = "jp")]
    Jp,
}

impl Region {
    /// The lowercase name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::ApS => "ap-s",
            Region::Jp => "jp",
        }
    }

    /// The value of the `X-CC-LocalGeo` header.
    pub fn geo(self) -> &'static str {
        match self {
            Region::Us => "US",
            Region::Eu => "EU",
            Region::ApS => "APS",
            Region::Jp => "JP",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            "ap-s" | "aps" => Ok(Region::ApS),
            "jp" => Ok(Region::Jp),
            other => Err(Error::invalid(
                "region",
                format!("`{other}` is not one of us, eu, ap-s, jp"),
            )),
        }
    }
}

/// Words that are top-level paths of the server (or special values such as `root`) and so
/// cannot be customer ids.
pub const RESERVED_IDS: &[&str] = &[
    "root",
    "core",
    "v0",
    "cctrustoauth2",
    "cvadapis",
    "cvad",
    "citrixapi",
    "admin",
    "administrators",
    "api",
    "assets",
    "console",
    "healthz",
    "invitations",
    "metrics",
    "openapi",
    "portal",
    "readyz",
    "secureclients",
    "static",
    "systemlog",
    "wellknown",
];

/// Longest accepted customer id.
pub const MAX_ID_LEN: usize = 32;

/// Checks a customer id: 2 to 32 characters of `a-z0-9`, not a reserved word.
pub fn validate_id(id: &str) -> Result<()> {
    if id.len() < 2 || id.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            "id",
            format!("a customer id has 2 to {MAX_ID_LEN} characters"),
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(Error::invalid(
            "id",
            "a customer id has only lowercase letters and digits",
        ));
    }
    if RESERVED_IDS.contains(&id) {
        return Err(Error::invalid("id", format!("`{id}` is a reserved word")));
    }
    Ok(())
}

/// A fresh random customer id: 12 lowercase letters and digits, starting with a letter.
pub fn generate_id() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = super::secrets::random_bytes::<12>();
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = if i == 0 { LETTERS } else { ALPHABET };
            set[usize::from(*b) % set.len()] as char
        })
        .collect()
}

/// A fresh random company id: at least five digits, below 2^31 (Smart Tools clients read it
/// as a 32-bit number).
pub fn generate_company_id() -> i64 {
    const LOWEST: u32 = 10_000;
    let random = u32::from_le_bytes(super::secrets::random_bytes::<4>()) & 0x7fff_ffff;
    i64::from(LOWEST + random % (0x7fff_ffff - LOWEST))
}

/// A customer (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Short lowercase id, used in URLs.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Home region.
    pub region: Region,
    /// Id of the customer's (single) site, as DaaS clients read from `/cvadapis/me`.
    pub site_id: String,
    /// The numeric id Smart Tools calls the customer by (`companyId`).
    pub company_id: i64,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_lowercase_alphanumerics_and_not_reserved() {
        assert!(validate_id("acme42").is_ok());
        assert!(validate_id("Acme").is_err());
        assert!(validate_id("a").is_err());
        assert!(validate_id("acme-corp").is_err());
        assert!(validate_id("root").is_err());
        assert!(validate_id("cctrustoauth2").is_err());
        assert!(validate_id(&"a".repeat(33)).is_err());
    }

    #[test]
    fn generated_ids_are_valid() {
        for _ in 0..100 {
            let id = generate_id();
            assert_eq!(id.len(), 12);
            validate_id(&id).expect("generated id is valid");
        }
    }

    #[test]
    fn company_ids_have_five_digits_and_fit_32_bits() {
        for _ in 0..100 {
            let id = generate_company_id();
            assert!((10_000..i64::from(i32::MAX)).contains(&id), "{id}");
        }
    }

    #[test]
    fn regions_parse_and_name_their_geo() {
        assert_eq!("AP-S".parse::<Region>().expect("region"), Region::ApS);
        assert_eq!(Region::ApS.geo(), "APS");
        assert!("mars".parse::<Region>().is_err());
    }
}
