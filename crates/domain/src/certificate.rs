//! SSL certificates of bound domain names (`.../domains/{domain_id}/certificate`): the
//! certificate's name, and a PEM chain with its private key that parse, belong together, are
//! still valid and cover the domain they are added to — checked once here, so the gateway
//! never meets a certificate it cannot present.
//!
//! What a certificate says of itself ([`CertificateDetails`]) is read the way Huawei's
//! gateway reports it (its fields mirror Go's `x509.Certificate`: the issuer is the issuer's
//! organisations, the serial number decimal, the signature algorithm `SHA256-RSA` style).

use crate::error::ApiError;
use crate::group_domain::GroupDomainName;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_cert::der::asn1::BmpString;
use x509_cert::der::oid::db::rfc4519;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;

/// Longest `cert_content` accepted (a chain of a leaf and several intermediates).
pub const MAX_CERT_CONTENT_LEN: usize = 64 * 1024;
/// Longest `private_key` accepted (a 8192-bit RSA key in PEM is under 7 kB).
pub const MAX_PRIVATE_KEY_LEN: usize = 16 * 1024;

impl ApiError {
    /// 400 `APIG.2101`: the private key is not the certificate's.
    pub fn certificate_key_mismatch() -> Self {
        Self::new(
            400,
            "APIG.2101",
            "The certificate and private key do not match.",
        )
    }

    /// 400 `APIG.2102`: the certificate's validity has ended.
    pub fn certificate_expired() -> Self {
        Self::new(400, "APIG.2102", "The certificate has expired.")
    }

    /// 400 `APIG.2103`: none of the certificate's names covers the bound domain.
    pub fn certificate_domain_mismatch() -> Self {
        Self::new(
            400,
            "APIG.2103",
            "The certificate domain name and the custom domain name do not match.",
        )
    }

    /// 400 `APIG.2104`: a certificate of the chain is not issued by the next one.
    pub fn certificate_chain_mismatch() -> Self {
        Self::new(400, "APIG.2104", "The certificate chain is not matched.")
    }

    /// 400 `APIG.2105`: the private key is encrypted (the gateway has no passphrase for it).
    pub fn certificate_key_encrypted() -> Self {
        Self::new(
            400,
            "APIG.2105",
            "Encrypted private keys are not supported.",
        )
    }

    /// 400 `APIG.2106`: the certificate or the key is not PEM that parses.
    pub fn certificate_invalid() -> Self {
        Self::new(400, "APIG.2106", "Invalid certificate or private key.")
    }

    /// 400 `APIG.2109`: the certificate names no DNS name in its subjectAltName.
    pub fn certificate_san_missing() -> Self {
        Self::new(400, "APIG.2109", "Invalid certificate. SAN missing.")
    }

    /// 404 `APIG.3021`: the domain has no certificate with this id.
    pub fn ssl_certificate_not_found() -> Self {
        Self::new(404, "APIG.3021", "The SSL certificate does not exist.")
    }

    /// 400 `APIG.3449` (our code; Huawei lets only certificates attached to no domain name be
    /// deleted but documents no code): the certificate is attached to bound names.
    pub fn certificate_attached() -> Self {
        Self::new(
            400,
            "APIG.3449",
            "The SSL certificate has been bound to domain names and cannot be deleted.",
        )
    }

    /// 404 `APIG.3097`: this certificate is not the one bound to the domain.
    pub fn ssl_certificate_binding_not_found() -> Self {
        Self::new(
            404,
            "APIG.3097",
            "The binding record of this SSL certificate and domain name does not exist.",
        )
    }
}

/// A certificate's name: 4 to 50 characters, starting with a letter (Latin or Chinese), then
/// letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateName(String);

