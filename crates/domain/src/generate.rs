//! Credential and id generation from the operating system's CSPRNG (DESIGN: ids, AppKeys and
//! AppSecrets are 32 lowercase hex; generated AppCodes are 64 lowercase hex, 256 random bits).

use crate::names::{AppCodeValue, AppKey, AppSecret};
use rand::rngs::OsRng;
use rand::RngCore;

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new object id: 32 lowercase hex characters (128 random bits).
pub fn new_id() -> String {
    random_hex::<16>()
}

/// A new AppKey: 32 lowercase hex characters.
pub fn new_app_key() -> AppKey {
    AppKey::from_trusted(random_hex::<16>())
}

/// A new AppSecret: 32 lowercase hex characters.
pub fn new_app_secret() -> AppSecret {
    AppSecret::from_trusted(random_hex::<16>())
}

/// A new AppCode: 64 lowercase hex characters (256 random bits).
pub fn new_app_code() -> AppCodeValue {
    AppCodeValue::from_trusted(random_hex::<32>())
}

/// A new opaque secret of `bytes` random bytes, hex encoded (tokens, access-key secrets, passwords).
pub fn new_secret_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_obey_their_rules() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        AppKey::parse(new_app_key().as_str()).unwrap();
        AppSecret::parse(new_app_secret().as_str()).unwrap();
        let code = new_app_code();
        assert_eq!(code.as_str().len(), 64);
        AppCodeValue::parse(code.as_str()).unwrap();
        assert_ne!(new_id(), new_id());
    }
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// A new access key id (AK): 20 characters of `A-Z0-9`, like Huawei IAM's.
pub fn new_access_key_id() -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20)
}

/// A new secret access key (SK): 40 characters of `A-Za-z0-9` (about 238 bits).
pub fn new_secret_key() -> String {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        40,
    )
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn access_keys_have_huawei_shape() {
        let ak = new_access_key_id();
        assert_eq!(ak.len(), 20);
        assert!(ak
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret_key();
        assert_eq!(sk.len(), 40);
        assert!(sk.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
