//! Administrators of a customer.

use serde::{Deserialize, Serialize};

use super::permissions::Access;
use crate::error::{Error, Result};

/// An administrator of one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Administrator {
    /// Stable id (a GUID).
    pub id: String,
    /// The customer administered.
    pub customer_id: String,
    /// Email, lowercase; unique within the customer.
    pub email: String,
    /// Name shown to people.
    pub display_name: String,
    /// Given name, when known.
    pub first_name: Option<String>,
    /// Family name, when known.
    pub last_name: Option<String>,
    /// Invited and not yet accepted: a pending administrator cannot own API clients, and
    /// has no `userId` on the wire.
    pub pending: bool,
    /// Changes with every update, for optimistic concurrency (`If-Match`).
    pub etag: String,
    /// While pending: when the invitation stops being accepted, unix seconds.
    pub invitation_expires_at: Option<i64>,
    /// Full or custom access.
    pub access: Access,
    /// Incremented whenever this administrator's access is reduced; tokens carry the value they
    /// were issued under and are refused once it is stale.
    pub permission_generation: i64,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds.
    pub updated_at: i64,
}

/// The prefix of an administrator's `ucOid`; the administrator's id follows it.
pub const UC_OID_PREFIX: &str = "OID:/cloudtrust/";

impl Administrator {
    /// The stable object id on the wire (`OID:/cloudtrust/<id>`).
    pub fn uc_oid(&self) -> String {
        format!("{UC_OID_PREFIX}{}", self.id)
    }
}

/// The administrator id named by `reference`: the id itself or its `ucOid`.
pub fn id_from_reference(reference: &str) -> &str {
    let reference = reference.trim();
    match reference.get(..UC_OID_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(UC_OID_PREFIX) => {
            &reference[UC_OID_PREFIX.len()..]
        }
        _ => reference,
    }
}

/// Checks an optional given or family name (at most 256 characters, none of `<>:/\`).
pub fn validate_person_name(field: &'static str, name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let name = validate_text(field, name, 256)?;
    if name.contains(['<', '>', ':', '/', '\\']) {
        return Err(Error::invalid(field, "must not contain any of < > : / \\"));
    }
    Ok(Some(name))
}

/// Longest accepted email address (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;

/// Checks an email address loosely (one `@`, something on each side, no spaces) and returns it
/// trimmed and lowercased.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err(Error::invalid(
            "email",
            format!("`{email}` is not an email address"),
        ))
    }
}

/// Checks a display name: 1 to 200 characters, no control characters; returns it trimmed.
pub fn validate_display_name(name: &str) -> Result<String> {
    validate_text("displayName", name, 200)
}

/// Shared check for short human-readable names.
pub(crate) fn validate_text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").expect("valid"),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_display_name(" Ann ").expect("valid"), "Ann");
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name(&"x".repeat(201)).is_err());
        assert!(validate_display_name("a\u{0}b").is_err());
    }
}
