//! Moving a whole installation between databases (SQLite ⇄ PostgreSQL, or into a backup file):
//! every table row by row, secrets still sealed exactly as stored, so the dump is as safe as the
//! database and needs the same master key on the other side.

use super::*;
use serde::{Deserialize, Serialize};
use sqlx::Column;

/// The format name written into every dump.
pub const DUMP_FORMAT: &str = "apigw-dump/1";

/// The tables of an installation, parents before children (the order inserts need).
const TABLES: &[&str] = &[
    "domains",
    "projects",
    "users",
    "role_assignments",
    "tokens",
    "access_keys",
    "instances",
    "certificates",
    "instance_features",
    "apps",
    "app_codes",
    "api_groups",
    "environments",
    "apis",
    "publications",
    "api_versions",
    "app_auths",
    "app_acls",
    "app_quotas",
    "app_quota_bindings",
    "app_quota_usage",
    "throttles",
    "throttle_bindings",
    "throttle_specials",
    "acl_policies",
    "acl_bindings",
    "group_domains",
    "env_variables",
    "gateway_responses",
    "sign_keys",
    "sign_bindings",
    "vpc_channels",
    "vpc_member_groups",
    "vpc_members",
    "plugins",
    "plugin_bindings",
];

/// Tables a dump of an earlier version lacks; an import without them leaves them empty.
const ADDED_LATER: &[&str] = &[
    "app_quota_usage",
    "certificates",
    "instance_features",
    "throttles",
    "throttle_bindings",
    "throttle_specials",
    "acl_policies",
    "acl_bindings",
    "group_domains",
    "env_variables",
    "api_versions",
    "sign_keys",
    "sign_bindings",
    "vpc_channels",
    "vpc_members",
    "vpc_member_groups",
    "gateway_responses",
    "plugins",
    "plugin_bindings",
];

/// A whole installation: what `apigw export` writes and `apigw import` reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dump {
    /// [`DUMP_FORMAT`].
    pub format: String,
    /// The configuration revision of the source.
    pub revision: i64,
    /// The master key check value (sealed): lets the target refuse another key up front.
    pub master_key_check: String,
    /// Every table with its rows.
    pub tables: Vec<DumpTable>,
}

/// One table of a [`Dump`].
#[derive(Debug, Serialize, Deserialize)]
pub struct DumpTable {
    /// Table name.
    pub name: String,
    /// Column names, in the order of each row's values.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<DumpValue>>,
}

/// One stored value: every column of the schema is text or a 64-bit integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DumpValue {
    /// SQL NULL.
    Null,
    /// An integer column.
    Int(i64),
    /// A text column (sealed secrets stay sealed).
    Text(String),
}

/// What an import wrote.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Rows per table, in import order.
    pub rows: Vec<(String, usize)>,
}

fn value_at(row: &AnyRow, i: usize) -> StoreResult<DumpValue> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map_or(DumpValue::Null, DumpValue::Int));
    }
    Ok(row
        .try_get::<Option<String>, _>(i)?
        .map_or(DumpValue::Null, DumpValue::Text))
}

impl SqlStore {
    /// Reads the whole installation in one consistent snapshot.
    pub async fn export(&self) -> StoreResult<Dump> {
        let mut tx = self.read_tx().await?;
        let revision: i64 = sqlx::query("SELECT n FROM revision WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let master_key_check: String = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(KEY_CHECK)
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for &name in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {name} ORDER BY 1"))
                .fetch_all(&mut *tx)
                .await?;
            let columns = match rows.first() {
                Some(r) => r.columns().iter().map(|c| c.name().to_owned()).collect(),
                None => Vec::new(),
            };
            let rows = rows
                .iter()
                .map(|r| (0..r.len()).map(|i| value_at(r, i)).collect())
                .collect::<StoreResult<Vec<Vec<DumpValue>>>>()?;
            tables.push(DumpTable {
                name: name.to_owned(),
                columns,
                rows,
            });
        }
        tx.commit().await?;
        Ok(Dump {
            format: DUMP_FORMAT.to_owned(),
            revision,
            master_key_check,
            tables,
        })
    }

