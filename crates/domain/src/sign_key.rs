//! Signature keys (`/signs`): a key and secret the gateway signs its calls to a backend with,
//! so that the backend can tell them from calls that did not come through the gateway. A key
//! does nothing until it is bound to a published API (`/sign-bindings`, one per API and
//! environment); from then on every call of that API in that environment reaches the backend
//! signed. The key types that parse, and the errors of the resource.
//!
//! Types served: `hmac` (the backend request is signed with `SDK-HMAC-SHA256`, the algorithm
//! callers sign with, keyed by the signature key and secret) and `basic` (the backend request
//! carries `Authorization: Basic base64(key:secret)`). Huawei's `public_key` and `aes` types
//! are refused with a message that says so: what the gateway would send for them is not
//! documented well enough to be compatible.

use crate::error::ApiError;
use crate::throttle::is_policy_name;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::Value;

/// Most signature keys one instance may have (Huawei's default quota).
pub const MAX_SIGN_KEYS_PER_INSTANCE: usize = 200;

impl ApiError {
    /// 404 `APIG.3017`: no signature key with this id in the instance.
    pub fn sign_key_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3017",
            format!("Signature key {id} does not exist"),
        )
    }

    /// 400 `APIG.3207`: another signature key of the instance has this name.
    pub fn sign_key_name_exists() -> Self {
        Self::new(400, "APIG.3207", "The signature key name already exists.")
    }

    /// 403 `APIG.3105`: the instance has [`MAX_SIGN_KEYS_PER_INSTANCE`] keys already.
    pub fn sign_key_limit() -> Self {
        Self::new(
            403,
            "APIG.3105",
            "The number of signature keys exceeds the maximum allowed limit.",
        )
    }

    /// 404 `APIG.3018`: no signature key binding record with this id.
    pub fn sign_binding_not_found() -> Self {
        Self::new(
            404,
            "APIG.3018",
            "The signature key binding record does not exist.",
        )
    }

    /// 400 `APIG.3448` (our code; APIG lets a policy bound to APIs not be deleted but names no
    /// code for signature keys): the key is still bound to APIs.
    pub fn sign_key_bound() -> Self {
        Self::new(
            400,
            "APIG.3448",
            "The signature key has been bound to APIs and cannot be deleted.",
        )
    }

    /// 400 `APIG.3355` (our code; APIG allows one signature key per API and environment): the
    /// published API is bound to another key there.
    pub fn api_bound_to_other_sign_key(publish_id: &str) -> Self {
        Self::new(
            400,
            "APIG.3355",
            format!(
                "The API of publication record {publish_id} is already bound to another signature key in this environment"
            ),
        )
    }
}

/// How the gateway signs a backend request with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignType {
    /// `SDK-HMAC-SHA256` over the backend request, keyed by the secret (`Authorization` and
    /// `X-Sdk-Date` headers).
    Hmac,
    /// `Authorization: Basic base64(key:secret)`.
    Basic,
}

impl SignType {
    /// The wire name (`hmac`, `basic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Basic => "basic",
        }
    }

    /// From the wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "hmac" => Some(Self::Hmac),
            "basic" => Some(Self::Basic),
            _ => None,
        }
    }

    /// Whether `s` is this type's `sign_key`: `hmac` 8–32 characters starting with a letter or
    /// digit, `basic` 4–32 starting with a letter; then letters, digits, `_` and `-`.
    fn is_key(self, s: &str) -> bool {
        let (min, first_ok): (usize, fn(u8) -> bool) = match self {
            Self::Hmac => (8, |b| b.is_ascii_alphanumeric()),
            Self::Basic => (4, |b| b.is_ascii_alphabetic()),
        };
        let b = s.as_bytes();
        (min..=32).contains(&b.len())
            && first_ok(b[0])
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    }

    /// Whether `s` is this type's `sign_secret`: `hmac` 16–64 characters, `basic` 8–64,
    /// starting with a letter or digit, then letters, digits and `_-!@#$%`.
    fn is_secret(self, s: &str) -> bool {
        let min = match self {
            Self::Hmac => 16,
            Self::Basic => 8,
        };
        let b = s.as_bytes();
        (min..=64).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"_-!@#$%".contains(&c))
    }
}

