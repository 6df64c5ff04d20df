//! `token-management-service`: runs the service with the configuration in the environment
//! (`source cloudtrust-dev.env` after `cloudtrust serve --dev`).

use std::process::ExitCode;

use token_management_service::{Config, Service};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("token-management-service: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "token-management-service: cannot listen on {}: {e}",
                config.listen
            );
            return ExitCode::FAILURE;
        }
    };
    let service = match Service::start(config).await {
        Ok(service) => service,
        Err(e) => {
            eprintln!("token-management-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Token Management Service: open {} in a browser",
        service.home_url()
    );
    tokio::select! {
        result = service.serve(listener) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("token-management-service: {e}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
