//! Active health checks of VPC channel servers: each server of a channel with a health check
//! is probed every interval (a TCP connect, or an HTTP(S) request whose status must be
//! accepted); `unhealthy_threshold` failures in a row take it out of its channel's rotation,
//! `healthy_threshold` successes in a row bring it back. Transitions are logged.
//!
//! A server's health ([`MemberHealth`]) is shared by every balancer of its channel and carried
//! over from one routing build to the next while the channel keeps the server and the check;
//! its probe runs for as long as some balancer holds it (the probe task holds it weakly and
//! ends once it is gone). Probes run on a small runtime of their own (thread
//! `apigw-health`), apart from the listeners' and the management API's, so a slow server
//! delays neither. Servers start healthy: a new channel takes calls at once.
//!
//! The servers probed and their health are also on a board ([`probed_servers`]) that the
//! binary publishes to the database, where the management API reads every node's view.

use crate::config::{HealthCheckConfig, ProbeProtocol};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsConnector;

/// Largest probe response head read (the status line is all that is needed).
const PROBE_READ: usize = 1024;

/// Identifies a server's health across rebuilds: its channel, its member id, its address and
/// the channel's check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct HealthKey {
    pub channel_id: String,
    pub member_id: String,
    pub host: String,
    pub port: u16,
    pub check: Option<HealthCheckConfig>,
}

/// Whether one server of a channel takes calls, as its health check last decided, and how
/// many calls it has in flight (least connections): the state of a server that outlives
/// routing builds.
#[derive(Debug)]
pub(crate) struct MemberHealth {
    key: HealthKey,
    healthy: AtomicBool,
    /// Calls sent whose answers are not yet through, over every balancer of the server.
    in_flight: Arc<AtomicU32>,
    /// Successes (positive) or failures (negative) in a row.
    streak: Mutex<i32>,
}

impl MemberHealth {
    /// The health of the server `key` names, healthy to begin with; if its channel has a
    /// check, its probe starts now and runs while the health is held, and the server is on the
    /// board.
    pub fn start(key: HealthKey) -> Arc<Self> {
        let check = key.check.clone();
        let health = Arc::new(Self {
            key,
            healthy: AtomicBool::new(true),
            in_flight: Arc::new(AtomicU32::new(0)),
            streak: Mutex::new(0),
        });
        if let Some(check) = check {
            BOARD.put(&health);
            PROBES.spawn(probe_loop(Arc::downgrade(&health), check));
        }
        health
    }

    /// The key a later build finds it under.
    pub fn key(&self) -> &HealthKey {
        &self.key
    }

    /// The server's count of calls in flight.
    pub fn in_flight(&self) -> &Arc<AtomicU32> {
        &self.in_flight
    }

    /// Whether the server takes calls.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Sets the state directly (tests of the balancer).
    #[cfg(test)]
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    /// Counts one probe's outcome; flips the state at the check's thresholds.
    fn record(&self, ok: Result<(), String>, check: &HealthCheckConfig) {
        let mut streak = self.streak.lock().unwrap_or_else(|p| p.into_inner());
        *streak = match (&ok, *streak) {
            (Ok(()), s) if s > 0 => s.saturating_add(1),
            (Ok(()), _) => 1,
            (Err(_), s) if s < 0 => s.saturating_sub(1),
            (Err(_), _) => -1,
        };
        let HealthKey {
            channel_id: channel,
            host,
            port,
            ..
        } = &self.key;
        let healthy = self.is_healthy();
        if healthy && -*streak >= i32::from(check.unhealthy_threshold) {
            self.healthy.store(false, Ordering::Relaxed);
            BOARD.changed.notify_one();
            crate::meters::channel_server_out(channel, true);
            let error = ok.err().unwrap_or_default();
            tracing::warn!(vpc_channel = %channel, member = %format!("{host}:{port}"), %error, failures = -*streak, "VPC channel server unhealthy: it takes no calls until it passes its health check again");
        } else if !healthy && *streak >= i32::from(check.healthy_threshold) {
            self.healthy.store(true, Ordering::Relaxed);
            BOARD.changed.notify_one();
            crate::meters::channel_server_out(channel, false);
            tracing::info!(vpc_channel = %channel, member = %format!("{host}:{port}"), successes = *streak, "VPC channel server healthy again: it takes calls");
        } else if let Err(error) = ok {
            tracing::debug!(vpc_channel = %channel, member = %format!("{host}:{port}"), %error, "health probe failed");
        }
    }
}

