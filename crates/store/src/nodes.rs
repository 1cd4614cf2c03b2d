//! The gateway nodes serving each instance: a node that runs a data plane announces itself
//! periodically and learns how many announce themselves for the same instance.
//!
//! Exists so that a request throttling limit is one limit across the nodes of a cluster
//! (`--throttle-limits split`): each node enforces its share of it, the limit divided by the
//! nodes that serve the instance. Runtime state, not configuration: not exported, and not a
//! configuration change (no revision).

use crate::StoreResult;
use async_trait::async_trait;

/// Announces gateway nodes and counts them. Times are the database's clock, so nodes whose
/// clocks disagree still agree on who is live.
#[async_trait]
pub trait GatewayNodeStore: Send + Sync + 'static {
    /// Records that node `node_id` serves instance `instance_id` now, forgets the instance's
    /// nodes not seen for `expiry_ms`, and answers how many serve it (this one included, so at
    /// least 1). One transaction.
    async fn gateway_node_seen(
        &self,
        node_id: &str,
        instance_id: &str,
        expiry_ms: i64,
    ) -> StoreResult<u32>;

    /// Forgets node `node_id` (it stops serving): the others count without it from their next
    /// announcement instead of after the expiry.
    async fn gateway_node_gone(&self, node_id: &str) -> StoreResult<()>;
}
