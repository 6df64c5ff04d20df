//! A service that accepts cloudtrust bearer tokens: `GET /whoami` answers who the caller is,
//! anything without a valid token gets Citrix Cloud's `401`.
//!
//! ```text
//! CLOUDTRUST_URL=http://127.0.0.1:8080 cargo run -p cloudtrust-client --example protected_service
//! curl -H "$(cloudtrust token --header)" http://127.0.0.1:3000/whoami
//! ```
//!
//! With `WORKSPACE=1`, it accepts Workspace access tokens (the `/core` server) instead, and
//! requires `Citrix-ApplicationId` as Citrix's Workspace APIs do.

use axum::routing::get;
use axum::{Json, Router};
use cloudtrust_client::verify::{Authenticated, Verifier};
use serde_json::{Value, json};

async fn whoami(Authenticated(claims): Authenticated) -> Json<Value> {
    Json(json!({"subject": claims.sub, "customer": claims.customer, "client": claims.client_id}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("CLOUDTRUST_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let verifier = match std::env::var_os("WORKSPACE") {
        Some(_) => Verifier::for_workspace(&issuer).require_application_id(true),
        None => Verifier::for_api_clients(&issuer),
    }
    .build();
    let app = Router::new()
        .route("/whoami", get(whoami))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/whoami", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
