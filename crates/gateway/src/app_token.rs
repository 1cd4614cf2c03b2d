//! The `app_token` mode: the gateway issues access tokens to apps that present their AppKey
//! and AppSecret (OAuth 2.0 client credentials, RFC 6749 §4.4, at the instance's
//! `app_token_uri`), and APP APIs accept `Authorization: Bearer <access_token>`.
//!
//! A token is stateless, so every node checks it from memory alone: URL-safe base64 (no
//! padding) of
//!
//! ```text
//! version (1) | kind 'A'/'R' (1) | expiry, Unix milliseconds, big-endian (8) | nonce (12)
//!   | app id length (1) | app id | tag (32)
//! ```
//!
//! where the tag is HMAC-SHA256 under the app's AppSecret of the node's token key (derived
//! from the master key, the same on every node), the SHA-256 of the instance's
//! `app_token_key`, the bytes before the tag and the app's AppKey. The token names its app by
//! id, not by AppKey: where `app_api_key` makes the AppKey alone a credential, a token that
//! leaks does not give it away. A token therefore stops working when the
//! app is deleted, its AppKey changes or its secret is reset, when the instance changes
//! `app_token_key`, and when the feature is turned off; taking an authorization away stops
//! the calls it allowed at once, as for every credential (the token only says which app
//! calls). Refresh tokens (kind `R`) only buy access tokens, at the same URI with
//! `grant_type=refresh_token`; the refresh token itself is not renewed, so a caller goes back
//! to its AppKey and AppSecret once it expires.

use crate::apps::AppEntry;
use crate::body::{BodyLimits, CallerBody, GatewayBody};
use crate::config::AppTokenConfig;
use crate::errors;
use crate::pipeline::read_body;
use crate::snapshot::Snapshot;
use crate::Inner;
use apigw_domain::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderValue, Method, Response};
use rand::RngCore;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The node's key for sealing tokens: 32 bytes, the same on every node of a deployment (the
/// server derives it from the master key).
///
/// Exists so that a token is worth nothing to someone who knows an AppSecret but not the
/// deployment's key, and so that `Debug` never prints it.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// The key derived by the server.
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// A key of this process alone (tokens die with it; for gateways without a master key,
    /// such as tests).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// Which token: one that calls APIs, or one that buys those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access = b'A' as isize,
    Refresh = b'R' as isize,
}

const VERSION: u8 = 1;
/// Version, kind, expiry, nonce and the app id's length.
const HEAD: usize = 1 + 1 + 8 + 12 + 1;
/// The longest app id (ROMA Connect's rule, the longest of the id forms).
const MAX_APP_ID: usize = 64;
/// The longest AppKey (the AppKey rule).
const MAX_APP_KEY: usize = 200;
const TAG: usize = 32;
const MAX_TOKEN_BYTES: usize = HEAD + MAX_APP_ID + TAG;
/// A presented token longer than this cannot be one of ours.
const MAX_TOKEN_CHARS: usize = (MAX_TOKEN_BYTES * 4).div_ceil(3);
/// The largest token request body (a few parameters).
const MAX_REQUEST_BYTES: u64 = 8 * 1024;

/// Why a presented token does not identify an app.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    /// Not a token of this gateway for a current app and secret (the detail says which part
    /// failed; never anything secret).
    Invalid(&'static str),
    /// A good token past its expiry.
    Expired,
}

/// The tag of `payload` for `app` (its AppKey covered too, so a new AppKey voids it).
fn tag(key: &TokenKey, terms: &AppTokenConfig, app: &AppEntry, payload: &[u8]) -> [u8; TAG] {
    let mut message = [0u8; 64 + HEAD + MAX_APP_ID + MAX_APP_KEY];
    message[..32].copy_from_slice(&key.0);
    message[32..64].copy_from_slice(&terms.key_digest.unwrap_or_default());
    let mut end = 64 + payload.len();
    message[64..end].copy_from_slice(payload);
    // The AppKey rule keeps it within MAX_APP_KEY.
    let app_key = &app.app_key.as_bytes()[..app.app_key.len().min(MAX_APP_KEY)];
    message[end..end + app_key.len()].copy_from_slice(app_key);
    end += app_key.len();
    app.signing_key.sign(&message[..end])
}

