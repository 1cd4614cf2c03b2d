//! `apigw export`, `apigw import` and `apigw migrate`: moving a whole installation between
//! databases (SQLite ⇄ PostgreSQL) or through a file. Secrets travel sealed, never in clear.

use crate::cli::{ExportArgs, ImportArgs, MigrateArgs};
use crate::database;
use anyhow::Context;
use apigw_store::{Dump, ImportSummary, SqlStore, StoreError};
use std::io::{Read, Write};

/// Writes the installation to `args.output`.
pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let source = database::open_existing(&args.store).await?;
    let dump = source
        .store
        .export()
        .await
        .context("cannot read the installation")?;
    let text = serde_json::to_vec(&dump).context("cannot encode the dump")?;
    if args.output.as_os_str() == "-" {
        std::io::stdout().write_all(&text)?;
    } else {
        write_private(&args.output, &text)
            .with_context(|| format!("cannot write {}", args.output.display()))?;
    }
    source.store.close().await;
    eprintln!("exported {} rows (revision {})", rows(&dump), dump.revision);
    Ok(())
}

/// Loads `args.input` into a new installation.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut text = Vec::new();
    if args.input.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut text)?;
    } else {
        text = std::fs::read(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?;
    }
    let dump: Dump = serde_json::from_slice(&text).context("not an apigw dump")?;
    let target = database::open(&args.store).await?;
    let summary = load(&target.store, &dump).await?;
    target.store.close().await;
    report(&summary);
    Ok(())
}

/// Copies the installation to `args.to`.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let source = database::open_existing(&args.store).await?;
    let dump = source
        .store
        .export()
        .await
        .context("cannot read the installation")?;
    let target = database::open_url(&args.to, &args.store, &source.key).await?;
    let summary = load(&target, &dump).await?;
    target.close().await;
    source.store.close().await;
    report(&summary);
    Ok(())
}

async fn load(target: &SqlStore, dump: &Dump) -> anyhow::Result<ImportSummary> {
    match target.import(dump).await {
        Ok(summary) => Ok(summary),
        Err(StoreError::Duplicate) => anyhow::bail!(
            "the target already holds an installation; import only into a new database"
        ),
        Err(e) => Err(e).context("import failed; nothing was written"),
    }
}

fn rows(dump: &Dump) -> usize {
    dump.tables.iter().map(|t| t.rows.len()).sum()
}

fn report(summary: &ImportSummary) {
    let total: usize = summary.rows.iter().map(|(_, n)| n).sum();
    let detail: Vec<String> = summary
        .rows
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    eprintln!("imported {total} rows: {}", detail.join(", "));
}

/// Writes a file only its owner can read (the dump holds sealed secrets and password hashes).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