impl CertificateName {
    /// Parses `name`: 400 `APIG.2011` naming the field when it breaks the rule.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let chinese = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        let mut chars = raw.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || chinese(c));
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || chinese(c));
        let len = raw.chars().count();
        if first_ok && rest_ok && (4..=50).contains(&len) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }

    /// Reads back a name this type wrote (the store's copy).
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a certificate says of itself, as `ShowDetailsOfDomainNameCertificateV2` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDetails {
    /// The subject's common name (empty when it has none).
    pub common_name: String,
    /// The DNS names of the subjectAltName, as written.
    pub san: Vec<String>,
    /// X.509 version (3 for every current certificate).
    pub version: i64,
    /// Subject organisations.
    pub organization: Vec<String>,
    /// Subject organisational units.
    pub organizational_unit: Vec<String>,
    /// Subject localities.
    pub locality: Vec<String>,
    /// Subject states or provinces.
    pub state: Vec<String>,
    /// Subject countries.
    pub country: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Serial number in decimal.
    pub serial_number: String,
    /// The issuer's organisations.
    pub issuer: Vec<String>,
    /// Signature algorithm, Go's names (`SHA256-RSA`, `ECDSA-SHA256`, ...).
    pub signature_algorithm: String,
    /// The family of the subject's key (`algorithm_type`), if it is one a gateway presents.
    pub algorithm: Option<CertificateAlgorithm>,
}

impl CertificateDetails {
    /// Reads the leaf (first certificate) of a PEM chain; 400 `APIG.2106` when there is none.
    pub fn of_chain(chain_pem: &str) -> Result<Self, ApiError> {
        let chain = parse_chain(chain_pem)?;
        let leaf = chain.first().ok_or_else(ApiError::certificate_invalid)?;
        Ok(Self::of(leaf))
    }

    fn of(cert: &x509_cert::Certificate) -> Self {
        let tbs = &cert.tbs_certificate;
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        Self {
            common_name: attribute(&tbs.subject, rfc4519::CN)
                .into_iter()
                .next()
                .unwrap_or_default(),
            san: dns_names(cert),
            version: tbs.version as i64 + 1,
            organization: attribute(&tbs.subject, rfc4519::O),
            organizational_unit: attribute(&tbs.subject, rfc4519::OU),
            locality: attribute(&tbs.subject, rfc4519::L),
            state: attribute(&tbs.subject, rfc4519::ST),
            country: attribute(&tbs.subject, rfc4519::C),
            not_before: secs(tbs.validity.not_before),
            not_after: secs(tbs.validity.not_after),
            serial_number: decimal(tbs.serial_number.as_bytes()),
            issuer: attribute(&tbs.issuer, rfc4519::O),
            signature_algorithm: signature_algorithm(&cert.signature_algorithm.oid),
            algorithm: CertificateAlgorithm::of_key(&tbs.subject_public_key_info.algorithm.oid),
        }
    }

    /// 400 `APIG.2103` unless one of the leaf's DNS names covers `domain` (see [`covers`]).
    pub fn check_covers(&self, domain: &GroupDomainName) -> Result<(), ApiError> {
        if self.san.iter().any(|name| covers(name, domain)) {
            Ok(())
        } else {
            Err(ApiError::certificate_domain_mismatch())
        }
    }

    /// 400 `APIG.2102` once the leaf's validity has ended at `now` (Unix seconds).
    pub fn check_valid_at(&self, now: i64) -> Result<(), ApiError> {
        if self.not_after < now {
            Err(ApiError::certificate_expired())
        } else {
            Ok(())
        }
    }
}

/// `algorithm_type` of a certificate: the family of its key. apigw presents RSA and
/// elliptic-curve (ECDSA, Ed25519) certificates; `SM2` (China's national algorithms, with a
/// second signing key pair) is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateAlgorithm {
    /// `RSA`.
    Rsa,
    /// `ECC`: ECDSA and Ed25519 keys.
    Ecc,
}

impl CertificateAlgorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::Ecc => "ECC",
        }
    }

    /// Parses a requested `algorithm_type` (`RSA` or `ECC`; `SM2` and anything else are
    /// 400 `APIG.2011` naming the field).
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "RSA" => Ok(Self::Rsa),
            "ECC" => Ok(Self::Ecc),
            _ => Err(ApiError::invalid_body_field("algorithm_type")),
        }
    }

    /// The family of a subjectPublicKeyInfo algorithm, if it is one apigw presents.
    fn of_key(oid: &ObjectIdentifier) -> Option<Self> {
        match oid.to_string().as_str() {
            "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => Some(Self::Rsa),
            "1.2.840.10045.2.1" | "1.3.101.112" => Some(Self::Ecc),
            _ => None,
        }
    }
}

