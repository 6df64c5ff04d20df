//! What a verified token says.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The claims of a verified access token: the registered ones, cloudtrust's own, and every
/// other claim in [`Claims::other`].
///
/// API-client tokens carry `client_id`, `customer`, `displayname` and the owner's id
/// (`user_id`); Workspace access tokens carry `client_id`, `customer` and `scope`, their
/// subject being the end user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the API client, or the Workspace end user.
    pub sub: String,
    /// Audience, one or several.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The client the token was issued to (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The customer (tenant) the token acts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Granted scopes, space-separated (Workspace tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Claims {
    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or_default().split_whitespace()
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::Claims;

    #[test]
    fn audience_may_be_one_or_many_and_unknown_claims_are_kept() {
        let one: Claims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":"a","exp":1,"scope":"openid wsp","gen":3}"#,
        )
        .expect("claims");
        assert_eq!(one.aud, ["a"]);
        assert!(one.has_scope("wsp") && !one.has_scope("ws"));
        assert_eq!(one.other["gen"], 3);
        let many: Claims = serde_json::from_str(r#"{"iss":"i","sub":"s","aud":["a","b"],"exp":1}"#)
            .expect("claims");
        assert_eq!(many.aud, ["a", "b"]);
        assert_eq!(many.scopes().count(), 0);
    }
}
