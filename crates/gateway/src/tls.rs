//! The HTTPS listener's certificate: PEM files given by the operator, or a self-signed
//! certificate generated into a directory on first use (so a fresh install serves HTTPS, which
//! AppCode authentication requires, without any set-up). The listener asks a
//! [`ListenerCertificate`] for the certificate at every handshake, so a renewed certificate
//! is put in force by [`ListenerCertificate::reload`] (`apigw serve` does so on SIGHUP) without
//! a restart and without touching connections already open.

use apigw_domain::certificate::TrustedRootCa;
use arc_swap::ArcSwap;
use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;
use x509_cert::der::Decode;

/// File name of the generated certificate inside [`TlsSettings::SelfSigned::dir`].
pub const SELF_SIGNED_CERT_FILE: &str = "gateway-cert.pem";
/// File name of the generated private key (mode 0600) inside [`TlsSettings::SelfSigned::dir`].
pub const SELF_SIGNED_KEY_FILE: &str = "gateway-key.pem";

/// Where the HTTPS listener's certificate comes from.
///
/// Exists so the CLI can offer both a production set-up (operator's certificate) and a
/// zero-configuration one (self-signed, kept across restarts so clients can pin it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {
    /// A PEM certificate chain and its PEM private key (PKCS#8, PKCS#1 or SEC1).
    Pem {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// A self-signed certificate kept in `dir`, generated there if absent.
    SelfSigned {
        /// Directory holding [`SELF_SIGNED_CERT_FILE`] and [`SELF_SIGNED_KEY_FILE`].
        dir: PathBuf,
        /// DNS names and IP literals the certificate covers (used only when generating).
        names: Vec<String>,
    },
}

impl TlsSettings {
    /// A self-signed certificate in `dir` for `localhost`, `127.0.0.1` and `::1`.
    pub fn self_signed(dir: impl Into<PathBuf>) -> Self {
        Self::SelfSigned {
            dir: dir.into(),
            names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        }
    }

    /// The certificate file clients may trust (for the self-signed case, the generated one).
    pub fn cert_path(&self) -> PathBuf {
        match self {
            Self::Pem { cert, .. } => cert.clone(),
            Self::SelfSigned { dir, .. } => dir.join(SELF_SIGNED_CERT_FILE),
        }
    }

    /// Reads the certificate chain and its key (generating the self-signed pair first if
    /// needed); refuses a chain without certificate and a key that is not the leaf's.
    fn load(&self, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
        let (cert, key) = match self {
            Self::Pem { cert, key } => (cert.clone(), key.clone()),
            Self::SelfSigned { dir, names } => generate_if_missing(dir, names)?,
        };
        load_pair(&cert, &key, provider)
    }
}

/// A certificate chain and its key from PEM text, checked to belong together.
fn pem_pair(chain: &str, key: &str, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
    let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)?;
    if chain.is_empty() {
        return Err(io::Error::other("no certificate"));
    }
    let private = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(io::Error::other)?;
    CertifiedKey::from_der(chain, private, provider).map_err(io::Error::other)
}

/// A PEM certificate chain and its PEM key, checked to belong together.
fn load_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(cert, e))?;
    if chain.is_empty() {
        return Err(invalid(cert, "no certificate in the file"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, e))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| invalid(key, e))
}

/// The DNS names of a leaf certificate's subjectAltName, lower case (`*.` kept).
fn dns_names(leaf: &CertificateDer<'_>) -> Vec<String> {
    apigw_domain::certificate::leaf_dns_names(leaf.as_ref())
        .into_iter()
        .map(|name| name.to_ascii_lowercase())
        .collect()
}

/// When a leaf stops being valid (`notAfter`, Unix seconds).
fn not_after(leaf: &CertificateDer<'_>) -> Option<i64> {
    let cert = x509_cert::Certificate::from_der(leaf.as_ref()).ok()?;
    let at = cert.tbs_certificate.validity.not_after.to_unix_duration();
    i64::try_from(at.as_secs()).ok()
}

