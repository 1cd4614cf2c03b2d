//! Steps 7–8: the string to sign and its HMAC-SHA256.

use crate::{hexdigits, ALGORITHM};
use hmac::digest::core_api::CoreWrapper;
use hmac::{Hmac, HmacCore, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// A secret (AppSecret or SK) prepared for HMAC-SHA256: its inner and outer pad blocks are
/// hashed once, here, so each signature made or checked with it starts from that state (two
/// SHA-256 blocks fewer per request than keying the HMAC anew).
///
/// Exists so a verifier that holds many secrets (the gateway's in-memory index) prepares
/// each once when loading it. It is as sensitive as the secret; `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SigningKey(HmacCore<Sha256>);

impl SigningKey {
    /// Prepares `secret` (its bytes as the signers use them: the UTF-8 of the text).
    pub fn new(secret: &[u8]) -> Self {
        Self(new_mac(secret).decompose().0)
    }

    /// HMAC-SHA256 of `message` under this key.
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn mac(&self) -> HmacSha256 {
        CoreWrapper::from_core(self.0.clone())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex SHA-256 of the canonical request>`.
///
/// Exists for the signer's dry-run display and for tests against published vectors; the
/// verifier feeds the same bytes to the HMAC without building the string.
pub fn string_to_sign(date: &str, canonical_request_hash_hex: &str) -> String {
    format!("{ALGORITHM}\n{date}\n{canonical_request_hash_hex}")
}

/// HMAC-SHA256 of the string to sign, keyed with the secret's bytes (AppSecret or SK as
/// UTF-8); its lower-case hex is the `Signature` field. No key derivation is involved.
pub fn sign_string(secret: &[u8], string_to_sign: &str) -> [u8; 32] {
    SigningKey::new(secret).sign(string_to_sign.as_bytes())
}

/// The signature computed from its parts, without building the string to sign.
pub(crate) fn sign_parts(
    key: &SigningKey,
    date: &str,
    canonical_request_hash: &[u8; 32],
) -> [u8; 32] {
    let hex = hexdigits::encode(canonical_request_hash);
    let mut mac = key.mac();
    mac.update(ALGORITHM.as_bytes());
    mac.update(b"\n");
    mac.update(date.as_bytes());
    mac.update(b"\n");
    mac.update(&hex);
    mac.finalize().into_bytes().into()
}

fn new_mac(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_parts_equal_the_string_form() {
        let hash = [0xAB; 32];
        let sts = string_to_sign("20240416T095341Z", &hex::encode(hash));
        assert_eq!(
            sign_parts(&SigningKey::new(b"secret"), "20240416T095341Z", &hash),
            sign_string(b"secret", &sts)
        );
    }

    #[test]
    fn a_prepared_key_signs_like_the_plain_hmac() {
        // Keys longer than a block are hashed first (RFC 2104); both forms must agree.
        for secret in [&b""[..], b"secret", &[7u8; 64], &[9u8; 65], &[1u8; 200]] {
            let key = SigningKey::new(secret);
            let mut plain = new_mac(secret);
            plain.update(b"message");
            let plain: [u8; 32] = plain.finalize().into_bytes().into();
            assert_eq!(key.sign(b"message"), plain);
            assert_eq!(key.clone().sign(b"message"), plain, "reusable");
        }
        assert_eq!(
            format!("{:?}", SigningKey::new(b"s3cr3t")),
            "SigningKey(<redacted>)"
        );
    }
}
