//! Independent domain names bound to API groups (`/api-groups/{group_id}/domains`), and what
//! the data plane reads of them ([`GroupDomainStore::instance_domains`]).
//!
//! A name is bound at most once per instance and a group holds at most
//! [`MAX_DOMAINS_PER_GROUP`](apigw_domain::group_domain::MAX_DOMAINS_PER_GROUP) of them;
//! deleting the group (or the instance) unbinds its names.

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::certificate::{
    CertificateAlgorithm, CertificateName, CertificateType, DomainCertificate, TrustedRootCa,
};
use apigw_domain::group_domain::{DomainSettings, GroupDomainName, IngressPorts, MinSslVersion};
use apigw_domain::ApiError;
use apigw_domain::Timestamp;
use async_trait::async_trait;

/// Why a domain binding call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum GroupDomainError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The group is not in the caller's scope.
    #[error("the API group does not exist")]
    GroupNotFound,
    /// The group has no binding with this id.
    #[error("the URL domain does not exist")]
    NotFound,
    /// The name is bound already in the instance.
    #[error("the URL domain name already exists")]
    Exists,
    /// The group holds its maximum number of domains.
    #[error("the group's domain limit is reached")]
    LimitReached,
    /// The domain has no certificate with this id.
    #[error("the certificate is not bound to the domain")]
    CertificateNotFound,
    /// Client certificates cannot be verified: the domain's certificate (if any) has no
    /// trusted root CA.
    #[error("the domain's certificate has no trusted root CA")]
    NoTrustedRootCa,
    /// The certificate cannot serve the domain (Huawei's `APIG.2102` expired, `APIG.2103`
    /// not covering the name).
    #[error("the certificate cannot serve the domain: {}", .0.message)]
    CertificateRefused(ApiError),
}

impl From<sqlx::Error> for GroupDomainError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of domain binding calls.
pub type GroupDomainResult<T> = Result<T, GroupDomainError>;

/// A domain name bound to a group, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundDomain {
    /// 32 hex id.
    pub id: String,
    /// The group it routes to.
    pub group_id: String,
    /// The name (lower case; `*.` for a wildcard).
    pub domain: GroupDomainName,
    /// `min_ssl_version`.
    pub min_ssl_version: MinSslVersion,
    /// `is_http_redirect_to_https`: plain HTTP requests for this name are redirected.
    pub redirect_to_https: bool,
    /// `ingress_http_port` / `ingress_https_port`, as given.
    pub ingress_ports: IngressPorts,
    /// `verified_client_certificate_enabled`: HTTPS callers must present a client certificate
    /// issued by the certificate's `trusted_root_ca` (only ever set while it has one).
    pub verify_client_certificate: bool,
    /// When it was bound.
    pub create_time: Timestamp,
    /// The SSL certificate added to it, if any.
    pub certificate: Option<CertificateRef>,
}

impl BoundDomain {
    /// The CA set its certificate came with (`trusted_root_ca`), if any: what client
    /// certificates are verified against, and all `is_has_trusted_root_ca` says.
    pub fn trusted_root_ca(&self) -> Option<&TrustedRootCa> {
        self.certificate.as_ref()?.trusted_root_ca.as_ref()
    }
}

/// The SSL certificate a bound domain presents, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRef {
    /// `ssl_id`: the certificate's id (`/v2/{project_id}/apigw/certificates/{id}`).
    pub id: String,
    /// `ssl_name`.
    pub name: CertificateName,
    /// Global, or the domain's instance's own.
    pub certificate_type: CertificateType,
    /// The family of its key (`algorithm_type`; `None` only for a stored chain that no longer
    /// parses).
    pub algorithm: Option<CertificateAlgorithm>,
    /// When it was added.
    pub create_time: Timestamp,
    /// When it was last replaced (the same as `create_time` until then).
    pub update_time: Timestamp,
    /// The CA certificates client certificates are verified against (`trusted_root_ca`),
    /// if it was added with one.
    pub trusted_root_ca: Option<TrustedRootCa>,
}

/// A bound domain's certificate chain and its private key, opened, for the HTTPS listener.
/// `Debug` leaves the key out.
#[derive(Clone, PartialEq, Eq)]
pub struct DomainKeyPair {
    /// The bound name it is presented for.
    pub domain: GroupDomainName,
    /// `ssl_id`: the same id means the same pair (the data plane parses each pair once).
    pub certificate_id: String,
    /// The chain, PEM, leaf first.
    pub chain_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// The CA set HTTPS callers of the name must present a client certificate from: the
    /// certificate's `trusted_root_ca` while `verified_client_certificate_enabled` is on.
    pub client_ca: Option<TrustedRootCa>,
}