/// A signature key as created or replaced: every field checked against its type's rules.
#[derive(Clone, PartialEq, Eq)]
pub struct SignKeySpec {
    /// `name`: unique in the instance, the rule of APIG's policy names.
    pub name: String,
    /// `sign_type`.
    pub sign_type: SignType,
    /// `sign_key`.
    pub key: String,
    /// `sign_secret` (sealed at rest, shown to the key's owners as APIG shows it).
    pub secret: String,
}

/// A create or replace body, read: the fields given, before missing ones are filled in.
#[derive(Clone, PartialEq, Eq)]
pub struct SignKeyInput {
    name: String,
    sign_type: SignType,
    key: Option<String>,
    secret: Option<String>,
}

impl std::fmt::Debug for SignKeyInput {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignKeyInput")
            .field("name", &self.name)
            .field("sign_type", &self.sign_type)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl SignKeyInput {
    /// Reads a `/signs` body (`get` gives a body field by name). `sign_type` defaults to
    /// `hmac`; `sign_key` and `sign_secret` may be left out (see [`SignKeyInput::complete`]);
    /// `sign_algorithm` is for `aes` keys only, so it must be absent or empty.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> Result<Self, ApiError> {
        let text = |field: &str| match get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid_body_field(field)),
        };
        let name = text("name")?.ok_or_else(|| ApiError::invalid_body_field("name"))?;
        if !is_policy_name(name) {
            return Err(ApiError::invalid_body_field("name"));
        }
        let sign_type = match text("sign_type")? {
            None => SignType::Hmac,
            Some(t @ ("public_key" | "aes")) => {
                return Err(ApiError::new(
                    400,
                    "APIG.2011",
                    format!(
                        "Parameter value does not match the rules,parameterName:sign_type. \
                         Signature keys of type {t} are not supported by this gateway; use hmac or basic."
                    ),
                ))
            }
            Some(t) => {
                SignType::from_wire(t).ok_or_else(|| ApiError::invalid_body_field("sign_type"))?
            }
        };
        if text("sign_algorithm")?.is_some_and(|a| !a.is_empty()) {
            return Err(ApiError::invalid_body_field("sign_algorithm"));
        }
        let key = text("sign_key")?.filter(|k| !k.is_empty());
        if key.is_some_and(|k| !sign_type.is_key(k)) {
            return Err(ApiError::invalid_body_field("sign_key"));
        }
        let secret = text("sign_secret")?.filter(|s| !s.is_empty());
        if secret.is_some_and(|s| !sign_type.is_secret(s)) {
            return Err(ApiError::invalid_body_field("sign_secret"));
        }
        Ok(Self {
            name: name.to_owned(),
            sign_type,
            key: key.map(str::to_owned),
            secret: secret.map(str::to_owned),
        })
    }

    /// The key to store: a field left out keeps `previous`'s value when the key keeps its type
    /// (an update that only renames), else a new random one is generated.
    pub fn complete(self, previous: Option<&SignKeySpec>) -> SignKeySpec {
        let same_type = previous.filter(|p| p.sign_type == self.sign_type);
        let key = self
            .key
            .or_else(|| same_type.map(|p| p.key.clone()))
            .unwrap_or_else(new_sign_key);
        let secret = self
            .secret
            .or_else(|| same_type.map(|p| p.secret.clone()))
            .unwrap_or_else(new_sign_secret);
        SignKeySpec {
            name: self.name,
            sign_type: self.sign_type,
            key,
            secret,
        }
    }
}

impl std::fmt::Debug for SignKeySpec {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignKeySpec")
            .field("name", &self.name)
            .field("sign_type", &self.sign_type)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SignKeySpec {
    /// The secret as answers after the creating one show it (`abc************xyz`).
    pub fn masked_secret(&self) -> String {
        crate::names::mask(&self.secret)
    }

    /// A stored key, checked again (a row that breaks the rules is corrupt).
    pub fn from_stored(name: String, sign_type: &str, key: String, secret: String) -> Option<Self> {
        let sign_type = SignType::from_wire(sign_type)?;
        let valid = sign_type.is_key(&key) && sign_type.is_secret(&secret);
        valid.then_some(Self {
            name,
            sign_type,
            key,
            secret,
        })
    }
}

/// 32 characters, a letter first (valid for both types): `k` and 31 hex digits.
fn new_sign_key() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let mut key = hex::encode(bytes);
    key.replace_range(0..1, "k");
    key
}

