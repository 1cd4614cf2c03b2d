//! The gateway nodes that serve one instance on a shared database (PostgreSQL), and the
//! division of throttling limits among them (`--throttle-limits split`).
//!
//! Each node counts throttled calls in memory, on its own (the per-request path does no I/O).
//! So that a policy's limit is one limit across the cluster rather than one per node, every
//! node that runs a data plane announces itself in the store (`gateway_nodes`) every
//! `--sync-check-interval` and learns how many nodes announced themselves for its instance
//! within [`EXPIRY_INTERVALS`] intervals; its data plane then enforces the limit divided by that
//! number (rounded up). A node that stops says so, and the others count without it from their
//! next announcement; one that dies is forgotten after the expiry. While the store cannot be
//! reached a node keeps the last count it had.

use anyhow::Context;
use apigw_gateway::Gateway;
use apigw_store::Store;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A node not heard of for this many announcement intervals no longer counts.
pub const EXPIRY_INTERVALS: u32 = 3;

/// The file in the data directory that keeps the node's id.
const NODE_ID_FILE: &str = "node-id";

/// This node's id among the gateway nodes, and the lock that keeps it this process's.
pub struct NodeId {
    /// The id.
    pub id: String,
    /// The id file, locked while the process runs (none for a temporary id).
    _held: Option<File>,
}

/// This node's id among the gateway nodes: kept in `data_dir`, so that a node that starts
/// again after a crash is the same node (it carries on its own throttling checkpoint and does
/// not count twice until its old announcement expires); made on first start. The file stays
/// locked while the node runs: a second process on the same data directory takes a temporary
/// id instead of passing for the first.
pub fn node_id(data_dir: &Path) -> anyhow::Result<NodeId> {
    let path = data_dir.join(NODE_ID_FILE);
    let cannot = || format!("cannot use the node id file {}", path.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(cannot)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let id = apigw_domain::generate::new_id();
            tracing::warn!(path = %path.display(), node_id = %id, "another process runs on this data directory; this node takes a temporary id (give each node a data directory of its own)");
            return Ok(NodeId { id, _held: None });
        }
        Err(TryLockError::Error(e)) => return Err(e).with_context(cannot),
    }
    let mut kept = String::new();
    file.read_to_string(&mut kept).with_context(cannot)?;
    let kept = kept.trim();
    if kept.len() == 32 && kept.bytes().all(|b| b.is_ascii_hexdigit()) {
        let id = kept.to_owned();
        return Ok(NodeId {
            id,
            _held: Some(file),
        });
    }
    if !kept.is_empty() {
        tracing::warn!(path = %path.display(), "node id file unreadable; making a new id");
    }
    // Written in place: the lock is on this file (a crash half-way gives a new id next time).
    let id = apigw_domain::generate::new_id();
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(format!("{id}\n").as_bytes()))
        .and_then(|()| file.sync_all())
        .with_context(cannot)?;
    Ok(NodeId {
        id,
        _held: Some(file),
    })
}

/// The live gateway nodes of this node's instance, as last learned.
const NODES: &str = "apigw_gateway_nodes";

/// Registers the help text of the membership's metric.
pub fn describe_metrics() {
    metrics::describe_gauge!(
        NODES,
        metrics::Unit::Count,
        "Gateway nodes serving this node's instance (throttling limits are divided by it)."
    );
}

/// This node's membership among the gateway nodes of its instance.
pub struct Membership {
    store: Arc<dyn Store>,
    node_id: String,
    instance_id: String,
    gateway: Gateway,
    interval: Duration,
    /// The number of nodes last learned (what the data plane divides limits by).
    nodes: u32,
    /// Whether the last announcement failed (logged once per outage).
    failing: bool,
}

impl Membership {
    /// Announces this node (`node_id`) for `instance_id` and divides `gateway`'s throttling
    /// limits among the nodes found: before the listeners open, so the first calls already
    /// count against this node's share.
    pub async fn join(
        store: Arc<dyn Store>,
        (node_id, instance_id): (String, String),
        gateway: Gateway,
        interval: Duration,
    ) -> anyhow::Result<Self> {
        let mut membership = Self {
            store,
            node_id,
            instance_id,
            gateway,
            interval,
            nodes: 1,
            failing: false,
        };
        membership.nodes = membership.announce().await?;
        membership.gateway.share_throttling_among(membership.nodes);
        metrics::gauge!(NODES).set(f64::from(membership.nodes));
        tracing::info!(
            node_id = %membership.node_id,
            instance_id = %membership.instance_id,
            nodes = membership.nodes,
            "gateway node announced; throttling limits divided among the instance's gateway nodes"
        );
        Ok(membership)
    }

    async fn announce(&self) -> apigw_store::StoreResult<u32> {
        let expiry = self.interval * EXPIRY_INTERVALS;
        let expiry_ms = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX);
        self.store
            .gateway_node_seen(&self.node_id, &self.instance_id, expiry_ms)
            .await
    }

    /// Announces the node every interval until `stopped` turns true, then withdraws it.
    pub fn spawn(mut self, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate; `join` has just announced
            loop {
                tokio::select! {
                    _ = ticks.tick() => self.renew().await,
                    _ = async { stopped.wait_for(|stop| *stop).await.is_ok() } => break,
                }
            }
            match self.store.gateway_node_gone(&self.node_id).await {
                Ok(()) => tracing::info!(node_id = %self.node_id, "gateway node withdrawn"),
                Err(e) => tracing::warn!(
                    node_id = %self.node_id,
                    error = %e,
                    "cannot withdraw the gateway node; the others stop counting it after the expiry"
                ),
            }
        })
    }

    /// One announcement: a changed count is in force for the next call.
    async fn renew(&mut self) {
        match self.announce().await {
            Ok(nodes) => {
                if self.failing {
                    tracing::info!("gateway node announcements work again");
                    self.failing = false;
                }
                if nodes != self.nodes {
                    tracing::info!(
                        previous = self.nodes,
                        nodes,
                        "the number of gateway nodes changed; throttling limits divided anew"
                    );
                    self.nodes = nodes;
                    self.gateway.share_throttling_among(nodes);
                    metrics::gauge!(NODES).set(f64::from(nodes));
                }
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(
                        error = %e,
                        nodes = self.nodes,
                        "cannot announce this gateway node; keeping the last number of nodes"
                    );
                    self.failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_keeps_its_id_and_a_second_process_on_the_directory_takes_another() {
        let dir = tempfile::tempdir().unwrap();
        let first = node_id(dir.path()).unwrap();
        assert_eq!(first.id.len(), 32);
        let stored = std::fs::read_to_string(dir.path().join(NODE_ID_FILE)).unwrap();
        assert_eq!(stored.trim(), first.id);
        // While the first holds the file, another gets a temporary id and leaves the file alone.
        let second = node_id(dir.path()).unwrap();
        assert_ne!(second.id, first.id);
        let kept = std::fs::read_to_string(dir.path().join(NODE_ID_FILE)).unwrap();
        assert_eq!(kept, stored);
        let id = first.id.clone();
        drop(first);
        assert_eq!(
            node_id(dir.path()).unwrap().id,
            id,
            "the same node after a restart"
        );
        // A damaged file gives a new id.
        std::fs::write(dir.path().join(NODE_ID_FILE), "not an id").unwrap();
        let renewed = node_id(dir.path()).unwrap();
        assert_ne!(renewed.id, id);
        let stored = std::fs::read_to_string(dir.path().join(NODE_ID_FILE)).unwrap();
        assert_eq!(stored, format!("{}\n", renewed.id));
    }
}
