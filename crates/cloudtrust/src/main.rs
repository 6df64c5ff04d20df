//! `cloudtrust`: the server (`serve`, `migrate`) and local administration of customers,
//! administrators and API clients, working directly on the database.

mod backup;
mod cli;
mod dev;
mod kek;
mod keys;
mod memory;
mod output;
mod token;
mod user;
mod workspace_client;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: the token endpoint allocates a few small buffers
/// per request, and this measurably raises its throughput (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    memory::give_back_freed_memory_at_idle();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the cause chain.
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