/// 32 hex digits (128 random bits), valid for both types.
fn new_sign_secret() -> String {
    crate::generate::new_secret_hex(16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(body: Value) -> Result<SignKeyInput, ApiError> {
        SignKeyInput::parse(|k| body.get(k))
    }

    #[test]
    fn missing_fields_are_generated_and_kept_by_an_update_of_the_same_type() {
        let first = input(json!({"name": "backend_sign"}))
            .unwrap()
            .complete(None);
        assert_eq!(first.sign_type, SignType::Hmac);
        assert!(SignType::Hmac.is_key(&first.key) && SignType::Basic.is_key(&first.key));
        assert!(SignType::Hmac.is_secret(&first.secret));
        let again = input(json!({"name": "renamed", "sign_type": "hmac"}))
            .unwrap()
            .complete(Some(&first));
        assert_eq!(
            (again.key.as_str(), again.secret.as_str()),
            (first.key.as_str(), first.secret.as_str())
        );
        assert_eq!(again.name, "renamed");
        let basic = input(json!({"name": "renamed", "sign_type": "basic"}))
            .unwrap()
            .complete(Some(&first));
        assert_ne!(basic.key, first.key);
        let given = input(
            json!({"name": "abc", "sign_type": "basic", "sign_key": "user",
            "sign_secret": "pass!@#$%word"}),
        )
        .unwrap()
        .complete(Some(&first));
        assert_eq!(
            (given.key.as_str(), given.secret.as_str()),
            ("user", "pass!@#$%word")
        );
    }

    #[test]
    fn every_field_is_held_to_its_type_s_rule() {
        for (body, field) in [
            (json!({}), "name"),
            (json!({"name": "ab"}), "name"),
            (json!({"name": 5}), "name"),
            (json!({"name": "abc", "sign_type": "rsa"}), "sign_type"),
            (json!({"name": "abc", "sign_type": "aes"}), "sign_type"),
            (
                json!({"name": "abc", "sign_type": "public_key"}),
                "sign_type",
            ),
            (
                json!({"name": "abc", "sign_algorithm": "aes-128-cfb"}),
                "sign_algorithm",
            ),
            (json!({"name": "abc", "sign_key": "short"}), "sign_key"),
            (json!({"name": "abc", "sign_key": "_startsbad"}), "sign_key"),
            (
                json!({"name": "abc", "sign_key": "a".repeat(33)}),
                "sign_key",
            ),
            (
                json!({"name": "abc", "sign_type": "basic", "sign_key": "1user"}),
                "sign_key",
            ),
            (json!({"name": "abc", "sign_key": "has space1"}), "sign_key"),
            (
                json!({"name": "abc", "sign_secret": "tooshortsecret"}),
                "sign_secret",
            ),
            (
                json!({"name": "abc", "sign_secret": "!startswithbang123"}),
                "sign_secret",
            ),
            (
                json!({"name": "abc", "sign_secret": "a".repeat(65)}),
                "sign_secret",
            ),
            (
                json!({"name": "abc", "sign_type": "basic", "sign_secret": "seven77"}),
                "sign_secret",
            ),
            (
                json!({"name": "abc", "sign_secret": "with&ampersand12345"}),
                "sign_secret",
            ),
        ] {
            let e = input(body.clone()).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{body}");
            assert!(
                e.message.contains(&format!("parameterName:{field}")),
                "{body}: {}",
                e.message
            );
        }
        let ok = input(
            json!({"name": "abc", "sign_type": "basic", "sign_key": "user",
            "sign_secret": "eight888", "sign_algorithm": ""}),
        );
        assert!(ok.is_ok());
        assert!(input(
            json!({"name": "abc", "sign_key": "12345678", "sign_secret": "0123456789abcdef"})
        )
        .is_ok());
    }
}
