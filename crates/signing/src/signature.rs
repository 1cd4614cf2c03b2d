//! Steps 7–8: the string to sign and its HMAC-SHA256.

use crate::{hexdigits, ALGORITHM};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

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
    let mut mac = new_mac(secret);
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The signature computed from its parts, without building the string to sign.
pub(crate) fn sign_parts(secret: &[u8], date: &str, canonical_request_hash: &[u8; 32]) -> [u8; 32] {
    let hex = hexdigits::encode(canonical_request_hash);
    let mut mac = new_mac(secret);
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
            sign_parts(b"secret", "20240416T095341Z", &hash),
            sign_string(b"secret", &sts)
        );
    }
}
