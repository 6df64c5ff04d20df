//! The `Authorization` header of resource APIs (WIRE §4), read the same way by the server and
//! by services that verify cloudtrust tokens themselves.

/// Extracts the token from an `Authorization` value, or `None` when the scheme is unknown.
///
/// Accepts every form real clients send: `CwsAuth Bearer=<t>`, `CWSAuth bearer=<t>`,
/// `CwsAuth Bearer=   <t>` and the standard `Bearer <t>`; the scheme and the `bearer=` key are
/// case-insensitive and whitespace around them is allowed.
///
/// ```
/// use cloudtrust_proto::authorization::bearer_token;
///
/// assert_eq!(bearer_token("CWSAuth bearer=eyJ.x.y"), Some("eyJ.x.y"));
/// assert_eq!(bearer_token("Bearer eyJ.x.y"), Some("eyJ.x.y"));
/// assert_eq!(bearer_token("Basic YTpi"), None);
/// ```
pub fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let split = value.find(char::is_whitespace)?;
    let (scheme, rest) = value.split_at(split);
    let rest = rest.trim_start();
    let token = if scheme.eq_ignore_ascii_case("cwsauth") {
        let key = rest.get(..6)?;
        if !key.eq_ignore_ascii_case("bearer") {
            return None;
        }
        rest[6..].trim_start().strip_prefix('=')?.trim_start()
    } else if scheme.eq_ignore_ascii_case("bearer") {
        rest
    } else {
        return None;
    };
    let token = token
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()
        .unwrap_or_default();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn every_authorization_form_real_clients_send_is_understood() {
        for value in [
            "CwsAuth Bearer=abc.def.ghi",
            "CWSAuth bearer=abc.def.ghi",
            "CwsAuth Bearer=   abc.def.ghi",
            "cwsauth  BEARER = abc.def.ghi",
            "Bearer abc.def.ghi",
            "bearer   abc.def.ghi  ",
            "CwsAuth Bearer=abc.def.ghi, other=1",
        ] {
            assert_eq!(bearer_token(value), Some("abc.def.ghi"), "{value}");
        }
        for value in [
            "",
            "CwsAuth",
            "CwsAuth Bearer=",
            "Basic YTpi",
            "CwsAuth Token=abc",
            "Bearer",
        ] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
