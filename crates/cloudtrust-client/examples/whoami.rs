//! Prints who an API client acts for, and the customer's administrators.
//!
//! ```text
//! CLOUDTRUST_URL=http://127.0.0.1:8080 CLIENT_ID=… CLIENT_SECRET=… \
//!     cargo run -p cloudtrust-client --example whoami
//! ```
//!
//! Without `CLOUDTRUST_URL`, Citrix Cloud's US region is called.

use cloudtrust_client::{ApiClient, Region, TokenSource};
use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (id, secret) = (variable("CLIENT_ID")?, variable("CLIENT_SECRET")?);
    let customer = std::env::var("CUSTOMER_ID").unwrap_or_else(|_| "root".to_owned());
    let builder = TokenSource::builder(&customer, &id, &secret).region(Region::Us);
    let source = match std::env::var("CLOUDTRUST_URL") {
        Ok(url) => builder.base_url(&url).build(),
        Err(_) => builder.build(),
    };
    let api = ApiClient::new(source);
    let me = api.me().await?;
    println!("{} <{}>", me.display_name, me.verified_email);
    let administrators: Vec<_> = api.administrators().try_collect().await?;
    for admin in administrators {
        println!("  {} ({})", admin.email, admin.access_type);
    }
    Ok(())
}
