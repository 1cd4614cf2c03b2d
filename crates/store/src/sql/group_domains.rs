//! SQL implementation of [`GroupDomainStore`]: domain names bound to API groups.

use super::certificates::forget_unpresented_domain_certificates;
use super::*;
use crate::certificates::CertificateContent;
use crate::group_domains::*;
use apigw_domain::certificate::{
    CertificateDetails, CertificateName, CertificateType, DomainCertificate, TrustedRootCa,
};
use apigw_domain::group_domain::{DomainSettings, GroupDomainName, IngressPorts, MinSslVersion};
use apigw_domain::ApiError;

/// A binding's columns with those of the certificate it presents (`DOMAIN_FROM`).
pub(super) const DOMAIN_COLUMNS: &str = "d.id, d.group_id, d.url_domain, d.min_ssl_version, \
     d.redirect_to_https, d.ingress_http_port, d.ingress_https_port, d.create_time, \
     d.verify_client_certificate, d.ssl_id, c.name AS ssl_name, c.instance_id AS ssl_instance, \
     c.cert_content AS ssl_cert, c.create_time AS ssl_create_time, \
     c.update_time AS ssl_update_time, c.trusted_root_ca AS ssl_client_ca";

/// The bindings, each with the certificate it presents, if any.
pub(super) const DOMAIN_FROM: &str = "group_domains d LEFT JOIN certificates c ON c.id = d.ssl_id";

/// What a certificate's key is sealed with: bound to the certificate's id, so a key copied to
/// another row does not open. (Named for the bound domains that kept certificates first.)
pub(super) fn key_context(certificate_id: &str) -> String {
    format!("domain_certificate:{certificate_id}")
}

fn certificate_from_row(row: &AnyRow) -> StoreResult<Option<CertificateRef>> {
    let Some(id) = row.try_get::<Option<String>, _>("ssl_id")? else {
        return Ok(None);
    };
    let name: Option<String> = row.try_get("ssl_name")?;
    let chain: Option<String> = row.try_get("ssl_cert")?;
    let created: Option<i64> = row.try_get("ssl_create_time")?;
    let updated: Option<i64> = row.try_get("ssl_update_time")?;
    match (name, chain, created, updated) {
        (Some(name), Some(chain), Some(created), Some(updated)) => Ok(Some(CertificateRef {
            id,
            name: CertificateName::from_stored(name),
            certificate_type: if row.try_get::<Option<String>, _>("ssl_instance")?.is_some() {
                CertificateType::Instance
            } else {
                CertificateType::Global
            },
            algorithm: CertificateDetails::of_chain(&chain)
                .ok()
                .and_then(|d| d.algorithm),
            create_time: Timestamp::from_nanos(created),
            update_time: Timestamp::from_nanos(updated),
            trusted_root_ca: row
                .try_get::<Option<String>, _>("ssl_client_ca")?
                .map(TrustedRootCa::from_stored),
        })),
        _ => Err(StoreError::Corrupt(format!(
            "a bound domain names certificate {id}, which does not exist"
        ))),
    }
}

pub(super) fn domain_from_row(row: &AnyRow) -> StoreResult<BoundDomain> {
    let min_ssl: String = row.try_get("min_ssl_version")?;
    let port = |column: &str| -> StoreResult<i32> {
        let v: i64 = row.try_get(column)?;
        i32::try_from(v).map_err(|_| StoreError::Corrupt(format!("stored {column} {v}")))
    };
    Ok(BoundDomain {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        domain: GroupDomainName::from_stored(row.try_get("url_domain")?),
        min_ssl_version: MinSslVersion::parse(&min_ssl)
            .map_err(|_| StoreError::Corrupt(format!("stored min_ssl_version {min_ssl}")))?,
        redirect_to_https: row.try_get::<i64, _>("redirect_to_https")? != 0,
        ingress_ports: IngressPorts {
            http: port("ingress_http_port")?,
            https: port("ingress_https_port")?,
        },
        verify_client_certificate: row.try_get::<i64, _>("verify_client_certificate")? != 0,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        certificate: certificate_from_row(row)?,
    })
}