/// The certificates of an SNI directory by the DNS names they cover: every `NAME.crt` with
/// its `NAME.key`. A certificate without its key, without a DNS name, or naming a name another
/// one of the directory names, is refused.
fn load_sni_dir(
    dir: &Path,
    provider: &CryptoProvider,
) -> io::Result<HashMap<String, Arc<CertifiedKey>>> {
    let mut certs: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| invalid(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "crt"))
        .collect();
    certs.sort();
    let mut by_name = HashMap::new();
    for cert in certs {
        let key = cert.with_extension("key");
        if !key.exists() {
            return Err(invalid(&key, "missing: each NAME.crt needs its NAME.key"));
        }
        let pair = Arc::new(load_pair(&cert, &key, provider)?);
        let names = pair.cert.first().map(dns_names).unwrap_or_default();
        if names.is_empty() {
            return Err(invalid(
                &cert,
                "no DNS name in the certificate's subjectAltName",
            ));
        }
        for name in names {
            if by_name.insert(name.clone(), Arc::clone(&pair)).is_some() {
                return Err(invalid(
                    &cert,
                    format!("{name} is named by another certificate of the directory too"),
                ));
            }
        }
    }
    Ok(by_name)
}

/// A certificate added to a bound domain name through the management API, as the listener
/// receives it from the store (the key opened).
///
/// Exists so the tenant's certificates reach the listener without files: the data plane
/// hands the listener every bound domain's pair after each routing change.
#[derive(Clone)]
pub struct BoundCertificate {
    /// The bound name it is presented for (lower case; `*.` for a wildcard binding).
    pub name: String,
    /// Its id (`ssl_id`): a pair already in force under the same id and chain is not parsed
    /// again (a certificate whose content is replaced keeps its id).
    pub id: String,
    /// The chain, PEM, leaf first.
    pub chain_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// The CA set the name's HTTPS callers must present a client certificate from
    /// (`trusted_root_ca` with `verified_client_certificate_enabled`); none: no client
    /// certificate is asked for.
    pub client_ca: Option<TrustedRootCa>,
}

impl std::fmt::Debug for BoundCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundCertificate")
            .field("name", &self.name)
            .field("id", &self.id)
            .field(
                "client_ca",
                &self.client_ca.as_ref().map(TrustedRootCa::fingerprint),
            )
            .finish_non_exhaustive()
    }
}

/// Which CA set a connection's client certificate was verified against: the SHA-256 of the
/// CA certificates ([`TrustedRootCa::fingerprint`]). A request for a name that verifies
/// client certificates is served only on a connection verified against that name's CA set.
pub type ClientCaFingerprint = [u8; 32];

/// The TLS settings of a name whose callers must present a client certificate: its own server
/// configuration (the name's certificate, a verifier with its CA set) and that set's
/// fingerprint.
#[derive(Debug)]
struct ClientAuth {
    config: Arc<rustls::ServerConfig>,
    fingerprint: ClientCaFingerprint,
}

/// A bound domain's certificate in force, with the id it was added under and, when the name
/// verifies client certificates, how.
#[derive(Debug)]
struct BoundKey {
    id: String,
    chain_pem: String,
    key: Arc<CertifiedKey>,
    client_auth: Option<Arc<ClientAuth>>,
}

/// A resolver that always presents one certificate: a name's own configuration, chosen for
/// it by its SNI before the handshake goes on.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// The protocols offered by ALPN: HTTP/2 when the client offers it (gRPC needs it), else
/// HTTP/1.1.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// The server configuration of a name that verifies client certificates against `ca`,
/// presenting `key`.
fn client_auth(
    key: &Arc<CertifiedKey>,
    ca: &TrustedRootCa,
    provider: &Arc<CryptoProvider>,
) -> io::Result<ClientAuth> {
    let mut roots = rustls::RootCertStore::empty();
    for der in ca.ders() {
        roots.add(der).map_err(io::Error::other)?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
            .build()
            .map_err(io::Error::other)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(OneCertificate(Arc::clone(key))));
    config.alpn_protocols = alpn();
    Ok(ClientAuth {
        config: Arc::new(config),
        fingerprint: ca.fingerprint(),
    })
}

/// What the listener presents: the default certificate, those of the SNI directory by the
/// names they cover, and those added to bound domains by the bound name.
#[derive(Debug)]
struct Presented {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
    bound: Arc<HashMap<String, BoundKey>>,
}

