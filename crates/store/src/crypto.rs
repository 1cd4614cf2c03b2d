//! Encryption at rest: the master key, AES-256-GCM sealing of secrets (with a key id prefix so the
//! key can rotate) and the keyed hash (HMAC-SHA256) that indexes AppCodes without their plaintext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::Path;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key text is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadKey,
    /// The sealed text is not `kid:base64`.
    #[error("sealed value is malformed")]
    Malformed,
    /// The sealed value was made with a key id this server does not have.
    #[error("sealed with key {0}, which this server does not have")]
    UnknownKey(String),
    /// Authentication of the ciphertext failed: wrong key or tampered data.
    #[error("cannot decrypt: wrong master key or tampered data")]
    Decrypt,
    /// Reading or writing the key file failed.
    #[error("master key file: {0}")]
    Io(#[from] std::io::Error),
}

/// The 256-bit master key. Its id is the first 8 hex characters of SHA-256(key), so the same key
/// always has the same id and a sealed value names the key that opens it.
#[derive(Clone)]
pub struct MasterKey {
    kid: String,
    key: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(kid={}, <redacted>)", self.kid)
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let kid = hex::encode(&Sha256::digest(key)[..4]);
        Self { kid, key }
    }

    /// Parses 32 bytes of standard base64 (the `APIGW_MASTER_KEY` form and the key file form).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = B64.decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    /// The key as base64.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Reads the key file, or creates it (mode 0600) with a new key if it does not exist.
    /// Returns the key and whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), CryptoError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_base64(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path)?;
                writeln!(f, "{}", key.to_base64())?;
                f.sync_all()?;
                Ok((key, true))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Seals and opens secrets with keys derived from the master key, and computes the AppCode index.
#[derive(Clone)]
pub struct Sealer {
    kid: String,
    aead: Aes256Gcm,
    index_key: [u8; 32],
    token_key: [u8; 32],
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl Sealer {
    /// Derives the sealing and index keys from the master key.
    pub fn new(master: &MasterKey) -> Self {
        let enc = derive(&master.key, b"apigw/v1/seal");
        Self {
            kid: master.kid.clone(),
            aead: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            index_key: derive(&master.key, b"apigw/v1/index"),
            token_key: derive(&master.key, b"apigw/v1/app-token"),
        }
    }

    /// Encrypts `plaintext`, binding it to `context` (for example `app_secret:<app id>`) so a
    /// sealed value copied to another row does not open. Output: `kid:base64(nonce||ct)`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut blob = Vec::with_capacity(12 + ct.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        format!("{}:{}", self.kid, B64.encode(blob))
    }

    /// Decrypts a value made by [`Sealer::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let (kid, b64) = sealed.split_once(':').ok_or(CryptoError::Malformed)?;
        if kid != self.kid {
            return Err(CryptoError::UnknownKey(kid.to_owned()));
        }
        let blob = B64.decode(b64).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = blob.split_at(12);
        self.aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts into a UTF-8 string.
    pub fn open_string(&self, sealed: &str, context: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| CryptoError::Decrypt)
    }

    /// The key of [`Sealer::index`], for the data plane, which hashes presented AppCodes in
    /// memory exactly as the store indexed them (it never holds AppCode values).
    pub fn index_key(&self) -> [u8; 32] {
        self.index_key
    }

    /// The key the data plane seals `app_token` tokens with: every node holding the master
    /// key derives the same, so a token issued by one node is good on the others.
    pub fn app_token_key(&self) -> [u8; 32] {
        self.token_key
    }

    /// The keyed hash of a secret value (hex HMAC-SHA256): stable for a master key, useless
    /// without it.
    pub fn index(&self, value: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("32-byte key");
        mac.update(value);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_context_binding() {
        let s = Sealer::new(&MasterKey::generate());
        let sealed = s.seal(b"topsecret", "app_secret:1");
        assert!(!sealed.contains("topsecret"));
        assert_eq!(s.open(&sealed, "app_secret:1").unwrap(), b"topsecret");
        assert!(matches!(
            s.open(&sealed, "app_secret:2"),
            Err(CryptoError::Decrypt)
        ));
        let other = Sealer::new(&MasterKey::generate());
        assert!(matches!(
            other.open(&sealed, "app_secret:1"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn index_is_keyed_and_stable() {
        let k = MasterKey::generate();
        let a = Sealer::new(&k);
        let b = Sealer::new(&MasterKey::from_base64(&k.to_base64()).unwrap());
        assert_eq!(a.index(b"code"), b.index(b"code"));
        assert_ne!(
            a.index(b"code"),
            Sealer::new(&MasterKey::generate()).index(b"code")
        );
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (k1, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        let (k2, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(k1.kid(), k2.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}
