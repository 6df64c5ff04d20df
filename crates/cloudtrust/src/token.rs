//! `cloudtrust token`: a bearer token for the API client in `CLIENT_ID` / `CLIENT_SECRET` /
//! `CUSTOMER_ID` (the seeds' variables), from cloudtrust or real Citrix Cloud, kept in the
//! user's cache until near its expiry — so `curl -H "$(cloudtrust token --header)" …` in a loop
//! costs one token an hour.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use cloudtrust_client::Region;
use cloudtrust_server::domain::secrets::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::output::{Output, print_json};

/// Where the token comes from and how it is printed.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The base URL of cloudtrust (default: the region's Citrix Cloud host).
    #[arg(long, env = "CLOUDTRUST_URL", value_name = "URL")]
    base_url: Option<String>,
    /// The Citrix Cloud region, when no base URL is given.
    #[arg(long, value_enum, default_value = "us")]
    region: RegionArg,
    /// Print `Authorization: CwsAuth Bearer=…` instead of the token alone.
    #[arg(long)]
    header: bool,
    /// Ask for a new token even when a cached one is still good.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RegionArg {
    Us,
    Eu,
    ApS,
    Jp,
}

impl From<RegionArg> for Region {
    fn from(region: RegionArg) -> Region {
        match region {
            RegionArg::Us => Region::Us,
            RegionArg::Eu => Region::Eu,
            RegionArg::ApS => Region::ApS,
            RegionArg::Jp => Region::Jp,
        }
    }
}

/// What the cache keeps: the token endpoint's answer and when it stops being used.
#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    answer: serde_json::Value,
    renew_at: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn variable(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

/// The cache file of one client at one token endpoint, named by a hash that covers the secret
/// (a new secret must not be served the old secret's token).
fn cache_file(token_url: &str, client_id: &str, secret: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    let name = sha256_hex(&format!("{token_url}\n{client_id}\n{}", sha256_hex(secret)));
    Some(
        base.join("cloudtrust")
            .join("tokens")
            .join(format!("{name}.json")),
    )
}

fn read_cache(path: &Path) -> Option<serde_json::Value> {
    cloudtrust_server::private_files::check_secret_file(path).ok()?;
    let cached: Cached = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (now() < cached.renew_at).then_some(cached.answer)
}

fn write_cache(path: &Path, answer: &serde_json::Value, lifetime: u64) -> Result<()> {
    if let Some(dir) = path.parent() {
        cloudtrust_server::private_files::create_dir(dir)?;
    }
    // Renewed at 90% of its lifetime or a minute before expiry, whichever comes first.
    let keep = (lifetime * 9 / 10).min(lifetime.saturating_sub(60));
    let cached = Cached {
        answer: answer.clone(),
        renew_at: now() + keep,
    };
    cloudtrust_server::private_files::replace(path, &serde_json::to_vec(&cached)?)?;
    Ok(())
}

async fn request(token_url: &str, client_id: &str, secret: &str) -> Result<serde_json::Value> {
    let response = reqwest::Client::new()
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .with_context(|| format!("POST {token_url}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("{token_url} answered {status} without JSON"))?;
    if !status.is_success() {
        bail!("{token_url} answered {status}: {body}");
    }
    Ok(body)
}

/// Prints a token for the client in the environment.
pub async fn run(args: TokenArgs, out: &Output) -> Result<()> {
    let client_id = variable("CLIENT_ID")?;
    let secret = variable("CLIENT_SECRET")?;
    let customer = std::env::var("CUSTOMER_ID").unwrap_or_else(|_| "root".to_owned());
    let base = match &args.base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => Region::from(args.region).base_url(),
    };
    let token_url = format!("{base}/cctrustoauth2/{customer}/tokens/clients");
    let cache = cache_file(&token_url, &client_id, &secret);
    let cached = match (&cache, args.no_cache) {
        (Some(path), false) => read_cache(path),
        _ => None,
    };
    let answer = match cached {
        Some(answer) => answer,
        None => {
            let answer = request(&token_url, &client_id, &secret).await?;
            // `expires_in` is a string from Citrix Cloud and cloudtrust, a number elsewhere.
            let lifetime = match &answer["expires_in"] {
                serde_json::Value::String(s) => s.parse().ok(),
                other => other.as_u64(),
            };
            if let (Some(path), Some(lifetime)) = (&cache, lifetime) {
                write_cache(path, &answer, lifetime)?;
            }
            answer
        }
    };
    if out.is_json() {
        return print_json(&answer);
    }
    let token = answer["access_token"]
        .as_str()
        .context("the answer has no access_token")?;
    if args.header {
        println!("Authorization: CwsAuth Bearer={token}");
    } else {
        println!("{token}");
    }
    Ok(())
}