/// Where a certificate of `/v2/{project_id}/apigw/certificates` may be used (`type`): in
/// every instance of its project (`global`, Huawei's default) or in one (`instance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateType {
    /// `global`.
    Global,
    /// `instance`.
    Instance,
}

impl CertificateType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Instance => "instance",
        }
    }

    /// `SslInfo.type` in a domain's certificate list: 1 for the current instance, 2 global.
    pub fn ssl_info_code(self) -> i64 {
        match self {
            Self::Instance => 1,
            Self::Global => 2,
        }
    }

    /// Parses `type`: 400 `APIG.2011` naming the field for anything but the two names.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "global" => Ok(Self::Global),
            "instance" => Ok(Self::Instance),
            _ => Err(ApiError::invalid_body_field("type")),
        }
    }
}

/// A certificate chain and its private key that may be presented for a bound domain: both
/// parse, the key is the leaf's, each certificate is issued by the next, the leaf names DNS
/// names, one of which covers the domain, and it has not expired.
#[derive(Clone, PartialEq, Eq)]
pub struct DomainCertificate {
    chain_pem: String,
    key_pem: String,
    details: CertificateDetails,
    algorithm: CertificateAlgorithm,
}

impl std::fmt::Debug for DomainCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainCertificate")
            .field("details", &self.details)
            .finish_non_exhaustive()
    }
}

impl DomainCertificate {
    /// Checks `cert_content` and `private_key` for `domain` at `now` (Unix seconds), with
    /// Huawei's errors: those of [`parse_unbound`](Self::parse_unbound), then 2103 when no
    /// name of the leaf covers the domain.
    pub fn parse(
        cert_content: &str,
        private_key: &str,
        domain: &GroupDomainName,
        now: i64,
    ) -> Result<Self, ApiError> {
        let certificate = Self::parse_unbound(cert_content, private_key, now)?;
        certificate.details.check_covers(domain)?;
        Ok(certificate)
    }

    /// Checks `cert_content` and `private_key` at `now` (Unix seconds) for a certificate not
    /// yet added to a domain (`/v2/{project_id}/apigw/certificates`): 2106 what does not
    /// parse, 2105 an encrypted key, 2104 a broken chain, 2109 no DNS name, 2102 expired,
    /// 2101 another key.
    pub fn parse_unbound(
        cert_content: &str,
        private_key: &str,
        now: i64,
    ) -> Result<Self, ApiError> {
        if cert_content.len() > MAX_CERT_CONTENT_LEN {
            return Err(ApiError::invalid_body_field("cert_content"));
        }
        if private_key.len() > MAX_PRIVATE_KEY_LEN {
            return Err(ApiError::invalid_body_field("private_key"));
        }
        if private_key.contains("ENCRYPTED") {
            // PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSL's `Proc-Type: 4,ENCRYPTED` header.
            return Err(ApiError::certificate_key_encrypted());
        }
        let chain = parse_chain(cert_content)?;
        let key = PrivateKeyDer::from_pem_slice(private_key.as_bytes())
            .map_err(|_| ApiError::certificate_invalid())?;
        let Some(leaf) = chain.first() else {
            return Err(ApiError::certificate_invalid());
        };
        if chain
            .windows(2)
            .any(|pair| pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject)
        {
            return Err(ApiError::certificate_chain_mismatch());
        }
        let details = CertificateDetails::of(leaf);
        if details.san.is_empty() {
            return Err(ApiError::certificate_san_missing());
        }
        details.check_valid_at(now)?;
        keys_match(cert_content, key)?;
        // rustls took the key, so the leaf's key is RSA or elliptic; anything else is not a
        // certificate the gateway can present.
        let algorithm = details
            .algorithm
            .ok_or_else(ApiError::certificate_invalid)?;
        Ok(Self {
            chain_pem: cert_content.to_owned(),
            key_pem: private_key.to_owned(),
            details,
            algorithm,
        })
    }

