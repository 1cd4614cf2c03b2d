//! Checkpoints of the request throttling counts each gateway node keeps in memory.
//!
//! Exists so that a throttling limit over an hour or a day is not reset by a restart: a node
//! saves the calls of its current windows (of a minute or more) periodically and when it
//! stops; a node that starts, or any live node later, takes over the checkpoints other nodes
//! left (stopped, or silent for long enough to be dead) and carries their calls on. Runtime
//! state, not configuration: not exported, and not a configuration change.

use crate::StoreResult;
use async_trait::async_trait;

/// The calls counted in one window of one throttling counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleCountRow {
    /// The binding the counter belongs to.
    pub binding_key: String,
    /// Whose calls: `api`, `user`, `app:<app id>` or `ip:<address>`.
    pub caller: String,
    /// Start of the window (Unix milliseconds).
    pub window_start_ms: i64,
    /// The window's length in milliseconds.
    pub window_ms: i64,
    /// Calls counted in it.
    pub calls: i64,
}

/// Saves and takes over throttling checkpoints. Times are the database's clock.
#[async_trait]
pub trait ThrottleCountStore: Send + Sync + 'static {
    /// Replaces node `node_id`'s checkpoint for instance `instance_id` with `counts`.
    /// `stopping`: the node stops, so another may take the checkpoint over at once. One
    /// transaction.
    async fn save_throttle_counts(
        &self,
        node_id: &str,
        instance_id: &str,
        counts: &[ThrottleCountRow],
        stopping: bool,
    ) -> StoreResult<()>;

    /// Takes over (reads and deletes, atomically: two takers never both get a row) the
    /// checkpoints of instance `instance_id` that nodes other than `node_id` left when they
    /// stopped, or did not renew for `stale_ms`; with `own_too`, `node_id`'s own as well (the
    /// node starts again after a crash).
    async fn take_throttle_counts(
        &self,
        (node_id, own_too): (&str, bool),
        instance_id: &str,
        stale_ms: i64,
    ) -> StoreResult<Vec<ThrottleCountRow>>;
}
