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
