//! This node's side of the quota ledger (see `apigw_store::ledger`): the data plane counts
//! app quota calls in memory; every `--quota-sync-interval` this task adds the calls counted
//! since the last exchange to the ledger and, when other nodes share it (PostgreSQL), takes in
//! every node's totals; it reads the whole ledger before the listeners open and writes once
//! more when the node stops. An exchange that takes longer than the interval delays the next
//! one (the calls of the longer interval go in one report per app) instead of piling up. So a quota is one quota across restarts and across the nodes of a cluster:
//! a crash forgets at most one interval's calls, and the nodes together can admit beyond a
//! limit only what they admit before each learns of the others' calls: two intervals or so
//! (one to report them, one to read them), far less near a limit, where calls bring the
//! exchange forward (at most one early exchange per 20 ms).

use apigw_gateway::{Gateway, QuotaTally, QuotaUsage};
use apigw_store::ledger::{QuotaUsageReport, QuotaUsageTally};
use apigw_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How far back each read of the ledger reaches before the previous read began: a write may
/// commit a little after the database dated its row.
const READ_OVERLAP_MS: i64 = 5_000;

/// The least time between two exchanges brought forward by apps nearing their limits.
const EARLY_SPACING: Duration = Duration::from_millis(20);

/// Reports kept while the store is unreachable (the oldest go first beyond this).
const MAX_PENDING: usize = 100_000;

/// Exchanges with the ledger, by result (`ok`, `failed`).
const EXCHANGES: &str = "apigw_quota_ledger_exchanges_total";
/// Reports waiting for the store.
const PENDING: &str = "apigw_quota_ledger_pending_reports";

/// Registers the help text of the ledger's metrics.
pub fn describe_metrics() {
    metrics::describe_counter!(
        EXCHANGES,
        metrics::Unit::Count,
        "Exchanges of app quota usage with the ledger in the database, by result (ok, failed)."
    );
    metrics::describe_gauge!(
        PENDING,
        metrics::Unit::Count,
        "App quota usage reports the store has not taken yet (kept for the next exchange)."
    );
}

/// The exchange between one data plane and the ledger.
pub struct QuotaLedger {
    store: Arc<dyn Store>,
    instance_id: String,
    gateway: Gateway,
    /// When the last successful read began (the database's clock).
    read_from_ms: i64,
    /// Reports not yet in the ledger (the store failed).
    pending: Vec<QuotaUsageReport>,
    /// Whether the last exchange failed (logged once per outage).
    failing: bool,
    /// Whether other nodes write to the ledger too (else it is read only at start).
    shared: bool,
}

fn report(u: QuotaUsage) -> QuotaUsageReport {
    QuotaUsageReport {
        app_id: u.app_id,
        app_quota_id: u.app_quota_id,
        window_start_ms: u.window_start_ms,
        interval_ms: u.interval_ms,
        calls: i64::from(u.calls),
    }
}

fn tally(t: QuotaUsageTally) -> QuotaTally {
    QuotaTally {
        app_id: t.app_id,
        app_quota_id: t.app_quota_id,
        window_start_ms: t.window_start_ms,
        calls: u64::try_from(t.calls).unwrap_or(0),
    }
}

impl QuotaLedger {
    /// Reads the instance's whole ledger into `gateway` (before its listeners open, so calls
    /// made before a restart still count). `shared`: other nodes write to it too.
    pub async fn load(
        store: Arc<dyn Store>,
        instance_id: String,
        gateway: Gateway,
        shared: bool,
    ) -> anyhow::Result<Self> {
        let mut ledger = Self {
            store,
            instance_id,
            gateway,
            read_from_ms: i64::MIN,
            pending: Vec::new(),
            failing: false,
            shared,
        };
        let apps = ledger.read().await?;
        tracing::info!(apps, "app quota usage loaded from the ledger");
        Ok(ledger)
    }

    /// Takes in the rows changed since the last read; how many.
    async fn read(&mut self) -> anyhow::Result<usize> {
        let since = self.read_from_ms.saturating_sub(READ_OVERLAP_MS);
        let read = self
            .store
            .quota_usage_since(&self.instance_id, since)
            .await?;
        let tallies: Vec<QuotaTally> = read.tallies.into_iter().map(tally).collect();
        self.gateway.merge_quota_tallies(&tallies);
        self.read_from_ms = read.read_at_ms;
        Ok(tallies.len())
    }

    /// Adds this node's new calls to the ledger (with any a failed exchange left).
    async fn write(&mut self) -> anyhow::Result<usize> {
        self.pending
            .extend(self.gateway.take_quota_usage().into_iter().map(report));
        if self.pending.len() > MAX_PENDING {
            let excess = self.pending.len() - MAX_PENDING;
            self.pending.drain(..excess);
        }
        self.store.add_quota_usage(&self.pending).await?;
        let written = self.pending.len();
        self.pending.clear();
        Ok(written)
    }

    /// One exchange: write, then read if other nodes write too (so the totals read include
    /// this node's calls).
    async fn exchange(&mut self) {
        let done = async {
            let written = self.write().await?;
            let read = if self.shared { self.read().await? } else { 0 };
            anyhow::Ok((written, read))
        };
        let outcome = done.await;
        metrics::counter!(EXCHANGES, "result" => if outcome.is_ok() { "ok" } else { "failed" })
            .increment(1);
        metrics::gauge!(PENDING).set(self.pending.len() as f64);
        match outcome {
            Ok((written, read)) => {
                if std::mem::take(&mut self.failing) {
                    tracing::info!("the quota ledger is reachable again");
                }
                if written + read > 0 {
                    tracing::debug!(written, read, "quota ledger exchanged");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(error = %format!("{e:#}"), pending = self.pending.len(), "cannot exchange app quota usage with the ledger; each node counts on its own until it is back");
                }
            }
        }
    }

    /// Exchanges every `interval`, and sooner when an app nears its limit (at most once per
    /// [`EARLY_SPACING`]), until `stop` turns true; then reports the last calls.
    pub fn spawn(mut self, interval: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let nearing = self.gateway.quota_nearing();
            let mut last = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = nearing.notified() => {
                        tokio::time::sleep_until(last + EARLY_SPACING).await;
                        ticks.reset();
                        tracing::trace!("an app nears its quota limit: exchanging now");
                    }
                    _ = async { stop.wait_for(|s| *s).await.is_ok() } => break,
                }
                last = tokio::time::Instant::now();
                self.exchange().await;
            }
            match self.write().await {
                Ok(written) => {
                    tracing::info!(apps = written, "app quota usage written to the ledger")
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), lost = self.pending.len(), "cannot write the last app quota usage to the ledger")
                }
            }
        })
    }
}