    /// Writes `dump` into this store, which must be empty (never served), in one transaction.
    /// Refuses a dump sealed with another master key.
    pub async fn import(&self, dump: &Dump) -> StoreResult<ImportSummary> {
        if dump.format != DUMP_FORMAT {
            return Err(StoreError::Corrupt(format!(
                "not an apigw dump (format {:?}, expected {DUMP_FORMAT:?})",
                dump.format
            )));
        }
        self.sealer
            .open(&dump.master_key_check, KEY_CHECK)
            .map_err(|_| {
                StoreError::Corrupt(
                    "the dump's secrets are sealed with another master key; \
                     import with the key of the source installation"
                        .into(),
                )
            })?;
        let mut tx = self.config_tx().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM domains")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Err(StoreError::Duplicate);
        }
        let mut summary = ImportSummary::default();
        let lifted = lift_domain_certificates(dump)?;
        for &name in TABLES {
            let table = lifted
                .iter()
                .find(|t| t.name == name)
                .or_else(|| dump.tables.iter().find(|t| t.name == name));
            let Some(table) = table else {
                if ADDED_LATER.contains(&name) {
                    summary.rows.push((name.to_owned(), 0));
                    continue;
                }
                return Err(StoreError::Corrupt(format!("the dump lacks table {name}")));
            };
            for row in &table.rows {
                if row.len() != table.columns.len() {
                    return Err(StoreError::Corrupt(format!("a row of {name} is short")));
                }
                let mut insert = QueryBuilder::new(format!(
                    "INSERT INTO {name} ({}) VALUES (",
                    table.columns.join(", ")
                ));
                for (i, value) in row.iter().enumerate() {
                    insert.push(if i == 0 { "" } else { ", " });
                    match value {
                        DumpValue::Null => insert.push_bind(None::<String>),
                        DumpValue::Int(n) => insert.push_bind(*n),
                        DumpValue::Text(t) => insert.push_bind(t.as_str()),
                    };
                }
                insert.push(")");
                insert.build().execute(&mut *tx).await?;
            }
            summary.rows.push((name.to_owned(), table.rows.len()));
        }
        // A dump older than gateway responses: every group gets its default one.
        super::gateway_responses::insert_default_responses(&mut tx, None).await?;
        sqlx::query("UPDATE revision SET n = $1 WHERE id = 1")
            .bind(dump.revision)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(summary)
    }
}

/// The columns a bound domain's row kept its certificate in before certificates were
/// resources of their own (schema v11 to v19), and the `certificates` column each becomes.
pub(super) const INLINE_CERTIFICATE_COLUMNS: &[(&str, &str)] = &[
    ("ssl_name", "name"),
    ("ssl_cert", "cert_content"),
    ("ssl_key", "private_key"),
    ("ssl_client_ca", "trusted_root_ca"),
    ("ssl_create_time", "create_time"),
    ("ssl_update_time", "update_time"),
];

/// A dump of an earlier version keeps certificates in `group_domains`: they become
/// certificates of the domain's instance with the same id (`ssl_id`), added to it
/// (`added_to_domain`), as the schema's migration did to the database, and the rows lose those
/// columns. Returns the two
/// rewritten tables, or none when the dump needs no rewriting.
fn lift_domain_certificates(dump: &Dump) -> StoreResult<Vec<DumpTable>> {
    let Some(domains) = dump.tables.iter().find(|t| t.name == "group_domains") else {
        return Ok(Vec::new());
    };
    let column = |table: &DumpTable, name: &str| table.columns.iter().position(|c| c == name);
    if column(domains, "ssl_cert").is_none() {
        return Ok(Vec::new());
    }
    let corrupt = |what: &str| StoreError::Corrupt(format!("the dump's {what}"));
    let instances = dump
        .tables
        .iter()
        .find(|t| t.name == "instances")
        .ok_or_else(|| corrupt("instances are missing"))?;
    let (Some(instance_col), Some(project_col)) =
        (column(instances, "id"), column(instances, "project_id"))
    else {
        return Err(corrupt("instances lack their ids"));
    };
    let project_of = |instance: &DumpValue| {
        instances
            .rows
            .iter()
            .find(|r| r.get(instance_col) == Some(instance))
            .and_then(|r| r.get(project_col).cloned())
    };
    let (Some(id_col), Some(instance_of_domain)) =
        (column(domains, "ssl_id"), column(domains, "instance_id"))
    else {
        return Err(corrupt("bound domains lack ssl_id or instance_id"));
    };
    // (`ssl_client_ca` came last: a dump from before it has no CA sets.)
    let inline: Vec<(Option<usize>, &str)> = INLINE_CERTIFICATE_COLUMNS
        .iter()
        .map(|(old, new)| (column(domains, old), *new))
        .collect();
    let mut certificates = DumpTable {
        name: "certificates".to_owned(),
        columns: ["id", "project_id", "instance_id", "added_to_domain"]
            .into_iter()
            .chain(inline.iter().map(|(_, new)| *new))
            .map(str::to_owned)
            .collect(),
        rows: Vec::new(),
    };
    for row in &domains.rows {
        let (Some(id), Some(instance)) = (row.get(id_col), row.get(instance_of_domain)) else {
            return Err(corrupt("bound domain rows are short"));
        };
        if *id == DumpValue::Null {
            continue;
        }
        let project = project_of(instance).ok_or_else(|| corrupt("instances are incomplete"))?;
        let mut lifted = vec![id.clone(), project, instance.clone(), DumpValue::Int(1)];
        lifted.extend(inline.iter().map(|(i, _)| {
            i.and_then(|i| row.get(i).cloned())
                .unwrap_or(DumpValue::Null)
        }));
        certificates.rows.push(lifted);
    }
    let kept: Vec<usize> = (0..domains.columns.len())
        .filter(|&i| !inline.iter().any(|(j, _)| *j == Some(i)))
        .collect();
    let domains = DumpTable {
        name: domains.name.clone(),
        columns: kept.iter().map(|&i| domains.columns[i].clone()).collect(),
        rows: domains
            .rows
            .iter()
            .map(|r| kept.iter().filter_map(|&i| r.get(i).cloned()).collect())
            .collect(),
    };
    Ok(vec![certificates, domains])
}
