//! A request's credentials: the `Authorization` header in every form of WIRE §4, the
//! customer it addresses and, for Workspace APIs, the application it comes from; refusals in
//! Citrix Cloud's common error shape (WIRE §6).

use cloudtrust_proto::ApiError;
use cloudtrust_proto::authorization::bearer_token;
use reqwest::header::{AUTHORIZATION, HeaderMap};

use super::{Claims, Verifier, VerifyError};

/// `Citrix-CustomerId`: the customer a request addresses.
pub const CUSTOMER_ID_HEADER: &str = "citrix-customerid";
/// `Citrix-ApplicationId`: the Workspace client a request comes from.
pub const APPLICATION_ID_HEADER: &str = "citrix-applicationid";
/// How long a caller is asked to wait when the issuer's keys cannot be fetched.
const RETRY_DELAY_SECS: u64 = 5;

/// A refused request: its status and the common error body to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    body: ApiError,
    reason: Option<VerifyError>,
}

impl Rejection {
    fn new(status: u16, body: ApiError) -> Self {
        Rejection {
            status,
            body,
            reason: None,
        }
    }

    /// `401`, no token.
    fn missing() -> Self {
        Self::new(401, authentication("missing"))
    }

    /// `401`, a token that is not valid, for `reason`.
    fn invalid(reason: Option<VerifyError>) -> Self {
        Rejection {
            reason,
            ..Self::new(401, authentication("invalid"))
        }
    }

    /// The HTTP status: 400, 401, 403 or 503.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body: `{"type":"https://errors-api.cloud.com/common/<name>","detail":…,"parameters":[…]}`.
    pub fn body(&self) -> &ApiError {
        &self.body
    }

    /// Why the token was refused, for the service's logs; never sent to the caller.
    pub fn reason(&self) -> Option<&VerifyError> {
        self.reason.as_ref()
    }

    /// The seconds to send in `Retry-After`, for a `503`.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status == 503).then_some(RETRY_DELAY_SECS)
    }
}

fn authentication(reason: &str) -> ApiError {
    ApiError::new(
        "authentication",
        "Missing or invalid authentication details",
        &[("reason", reason)],
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The `ApplicationId` query parameter (named case-insensitively, as Citrix reads it).
fn application_id_parameter(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("applicationid"))
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

impl Verifier {
    /// Checks a request's credentials: the token in `Authorization` (`CwsAuth Bearer=…`, in
    /// any case and spacing, or `Bearer …`), then that `Citrix-CustomerId`, when sent, names
    /// the token's customer, then — with [`require_application_id`] — that
    /// `Citrix-ApplicationId` or the `ApplicationId` query parameter names the token's
    /// client.
    ///
    /// [`require_application_id`]: super::VerifierBuilder::require_application_id
    pub async fn verify_request(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Claims, Rejection> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(Rejection::missing());
        };
        let token = value
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or_else(|| Rejection::invalid(Some(VerifyError::Malformed)))?;
        let claims = self.verify(token).await.map_err(|reason| match reason {
            VerifyError::KeysUnavailable(_) => {
                let delay = RETRY_DELAY_SECS.to_string();
                Rejection {
                    reason: Some(reason),
                    ..Rejection::new(
                        503,
                        ApiError::new(
                            "serviceUnavailable",
                            format!("Service is unavailable; try again in {delay} seconds"),
                            &[("retryDelay", &delay)],
                        ),
                    )
                }
            }
            reason => Rejection::invalid(Some(reason)),
        })?;
        if let Some(customer) = header(headers, CUSTOMER_ID_HEADER)
            && !claims
                .customer
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(customer))
        {
            return Err(Rejection::new(403, access_denied("customer", customer)));
        }
        if self.requires_application_id() {
            let application = header(headers, APPLICATION_ID_HEADER)
                .map(str::to_owned)
                .or_else(|| application_id_parameter(query))
                .ok_or_else(|| {
                    Rejection::new(
                        400,
                        ApiError::new(
                            "missing",
                            "Citrix-ApplicationId is required",
                            &[("name", "Citrix-ApplicationId")],
                        ),
                    )
                })?;
            if claims.client_id.as_deref() != Some(application.as_str()) {
                return Err(Rejection::new(
                    403,
                    access_denied("application", &application),
                ));
            }
        }
        Ok(claims)
    }
}

fn access_denied(entity_type: &str, id: &str) -> ApiError {
    ApiError::new(
        "authorization",
        "Access denied",
        &[("entityType", entity_type), ("id", id)],
    )
}

#[cfg(test)]
mod tests {
    use super::application_id_parameter;

    #[test]
    fn the_application_id_parameter_is_named_in_any_case() {
        assert_eq!(
            application_id_parameter(Some("a=1&applicationId=abc%3D%3D")).as_deref(),
            Some("abc==")
        );
        assert_eq!(application_id_parameter(Some("ApplicationId=")), None);
        assert_eq!(application_id_parameter(None), None);
    }
}
