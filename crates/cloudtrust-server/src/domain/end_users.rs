//! End users: the people who sign in to a customer's Workspace applications through the
//! OpenID Connect server. Each belongs to one customer, is known by an email unique within
//! it, and has a password (Argon2id, as administrators' console passwords).

use serde::{Deserialize, Serialize};

use super::administrators::{normalize_email, validate_text};
use crate::error::Result;

/// An end user, without its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUser {
    /// A GUID: the `sub` of its tokens.
    pub id: String,
    /// The customer it belongs to.
    pub customer_id: String,
    /// Its email, lowercased.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// When it was added (unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

impl EndUser {
    /// The name shown to people: given and family name.
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
            .trim()
            .to_owned()
    }
}

/// An end user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndUser {
    /// Email.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
}

impl NewEndUser {
    /// The email normalised and the names checked (1 to 100 characters, no control
    /// characters).
    pub fn validated(&self) -> Result<NewEndUser> {
        Ok(NewEndUser {
            email: normalize_email(&self.email)?,
            given_name: validate_text("given_name", &self.given_name, 100)?,
            family_name: validate_text("family_name", &self.family_name, 100)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_end_user_is_checked_and_normalised() {
        let new = NewEndUser {
            email: " Pat@Acme.Example ".into(),
            given_name: " Pat ".into(),
            family_name: "Doe".into(),
        };
        let valid = new.validated().expect("valid");
        assert_eq!(valid.email, "pat@acme.example");
        assert_eq!(valid.given_name, "Pat");
        for bad in [
            NewEndUser {
                email: "nobody".into(),
                ..new.clone()
            },
            NewEndUser {
                given_name: "".into(),
                ..new.clone()
            },
            NewEndUser {
                family_name: "x".repeat(101),
                ..new.clone()
            },
        ] {
            assert!(bad.validated().is_err(), "{bad:?}");
        }
    }
}
