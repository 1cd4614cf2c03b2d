//! Opening an installation's store from the command line: SQLite in the data directory by
//! default, or the database `--database-url` names, with the master key its secrets need.

use crate::cli::StoreArgs;
use anyhow::Context;
use apigw_store::crypto::MasterKey;
use apigw_store::{PostgresOptions, SqlStore};
use std::path::PathBuf;

/// An open store and the master key its secrets are sealed with.
pub struct OpenStore {
    /// The store.
    pub store: SqlStore,
    /// Its master key.
    pub key: MasterKey,
}

/// What a database URL names.
enum Location {
    Postgres(String),
    Sqlite(PathBuf),
}

fn locate(url: Option<&str>, args: &StoreArgs) -> anyhow::Result<Location> {
    let url = url.unwrap_or("");
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres(url.to_owned()));
    }
    if url.is_empty() {
        return Ok(Location::Sqlite(args.data_dir.join("apigw.db")));
    }
    match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Some(path) => Ok(Location::Sqlite(PathBuf::from(path))),
        None => anyhow::bail!(
            "a database URL must start with postgres://, postgresql:// or sqlite:// (got {})",
            redact_url(url)
        ),
    }
}

/// Opens the store `args` names, creating the data directory (and, for SQLite, the database
/// and the master key) on first use.
pub async fn open(args: &StoreArgs) -> anyhow::Result<OpenStore> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let location = locate(args.database_url.as_deref(), args)?;
    let key = master_key(args, matches!(location, Location::Postgres(_)))?;
    let store = open_at(&location, args, &key).await?;
    Ok(OpenStore { store, key })
}

/// Opens an installation that must already exist (the source of `export` and `migrate`): a
/// mistyped data directory is an error, not a new empty installation with a new key.
pub async fn open_existing(args: &StoreArgs) -> anyhow::Result<OpenStore> {
    if let Location::Sqlite(path) = locate(args.database_url.as_deref(), args)? {
        anyhow::ensure!(
            path.exists(),
            "no installation at {} (give --data-dir or --database-url)",
            path.display()
        );
    }
    if args.master_key.is_none() {
        let key = args
            .master_key_file
            .clone()
            .unwrap_or_else(|| args.data_dir.join("master.key"));
        anyhow::ensure!(
            key.exists(),
            "master key file {} does not exist; the installation's secrets need its key",
            key.display()
        );
    }
    open(args).await
}

/// Opens a second store (the target of `apigw migrate`) with the same key and settings.
pub async fn open_url(url: &str, args: &StoreArgs, key: &MasterKey) -> anyhow::Result<SqlStore> {
    let location = locate(Some(url), args)?;
    open_at(&location, args, key).await
}

async fn open_at(
    location: &Location,
    args: &StoreArgs,
    key: &MasterKey,
) -> anyhow::Result<SqlStore> {
    match location {
        Location::Postgres(url) => {
            let mut options = PostgresOptions::new(url.clone());
            options.max_connections = args.database_max_connections;
            options.acquire_timeout = args.database_timeout;
            let store = SqlStore::open_postgres(&options, key)
                .await
                .with_context(|| format!("cannot open the PostgreSQL store {}", redact_url(url)))?;
            tracing::info!(database = %redact_url(url), "PostgreSQL store open");
            Ok(store)
        }
        Location::Sqlite(path) => {
            let store = SqlStore::open(path, key)
                .await
                .with_context(|| format!("cannot open the store {}", path.display()))?;
            tracing::info!(path = %path.display(), "SQLite store open");
            Ok(store)
        }
    }
}

/// The master key: APIGW_MASTER_KEY, else the key file (created on first use). With a shared
/// database the key must be named explicitly: every node needs the same one.
fn master_key(args: &StoreArgs, shared: bool) -> anyhow::Result<MasterKey> {
    if shared && args.master_key.is_none() && args.master_key_file.is_none() {
        anyhow::bail!(
            "with a PostgreSQL database every node must use the same master key: give it with \
             --master-key-file PATH (created there if missing; copy it to the other nodes) or \
             APIGW_MASTER_KEY (base64 of 32 bytes)"
        );
    }
    if let Some(text) = &args.master_key {
        tracing::info!("master key taken from APIGW_MASTER_KEY");
        return MasterKey::from_base64(text).context("APIGW_MASTER_KEY is not 32 bytes of base64");
    }
    let path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.key"));
    let (key, created) = MasterKey::load_or_create(&path)
        .with_context(|| format!("master key file {}", path.display()))?;
    if created {
        tracing::warn!(path = %path.display(), kid = key.kid(), "generated a new master key (mode 0600); back it up: stored secrets cannot be read without it");
    } else {
        tracing::info!(path = %path.display(), kid = key.kid(), "master key loaded");
    }
    Ok(key)
}

/// A database URL fit for logs: any password replaced.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}
