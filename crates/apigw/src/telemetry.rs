//! Logging: lines on stderr, human-readable or JSON (`--log-format`), level from `APIGW_LOG`
//! or `RUST_LOG` (default `info`). Credentials never reach the log: secrets are redacted types
//! and paths that carry AppCodes are masked by the request logger.

use crate::cli::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init(format: LogFormat) {
    let filter = std::env::var("APIGW_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init(),
        // The target stays: it tells access lines (`apigw::access`) from the rest.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .init(),
    }
}