/// Makes binding `domain_id` present certificate `certificate_id`, verifying client
/// certificates or not.
async fn present(
    conn: &mut AnyConnection,
    domain_id: &str,
    certificate_id: &str,
    verify_client_certificate: bool,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE group_domains SET ssl_id = $1, verify_client_certificate = $2 WHERE id = $3",
    )
    .bind(certificate_id)
    .bind(i64::from(verify_client_certificate))
    .bind(domain_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes binding `domain_id` present no certificate (and verify no client certificates).
pub(super) async fn stop_presenting(conn: &mut AnyConnection, domain_id: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE group_domains SET ssl_id = NULL, verify_client_certificate = 0 WHERE id = $1",
    )
    .bind(domain_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored certificate offered to bound names, and how: `verify` is
/// `verified_client_certificate_enabled` (absent: whether it has a CA set), `now` the time its
/// validity is checked at (Unix seconds).
pub(super) struct Offer<'a> {
    pub certificate_id: &'a str,
    pub chain: &'a str,
    pub has_ca: bool,
    pub verify: Option<bool>,
    pub now: i64,
}

/// Why a name cannot present an offered certificate.
pub(super) enum PresentRefusal {
    /// Expired (`APIG.2102`) or not covering the name (`APIG.2103`).
    Certificate(ApiError),
    /// Client verification asked for a certificate without a CA set.
    NoTrustedRootCa,
}

/// Makes binding `domain` present the offered certificate once it is valid and covers the
/// name.
pub(super) async fn present_checked(
    conn: &mut AnyConnection,
    domain: &BoundDomain,
    offer: &Offer<'_>,
) -> StoreResult<Result<(), PresentRefusal>> {
    let details = CertificateDetails::of_chain(offer.chain).map_err(|_| {
        StoreError::Corrupt(format!(
            "stored certificate {} does not parse",
            offer.certificate_id
        ))
    })?;
    if let Err(e) = details
        .check_valid_at(offer.now)
        .and_then(|()| details.check_covers(&domain.domain))
    {
        return Ok(Err(PresentRefusal::Certificate(e)));
    }
    let verify = offer.verify.unwrap_or(offer.has_ca);
    if verify && !offer.has_ca {
        return Ok(Err(PresentRefusal::NoTrustedRootCa));
    }
    present(conn, &domain.id, offer.certificate_id, verify).await?;
    Ok(Ok(()))
}

/// Whether group `group_id` is in `scope` (its instance checked inside the transaction).
async fn group_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    group_id: &str,
) -> GroupDomainResult<()> {
    let row = sqlx::query(
        "SELECT 1 AS found FROM api_groups g JOIN instances i ON i.id = g.instance_id \
         WHERE i.project_id = $1 AND g.instance_id = $2 AND g.id = $3",
    )
    .bind(&scope.project_id)
    .bind(&scope.instance_id)
    .bind(group_id)
    .fetch_optional(conn)
    .await?;
    row.map(|_| ()).ok_or(GroupDomainError::GroupNotFound)
}

async fn fetch_domain(
    conn: &mut AnyConnection,
    group_id: &str,
    domain_id: &str,
) -> GroupDomainResult<BoundDomain> {
    let sql =
        format!("SELECT {DOMAIN_COLUMNS} FROM {DOMAIN_FROM} WHERE d.group_id = $1 AND d.id = $2");
    let row = sqlx::query(&sql)
        .bind(group_id)
        .bind(domain_id)
        .fetch_optional(conn)
        .await?
        .ok_or(GroupDomainError::NotFound)?;
    Ok(domain_from_row(&row)?)
}