    /// The chain as given (PEM, leaf first).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The private key as given (PEM); sealed before it is stored, never answered.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// What the leaf says of itself.
    pub fn details(&self) -> &CertificateDetails {
        &self.details
    }

    /// The family of its key (`algorithm_type`).
    pub fn algorithm(&self) -> CertificateAlgorithm {
        self.algorithm
    }
}

/// The CA certificates a bound domain verifies its callers' client certificates against
/// (`trusted_root_ca`, APIG's two-way authentication): PEM, one or more X.509 certificates
/// that parse and have not expired, usable as trust anchors.
///
/// Exists so the store keeps only what a TLS handshake can use, and so the gateway can tell
/// which CA set a connection's client was verified against ([`fingerprint`](Self::fingerprint)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRootCa(String);

impl TrustedRootCa {
    /// Parses `trusted_root_ca` at `now` (Unix seconds): 400 `APIG.2011` naming the field when
    /// it is longer than [`MAX_CERT_CONTENT_LEN`], `APIG.2106` when it is not PEM
    /// certificates that parse (or cannot serve as trust anchors), `APIG.2102` when one has
    /// expired.
    pub fn parse(pem: &str, now: i64) -> Result<Self, ApiError> {
        if pem.len() > MAX_CERT_CONTENT_LEN {
            return Err(ApiError::invalid_body_field("trusted_root_ca"));
        }
        let certificates = parse_chain(pem)?;
        if certificates.iter().any(|c| {
            let end = c.tbs_certificate.validity.not_after.to_unix_duration();
            i64::try_from(end.as_secs()).unwrap_or(i64::MAX) < now
        }) {
            return Err(ApiError::certificate_expired());
        }
        let ca = Self(pem.to_owned());
        let mut anchors = rustls::RootCertStore::empty();
        for der in ca.ders() {
            anchors
                .add(der)
                .map_err(|_| ApiError::certificate_invalid())?;
        }
        Ok(ca)
    }

    /// Reads back what [`parse`](Self::parse) accepted (the store's copy).
    pub fn from_stored(pem: String) -> Self {
        Self(pem)
    }

    /// The certificates, PEM, as given.
    pub fn as_pem(&self) -> &str {
        &self.0
    }

    /// The certificates, DER, in order (those that parse: all of them, for a parsed value).
    pub fn ders(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(self.0.as_bytes())
            .filter_map(Result::ok)
            .collect()
    }

    /// SHA-256 over the certificates' DER, in order: the same CA set, however its PEM is
    /// laid out, has the same fingerprint (a renewed server certificate with the same
    /// `trusted_root_ca` keeps connections verified against it valid).
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for der in self.ders() {
            hash.update(der.as_ref());
        }
        hash.finalize().into()
    }
}

/// Whether a certificate name (`san`) covers a bound domain: the same name, or a wildcard
/// certificate name one label above an exact domain (`*.example.com` covers
/// `api.example.com`, not `a.b.example.com`); a wildcard domain needs the same wildcard.
pub fn covers(san: &str, domain: &GroupDomainName) -> bool {
    let san = san.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.as_str();
    if san == domain {
        return true;
    }
    match (san.strip_prefix("*."), domain.split_once('.')) {
        (Some(parent), Some((first, rest))) => first != "*" && parent == rest,
        _ => false,
    }
}

/// Every certificate of a PEM text, decoded; 2106 when one does not parse or there is none.
fn parse_chain(pem: &str) -> Result<Vec<x509_cert::Certificate>, ApiError> {
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::certificate_invalid())?;
    if ders.is_empty() {
        return Err(ApiError::certificate_invalid());
    }
    ders.iter()
        .map(|der| x509_cert::Certificate::from_der(der.as_ref()))
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::certificate_invalid())
}

/// 2101 unless `key` is the private key of the chain's leaf (2106 if rustls cannot use it).
fn keys_match(chain_pem: &str, key: PrivateKeyDer<'static>) -> Result<(), ApiError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::certificate_invalid())?;
    let provider = rustls::crypto::ring::default_provider();
    match rustls::sign::CertifiedKey::from_der(chain, key, &provider) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InconsistentKeys(_)) => Err(ApiError::certificate_key_mismatch()),
        Err(_) => Err(ApiError::certificate_invalid()),
    }
}