impl std::fmt::Debug for DomainKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainKeyPair")
            .field("domain", &self.domain)
            .field("certificate_id", &self.certificate_id)
            .finish_non_exhaustive()
    }
}

/// Domain bindings of API groups. Each method is one transaction; the uniqueness of a name in
/// its instance and the per-group limit hold under concurrent callers.
#[async_trait]
pub trait GroupDomainStore: Send + Sync + 'static {
    /// Binds `domain` to group `group_id` with `settings` (absent ones take Huawei's
    /// defaults). Errors: `GroupNotFound`, `Exists`, `LimitReached` (`max_per_group`),
    /// `NoTrustedRootCa` (client verification asked for: a new binding has no certificate).
    async fn bind_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain: GroupDomainName,
        settings: &DomainSettings,
        max_per_group: usize,
    ) -> GroupDomainResult<BoundDomain>;
    /// Changes the settings given in `settings`, keeping the others. Errors: `GroupNotFound`,
    /// `NotFound`, `NoTrustedRootCa` (client verification asked for a name whose certificate
    /// has no trusted root CA).
    async fn update_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        settings: &DomainSettings,
    ) -> GroupDomainResult<BoundDomain>;
    /// One binding of a group. Errors: `GroupNotFound`, `NotFound`.
    async fn bound_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
    ) -> GroupDomainResult<BoundDomain>;
    /// Unbinds a domain. Errors: `GroupNotFound`, `NotFound`.
    async fn unbind_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
    ) -> GroupDomainResult<()>;
    /// The domains bound to the groups of the instance in scope (to `group_id` only, when
    /// given), oldest first.
    async fn group_domains(
        &self,
        scope: &Scope,
        group_id: Option<&str>,
    ) -> StoreResult<Vec<BoundDomain>>;
    /// Every domain bound in instance `instance_id` (what the data plane routes by).
    async fn instance_domains(&self, instance_id: &str) -> StoreResult<Vec<BoundDomain>>;
    /// Adds `certificate` (checked against the domain's name by the caller) to a binding under
    /// `name`, replacing the one it presented: a new instance certificate (its key sealed at
    /// rest) becomes its `ssl_id`; the one replaced stays a certificate of its own. With a
    /// `trusted_root_ca` the binding verifies client certificates from then on, without one it
    /// stops (Huawei's default for each). Errors: `GroupNotFound`, `NotFound`.
    async fn attach_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        name: &CertificateName,
        certificate: &DomainCertificate,
        trusted_root_ca: Option<&TrustedRootCa>,
    ) -> GroupDomainResult<BoundDomain>;
    /// Makes the binding present stored certificate `certificate_id` (global, or of the
    /// binding's instance) in place of the one it had. The certificate must cover the name
    /// and be valid at `now` (Unix seconds). `verify` is `verified_client_certificate_enabled`
    /// (absent: on exactly when the certificate has a trusted root CA). Errors:
    /// `GroupNotFound`, `NotFound`, `CertificateNotFound` (no such certificate visible in the
    /// instance), `CertificateRefused`, `NoTrustedRootCa` (verification asked without a CA).
    async fn attach_stored_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
        verify: Option<bool>,
        now: i64,
    ) -> GroupDomainResult<BoundDomain>;
    /// A binding with its certificate `certificate_id` and that certificate's chain (PEM).
    /// Errors: `GroupNotFound`, `NotFound`, `CertificateNotFound`.
    async fn domain_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
    ) -> GroupDomainResult<(BoundDomain, String)>;
    /// Removes certificate `certificate_id` from a binding (the name stays bound, without
    /// client verification; the certificate stays a certificate of its own). Errors:
    /// `GroupNotFound`, `NotFound`, `CertificateNotFound`.
    async fn detach_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
    ) -> GroupDomainResult<()>;
    /// The certificates of the domains bound in instance `instance_id`, keys opened (what the
    /// HTTPS listener presents by name).
    async fn instance_domain_certificates(
        &self,
        instance_id: &str,
    ) -> StoreResult<Vec<DomainKeyPair>>;
}
