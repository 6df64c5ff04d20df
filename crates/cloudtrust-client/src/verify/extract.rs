//! axum integration: an extractor and a middleware that verify the request's token and
//! answer refusals in Citrix Cloud's common error shape.

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Claims, Rejection, Verifier};

/// The claims of the request's verified token. Extracting it verifies the token with the
/// state's [`Verifier`], unless [`require_token`] already did for this request.
///
/// ```no_run
/// use axum::{Json, Router, routing::get};
/// use cloudtrust_client::verify::{Authenticated, Verifier};
///
/// async fn whoami(Authenticated(claims): Authenticated) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "client": claims.sub, "customer": claims.customer }))
/// }
///
/// # async fn demo() {
/// let verifier = Verifier::for_api_clients("http://127.0.0.1:8080").build();
/// let app: Router = Router::new().route("/whoami", get(whoami)).with_state(verifier);
/// # let _ = app;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Authenticated(claims.clone()));
        }
        let verifier = Verifier::from_ref(state);
        let claims = verifier
            .verify_request(&parts.headers, parts.uri.query())
            .await?;
        Ok(Authenticated(claims))
    }
}

/// A middleware refusing every request without a valid token, for whole routers:
/// `router.layer(axum::middleware::from_fn_with_state(verifier, require_token))`. Handlers
/// behind it read the [`Claims`] with `Extension<Claims>` or [`Authenticated`].
pub async fn require_token(
    State(verifier): State<Verifier>,
    mut request: Request,
    next: Next,
) -> Response {
    match verifier
        .verify_request(request.headers(), request.uri().query())
        .await
    {
        Ok(claims) => {
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after();
        let mut response = (status, axum::Json(self.body().clone())).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("CwsAuth realm=\"cloudtrust\", Bearer"),
            );
        }
        if let Some(delay) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(delay));
        }
        response
    }
}
