//! Graceful shutdown: resolves on SIGTERM or SIGINT so the server stops accepting, lets
//! in-flight requests finish and exits 0.

/// SIGTERM and SIGINT, caught from the moment [`Signals::register`] returns.
///
/// Exists because registering late loses signals: one that arrives before the handler is in
/// place gets the default action and kills the process (exit by signal, nothing flushed), so
/// the server registers before its listeners answer anyone.
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers now (inside the runtime).
    pub fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let catch = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(signal = name, error = %e, "cannot catch signal");
                    None
                }
            };
            Self {
                term: catch(SignalKind::terminate(), "SIGTERM"),
                interrupt: catch(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for SIGTERM or SIGINT.
    pub async fn recv(self) {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(self.interrupt) => tracing::info!("SIGINT received, shutting down"),
                _ = wait(self.term) => tracing::info!("SIGTERM received, shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received, shutting down");
        }
    }
}
