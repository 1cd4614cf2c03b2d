//! SQL implementation of [`CertificateStore`]: the certificates of projects.

use super::group_domains::{
    domain_from_row, key_context, present_checked, stop_presenting, Offer, PresentRefusal,
    DOMAIN_COLUMNS, DOMAIN_FROM,
};
use super::*;
use crate::certificates::*;
use crate::group_domains::BoundDomain;
use apigw_domain::certificate::{CertificateName, TrustedRootCa};
use apigw_domain::group_domain::GroupDomainName;

const CERTIFICATE_COLUMNS: &str = "id, project_id, instance_id, name, cert_content, \
     trusted_root_ca, create_time, update_time";

fn certificate_from_row(row: &AnyRow) -> StoreResult<StoredCertificate> {
    Ok(StoredCertificate {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        instance_id: row.try_get("instance_id")?,
        name: CertificateName::from_stored(row.try_get("name")?),
        chain_pem: row.try_get("cert_content")?,
        trusted_root_ca: row
            .try_get::<Option<String>, _>("trusted_root_ca")?
            .map(TrustedRootCa::from_stored),
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

async fn fetch_certificate(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> CertificateResult<StoredCertificate> {
    let sql =
        format!("SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE project_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(project_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(CertificateError::NotFound)?;
    Ok(certificate_from_row(&row)?)
}

/// Deletes the certificates added to bound names (`added_to_domain`) that no name presents any
/// more: such a certificate goes with the last name that presented it (replaced, removed,
/// unbound, its group deleted), key and all, as when it was kept in the name's row.
pub(super) async fn forget_unpresented_domain_certificates(
    conn: &mut AnyConnection,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM certificates WHERE added_to_domain = 1 AND NOT EXISTS \
         (SELECT 1 FROM group_domains d WHERE d.ssl_id = certificates.id)",
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// Inserts a new certificate of project `project_id` (global without `instance_id`) made
    /// of `content`, its key sealed. One `added_to_domain` lives only while a name presents
    /// it (see [`forget_unpresented_domain_certificates`]).
    pub(super) async fn insert_certificate(
        &self,
        conn: &mut AnyConnection,
        project_id: &str,
        instance_id: Option<&str>,
        content: CertificateContent<'_>,
        added_to_domain: bool,
    ) -> StoreResult<StoredCertificate> {
        let now = Timestamp::now();
        let created = StoredCertificate {
            id: new_id(),
            project_id: project_id.to_owned(),
            instance_id: instance_id.map(str::to_owned),
            name: content.name.clone(),
            chain_pem: content.certificate.chain_pem().to_owned(),
            trusted_root_ca: content.trusted_root_ca.cloned(),
            create_time: now,
            update_time: now,
        };
        let sealed = self.sealer.seal(
            content.certificate.key_pem().as_bytes(),
            &key_context(&created.id),
        );
        sqlx::query(
            "INSERT INTO certificates (id, project_id, instance_id, name, cert_content, \
             private_key, trusted_root_ca, added_to_domain, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&created.id)
        .bind(&created.project_id)
        .bind(created.instance_id.as_deref())
        .bind(created.name.as_str())
        .bind(&created.chain_pem)
        .bind(sealed)
        .bind(created.trusted_root_ca.as_ref().map(TrustedRootCa::as_pem))
        .bind(i64::from(added_to_domain))
        .bind(now.nanos())
        .execute(conn)
        .await?;
        Ok(created)
    }
}

/// The bindings of `target`'s name in project `project_id` where certificate `c` may be used
/// (its own instance, or any for a global one), limited to the target's instances.
async fn bindings_of(
    conn: &mut AnyConnection,
    c: &StoredCertificate,
    target: &NameTarget<'_>,
) -> StoreResult<Vec<BoundDomain>> {
    let sql = format!(
        "SELECT {DOMAIN_COLUMNS}, d.instance_id AS domain_instance FROM {DOMAIN_FROM} \
         JOIN instances i ON i.id = d.instance_id \
         WHERE i.project_id = $1 AND d.url_domain = $2 ORDER BY d.create_time, d.id"
    );
    let rows = sqlx::query(&sql)
        .bind(&c.project_id)
        .bind(target.domain.as_str())
        .fetch_all(conn)
        .await?;
    let mut bindings = Vec::new();
    for row in &rows {
        let instance: String = row.try_get("domain_instance")?;
        let usable = c.instance_id.as_ref().is_none_or(|own| *own == instance);
        let asked = target
            .instance_ids
            .is_none_or(|ids| ids.contains(&instance));
        if usable && asked {
            bindings.push(domain_from_row(row)?);
        }
    }
    Ok(bindings)
}

#[async_trait]
impl CertificateStore for SqlStore {
    async fn create_certificate(
        &self,
        project_id: &str,
        instance_id: Option<&str>,
        content: CertificateContent<'_>,
    ) -> CertificateResult<StoredCertificate> {
        let mut tx = self.config_tx().await?;
        if let Some(instance_id) = instance_id {
            let scope = Scope {
                project_id: project_id.to_owned(),
                instance_id: instance_id.to_owned(),
            };
            Self::check_instance(&mut tx, &scope)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => CertificateError::InstanceNotFound,
                    other => other.into(),
                })?;
        }
        let created = self
            .insert_certificate(&mut tx, project_id, instance_id, content, false)
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn certificate(
        &self,
        project_id: &str,
        id: &str,
    ) -> CertificateResult<StoredCertificate> {
        let mut conn = self.reader.acquire().await?;
        fetch_certificate(&mut conn, project_id, id).await
    }

    async fn certificates(&self, project_id: &str) -> StoreResult<Vec<StoredCertificate>> {
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE project_id = $1 \
             ORDER BY create_time, id"
        );
        let rows = sqlx::query(&sql)
            .bind(project_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(certificate_from_row).collect()
    }

    async fn update_certificate(
        &self,
        project_id: &str,
        id: &str,
        content: CertificateContent<'_>,
    ) -> CertificateResult<StoredCertificate> {
        let mut tx = self.config_tx().await?;
        let mut certificate = fetch_certificate(&mut tx, project_id, id).await?;
        let attached = sqlx::query("SELECT url_domain FROM group_domains WHERE ssl_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        for row in &attached {
            let domain = GroupDomainName::from_stored(row.try_get("url_domain")?);
            content
                .certificate
                .details()
                .check_covers(&domain)
                .map_err(CertificateError::Refused)?;
        }
        let now = Timestamp::now();
        let sealed = self
            .sealer
            .seal(content.certificate.key_pem().as_bytes(), &key_context(id));
        sqlx::query(
            "UPDATE certificates SET name = $1, cert_content = $2, private_key = $3, \
             trusted_root_ca = $4, update_time = $5 WHERE id = $6",
        )
        .bind(content.name.as_str())
        .bind(content.certificate.chain_pem())
        .bind(sealed)
        .bind(content.trusted_root_ca.map(TrustedRootCa::as_pem))
        .bind(now.nanos())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if content.trusted_root_ca.is_none() {
            // Nothing left to verify client certificates against.
            sqlx::query("UPDATE group_domains SET verify_client_certificate = 0 WHERE ssl_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        certificate.name = content.name.clone();
        certificate.chain_pem = content.certificate.chain_pem().to_owned();
        certificate.trusted_root_ca = content.trusted_root_ca.cloned();
        certificate.update_time = now;
        Ok(certificate)
    }

    async fn delete_certificate(&self, project_id: &str, id: &str) -> CertificateResult<()> {
        let mut tx = self.config_tx().await?;
        fetch_certificate(&mut tx, project_id, id).await?;
        let attached = sqlx::query("SELECT 1 AS found FROM group_domains WHERE ssl_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if attached.is_some() {
            return Err(CertificateError::InUse);
        }
        sqlx::query("DELETE FROM certificates WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attach_to_names(
        &self,
        project_id: &str,
        id: &str,
        targets: &[NameTarget<'_>],
        now: i64,
    ) -> CertificateResult<()> {
        let mut tx = self.config_tx().await?;
        let c = fetch_certificate(&mut tx, project_id, id).await?;
        for target in targets {
            let bindings = bindings_of(&mut tx, &c, target).await?;
            if bindings.is_empty() {
                return Err(CertificateError::NameNotBound(
                    target.domain.as_str().to_owned(),
                ));
            }
            let offer = Offer {
                certificate_id: id,
                chain: &c.chain_pem,
                has_ca: c.trusted_root_ca.is_some(),
                verify: target.verify,
                now,
            };
            for domain in &bindings {
                present_checked(&mut tx, domain, &offer).await?.map_err(
                    |refusal| match refusal {
                        PresentRefusal::Certificate(e) => CertificateError::Refused(e),
                        PresentRefusal::NoTrustedRootCa => CertificateError::NoTrustedRootCa,
                    },
                )?;
            }
        }
        forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn detach_from_names(
        &self,
        project_id: &str,
        id: &str,
        targets: &[NameTarget<'_>],
    ) -> CertificateResult<()> {
        let mut tx = self.config_tx().await?;
        let c = fetch_certificate(&mut tx, project_id, id).await?;
        for target in targets {
            let presenting: Vec<BoundDomain> = bindings_of(&mut tx, &c, target)
                .await?
                .into_iter()
                .filter(|d| d.certificate.as_ref().is_some_and(|p| p.id == id))
                .collect();
            if presenting.is_empty() {
                return Err(CertificateError::NotAttached(
                    target.domain.as_str().to_owned(),
                ));
            }
            for domain in &presenting {
                stop_presenting(&mut tx, &domain.id).await?;
            }
        }
        forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attached_domains(
        &self,
        project_id: &str,
        id: &str,
    ) -> CertificateResult<Vec<AttachedDomain>> {
        let mut tx = self.read_tx().await?;
        fetch_certificate(&mut tx, project_id, id).await?;
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS}, d.instance_id AS domain_instance, g.name AS group_name \
             FROM {DOMAIN_FROM} JOIN api_groups g ON g.id = d.group_id \
             WHERE d.ssl_id = $1 ORDER BY d.create_time, d.id"
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(AttachedDomain {
                    domain: domain_from_row(row)?,
                    instance_id: row.try_get("domain_instance")?,
                    group_name: row.try_get("group_name")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::export::INLINE_CERTIFICATE_COLUMNS;
    use super::*;
    use crate::apis::{ApiStore, NewGroup};
    use crate::crypto::MasterKey;
    use crate::group_domains::{DomainKeyPair, GroupDomainStore};
    use crate::test_db::{bootstrapped_store, TestPlace};
    use apigw_domain::api::{GroupName, Remark};
    use apigw_domain::certificate::DomainCertificate;
    use apigw_domain::group_domain::DomainSettings;

    const NAME: &str = "api.shop.example";

    /// A self-signed certificate for [`NAME`] and its key, PEM.
    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![NAME.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A store with [`NAME`] bound to a group and presenting a certificate added to it (with
    /// a CA set, so it verifies client certificates): (store, its place, the project, the
    /// certificate's id, what the listener reads).
    async fn store_with_a_domain_certificate(
        master: &MasterKey,
    ) -> (TestPlace, SqlStore, String, String, Vec<DomainKeyPair>) {
        let (place, store, scope) = bootstrapped_store(master).await;
        let group = store
            .create_group(
                &scope,
                NewGroup {
                    name: GroupName::parse("shop").unwrap(),
                    remark: Remark::empty(),
                },
            )
            .await
            .unwrap();
        let domain = GroupDomainName::parse(NAME).unwrap();
        let bound = store
            .bind_domain(
                &scope,
                &group.id,
                domain.clone(),
                &DomainSettings::default(),
                5,
            )
            .await
            .unwrap();
        let (chain, key) = self_signed();
        let now = Timestamp::now().unix_seconds();
        let certificate = DomainCertificate::parse(&chain, &key, &domain, now).unwrap();
        let ca = TrustedRootCa::parse(&self_signed().0, now).unwrap();
        let attached = store
            .attach_certificate(
                &scope,
                &group.id,
                &bound.id,
                &CertificateName::parse("shop_cert").unwrap(),
                &certificate,
                Some(&ca),
            )
            .await
            .unwrap();
        let id = attached.certificate.unwrap().id;
        let presented = store
            .instance_domain_certificates(&scope.instance_id)
            .await
            .unwrap();
        assert_eq!(presented.len(), 1);
        assert_eq!(presented[0].key_pem, key);
        assert!(presented[0].client_ca.is_some());
        (place, store, scope.project_id, id, presented)
    }

    /// Puts the database back into the shape of schema v19: certificates kept in the rows of
    /// the domains presenting them, no `certificates` table, the migration not applied.
    async fn back_to_inline_certificates(store: &SqlStore) {
        let migration = match store.backend {
            Backend::Sqlite => 20,
            Backend::Postgres => 17,
        };
        let mut statements: Vec<String> = INLINE_CERTIFICATE_COLUMNS
            .iter()
            .flat_map(|(old, new)| {
                let sql_type = if old.ends_with("_time") {
                    "BIGINT"
                } else {
                    "TEXT"
                };
                [
                    format!("ALTER TABLE group_domains ADD COLUMN {old} {sql_type}"),
                    format!(
                        "UPDATE group_domains SET {old} = \
                         (SELECT c.{new} FROM certificates c WHERE c.id = group_domains.ssl_id)"
                    ),
                ]
            })
            .collect();
        statements.extend([
            "DROP INDEX group_domains_certificate".to_owned(),
            "DROP TABLE certificates".to_owned(),
            format!("DELETE FROM _sqlx_migrations WHERE version = {migration}"),
        ]);
        for sql in statements {
            sqlx::query(&sql).execute(&store.writer).await.unwrap();
        }
    }

    /// Takes certificate `id` off the one name presenting it: a certificate added to a name
    /// goes with it.
    async fn detaching_forgets(store: &SqlStore, project: &str, id: &str) {
        let attached = store.attached_domains(project, id).await.unwrap();
        let [a] = attached.as_slice() else {
            panic!("one name presents it: {attached:?}");
        };
        let scope = Scope {
            project_id: project.to_owned(),
            instance_id: a.instance_id.clone(),
        };
        store
            .detach_certificate(&scope, &a.domain.group_id, &a.domain.id, id)
            .await
            .unwrap();
        assert!(matches!(
            store.certificate(project, id).await,
            Err(CertificateError::NotFound)
        ));
    }

    async fn reopen(place: &TestPlace, master: &MasterKey) -> SqlStore {
        match place {
            TestPlace::Sqlite(dir) => SqlStore::open(&dir.path().join("t.db"), master).await,
            TestPlace::Postgres(db) => db.open(master).await,
        }
        .unwrap()
    }

    #[tokio::test]
    async fn the_migration_makes_the_certificates_kept_by_domains_certificates_of_their_instance() {
        let master = MasterKey::generate();
        let (place, store, project, id, presented) = store_with_a_domain_certificate(&master).await;
        let before = store.certificate(&project, &id).await.unwrap();
        back_to_inline_certificates(&store).await;
        store.writer.close().await;
        store.reader.close().await;

        let store = reopen(&place, &master).await;
        let after = store.certificate(&project, &id).await.unwrap();
        assert_eq!(after, before);
        assert!(after.instance_id.is_some() && after.trusted_root_ca.is_some());
        let instance = after.instance_id.clone().unwrap();
        // The key still opens (same id, same sealing context) and the name presents it.
        assert_eq!(
            store.instance_domain_certificates(&instance).await.unwrap(),
            presented
        );
        let attached = store.attached_domains(&project, &id).await.unwrap();
        assert_eq!(attached.len(), 1);
        assert!(attached[0].domain.verify_client_certificate);
        assert_eq!(attached[0].group_name, "shop");
        detaching_forgets(&store, &project, &id).await;
    }

    #[tokio::test]
    async fn a_dump_from_before_certificates_imports_them_as_certificates_of_their_instance() {
        let master = MasterKey::generate();
        let (_place, store, project, id, presented) =
            store_with_a_domain_certificate(&master).await;
        let before = store.certificate(&project, &id).await.unwrap();
        // What an earlier version's export wrote: no certificates table, each domain's
        // certificate in its row.
        let mut dump = store.export().await.unwrap();
        let at = dump
            .tables
            .iter()
            .position(|t| t.name == "certificates")
            .unwrap();
        let certificates = dump.tables.remove(at);
        let domains = dump
            .tables
            .iter_mut()
            .find(|t| t.name == "group_domains")
            .unwrap();
        let ssl_id = domains.columns.iter().position(|c| c == "ssl_id").unwrap();
        for &(old, new) in INLINE_CERTIFICATE_COLUMNS {
            let from = certificates.columns.iter().position(|c| c == new).unwrap();
            domains.columns.push(old.to_owned());
            for row in &mut domains.rows {
                let value = certificates
                    .rows
                    .iter()
                    .find(|c| c[0] == row[ssl_id])
                    .map_or(DumpValue::Null, |c| c[from].clone());
                row.push(value);
            }
        }

        let (_target_place, target) = crate::test_db::open_store(&master).await;
        target.import(&dump).await.unwrap();
        assert_eq!(target.certificate(&project, &id).await.unwrap(), before);
        let instance = before.instance_id.clone().unwrap();
        assert_eq!(
            target
                .instance_domain_certificates(&instance)
                .await
                .unwrap(),
            presented
        );
        detaching_forgets(&target, &project, &id).await;
    }
}