/// A new token of `kind` for `app`, valid until `expiry` (Unix milliseconds).
fn mint(key: &TokenKey, terms: &AppTokenConfig, app: &AppEntry, kind: Kind, expiry: u64) -> String {
    // App ids are at most MAX_APP_ID long (one that were longer would be cut, and its
    // tokens would name no app).
    let app_id = &app.app_id.as_bytes()[..app.app_id.len().min(MAX_APP_ID)];
    let mut token = [0u8; MAX_TOKEN_BYTES];
    token[0] = VERSION;
    token[1] = kind as u8;
    token[2..10].copy_from_slice(&expiry.to_be_bytes());
    rand::thread_rng().fill_bytes(&mut token[10..22]);
    token[22] = app_id.len() as u8;
    let end = HEAD + app_id.len();
    token[HEAD..end].copy_from_slice(app_id);
    let tag = tag(key, terms, app, &token[..end]);
    token[end..end + TAG].copy_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(&token[..end + TAG])
}

/// The app a token of `kind` names, if its tag is right for the app's current secret and it
/// has not expired at `now` (Unix milliseconds). Decoded on the stack: no allocation.
fn check<'s>(
    key: &TokenKey,
    terms: &AppTokenConfig,
    snapshot: &'s Snapshot,
    (token, kind): (&str, Kind),
    now: u64,
) -> Result<(&'s Arc<AppEntry>, u64), TokenRefusal> {
    let malformed = TokenRefusal::Invalid("token malformed");
    if token.len() > MAX_TOKEN_CHARS {
        return Err(malformed);
    }
    let mut bytes = [0u8; MAX_TOKEN_BYTES];
    let n = URL_SAFE_NO_PAD
        .decode_slice(token, &mut bytes)
        .map_err(|_| TokenRefusal::Invalid("token malformed"))?;
    if n < HEAD + TAG || bytes[0] != VERSION || bytes[1] != kind as u8 {
        return Err(malformed);
    }
    let end = HEAD + usize::from(bytes[22]);
    if n != end + TAG {
        return Err(malformed);
    }
    let app_id = std::str::from_utf8(&bytes[HEAD..end]).map_err(|_| malformed)?;
    let Some(app) = snapshot.shared_app_by_id(app_id) else {
        return Err(TokenRefusal::Invalid("token of no current app"));
    };
    let expected = tag(key, terms, app, &bytes[..end]);
    if !bool::from(expected.ct_eq(&bytes[end..n])) {
        return Err(TokenRefusal::Invalid("token signature mismatch"));
    }
    let expiry = u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes"));
    if expiry <= now {
        return Err(TokenRefusal::Expired);
    }
    Ok((app, expiry))
}

/// Unix milliseconds now.
fn now_ms() -> u64 {
    u64::try_from(crate::quota::wall_ms()).unwrap_or(0)
}

/// `lives` from `now`, in Unix milliseconds.
fn expiry(now: u64, lives: Duration) -> u64 {
    now.saturating_add(u64::try_from(lives.as_millis()).unwrap_or(u64::MAX))
}

/// The last access token a connection presented, with what it was found good for.
///
/// Exists because a keep-alive client presents the same token call after call: the token's
/// HMAC is then computed once per connection, as an AppCode's is. A hit still asks the
/// snapshot in service for the token's app and requires the very entry the token was checked
/// against (kept alive here, compared by pointer): a patched app (new secret, new AppKey),
/// a deleted one, a rebuilt snapshot or changed terms all send the token through the whole
/// check again. The presented token is compared in constant time (one connection may carry
/// several clients' calls).
#[derive(Default)]
pub(crate) struct TokenMemo(Option<Box<Remembered>>);

struct Remembered {
    token: Box<[u8]>,
    app: Arc<AppEntry>,
    terms: Arc<AppTokenConfig>,
    expiry: u64,
}

impl TokenMemo {
    /// Phase 3 for `Authorization: Bearer <token>`: the app of a current access token, from
    /// the memo when it is the connection's last good token and nothing it rests on changed.
    pub(crate) fn app<'s>(
        &mut self,
        key: &TokenKey,
        terms: &Arc<AppTokenConfig>,
        snapshot: &'s Snapshot,
        token: &str,
    ) -> Result<&'s AppEntry, TokenRefusal> {
        let now = now_ms();
        if let Some(known) = self.0.as_deref() {
            if bool::from(known.token.ct_eq(token.as_bytes())) && Arc::ptr_eq(&known.terms, terms) {
                let current = snapshot.shared_app_by_id(&known.app.app_id);
                if let Some(app) = current.filter(|app| Arc::ptr_eq(app, &known.app)) {
                    return if known.expiry > now {
                        Ok(app)
                    } else {
                        Err(TokenRefusal::Expired)
                    };
                }
            }
        }
        let (app, expiry) = check(key, terms, snapshot, (token, Kind::Access), now)?;
        self.0 = Some(Box::new(Remembered {
            token: token.as_bytes().into(),
            app: Arc::clone(app),
            terms: Arc::clone(terms),
            expiry,
        }));
        Ok(app)
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_matches(' '))
}

