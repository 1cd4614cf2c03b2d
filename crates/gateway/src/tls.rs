//! The HTTPS listener's certificate: PEM files given by the operator, or a self-signed
//! certificate generated into a directory on first use (so a fresh install serves HTTPS, which
//! AppCode authentication requires, without any set-up). The listener asks a
//! [`ListenerCertificate`] for the certificate at every handshake, so a renewed certificate
//! is put in force by [`ListenerCertificate::reload`] (`apigw serve` does so on SIGHUP) without
//! a restart and without touching connections already open.

use arc_swap::ArcSwap;
use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid(&cert, e))?;
        if chain.is_empty() {
            return Err(invalid(&cert, "no certificate in the file"));
        }
        let private = PrivateKeyDer::from_pem_file(&key).map_err(|e| invalid(&key, e))?;
        CertifiedKey::from_der(chain, private, provider).map_err(|e| invalid(&key, e))
    }
}

/// The certificate the HTTPS listener presents, replaceable while it serves.
///
/// Exists so that a renewed certificate (every few weeks with ACME) takes effect without a
/// restart: handshakes after [`reload`](Self::reload) get the new one, connections already
/// open keep theirs, and a renewal that cannot be read leaves the old one in place.
#[derive(Debug)]
pub struct ListenerCertificate {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
}

impl ListenerCertificate {
    /// Loads the certificate `settings` names (generating the self-signed one if needed).
    pub fn load(settings: TlsSettings) -> io::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let first = settings.load(&provider)?;
        let loaded = Arc::new(Self {
            settings,
            provider,
            current: ArcSwap::from_pointee(first),
        });
        loaded.publish_expiry();
        Ok(loaded)
    }

    /// Reads the files again and presents what they hold from the next handshake on; on an
    /// error (unreadable file, no certificate, a key that is not the certificate's) the
    /// current certificate stays.
    pub fn reload(&self) -> io::Result<()> {
        let fresh = self.settings.load(&self.provider)?;
        self.current.store(Arc::new(fresh));
        self.publish_expiry();
        Ok(())
    }

    /// When the certificate presented now stops being valid (the leaf's `notAfter`, Unix
    /// seconds); `None` if the leaf cannot be read as X.509 (rustls accepted it, so only an
    /// unusual encoding).
    pub fn expires_at(&self) -> Option<i64> {
        let current = self.current.load();
        let leaf = current.cert.first()?;
        let cert = x509_cert::Certificate::from_der(leaf.as_ref()).ok()?;
        let not_after = cert.tbs_certificate.validity.not_after.to_unix_duration();
        i64::try_from(not_after.as_secs()).ok()
    }

    /// Puts the expiry on the metrics (`apigw_gateway_certificate_expiry_timestamp_seconds`).
    fn publish_expiry(&self) {
        if let Some(at) = self.expires_at() {
            crate::meters::certificate_presented(at);
        }
    }

    /// Where the certificate comes from.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// The certificate chain presented now, leaf first.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current.load().cert.clone()
    }

    /// The rustls server configuration presenting this certificate: TLS 1.2 and 1.3, ALPN
    /// `h2` (HTTP/2, which gRPC needs) and `http/1.1`.
    pub fn server_config(self: &Arc<Self>) -> io::Result<Arc<rustls::ServerConfig>> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        // HTTP/2 when the client offers it (ALPN), else HTTP/1.1.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ListenerCertificate {
    /// The current certificate, whatever name the client asked for.
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
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
        ListenerCertificate::load(settings.clone()).unwrap();
        let first = fs::read(settings.cert_path()).unwrap();
        ListenerCertificate::load(settings.clone()).unwrap();
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
        assert!(ListenerCertificate::load(settings).is_err());
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
        let leaf = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let a = self_signed_pem(&["a.example".into()]).unwrap();
        let b = self_signed_pem(&["b.example".into()]).unwrap();
        write(&a);
        let listener = ListenerCertificate::load(TlsSettings::Pem {
            cert: cert.clone(),
            key: key.clone(),
        })
        .unwrap();
        assert_eq!(listener.chain(), vec![leaf(&a.0)]);
        // rcgen's default validity ends on 4096-01-01.
        assert_eq!(listener.expires_at(), Some(67090118400));
        write(&b);
        listener.reload().unwrap();
        assert_eq!(listener.chain(), vec![leaf(&b.0)]);
        // A's certificate with B's key, then a file without a certificate: refused, B stays.
        fs::write(&cert, &a.0).unwrap();
        let mismatch = listener.reload().unwrap_err().to_string();
        assert!(mismatch.contains("key.pem"), "{mismatch}");
        fs::write(&cert, "not a certificate").unwrap();
        assert!(listener.reload().is_err());
        assert_eq!(listener.chain(), vec![leaf(&b.0)]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
