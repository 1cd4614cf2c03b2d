//! SSL certificates as resources of a project (`/v2/{project_id}/apigw/certificates`): kept
//! once, presented by every bound domain name they are attached to (see
//! [`GroupDomainStore::attach_stored_certificate`](crate::GroupDomainStore::attach_stored_certificate)).
//!
//! A certificate is global (usable in every instance of its project) or belongs to one
//! instance. Replacing its content changes what every attached name presents; one still
//! attached cannot be deleted.

use crate::group_domains::BoundDomain;
use crate::{StoreError, StoreResult};
use apigw_domain::certificate::{
    CertificateName, CertificateType, DomainCertificate, TrustedRootCa,
};
use apigw_domain::group_domain::GroupDomainName;
use apigw_domain::{ApiError, Timestamp};
use async_trait::async_trait;

/// Why a certificate call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The project has no certificate with this id.
    #[error("the SSL certificate does not exist")]
    NotFound,
    /// An instance certificate names an instance the project does not have.
    #[error("the instance does not exist")]
    InstanceNotFound,
    /// The certificate is attached to bound domain names (detach it first).
    #[error("the SSL certificate is attached to domain names")]
    InUse,
    /// The certificate cannot serve a name it is (to be) attached to (Huawei's `APIG.2103`,
    /// or `APIG.2102` when it has expired).
    #[error("the certificate cannot serve a domain: {}", .0.message)]
    Refused(ApiError),
    /// No name of the project matches (bound in an instance where the certificate may be used,
    /// among the instances named).
    #[error("the URL domain {0} does not exist")]
    NameNotBound(String),
    /// The name does not present the certificate.
    #[error("{0} does not present the certificate")]
    NotAttached(String),
    /// Client verification asked for a certificate without a trusted root CA.
    #[error("the certificate has no trusted root CA")]
    NoTrustedRootCa,
}

impl From<sqlx::Error> for CertificateError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of certificate calls.
pub type CertificateResult<T> = Result<T, CertificateError>;

/// A stored certificate, without its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// 32 hex.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// The instance it belongs to; `None` for a global certificate.
    pub instance_id: Option<String>,
    /// `name`.
    pub name: CertificateName,
    /// The chain, PEM, leaf first, as given.
    pub chain_pem: String,
    /// The CA certificates client certificates are verified against, if given.
    pub trusted_root_ca: Option<TrustedRootCa>,
    /// When it was created.
    pub create_time: Timestamp,
    /// When its content was last replaced.
    pub update_time: Timestamp,
}

impl StoredCertificate {
    /// `type`: global or instance.
    pub fn certificate_type(&self) -> CertificateType {
        if self.instance_id.is_some() {
            CertificateType::Instance
        } else {
            CertificateType::Global
        }
    }
}

/// What a certificate is made of, checked by the caller (`CertificateForm`).
#[derive(Debug, Clone, Copy)]
pub struct CertificateContent<'a> {
    /// `name`.
    pub name: &'a CertificateName,
    /// The chain and key (the key is sealed before it is stored).
    pub certificate: &'a DomainCertificate,
    /// `trusted_root_ca`.
    pub trusted_root_ca: Option<&'a TrustedRootCa>,
}

/// A bound domain name a certificate is attached to, with where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDomain {
    /// The binding.
    pub domain: BoundDomain,
    /// Its instance.
    pub instance_id: String,
    /// Its group's name.
    pub group_name: String,
}

/// A bound name a certificate is attached to or detached from, from the certificate's side
/// (`AttachOrDetachDomainInfo`).
#[derive(Debug, Clone, Copy)]
pub struct NameTarget<'a> {
    /// `domain`: the name, wherever it is bound in the project...
    pub domain: &'a GroupDomainName,
    /// `instance_ids`: ...or only in these instances.
    pub instance_ids: Option<&'a [String]>,
    /// `verified_client_certificate_enabled` (attaching; absent: whether it has a CA set).
    pub verify: Option<bool>,
}

/// The certificates of projects. Each method is one transaction.
#[async_trait]
pub trait CertificateStore: Send + Sync + 'static {
    /// Creates a certificate of project `project_id`: global when `instance_id` is `None`.
    /// Errors: `InstanceNotFound`.
    async fn create_certificate(
        &self,
        project_id: &str,
        instance_id: Option<&str>,
        content: CertificateContent<'_>,
    ) -> CertificateResult<StoredCertificate>;
    /// One certificate of the project. Errors: `NotFound`.
    async fn certificate(&self, project_id: &str, id: &str)
        -> CertificateResult<StoredCertificate>;
    /// Every certificate of the project, oldest first.
    async fn certificates(&self, project_id: &str) -> StoreResult<Vec<StoredCertificate>>;
    /// Replaces a certificate's name, chain, key and CA set; every name it is attached to
    /// presents the new chain from then on. The new chain must cover each of those names
    /// (`Refused` otherwise); a certificate that loses its CA set stops client verification
    /// on them. Errors: `NotFound`, `Refused`.
    async fn update_certificate(
        &self,
        project_id: &str,
        id: &str,
        content: CertificateContent<'_>,
    ) -> CertificateResult<StoredCertificate>;
    /// Deletes a certificate attached to no name. Errors: `NotFound`, `InUse`.
    async fn delete_certificate(&self, project_id: &str, id: &str) -> CertificateResult<()>;
    /// Makes every binding of each target name (in an instance where the certificate may be
    /// used) present the certificate, all or none; checked as
    /// [`attach_stored_certificate`](crate::GroupDomainStore::attach_stored_certificate) does at
    /// `now`. Errors: `NotFound`, `NameNotBound`, `Refused`, `NoTrustedRootCa`.
    async fn attach_to_names(
        &self,
        project_id: &str,
        id: &str,
        targets: &[NameTarget<'_>],
        now: i64,
    ) -> CertificateResult<()>;
    /// Makes the bindings of each target name that present the certificate stop, all or
    /// none. Errors: `NotFound`, `NotAttached` (a name presenting it nowhere it is asked).
    async fn detach_from_names(
        &self,
        project_id: &str,
        id: &str,
        targets: &[NameTarget<'_>],
    ) -> CertificateResult<()>;
    /// The bound names a certificate is attached to, oldest binding first. Errors: `NotFound`.
    async fn attached_domains(
        &self,
        project_id: &str,
        id: &str,
    ) -> CertificateResult<Vec<AttachedDomain>>;
}
