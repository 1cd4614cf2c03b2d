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
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A node not heard of for this many announcement intervals no longer counts.
pub const EXPIRY_INTERVALS: u32 = 3;

/// The file in the data directory that keeps the node's id.
const NODE_ID_FILE: &str = "node-id";

/// This node's id among the gateway nodes: kept in `data_dir`, so that a node that starts
/// again after a crash is the same node (it carries on its own throttling checkpoint and does
/// not count twice until its old announcement expires); made on first start. Nodes need data
/// directories of their own.
pub fn node_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(NODE_ID_FILE);
    let is_id = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    match std::fs::read_to_string(&path) {
        Ok(kept) if is_id(kept.trim()) => return Ok(kept.trim().to_owned()),
        Ok(_) => tracing::warn!(path = %path.display(), "node id file unreadable; making a new id"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let id = apigw_domain::generate::new_id();
    let partial = data_dir.join(format!("{NODE_ID_FILE}.partial"));
    std::fs::write(&partial, format!("{id}\n"))
        .and_then(|()| std::fs::rename(&partial, &path))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
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
