//! SIGHUP reads the HTTPS listener's certificate files again: a renewed certificate (ACME,
//! a rotated secret) is presented from the next handshake on, without a restart and without
//! closing a connection. A renewal that cannot be used (unreadable, no certificate, a key that
//! is not the certificate's) is logged and the listener keeps the certificate it had.

use apigw_gateway::ListenerCertificate;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// SIGHUP, caught from the moment [`Hangups::register`] returns.
///
/// Exists because SIGHUP's default action ends the process: it is caught before anything
/// listens, as the shutdown signals are (see `shutdown`).
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Installs the handler now (inside the runtime).
    pub fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = match signal(SignalKind::hangup()) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(signal = "SIGHUP", error = %e, "cannot catch signal");
                    None
                }
            };
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// From now on, reloads `certificate` at every SIGHUP (`None`: no HTTPS listener, the
    /// signal is only logged).
    pub fn spawn(self, certificate: Option<Arc<ListenerCertificate>>) {
        #[cfg(unix)]
        if let Some(mut signal) = self.signal {
            tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    reload(certificate.as_deref());
                }
            });
        }
        #[cfg(not(unix))]
        let _ = certificate;
    }
}

/// One reload, logged either way.
fn reload(certificate: Option<&ListenerCertificate>) {
    let Some(certificate) = certificate else {
        tracing::info!("SIGHUP: no HTTPS gateway listener, no certificate to reload");
        return;
    };
    let path = certificate.settings().cert_path();
    match certificate.reload() {
        Ok(()) => {
            tracing::info!(certificate = %path.display(), valid_until = %valid_until(certificate), sni_names = certificate.sni_names(), "SIGHUP: HTTPS certificate reloaded");
            warn_if_expired(certificate);
        }
        Err(e) => tracing::error!(
            certificate = %path.display(),
            error = %e,
            "SIGHUP: HTTPS certificate not reloaded; the listener keeps its certificate"
        ),
    }
}

/// The certificate's `notAfter` for the log (RFC 3339), or `unknown`.
pub fn valid_until(certificate: &ListenerCertificate) -> String {
    match certificate
        .expires_at()
        .and_then(|at| u64::try_from(at).ok())
    {
        Some(at) => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(at)).to_string()
        }
        None => "unknown".to_owned(),
    }
}

/// Logs a warning when the certificate presented is past its `notAfter` (clients refuse it).
pub fn warn_if_expired(certificate: &ListenerCertificate) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(at) = certificate.expires_at() {
        if i64::try_from(now).is_ok_and(|now| at < now) {
            tracing::warn!(valid_until = %valid_until(certificate), "the HTTPS certificate has expired; clients will refuse it");
        }
    }
}