/// The DNS names of a DER certificate's subjectAltName, as written (none if it does not parse).
pub fn leaf_dns_names(der: &[u8]) -> Vec<String> {
    x509_cert::Certificate::from_der(der)
        .map(|cert| dns_names(&cert))
        .unwrap_or_default()
}

/// The DNS names of a certificate's subjectAltName.
fn dns_names(cert: &x509_cert::Certificate) -> Vec<String> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == SubjectAltName::OID)
        .filter_map(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .flat_map(|san| san.0)
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

/// The values of one attribute (`CN`, `O`, ...) of a distinguished name, in order.
fn attribute(name: &Name, oid: ObjectIdentifier) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .filter_map(|atv| match atv.value.tag() {
            Tag::Utf8String
            | Tag::PrintableString
            | Tag::Ia5String
            | Tag::TeletexString
            | Tag::VisibleString => Some(String::from_utf8_lossy(atv.value.value()).into_owned()),
            Tag::BmpString => {
                BmpString::from_der(&x509_cert::der::Encode::to_der(&atv.value).ok()?)
                    .ok()
                    .map(|s| s.to_string())
            }
            _ => None,
        })
        .collect()
}

/// An unsigned big-endian integer in decimal (serial numbers are up to 20 bytes).
fn decimal(be: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base-10 digits
    for &byte in be {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    if digits.is_empty() {
        return "0".to_owned();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// Go's name of a signature algorithm (the dotted OID for one Go does not name).
fn signature_algorithm(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.5" => "SHA1-RSA",
        "1.2.840.113549.1.1.11" => "SHA256-RSA",
        "1.2.840.113549.1.1.12" => "SHA384-RSA",
        "1.2.840.113549.1.1.13" => "SHA512-RSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ECDSA-SHA1",
        "1.2.840.10045.4.3.2" => "ECDSA-SHA256",
        "1.2.840.10045.4.3.3" => "ECDSA-SHA384",
        "1.2.840.10045.4.3.4" => "ECDSA-SHA512",
        "1.3.101.112" => "Ed25519",
        other => return other.to_owned(),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    use time::OffsetDateTime;

    fn domain(name: &str) -> GroupDomainName {
        GroupDomainName::parse(name).unwrap()
    }

    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    /// A self-signed certificate for `names` and its key, as PEM.
    fn pair(names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0].as_str());
        dn.push(DnType::OrganizationName, "Shop Ltd");
        dn.push(DnType::CountryName, "DE");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_for_the_domain_parses_with_its_details() {
        let (cert, key) = pair(&["api.shop.example"]);
        let parsed =
            DomainCertificate::parse(&cert, &key, &domain("API.shop.example"), now()).unwrap();
        let d = parsed.details();
        assert_eq!(d.common_name, "api.shop.example");
        assert_eq!(d.san, ["api.shop.example"]);
        assert_eq!(d.version, 3);
        assert_eq!(d.organization, ["Shop Ltd"]);
        assert_eq!(d.country, ["DE"]);
        assert_eq!(
            d.issuer,
            ["Shop Ltd"],
            "self-signed: the issuer is the subject"
        );
        assert_eq!(d.signature_algorithm, "ECDSA-SHA256");
        assert!(d.not_before < d.not_after);
        assert!(d.serial_number.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(parsed.chain_pem(), cert);
        assert_eq!(parsed.key_pem(), key);
        assert!(
            !format!("{parsed:?}").contains("PRIVATE"),
            "Debug hides the key"
        );
    }

    #[test]
    fn a_pair_parses_unbound_and_is_checked_against_names_later() {
        let (cert, key) = pair(&["api.shop.example", "*.shop.example"]);
        let parsed = DomainCertificate::parse_unbound(&cert, &key, now()).unwrap();
        assert_eq!(parsed.algorithm(), CertificateAlgorithm::Ecc);
        let d = parsed.details();
        assert_eq!(d.algorithm, Some(CertificateAlgorithm::Ecc));
        assert!(d.check_covers(&domain("www.shop.example")).is_ok());
        assert_eq!(
            d.check_covers(&domain("api.other.example"))
                .unwrap_err()
                .code,
            "APIG.2103"
        );
        assert!(d.check_valid_at(d.not_after).is_ok());
        assert_eq!(
            d.check_valid_at(d.not_after + 1).unwrap_err().code,
            "APIG.2102"
        );
        let (_, other_key) = pair(&["api.shop.example"]);
        assert_eq!(
            DomainCertificate::parse_unbound(&cert, &other_key, now())
                .unwrap_err()
                .code,
            "APIG.2101"
        );
    }

    #[test]
    fn algorithm_and_type_names_follow_huawei() {
        assert_eq!(
            CertificateAlgorithm::parse("RSA").unwrap(),
            CertificateAlgorithm::Rsa
        );
        assert_eq!(CertificateAlgorithm::parse("ECC").unwrap().as_str(), "ECC");
        for refused in ["SM2", "rsa", ""] {
            let e = CertificateAlgorithm::parse(refused).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(e.message.contains("algorithm_type"));
        }
        let oid = |s: &str| ObjectIdentifier::new_unwrap(s);
        assert_eq!(
            CertificateAlgorithm::of_key(&oid("1.2.840.113549.1.1.1")),
            Some(CertificateAlgorithm::Rsa)
        );
        assert_eq!(
            CertificateAlgorithm::of_key(&oid("1.3.101.112")),
            Some(CertificateAlgorithm::Ecc)
        );
        assert_eq!(
            CertificateAlgorithm::of_key(&oid("1.2.840.10040.4.1")),
            None
        );
        assert_eq!(
            CertificateType::parse("global").unwrap(),
            CertificateType::Global
        );
        assert_eq!(CertificateType::Global.ssl_info_code(), 2);
        assert_eq!(
            CertificateType::parse("instance").unwrap().ssl_info_code(),
            1
        );
        assert!(CertificateType::parse("Global").is_err());
    }

    #[test]
    fn every_refusal_has_huaweis_code() {
        let d = domain("api.shop.example");
        let (cert, key) = pair(&["api.shop.example"]);
        let (_, other_key) = pair(&["api.shop.example"]);
        let code = |c: &str, k: &str, dom: &GroupDomainName, at: i64| {
            DomainCertificate::parse(c, k, dom, at).unwrap_err().code
        };
        assert_eq!(code(&cert, &other_key, &d, now()), "APIG.2101");
        assert_eq!(code(&cert, &key, &d, i64::MAX), "APIG.2102");
        assert_eq!(
            code(&cert, &key, &domain("www.shop.example"), now()),
            "APIG.2103"
        );
        assert_eq!(code("not pem", &key, &d, now()), "APIG.2106");
        assert_eq!(code(&cert, "not pem", &d, now()), "APIG.2106");
        assert_eq!(
            code(&key, &key, &d, now()),
            "APIG.2106",
            "a key is no certificate"
        );
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(code(&cert, encrypted, &d, now()), "APIG.2105");
        let (unrelated, _) = pair(&["ca.example"]);
        let chain = format!("{cert}{unrelated}");
        assert_eq!(
            code(&chain, &key, &d, now()),
            "APIG.2104",
            "issuer is not the next subject"
        );
        let long = "x".repeat(MAX_CERT_CONTENT_LEN + 1);
        let e = DomainCertificate::parse(&long, &key, &d, now()).unwrap_err();
        assert_eq!(
            (e.code, e.message.contains("cert_content")),
            ("APIG.2011", true)
        );
        let long = "x".repeat(MAX_PRIVATE_KEY_LEN + 1);
        let e = DomainCertificate::parse(&cert, &long, &d, now()).unwrap_err();
        assert_eq!(
            (e.code, e.message.contains("private_key")),
            ("APIG.2011", true)
        );
    }

    #[test]
    fn a_certificate_without_dns_names_is_refused() {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let e = DomainCertificate::parse(
            &cert.pem(),
            &key.serialize_pem(),
            &domain("api.shop.example"),
            now(),
        )
        .unwrap_err();
        assert_eq!(e.code, "APIG.2109");
    }

    #[test]
    fn a_chain_issued_in_order_is_accepted() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Shop CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["*.shop.example".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let chain = format!("{}{}", leaf.pem(), ca.pem());
        let key = leaf_key.serialize_pem();
        let parsed =
            DomainCertificate::parse(&chain, &key, &domain("api.shop.example"), now()).unwrap();
        assert_eq!(parsed.details().san, ["*.shop.example"]);
        let reversed = format!("{}{}", ca.pem(), leaf.pem());
        let e = DomainCertificate::parse(&reversed, &key, &domain("api.shop.example"), now())
            .unwrap_err();
        assert!(["APIG.2104", "APIG.2109"].contains(&e.code), "{e}");
    }

    /// A CA certificate (`CN=name`) and its key.
    fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        (params.self_signed(&key).unwrap(), key)
    }

    #[test]
    fn trusted_root_cas_parse_and_have_a_layout_independent_fingerprint() {
        let (one, _) = ca("Clients CA");
        let (two, _) = ca("Partners CA");
        let single = TrustedRootCa::parse(&one.pem(), now()).unwrap();
        assert_eq!(single.as_pem(), one.pem());
        assert_eq!(single.ders().len(), 1);
        let both = TrustedRootCa::parse(&format!("{}{}", one.pem(), two.pem()), now()).unwrap();
        assert_eq!(both.ders().len(), 2);
        assert_ne!(single.fingerprint(), both.fingerprint());
        // The same certificates with CRLF line ends and text around them: the same set.
        let relaid = format!("CA bundle\r\n{}", one.pem().replace('\n', "\r\n"));
        let relaid = TrustedRootCa::parse(&relaid, now()).unwrap();
        assert_eq!(relaid.fingerprint(), single.fingerprint());
        assert_eq!(
            TrustedRootCa::from_stored(one.pem()).fingerprint(),
            single.fingerprint()
        );

        let code = |pem: &str, at: i64| TrustedRootCa::parse(pem, at).unwrap_err().code;
        assert_eq!(code("not a certificate", now()), "APIG.2106");
        assert_eq!(code("", now()), "APIG.2106");
        let (_, key) = pair(&["api.shop.example"]);
        assert_eq!(code(&key, now()), "APIG.2106", "a key is no certificate");
        let damaged = one.pem().replacen("MII", "MIA", 1);
        assert_eq!(code(&damaged, now()), "APIG.2106");
        assert_eq!(code(&one.pem(), i64::MAX), "APIG.2102");
        let e = TrustedRootCa::parse(&"x".repeat(MAX_CERT_CONTENT_LEN + 1), now()).unwrap_err();
        assert_eq!(e.code, "APIG.2011");
        assert!(e.message.contains("trusted_root_ca"), "{}", e.message);
    }

    #[test]
    fn wildcards_cover_one_label() {
        let d = domain;
        assert!(covers("api.shop.example", &d("api.shop.example")));
        assert!(covers("API.Shop.Example.", &d("api.shop.example")));
        assert!(covers("*.shop.example", &d("api.shop.example")));
        assert!(!covers("*.shop.example", &d("a.api.shop.example")));
        assert!(!covers("*.shop.example", &d("shop.example")));
        assert!(covers("*.shop.example", &d("*.shop.example")));
        assert!(!covers("api.shop.example", &d("*.shop.example")));
        assert!(!covers("*.example", &d("*.shop.example")));
    }

    #[test]
    fn names_follow_huaweis_rule() {
        assert!(CertificateName::parse("cert_demo").is_ok());
        assert!(CertificateName::parse("证书名称1").is_ok());
        for bad in [
            "abc",
            "1cert",
            "_cert",
            "cert-demo",
            "cert demo",
            &"a".repeat(51),
        ] {
            let e = CertificateName::parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
        }
        assert!(CertificateName::parse(&"a".repeat(50)).is_ok());
    }

    #[test]
    fn serial_numbers_read_in_decimal() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        assert_eq!(
            decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
            (u128::from(u64::MAX) + 1).to_string()
        );
    }
}