impl Drop for MemberHealth {
    // A server that leaves its channel (or whose check changes) while out no longer counts.
    fn drop(&mut self) {
        if !self.is_healthy() {
            crate::meters::channel_server_out(&self.key.channel_id, false);
        }
        if self.key.check.is_some() {
            BOARD.changed.notify_one();
        }
    }
}

/// The servers this node probes (held weakly: a server leaves the board when no balancer
/// holds it any more), and a signal for each change of the set or of a server's health.
struct Board {
    servers: Mutex<Vec<Weak<MemberHealth>>>,
    changed: Notify,
}

static BOARD: LazyLock<Board> = LazyLock::new(|| Board {
    servers: Mutex::new(Vec::new()),
    changed: Notify::new(),
});

impl Board {
    fn put(&self, health: &Arc<MemberHealth>) {
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        servers.retain(|s| s.strong_count() > 0);
        servers.push(Arc::downgrade(health));
        self.changed.notify_one();
    }
}

/// What this node's health checks say now of each server they probe: its member id and
/// whether it takes calls. Where a routing build replaced a server's check, the newer
/// check's word counts.
pub fn probed_servers() -> Vec<(String, bool)> {
    let mut servers = BOARD.servers.lock().unwrap_or_else(|p| p.into_inner());
    servers.retain(|s| s.strong_count() > 0);
    let mut view: Vec<(String, bool)> = Vec::with_capacity(servers.len());
    for health in servers.iter().filter_map(Weak::upgrade) {
        let entry = (health.key.member_id.clone(), health.is_healthy());
        match view.iter_mut().find(|(id, _)| *id == entry.0) {
            Some(older) => *older = entry,
            None => view.push(entry),
        }
    }
    view
}

/// Resolves at the next change of [`probed_servers`] (a server probed or no longer, or its
/// health flipped), or at once if one happened since the last call resolved.
pub async fn probed_servers_changed() {
    BOARD.changed.notified().await;
}

/// The runtime the probes run on, started with the first channel that has a health check.
static PROBES: LazyLock<ProbeRuntime> = LazyLock::new(ProbeRuntime::start);

struct ProbeRuntime {
    handle: tokio::runtime::Handle,
    tls: TlsConnector,
}

impl ProbeRuntime {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let handle = runtime.handle().clone();
        let spawned = std::thread::Builder::new()
            .name("apigw-health".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the health check thread could not start; VPC channel servers stay healthy");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyCertificate(Arc::clone(&provider)));
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Self {
            handle,
            tls: TlsConnector::from(Arc::new(tls)),
        }
    }

    fn spawn(&self, probe: impl std::future::Future<Output = ()> + Send + 'static) {
        self.handle.spawn(probe);
    }
}

/// Probes the server of `health` every interval until no balancer holds it any more.
async fn probe_loop(health: Weak<MemberHealth>, check: HealthCheckConfig) {
    let target = match health.upgrade() {
        Some(h) => (h.key.host.clone(), check.port.unwrap_or(h.key.port)),
        None => return,
    };
    let mut ticks = tokio::time::interval(check.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if health.strong_count() == 0 {
            return;
        }
        let outcome = tokio::time::timeout(check.timeout, probe(&target, &check))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", check.timeout)));
        match health.upgrade() {
            Some(h) => h.record(outcome, &check),
            None => return,
        }
    }
}

