//! The text parameter of a route's path. axum answers a parameter that is not UTF-8 once
//! percent-decoded with a plain-text 400; here it gets the error shape of the API it belongs
//! to, named by `E`.

use std::marker::PhantomData;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::IntoResponse;

/// One path parameter as text; a malformed one is refused as `E`.
pub struct PathText<E>(pub String, pub PhantomData<fn() -> E>);

impl<S, E> FromRequestParts<S> for PathText<E>
where
    S: Send + Sync,
    E: From<PathRejection> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let Path(text) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(PathText(text, PhantomData))
    }
}