/// The parameters of a token request.
#[derive(Default)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

impl TokenRequest {
    /// Reads a form (`application/x-www-form-urlencoded`, the RFC's) or a JSON object of
    /// strings; a parameter given twice, or any other body, is a bad request.
    fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        let json = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        let mut request = Self::default();
        if json {
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            for (name, value) in value.as_object()? {
                request.set(name, value.as_str()?)?;
            }
        } else {
            for (name, value) in form_urlencoded::parse(body) {
                request.set(&name, &value)?;
            }
        }
        Some(request)
    }

    /// Sets one parameter (unknown ones are ignored, as RFC 6749 §3.2 asks); `None` when it
    /// was set already.
    fn set(&mut self, name: &str, value: &str) -> Option<()> {
        let slot = match name {
            "grant_type" => &mut self.grant_type,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            "refresh_token" => &mut self.refresh_token,
            "scope" => &mut self.scope,
            _ => return Some(()),
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(value.to_owned());
        Some(())
    }
}

/// The AppKey and AppSecret of `Authorization: Basic` client authentication (RFC 6749
/// §2.3.1), as the `app_basic` mode reads them.
fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    let (key, secret) = pair.split_once(':')?;
    Some((key.to_owned(), secret.to_owned()))
}

/// What answers a request to the instance's `app_token_uri`: a new access token (and, for
/// client credentials, a refresh token) in RFC 6749 §5.1's form, or the refusal.
///
/// `(tls, client)`: whether the connection is TLS, and the client's address (for failure
/// throttling). Only `POST` is served; the credentials travel in clear only where the node
/// allows AppCodes in clear.
pub(crate) async fn answer<'s>(
    gw: &Inner,
    terms: &AppTokenConfig,
    snapshot: &'s Snapshot,
    (method, headers, body): (&Method, &HeaderMap, CallerBody),
    (tls, client): (bool, IpAddr),
) -> (
    Result<Response<GatewayBody>, ApiError>,
    Option<&'s AppEntry>,
) {
    if method != Method::POST {
        return (Err(errors::bad_request()), None);
    }
    if !tls && !gw.settings.allow_app_code_over_http {
        let refusal = gw.auth_failure(client, None, || {
            "app token is only issued over HTTPS".to_owned()
        });
        return (Err(refusal), None);
    }
    let limits = BodyLimits {
        max_bytes: MAX_REQUEST_BYTES,
        idle: gw.settings.client_body_timeout,
        per_grpc_message: false,
    };
    let body = match read_body(body, limits).await {
        Ok(body) => body,
        Err(refusal) => return (Err(refusal), None),
    };
    let Some(request) = TokenRequest::parse(headers, &body) else {
        return (Err(errors::bad_request()), None);
    };
    let key = &gw.settings.app_token_key;
    let now = now_ms();
    // The client's AppKey and AppSecret, in the body or as Basic credentials; one without the
    // other is a bad request.
    let credentials = match (request.client_id, request.client_secret) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (None, None) => basic_client(headers),
        _ => return (Err(errors::bad_request()), None),
    };
    let (app, refresh) = match request.grant_type.as_deref() {
        Some("client_credentials") => {
            let Some(credentials) = credentials else {
                return (Err(errors::bad_request()), None);
            };
            let app = match app_of_credentials(gw, snapshot, client, &credentials) {
                Ok(app) => app,
                Err(refusal) => return (Err(refusal), None),
            };
            let lasts = expiry(now, terms.refresh_ttl);
            (app, Some(mint(key, terms, app, Kind::Refresh, lasts)))
        }
        Some("refresh_token") => {
            let Some(token) = request.refresh_token.as_deref() else {
                return (Err(errors::bad_request()), None);
            };
            let app = match check(key, terms, snapshot, (token, Kind::Refresh), now) {
                Ok((app, _)) => &**app,
                Err(refusal) => {
                    let detail = match refusal {
                        TokenRefusal::Invalid(why) => why,
                        TokenRefusal::Expired => "refresh token expired",
                    };
                    let refusal = gw.auth_failure(client, None, || detail.to_owned());
                    return (Err(refusal), None);
                }
            };
            // Client credentials, when given too (APIG's own clients send them), must be the
            // token's app's.
            if let Some(credentials) = &credentials {
                match app_of_credentials(gw, snapshot, client, credentials) {
                    Ok(named) if std::ptr::eq(named, app) => {}
                    Ok(_) => return (Err(errors::app_credentials_invalid()), None),
                    Err(refusal) => return (Err(refusal), None),
                }
            }
            (app, Some(token.to_owned()))
        }
        _ => return (Err(errors::bad_request()), None),
    };
    let access = mint(key, terms, app, Kind::Access, expiry(now, terms.access_ttl));
    tracing::debug!(app_id = &*app.app_id, "app token issued");
    let issued = (
        access.as_str(),
        refresh.as_deref(),
        request.scope.as_deref(),
    );
    let response = token_response(issued, terms.access_ttl);
    (Ok(response), Some(app))
}