/// One probe of `host:port`.
async fn probe((host, port): &(String, u16), check: &HealthCheckConfig) -> Result<(), String> {
    let tcp = TcpStream::connect((host.as_str(), *port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    match check.protocol {
        ProbeProtocol::Tcp => Ok(()),
        ProbeProtocol::Http => http_probe(tcp, host, *port, check).await,
        ProbeProtocol::Https => {
            let name = ServerName::try_from(host.clone()).map_err(|e| format!("TLS name: {e}"))?;
            let tls = PROBES
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            http_probe(tls, host, *port, check).await
        }
    }
}

/// Sends the check's request and accepts the status if the check lists it.
async fn http_probe(
    mut io: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    port: u16,
    check: &HealthCheckConfig,
) -> Result<(), String> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "{} {} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: apigw-health-check\r\nConnection: close\r\n\r\n",
        check.method, check.path
    );
    io.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::with_capacity(PROBE_READ);
    while !head.contains(&b'\n') && head.len() < PROBE_READ {
        let mut chunk = [0_u8; 256];
        let n = io
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let status = std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "no HTTP status line".to_owned())?;
    if check.codes.iter().any(|&(a, b)| (a..=b).contains(&status)) {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

/// Accepts any server certificate (the signatures of the handshake still checked): a probe
/// asks whether the server answers, the calls check who it is.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn check(healthy: u8, unhealthy: u8) -> HealthCheckConfig {
        HealthCheckConfig {
            protocol: ProbeProtocol::Http,
            path: "/health".into(),
            method: "HEAD".into(),
            port: None,
            healthy_threshold: healthy,
            unhealthy_threshold: unhealthy,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            codes: vec![(200, 204), (301, 301)],
        }
    }

    #[test]
    fn a_server_goes_out_and_comes_back_at_its_thresholds_in_a_row() {
        // No check: no probe is started, the thresholds are the test's.
        let health = MemberHealth::start(HealthKey {
            channel_id: "c".into(),
            member_id: "m".into(),
            host: "10.0.0.1".into(),
            port: 80,
            check: None,
        });
        let check = check(2, 3);
        let fail = || Err("connect: refused".to_owned());
        health.record(fail(), &check);
        health.record(fail(), &check);
        health.record(Ok(()), &check);
        health.record(fail(), &check);
        health.record(fail(), &check);
        assert!(health.is_healthy(), "a success broke the streak");
        health.record(fail(), &check);
        assert!(!health.is_healthy(), "three failures in a row");
        health.record(Ok(()), &check);
        health.record(fail(), &check);
        health.record(Ok(()), &check);
        assert!(!health.is_healthy(), "one success is not two in a row");
        health.record(Ok(()), &check);
        assert!(health.is_healthy());
    }

    #[test]
    fn a_probed_server_is_on_the_board_while_a_balancer_holds_it() {
        let key = |channel: &str| HealthKey {
            channel_id: channel.into(),
            member_id: "board-member".into(),
            host: "127.0.0.1".into(),
            port: 1,
            check: Some(check(1, 1)),
        };
        let on_board = || {
            probed_servers()
                .into_iter()
                .filter(|(id, _)| id == "board-member")
                .count()
        };
        let first = MemberHealth::start(key("c1"));
        assert_eq!(on_board(), 1);
        // A rebuild with a changed check starts a second health for the member: one entry.
        let second = MemberHealth::start(key("c2"));
        assert_eq!(on_board(), 1);
        drop(first);
        assert_eq!(on_board(), 1);
        drop(second);
        assert_eq!(on_board(), 0, "gone with the last balancer holding it");
        // A server without a check is not on the board.
        let unchecked = MemberHealth::start(HealthKey {
            check: None,
            ..key("c3")
        });
        assert_eq!(on_board(), 0);
        drop(unchecked);
    }

    async fn probe_answered(answer: &'static [u8]) -> (Result<(), String>, String) {
        let (mut server, client) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut request = vec![0; 1024];
            let n = server.read(&mut request).await.unwrap();
            server.write_all(answer).await.unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let outcome = http_probe(client, "10.0.0.1", 8080, &check(1, 1)).await;
        (outcome, serve.await.unwrap())
    }

    #[tokio::test]
    async fn an_http_probe_sends_the_check_s_request_and_accepts_only_its_statuses() {
        let (ok, request) = probe_answered(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        assert_eq!(ok, Ok(()));
        assert!(
            request.starts_with("HEAD /health HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"),
            "{request}"
        );
        assert!(request.contains("User-Agent: apigw-health-check\r\n"));
        assert_eq!(
            probe_answered(b"HTTP/1.1 301 Moved\r\n\r\n").await.0,
            Ok(())
        );
        assert_eq!(
            probe_answered(b"HTTP/1.1 503 Busy\r\n\r\n").await.0,
            Err("status 503".to_owned())
        );
        assert!(probe_answered(b"SSH-2.0-OpenSSH\r\n").await.0.is_err());
    }
}