impl Presented {
    /// The certificate for a client that asked for `name` (SNI), and whether that client must
    /// present a certificate of its own: for the name itself, a bound domain's, else the
    /// directory's; then for `*.` its parent, in the same order; else the default (which asks
    /// for none).
    fn for_name(&self, name: Option<&str>) -> (&Arc<CertifiedKey>, Option<&Arc<ClientAuth>>) {
        let found = name
            .filter(|_| !self.by_name.is_empty() || !self.bound.is_empty())
            .and_then(|name| {
                let name = name.to_ascii_lowercase();
                let lookup = |key: &str| {
                    self.bound
                        .get(key)
                        .map(|b| (&b.key, b.client_auth.as_ref()))
                        .or_else(|| self.by_name.get(key).map(|key| (key, None)))
                };
                lookup(&name).or_else(|| {
                    let (_, parent) = name.split_once('.')?;
                    lookup(&format!("*.{parent}"))
                })
            });
        found.unwrap_or((&self.default, None))
    }
}

/// The certificates the HTTPS listener presents, replaceable while it serves.
///
/// Exists so that a renewed certificate (every few weeks with ACME) takes effect without a
/// restart: handshakes after [`reload`](Self::reload) get the new one, connections already
/// open keep theirs, and a renewal that cannot be read leaves the old ones in place. Besides
/// the default certificate, a directory may hold one per name, chosen by the name the client
/// asks for (SNI): the certificates of the domain names bound to groups.
#[derive(Debug)]
pub struct ListenerCertificate {
    settings: TlsSettings,
    sni_dir: Option<PathBuf>,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<Presented>,
}

