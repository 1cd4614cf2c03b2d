//! `apigw`: a self-hosted API gateway compatible with Huawei Cloud / Open Telekom Cloud APIG app
//! credentials. This binary wires the crates together: `serve` runs the server, `call` signs
//! and sends one request like curl, `export`/`import`/`migrate` move an installation.

mod api_debug;
mod bootstrap;
mod call;
mod cert_reload;
mod cli;
mod cluster;
mod data_plane;
mod database;
mod dump;
mod exporter;
mod gateway_runtime;
mod health_report;
mod membership;
mod quota_ledger;
mod serve;
mod shutdown;
mod telemetry;
mod throttle_checkpoint;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: the per-request path allocates and frees small objects (headers, futures) on one
/// thread; mimalloc's thread-local free lists do that measurably cheaper than glibc's malloc
/// (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => {
            telemetry::init(args.log_format);
            // The management side (API, store, exporter, cluster sync) runs on this thread;
            // the gateway listeners get a runtime of their own (`gateway_runtime`), sized by
            // --worker-threads.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            match runtime.block_on(serve::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("apigw: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        cli::Command::Call(args) => call::run(args),
        cli::Command::Export(args) => run_tool(dump::export(*args)),
        cli::Command::Import(args) => run_tool(dump::import(*args)),
        cli::Command::Migrate(args) => run_tool(dump::migrate(*args)),
    }
}

/// Runs a one-shot command (export, import, migrate) on a small runtime.
fn run_tool(work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    telemetry::init(cli::LogFormat::Text);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apigw: {e:#}");
            ExitCode::FAILURE
        }
    }
}
