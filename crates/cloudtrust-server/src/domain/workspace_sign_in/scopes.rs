//! The scopes a Workspace application may ask for, and what each means in words.

/// `openid`: an ID token.
pub const OPENID: &str = "openid";
/// `profile`: the user's name.
pub const PROFILE: &str = "profile";
/// `email`: the user's email address.
pub const EMAIL: &str = "email";
/// `offline_access`: a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Every scope, in the order consent lists them, with its meaning.
pub const SCOPES: &[(&str, &str)] = &[
    (OPENID, "Confirm who you are"),
    (PROFILE, "See your name"),
    (EMAIL, "See your email address"),
    (
        OFFLINE_ACCESS,
        "Stay signed in and act for you when you are not using it",
    ),
    ("wsp", "Use your Workspace on your behalf"),
    ("spa", "Open the applications and sites of your Workspace"),
    ("leases", "Keep your application leases for offline use"),
    (
        "ctx_principal_aliases",
        "See the other names you are known by",
    ),
    ("ctx_universal", "Call Citrix Cloud services for you"),
];

/// The names of every scope.
pub fn supported() -> Vec<&'static str> {
    SCOPES.iter().map(|(name, _)| *name).collect()
}

/// What `scope` lets an application do, in words.
pub fn describe(scope: &str) -> &'static str {
    SCOPES
        .iter()
        .find(|(name, _)| *name == scope)
        .map_or("", |(_, words)| words)
}

/// The scopes of a space-separated list, each once, in [`SCOPES`] order; `Err` names the
/// first unknown one.
pub fn parse(text: &str) -> Result<Vec<String>, String> {
    let asked: Vec<&str> = text.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(unknown) = asked.iter().find(|s| describe(s).is_empty()) {
        return Err((*unknown).to_owned());
    }
    Ok(SCOPES
        .iter()
        .filter(|(name, _)| asked.contains(name))
        .map(|(name, _)| (*name).to_owned())
        .collect())
}

/// Whether every scope of `wanted` is in `granted`.
pub fn covered(wanted: &[String], granted: &[String]) -> bool {
    wanted.iter().all(|w| granted.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_ordered_deduplicated_and_checked() {
        assert_eq!(
            parse("wsp openid  openid email").expect("known"),
            vec!["openid", "email", "wsp"]
        );
        assert_eq!(parse("openid admin"), Err("admin".to_owned()));
        assert!(covered(
            &["openid".into()],
            &["openid".into(), "email".into()]
        ));
        assert!(!covered(&["email".into()], &["openid".into()]));
    }
}