impl ListenerCertificate {
    /// Loads the certificate `settings` names (generating the self-signed one if needed) and,
    /// with `sni_dir`, the certificates of that directory.
    pub fn load(settings: TlsSettings, sni_dir: Option<PathBuf>) -> io::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let first = Self::read(&settings, sni_dir.as_deref(), &provider)?;
        let loaded = Arc::new(Self {
            settings,
            sni_dir,
            provider,
            current: ArcSwap::from_pointee(first),
        });
        loaded.publish_expiry();
        Ok(loaded)
    }

    fn read(
        settings: &TlsSettings,
        sni_dir: Option<&Path>,
        provider: &CryptoProvider,
    ) -> io::Result<Presented> {
        Ok(Presented {
            default: Arc::new(settings.load(provider)?),
            by_name: match sni_dir {
                Some(dir) => load_sni_dir(dir, provider)?,
                None => HashMap::new(),
            },
            bound: Arc::default(),
        })
    }

    /// Reads the files again and presents what they hold from the next handshake on; on an
    /// error (unreadable file, no certificate, a key that is not the certificate's, a
    /// directory certificate without name or key) every current certificate stays. The bound
    /// domains' certificates are not files and stay as they are.
    pub fn reload(&self) -> io::Result<()> {
        let fresh = Self::read(&self.settings, self.sni_dir.as_deref(), &self.provider)?;
        self.current.rcu(|current| Presented {
            default: Arc::clone(&fresh.default),
            by_name: fresh.by_name.clone(),
            bound: Arc::clone(&current.bound),
        });
        self.publish_expiry();
        Ok(())
    }

    /// Presents `certificates` for their bound names from the next handshake on, in place of
    /// those presented before (a name missing from the list is served by the directory or the
    /// default again). A pair already in force under the same id and chain is kept as it is;
    /// one that
    /// cannot be used (the store's copy damaged: it was checked when it was added) is left
    /// out, and returned with the reason.
    pub fn set_bound(&self, certificates: &[BoundCertificate]) -> Vec<(String, io::Error)> {
        let current = self.current.load_full();
        let mut bound = HashMap::with_capacity(certificates.len());
        let mut refused = Vec::new();
        for c in certificates {
            let fingerprint = c.client_ca.as_ref().map(TrustedRootCa::fingerprint);
            let kept = current.bound.get(&c.name).filter(|b| {
                b.id == c.id
                    && b.chain_pem == c.chain_pem
                    && b.client_auth.as_ref().map(|a| a.fingerprint) == fingerprint
            });
            let in_force = match kept {
                Some(b) => Ok((Arc::clone(&b.key), b.client_auth.clone())),
                None => self.bound_key(c),
            };
            match in_force {
                Ok((key, client_auth)) => {
                    let b = BoundKey {
                        id: c.id.clone(),
                        chain_pem: c.chain_pem.clone(),
                        key,
                        client_auth,
                    };
                    bound.insert(c.name.clone(), b);
                }
                Err(e) => refused.push((c.name.clone(), e)),
            }
        }
        let bound = Arc::new(bound);
        self.current.rcu(|current| Presented {
            default: Arc::clone(&current.default),
            by_name: current.by_name.clone(),
            bound: Arc::clone(&bound),
        });
        self.publish_expiry();
        refused
    }

    /// Parses a bound domain's pair and, when it verifies client certificates, builds its
    /// configuration.
    fn bound_key(
        &self,
        c: &BoundCertificate,
    ) -> io::Result<(Arc<CertifiedKey>, Option<Arc<ClientAuth>>)> {
        let key = Arc::new(pem_pair(&c.chain_pem, &c.key_pem, &self.provider)?);
        let client_auth = match &c.client_ca {
            Some(ca) => Some(Arc::new(client_auth(&key, ca, &self.provider)?)),
            None => None,
        };
        tracing::info!(domain = %c.name, ssl_id = %c.id, verify_client_certificate = client_auth.is_some(), "bound domain's certificate in force");
        Ok((key, client_auth))
    }

    /// When the first of the certificates presented now stops being valid (the earliest
    /// leaf `notAfter`, Unix seconds); `None` if no leaf can be read as X.509 (rustls accepted
    /// them, so only an unusual encoding).
    pub fn expires_at(&self) -> Option<i64> {
        let current = self.current.load();
        std::iter::once(&current.default)
            .chain(current.by_name.values())
            .chain(current.bound.values().map(|b| &b.key))
            .filter_map(|c| c.cert.first().and_then(not_after))
            .min()
    }

    /// Puts the expiry on the metrics (`apigw_gateway_certificate_expiry_timestamp_seconds`).
    fn publish_expiry(&self) {
        if let Some(at) = self.expires_at() {
            crate::meters::certificate_presented(at);
        }
    }

    /// Where the default certificate comes from.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// How many names the SNI directory's certificates cover.
    pub fn sni_names(&self) -> usize {
        self.current.load().by_name.len()
    }

    /// How many bound domains have a certificate presented.
    pub fn bound_names(&self) -> usize {
        self.current.load().bound.len()
    }

    /// The certificate chain presented now to a client asking for `name` (none: the default),
    /// leaf first.
    pub fn chain(&self, name: Option<&str>) -> Vec<CertificateDer<'static>> {
        self.current.load().for_name(name).0.cert.clone()
    }

    /// Whether a client asking for `name` must present a certificate, and from which CA set
    /// (what [`Acceptor::accept`] decides, for the tests).
    #[cfg(test)]
    fn client_ca_for(&self, name: Option<&str>) -> Option<ClientCaFingerprint> {
        self.current.load().for_name(name).1.map(|a| a.fingerprint)
    }

    /// The rustls server configuration presenting these certificates without asking for a
    /// client's: TLS 1.2 and 1.3, ALPN `h2` (HTTP/2, which gRPC needs) and `http/1.1`.
    pub fn server_config(self: &Arc<Self>) -> io::Result<Arc<rustls::ServerConfig>> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = alpn();
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ListenerCertificate {
    /// The certificate for the name the client asked for, else the default.
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            self.current.load().for_name(hello.server_name()).0,
        ))
    }
}

/// The HTTPS listener's handshakes: the client's hello is read first, and the name it asks
/// for (SNI) decides whether the client must present a certificate (a bound name with
/// `verified_client_certificate_enabled`) or not (every other name).
///
/// Exists because rustls verifies client certificates per server configuration, not per
/// certificate presented: a name that verifies them has a configuration of its own.
#[derive(Debug, Clone)]
pub struct Acceptor {
    certificate: Arc<ListenerCertificate>,
    open: Arc<rustls::ServerConfig>,
}

impl Acceptor {
    /// Handshakes presenting `certificate`'s certificates as they are at each handshake.
    pub fn new(certificate: &Arc<ListenerCertificate>) -> io::Result<Self> {
        Ok(Self {
            open: certificate.server_config()?,
            certificate: Arc::clone(certificate),
        })
    }