#[async_trait]
impl GroupDomainStore for SqlStore {
    async fn bind_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain: GroupDomainName,
        settings: &DomainSettings,
        max_per_group: usize,
    ) -> GroupDomainResult<BoundDomain> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        if settings.verify_client_certificate == Some(true) {
            return Err(GroupDomainError::NoTrustedRootCa);
        }
        let taken = sqlx::query(
            "SELECT 1 AS found FROM group_domains WHERE instance_id = $1 AND url_domain = $2",
        )
        .bind(&scope.instance_id)
        .bind(domain.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(GroupDomainError::Exists);
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM group_domains WHERE group_id = $1")
            .bind(group_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= max_per_group {
            return Err(GroupDomainError::LimitReached);
        }
        let bound = BoundDomain {
            id: new_id(),
            group_id: group_id.to_owned(),
            domain,
            min_ssl_version: settings.min_ssl_version.unwrap_or_default(),
            redirect_to_https: settings.redirect_to_https.unwrap_or(false),
            ingress_ports: settings.ingress_ports.unwrap_or_default(),
            verify_client_certificate: false,
            create_time: Timestamp::now(),
            certificate: None,
        };
        sqlx::query(
            "INSERT INTO group_domains (id, instance_id, group_id, url_domain, min_ssl_version, \
             redirect_to_https, ingress_http_port, ingress_https_port, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&bound.id)
        .bind(&scope.instance_id)
        .bind(&bound.group_id)
        .bind(bound.domain.as_str())
        .bind(bound.min_ssl_version.as_str())
        .bind(i64::from(bound.redirect_to_https))
        .bind(i64::from(bound.ingress_ports.http))
        .bind(i64::from(bound.ingress_ports.https))
        .bind(bound.create_time.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(bound)
    }

    async fn update_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        settings: &DomainSettings,
    ) -> GroupDomainResult<BoundDomain> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        let mut domain = fetch_domain(&mut tx, group_id, domain_id).await?;
        if let Some(v) = settings.min_ssl_version {
            domain.min_ssl_version = v;
        }
        if let Some(v) = settings.redirect_to_https {
            domain.redirect_to_https = v;
        }
        if let Some(v) = settings.ingress_ports {
            domain.ingress_ports = v;
        }
        if let Some(v) = settings.verify_client_certificate {
            if v && domain.trusted_root_ca().is_none() {
                return Err(GroupDomainError::NoTrustedRootCa);
            }
            domain.verify_client_certificate = v;
        }
        sqlx::query(
            "UPDATE group_domains SET min_ssl_version = $1, redirect_to_https = $2, \
             ingress_http_port = $3, ingress_https_port = $4, verify_client_certificate = $5 \
             WHERE id = $6",
        )
        .bind(domain.min_ssl_version.as_str())
        .bind(i64::from(domain.redirect_to_https))
        .bind(i64::from(domain.ingress_ports.http))
        .bind(i64::from(domain.ingress_ports.https))
        .bind(i64::from(domain.verify_client_certificate))
        .bind(&domain.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(domain)
    }

    async fn bound_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
    ) -> GroupDomainResult<BoundDomain> {
        let mut conn = self.reader.acquire().await?;
        group_in_scope(&mut conn, scope, group_id).await?;
        fetch_domain(&mut conn, group_id, domain_id).await
    }

    async fn unbind_domain(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
    ) -> GroupDomainResult<()> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        let deleted = sqlx::query("DELETE FROM group_domains WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(domain_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(GroupDomainError::NotFound);
        }
        forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn group_domains(
        &self,
        scope: &Scope,
        group_id: Option<&str>,
    ) -> StoreResult<Vec<BoundDomain>> {
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM {DOMAIN_FROM} JOIN instances i ON i.id = d.instance_id \
             WHERE i.project_id = $1 AND d.instance_id = $2 AND ($3 = '' OR d.group_id = $3) \
             ORDER BY d.create_time, d.id"
        );
        let rows = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(group_id.unwrap_or_default())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(domain_from_row).collect()
    }

    async fn instance_domains(&self, instance_id: &str) -> StoreResult<Vec<BoundDomain>> {
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM {DOMAIN_FROM} WHERE d.instance_id = $1 \
             ORDER BY d.create_time, d.id"
        );
        let rows = sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(domain_from_row).collect()
    }

    async fn attach_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        name: &CertificateName,
        certificate: &DomainCertificate,
        trusted_root_ca: Option<&TrustedRootCa>,
    ) -> GroupDomainResult<BoundDomain> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        let mut domain = fetch_domain(&mut tx, group_id, domain_id).await?;
        let content = CertificateContent {
            name,
            certificate,
            trusted_root_ca,
        };
        let stored = self
            .insert_certificate(
                &mut tx,
                &scope.project_id,
                Some(&scope.instance_id),
                content,
                true,
            )
            .await?;
        let added = CertificateRef {
            id: stored.id,
            name: stored.name,
            certificate_type: CertificateType::Instance,
            algorithm: Some(certificate.algorithm()),
            create_time: stored.create_time,
            update_time: stored.update_time,
            trusted_root_ca: stored.trusted_root_ca,
        };
        present(&mut tx, &domain.id, &added.id, trusted_root_ca.is_some()).await?;
        forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        domain.verify_client_certificate = trusted_root_ca.is_some();
        domain.certificate = Some(added);
        Ok(domain)
    }

    async fn attach_stored_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
        verify: Option<bool>,
        now: i64,
    ) -> GroupDomainResult<BoundDomain> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        let domain = fetch_domain(&mut tx, group_id, domain_id).await?;
        let row = sqlx::query(
            "SELECT cert_content, trusted_root_ca FROM certificates WHERE id = $1 \
             AND project_id = $2 AND (instance_id IS NULL OR instance_id = $3)",
        )
        .bind(certificate_id)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(GroupDomainError::CertificateNotFound)?;
        let chain: String = row.try_get("cert_content")?;
        let has_ca = row
            .try_get::<Option<String>, _>("trusted_root_ca")?
            .is_some();
        let offer = Offer {
            certificate_id,
            chain: &chain,
            has_ca,
            verify,
            now,
        };
        present_checked(&mut tx, &domain, &offer)
            .await?
            .map_err(|refusal| match refusal {
                PresentRefusal::Certificate(e) => GroupDomainError::CertificateRefused(e),
                PresentRefusal::NoTrustedRootCa => GroupDomainError::NoTrustedRootCa,
            })?;
        forget_unpresented_domain_certificates(&mut tx).await?;
        let attached = fetch_domain(&mut tx, group_id, domain_id).await?;
        tx.commit().await?;
        Ok(attached)
    }

    async fn domain_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
    ) -> GroupDomainResult<(BoundDomain, String)> {
        let mut conn = self.reader.acquire().await?;
        group_in_scope(&mut conn, scope, group_id).await?;
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM {DOMAIN_FROM} WHERE d.group_id = $1 AND d.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(group_id)
            .bind(domain_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(GroupDomainError::NotFound)?;
        let domain = domain_from_row(&row)?;
        if domain.certificate.as_ref().map(|c| c.id.as_str()) != Some(certificate_id) {
            return Err(GroupDomainError::CertificateNotFound);
        }
        let chain: Option<String> = row.try_get("ssl_cert")?;
        let chain = chain.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "domain certificate {certificate_id} without content"
            ))
        })?;
        Ok((domain, chain))
    }

    async fn detach_certificate(
        &self,
        scope: &Scope,
        group_id: &str,
        domain_id: &str,
        certificate_id: &str,
    ) -> GroupDomainResult<()> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        group_in_scope(&mut tx, scope, group_id).await?;
        let domain = fetch_domain(&mut tx, group_id, domain_id).await?;
        if domain.certificate.as_ref().map(|c| c.id.as_str()) != Some(certificate_id) {
            return Err(GroupDomainError::CertificateNotFound);
        }
        stop_presenting(&mut tx, &domain.id).await?;
        forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn instance_domain_certificates(
        &self,
        instance_id: &str,
    ) -> StoreResult<Vec<DomainKeyPair>> {
        let rows = sqlx::query(
            "SELECT d.url_domain, d.ssl_id, c.cert_content AS ssl_cert, \
             c.private_key AS ssl_key, c.trusted_root_ca AS ssl_client_ca, \
             d.verify_client_certificate \
             FROM group_domains d JOIN certificates c ON c.id = d.ssl_id \
             WHERE d.instance_id = $1 ORDER BY d.create_time, d.id",
        )
        .bind(instance_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let certificate_id: String = row.try_get("ssl_id")?;
                let chain: Option<String> = row.try_get("ssl_cert")?;
                let sealed: Option<String> = row.try_get("ssl_key")?;
                let (Some(chain_pem), Some(sealed)) = (chain, sealed) else {
                    return Err(StoreError::Corrupt(format!(
                        "domain certificate {certificate_id} without content or key"
                    )));
                };
                let key_pem = self
                    .sealer
                    .open_string(&sealed, &key_context(&certificate_id))?;
                let verify = row.try_get::<i64, _>("verify_client_certificate")? != 0;
                let client_ca: Option<String> = row.try_get("ssl_client_ca")?;
                if verify && client_ca.is_none() {
                    return Err(StoreError::Corrupt(format!(
                        "domain certificate {certificate_id} verifies clients without a CA"
                    )));
                }
                Ok(DomainKeyPair {
                    domain: GroupDomainName::from_stored(row.try_get("url_domain")?),
                    certificate_id,
                    chain_pem,
                    key_pem,
                    client_ca: client_ca.filter(|_| verify).map(TrustedRootCa::from_stored),
                })
            })
            .collect()
    }
}