/// The app whose AppKey and AppSecret these are; 400 `APIG.1009` (429 once failures pile
/// up) for any other pair.
fn app_of_credentials<'s>(
    gw: &Inner,
    snapshot: &'s Snapshot,
    client: IpAddr,
    (app_key, secret): &(String, String),
) -> Result<&'s AppEntry, ApiError> {
    match snapshot.app_by_key(app_key) {
        Some(app) if app.secret_matches(secret.as_bytes()) => Ok(app),
        found => {
            // A wrong secret counts against the AppKey too, as in every mode.
            let counted = found.map(|_| app_key.as_str());
            Err(gw.credential_failure(client, counted, errors::app_credentials_invalid))
        }
    }
}

/// RFC 6749 §5.1's answer: JSON, never cached. `(access, refresh, scope)`: the tokens, and the
/// scope the request named, echoed (apigw grants no scopes of its own: a token lets an app
/// call what it is authorized for).
fn token_response(
    (access, refresh, scope): (&str, Option<&str>, Option<&str>),
    lives: Duration,
) -> Response<GatewayBody> {
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lives.as_secs(),
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = serde_json::Value::String(refresh.to_owned());
    }
    if let Some(scope) = scope {
        body["scope"] = serde_json::Value::String(scope.to_owned());
    }
    let mut response = Response::new(GatewayBody::full(body.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AppCredential, GatewayConfig};

    fn snapshot(secret: &str) -> Snapshot {
        keyed_snapshot("key-of-app-1", secret)
    }

    fn keyed_snapshot(app_key: &str, secret: &str) -> Snapshot {
        let config = GatewayConfig {
            apps: vec![AppCredential {
                app_id: "app-1".into(),
                app_name: "one".into(),
                app_key: app_key.into(),
                app_secret: secret.into(),
                app_code_hashes: vec![],
            }],
            ..Default::default()
        };
        Snapshot::build(config, "apigw.local", None)
    }

    fn terms(digest: Option<[u8; 32]>) -> AppTokenConfig {
        AppTokenConfig {
            uri: "/token".into(),
            access_ttl: Duration::from_secs(60),
            refresh_ttl: Duration::from_secs(600),
            key_digest: digest,
        }
    }

    #[test]
    fn a_token_names_its_app_until_it_expires_and_only_as_its_kind() {
        let (key, terms, snap) = (TokenKey::random(), terms(None), snapshot("Secret_0001"));
        let app = snap.app_by_key("key-of-app-1").unwrap();
        let token = mint(&key, &terms, app, Kind::Access, 10_000);
        assert!(token.len() <= MAX_TOKEN_CHARS);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let (found, expiry) = check(&key, &terms, &snap, (&token, Kind::Access), 9_999).unwrap();
        assert_eq!((&*found.app_id, expiry), ("app-1", 10_000));
        assert_eq!(
            check(&key, &terms, &snap, (&token, Kind::Access), 10_000).err(),
            Some(TokenRefusal::Expired)
        );
        assert_eq!(
            check(&key, &terms, &snap, (&token, Kind::Refresh), 0).err(),
            Some(TokenRefusal::Invalid("token malformed"))
        );
        // Two tokens of one app at one instant still differ (the nonce).
        assert_ne!(token, mint(&key, &terms, app, Kind::Access, 10_000));
    }

    #[test]
    fn a_token_is_void_under_another_node_key_instance_key_or_secret() {
        let (key, plain, snap) = (TokenKey::random(), terms(None), snapshot("Secret_0001"));
        let app = snap.app_by_key("key-of-app-1").unwrap();
        let token = mint(&key, &plain, app, Kind::Access, u64::MAX);
        let mismatch = Some(TokenRefusal::Invalid("token signature mismatch"));
        let other_node = TokenKey::random();
        assert_eq!(
            check(&other_node, &plain, &snap, (&token, Kind::Access), 0).err(),
            mismatch
        );
        let keyed = terms(Some([7; 32]));
        assert_eq!(
            check(&key, &keyed, &snap, (&token, Kind::Access), 0).err(),
            mismatch
        );
        let reset = snapshot("Secret_0002");
        assert_eq!(
            check(&key, &plain, &reset, (&token, Kind::Access), 0).err(),
            mismatch
        );
        let rekeyed = keyed_snapshot("new-key-of-app-1", "Secret_0001");
        assert_eq!(
            check(&key, &plain, &rekeyed, (&token, Kind::Access), 0).err(),
            mismatch
        );
        // The token names the app by id: the AppKey (a credential under app_api_key) is not
        // in it.
        let decoded = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(decoded.windows(5).any(|w| w == b"app-1"));
        assert!(!decoded.windows(12).any(|w| w == b"key-of-app-1"));
        // Every single changed byte of the token is refused.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let changed = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(
                check(&key, &plain, &snap, (&changed, Kind::Access), 0).is_err(),
                "{i}"
            );
            bytes[i] ^= 1;
        }
        let too_long = "A".repeat(MAX_TOKEN_CHARS + 1);
        assert!(check(&key, &plain, &snap, (&too_long, Kind::Access), 0).is_err());
        assert!(check(&key, &plain, &snap, ("", Kind::Access), 0).is_err());
    }

    #[test]
    fn the_memo_keeps_a_good_token_only_while_its_app_and_terms_stay_the_same() {
        let key = TokenKey::random();
        let terms = Arc::new(terms(None));
        let snap = snapshot("Secret_0001");
        let app = snap.app_by_key("key-of-app-1").unwrap();
        let token = mint(&key, &terms, app, Kind::Access, u64::MAX);
        let mut memo = TokenMemo::default();
        assert_eq!(
            &*memo.app(&key, &terms, &snap, &token).unwrap().app_id,
            "app-1"
        );
        // Remembered: found again under a node key that could not check it.
        let other_node = TokenKey::random();
        assert!(memo.app(&other_node, &terms, &snap, &token).is_ok());
        // Another token, other terms (even equal ones) or a new snapshot go through the check.
        let mut other = token.clone().into_bytes();
        other[5] ^= 1;
        let other = String::from_utf8(other).unwrap();
        assert!(memo.app(&other_node, &terms, &snap, &other).is_err());
        assert!(memo.app(&key, &terms, &snap, &token).is_ok());
        let same_again = Arc::new((*terms).clone());
        assert!(memo.app(&other_node, &same_again, &snap, &token).is_err());
        assert!(memo.app(&key, &terms, &snap, &token).is_ok());
        let reset = snapshot("Secret_0002");
        assert_eq!(
            memo.app(&key, &terms, &reset, &token).err(),
            Some(TokenRefusal::Invalid("token signature mismatch"))
        );
        // An expired token is refused from the memo too.
        let short = mint(&key, &terms, app, Kind::Access, now_ms() + 1);
        let mut memo = TokenMemo::default();
        if memo.app(&key, &terms, &snap, &short).is_ok() {
            std::thread::sleep(Duration::from_millis(5));
            assert_eq!(
                memo.app(&key, &terms, &snap, &short).err(),
                Some(TokenRefusal::Expired)
            );
        }
    }

    #[test]
    fn bearer_values_and_token_requests_are_read_strictly() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        let form = HeaderMap::new();
        let r = TokenRequest::parse(&form, b"grant_type=client_credentials&client_id=a%2Bb&x=1")
            .unwrap();
        assert_eq!(r.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(r.client_id.as_deref(), Some("a+b"));
        assert!(TokenRequest::parse(&form, b"client_id=a&client_id=b").is_none());
        let mut json = HeaderMap::new();
        json.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let r = TokenRequest::parse(
            &json,
            br#"{"grant_type":"refresh_token","refresh_token":"t"}"#,
        )
        .unwrap();
        assert_eq!(r.refresh_token.as_deref(), Some("t"));
        assert!(TokenRequest::parse(&json, br#"{"grant_type":1}"#).is_none());
        assert!(TokenRequest::parse(&json, b"grant_type=x").is_none());
    }
}