    /// Completes a TLS handshake on `stream`: the session, and the fingerprint of the CA set
    /// the client's certificate was verified against when the name asked for one (a client
    /// without one, or with one the set did not issue, fails the handshake).
    pub async fn accept(
        &self,
        stream: TcpStream,
    ) -> io::Result<(TlsStream<TcpStream>, Option<ClientCaFingerprint>)> {
        let peer = stream.peer_addr()?;
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let presented = self.certificate.current.load();
        let name = start.client_hello().server_name().map(str::to_owned);
        let client_auth = presented.for_name(name.as_deref()).1.map(Arc::clone);
        drop(presented);
        let Some(auth) = client_auth else {
            let stream = start.into_stream(Arc::clone(&self.open)).await?;
            return Ok((stream, None));
        };
        match start.into_stream(Arc::clone(&auth.config)).await {
            Ok(stream) => Ok((stream, Some(auth.fingerprint))),
            Err(e) => {
                // Said at info: whoever sets up two-way TLS needs to learn why a client was
                // turned away (no certificate, another CA, an X.509 v1 certificate, ...).
                crate::meters::client_certificate_refused();
                tracing::info!(%peer, name = name.as_deref().unwrap_or_default(), error = %e, "TLS handshake refused: the name verifies client certificates");
                Err(e)
            }
        }
    }
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}

/// The paths of the self-signed pair in `dir`, generating it when neither file exists.
fn generate_if_missing(dir: &Path, names: &[String]) -> io::Result<(PathBuf, PathBuf)> {
    let cert_path = dir.join(SELF_SIGNED_CERT_FILE);
    let key_path = dir.join(SELF_SIGNED_KEY_FILE);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => return Ok((cert_path, key_path)),
        (false, false) => {}
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: only one of {SELF_SIGNED_CERT_FILE} and {SELF_SIGNED_KEY_FILE} exists; remove it to regenerate",
                    dir.display()
                ),
            ))
        }
    }
    fs::create_dir_all(dir)?;
    let (cert_pem, key_pem) = self_signed_pem(names)?;
    write_private(&key_path, key_pem.as_bytes())?;
    let tmp = dir.join(format!("{SELF_SIGNED_CERT_FILE}.tmp"));
    fs::write(&tmp, cert_pem)?;
    fs::rename(&tmp, &cert_path)?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed certificate for the HTTPS listener");
    Ok((cert_path, key_path))
}

