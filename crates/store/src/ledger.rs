//! The quota ledger: the calls every node counted against app quotas, per app, in the app's
//! current window.
//!
//! Exists so that an app quota is one quota: the same after a restart (a crash loses at most
//! the calls of one exchange interval) and across the nodes sharing a database. Nodes count
//! calls in memory and exchange them with the ledger periodically, never per request.

use crate::StoreResult;
use async_trait::async_trait;

/// Calls one node counted for one app since its last report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUsageReport {
    /// The app.
    pub app_id: String,
    /// The quota the node counted them against (dropped if the app is no longer bound to it).
    pub app_quota_id: String,
    /// Start of the window the calls fell in (Unix milliseconds).
    pub window_start_ms: i64,
    /// The quota's window length in milliseconds.
    pub interval_ms: i64,
    /// Calls counted.
    pub calls: i64,
}

/// One app's row of the ledger: every node's calls in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUsageTally {
    /// The app.
    pub app_id: String,
    /// The quota it is bound to.
    pub app_quota_id: String,
    /// Start of the window (Unix milliseconds).
    pub window_start_ms: i64,
    /// Calls in that window.
    pub calls: i64,
}

/// What one read of the ledger found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLedgerRead {
    /// The rows changed since the time asked for.
    pub tallies: Vec<QuotaUsageTally>,
    /// The database's clock (Unix milliseconds) when the read began: the time to ask for
    /// next, less a margin for writes that were dated before they committed.
    pub read_at_ms: i64,
}

/// Reads and adds to the quota ledger. Rows are dated by the database's clock, so nodes whose
/// clocks disagree still see each other's changes.
#[async_trait]
pub trait QuotaLedgerStore: Send + Sync + 'static {
    /// Adds reported calls, each to its app's row: calls of the row's window add up (a
    /// report whose window starts less than one interval from the row's counts as the same
    /// window, as two nodes that had not yet agreed on an app's windows see it), calls of a
    /// later window start a new one on the row's grid, calls of an earlier window are
    /// dropped, and so are calls of an app no longer bound to that quota. One transaction.
    async fn add_quota_usage(&self, reports: &[QuotaUsageReport]) -> StoreResult<()>;

    /// The rows of instance `instance_id` changed at or after `since_ms` on the database's
    /// clock (`i64::MIN`: all).
    async fn quota_usage_since(
        &self,
        instance_id: &str,
        since_ms: i64,
    ) -> StoreResult<QuotaLedgerRead>;
}
