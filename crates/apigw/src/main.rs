//! `apigw`: a self-hosted API gateway compatible with Huawei Cloud / Open Telekom Cloud APIG app
//! credentials. This binary wires the crates together: `serve` runs the server, `call` signs
//! and sends one request like curl.

mod bootstrap;
mod call;
mod cli;
mod cluster;
mod data_plane;
mod serve;
mod shutdown;
mod telemetry;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => {
            telemetry::init();
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = args.worker_threads {
                builder.worker_threads(n.max(1));
            }
            let runtime = builder.enable_all().build().expect("tokio runtime");
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
    }
}