/// A new self-signed certificate and key (ECDSA P-256) for `names`, as PEM.
pub fn self_signed_pem(names: &[String]) -> io::Result<(String, String)> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(io::Error::other)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "apigw gateway");
    for name in names {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(name.clone().try_into().map_err(io::Error::other)?),
        };
        params.subject_alt_names.push(san);
    }
    if params.subject_alt_names.is_empty() {
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
    }
    let key = KeyPair::generate().map_err(io::Error::other)?;
    let cert = params.self_signed(&key).map_err(io::Error::other)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes a secret file readable by the owner only.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_generated_once_with_a_private_key_file() {
        let dir = std::env::temp_dir().join(format!("apigw-tls-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let settings = TlsSettings::self_signed(&dir);
        ListenerCertificate::load(settings.clone(), None).unwrap();
        let first = fs::read(settings.cert_path()).unwrap();
        ListenerCertificate::load(settings.clone(), None).unwrap();
        assert_eq!(fs::read(settings.cert_path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(SELF_SIGNED_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_file(dir.join(SELF_SIGNED_CERT_FILE)).unwrap();
        assert!(ListenerCertificate::load(settings, None).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reload_presents_the_new_certificate_and_a_bad_one_keeps_the_old() {
        let dir = std::env::temp_dir().join(format!("apigw-tls-reload-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let write = |pair: &(String, String)| {
            fs::write(&cert, &pair.0).unwrap();
            fs::write(&key, &pair.1).unwrap();
        };
        let a = self_signed_pem(&["a.example".into()]).unwrap();
        let b = self_signed_pem(&["b.example".into()]).unwrap();
        write(&a);
        let listener = ListenerCertificate::load(
            TlsSettings::Pem {
                cert: cert.clone(),
                key: key.clone(),
            },
            None,
        )
        .unwrap();
        assert_eq!(listener.chain(None), vec![leaf(&a.0)]);
        // rcgen's default validity ends on 4096-01-01.
        assert_eq!(listener.expires_at(), Some(67090118400));
        write(&b);
        listener.reload().unwrap();
        assert_eq!(listener.chain(None), vec![leaf(&b.0)]);
        // A's certificate with B's key, then a file without a certificate: refused, B stays.
        fs::write(&cert, &a.0).unwrap();
        let mismatch = listener.reload().unwrap_err().to_string();
        assert!(mismatch.contains("key.pem"), "{mismatch}");
        fs::write(&cert, "not a certificate").unwrap();
        assert!(listener.reload().is_err());
        assert_eq!(listener.chain(None), vec![leaf(&b.0)]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh `apigw-tls-{tag}-PID/sni` directory under the system's temporary one: the root
    /// (removed by the test) and the directory.
    fn sni_dir(tag: &str) -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!("apigw-tls-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let sni = root.join("sni");
        fs::create_dir_all(&sni).unwrap();
        (root, sni)
    }

    /// The first certificate of a PEM text.
    fn leaf(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    #[test]
    fn a_directory_certificate_is_presented_for_the_names_it_covers() {
        let (root, sni) = sni_dir("sni");
        let put = |stem: &str, pair: &(String, String)| {
            fs::write(sni.join(format!("{stem}.crt")), &pair.0).unwrap();
            fs::write(sni.join(format!("{stem}.key")), &pair.1).unwrap();
        };
        let shop = self_signed_pem(&["api.shop.example".into(), "Shop.Example".into()]).unwrap();
        let wild = self_signed_pem(&["*.wild.example".into()]).unwrap();
        put("shop", &shop);
        put("wild", &wild);
        let default = TlsSettings::self_signed(root.join("default"));
        let listener = ListenerCertificate::load(default.clone(), Some(sni.clone())).unwrap();
        let default_leaf = listener.chain(None);
        assert_eq!(listener.sni_names(), 3);
        assert_eq!(
            listener.chain(Some("api.shop.example")),
            vec![leaf(&shop.0)]
        );
        assert_eq!(listener.chain(Some("SHOP.example")), vec![leaf(&shop.0)]);
        assert_eq!(listener.chain(Some("a.wild.example")), vec![leaf(&wild.0)]);
        assert_eq!(listener.chain(Some("a.b.wild.example")), default_leaf);
        assert_eq!(listener.chain(Some("wild.example")), default_leaf);
        assert_eq!(listener.chain(Some("other.example")), default_leaf);

        // A certificate without its key, or naming a name another one names: refused at
        // start, and on reload the certificates in force stay.
        fs::write(sni.join("lonely.crt"), &wild.0).unwrap();
        let e = ListenerCertificate::load(default.clone(), Some(sni.clone())).unwrap_err();
        assert!(e.to_string().contains("lonely.key"), "{e}");
        assert!(listener.reload().is_err());
        fs::remove_file(sni.join("lonely.crt")).unwrap();
        put("again", &shop);
        let e = listener.reload().unwrap_err();
        assert!(e.to_string().contains("another certificate"), "{e}");
        assert_eq!(
            listener.chain(Some("api.shop.example")),
            vec![leaf(&shop.0)]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bound_domains_certificates_come_first_for_their_names_and_survive_a_reload() {
        let (root, sni) = sni_dir("bound");
        let dir_pair =
            self_signed_pem(&["api.shop.example".into(), "*.shop.example".into()]).unwrap();
        fs::write(sni.join("shop.crt"), &dir_pair.0).unwrap();
        fs::write(sni.join("shop.key"), &dir_pair.1).unwrap();
        let listener =
            ListenerCertificate::load(TlsSettings::self_signed(root.join("d")), Some(sni)).unwrap();
        let default_leaf = listener.chain(None);
        let exact = self_signed_pem(&["api.shop.example".into()]).unwrap();
        let wild = self_signed_pem(&["*.shop.example".into()]).unwrap();
        let bound = |name: &str, id: &str, pair: &(String, String)| BoundCertificate {
            name: name.into(),
            id: id.into(),
            chain_pem: pair.0.clone(),
            key_pem: pair.1.clone(),
            client_ca: None,
        };
        let refused = listener.set_bound(&[
            bound("api.shop.example", "1", &exact),
            bound("*.shop.example", "2", &wild),
            bound("broken.example", "3", &(exact.0.clone(), wild.1.clone())),
        ]);
        assert_eq!(
            refused.len(),
            1,
            "a key that is not the certificate's is left out"
        );
        assert_eq!(refused[0].0, "broken.example");
        assert_eq!(listener.bound_names(), 2);
        assert_eq!(
            listener.chain(Some("API.shop.example")),
            vec![leaf(&exact.0)]
        );
        assert_eq!(
            listener.chain(Some("www.shop.example")),
            vec![leaf(&wild.0)]
        );
        assert_eq!(listener.chain(Some("broken.example")), default_leaf);
        assert!(!format!("{:?}", bound("a.example", "9", &exact)).contains("PRIVATE"));

        // SIGHUP re-reads the files and keeps the bound ones.
        listener.reload().unwrap();
        assert_eq!(
            listener.chain(Some("api.shop.example")),
            vec![leaf(&exact.0)]
        );

        // The same id is kept as it is; a name left out falls back to the directory.
        let in_force = |name: &str| Arc::as_ptr(&listener.current.load().bound[name].key);
        let before = in_force("*.shop.example");
        listener.set_bound(&[bound("*.shop.example", "2", &wild)]);
        let after = in_force("*.shop.example");
        assert_eq!(before, after, "not parsed again");
        // Under the same id, new content (a certificate replaced) is presented.
        let renewed = self_signed_pem(&["*.shop.example".into()]).unwrap();
        listener.set_bound(&[bound("*.shop.example", "2", &renewed)]);
        assert_ne!(in_force("*.shop.example"), before);
        assert_eq!(
            listener.chain(Some("www.shop.example")),
            vec![leaf(&renewed.0)]
        );
        assert_eq!(
            listener.chain(Some("api.shop.example")),
            vec![leaf(&dir_pair.0)]
        );
        listener.set_bound(&[]);
        assert_eq!(
            listener.chain(Some("www.shop.example")),
            vec![leaf(&dir_pair.0)]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_bound_name_with_a_client_ca_asks_its_callers_for_a_certificate() {
        let root = std::env::temp_dir().join(format!("apigw-tls-mtls-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let listener = ListenerCertificate::load(TlsSettings::self_signed(&root), None).unwrap();
        let (ca_pem, _) = self_signed_pem(&["clients.example".into()]).unwrap();
        let (other_ca_pem, _) = self_signed_pem(&["partners.example".into()]).unwrap();
        let ca = TrustedRootCa::from_stored(ca_pem);
        let exact = self_signed_pem(&["api.shop.example".into()]).unwrap();
        let wild = self_signed_pem(&["*.wild.example".into()]).unwrap();
        let bound = |name: &str, id: &str, pair: &(String, String), ca: Option<&TrustedRootCa>| {
            BoundCertificate {
                name: name.into(),
                id: id.into(),
                chain_pem: pair.0.clone(),
                key_pem: pair.1.clone(),
                client_ca: ca.cloned(),
            }
        };
        let refused = listener.set_bound(&[
            bound("api.shop.example", "1", &exact, Some(&ca)),
            bound("*.wild.example", "2", &wild, None),
        ]);
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(
            listener.client_ca_for(Some("API.shop.example")),
            Some(ca.fingerprint())
        );
        assert_eq!(listener.client_ca_for(Some("a.wild.example")), None);
        assert_eq!(listener.client_ca_for(Some("other.example")), None);
        assert_eq!(listener.client_ca_for(None), None);
        // The name's own configuration presents its certificate.
        assert_eq!(
            listener.chain(Some("api.shop.example")),
            vec![leaf(&exact.0)]
        );
        let auth = |name: &str| {
            let current = listener.current.load();
            current.bound[name].client_auth.as_ref().map(Arc::as_ptr)
        };
        let before = auth("api.shop.example");
        // The same certificate and CA: kept as it is. Another CA with the same certificate
        // (or none): the name's settings are built again.
        listener.set_bound(&[bound("api.shop.example", "1", &exact, Some(&ca))]);
        assert_eq!(auth("api.shop.example"), before);
        let other = TrustedRootCa::from_stored(other_ca_pem);
        listener.set_bound(&[bound("api.shop.example", "1", &exact, Some(&other))]);
        assert_eq!(
            listener.client_ca_for(Some("api.shop.example")),
            Some(other.fingerprint())
        );
        listener.set_bound(&[bound("api.shop.example", "1", &exact, None)]);
        assert_eq!(listener.client_ca_for(Some("api.shop.example")), None);
        // A CA that is no certificate: the name is left out (its certificate too).
        let broken = TrustedRootCa::from_stored("not a certificate".into());
        let refused = listener.set_bound(&[bound("api.shop.example", "3", &exact, Some(&broken))]);
        assert_eq!(refused.len(), 1);
        assert_eq!(listener.bound_names(), 0);
        fs::remove_dir_all(&root).unwrap();
    }
}
