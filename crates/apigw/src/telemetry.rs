//! Logging: human-readable lines on stderr, level from `APIGW_LOG` or `RUST_LOG` (default
//! `info`). Credentials never reach the log: secrets are redacted types and paths that carry
//! AppCodes are masked by the request logger.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init() {
    let filter = std::env::var("APIGW_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
