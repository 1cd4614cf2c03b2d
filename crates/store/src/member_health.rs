//! What the gateway nodes' health checks say of VPC channel servers: each node that probes a
//! channel's servers publishes its view here, and the management API's member answers
//! (`health_status`) read every live node's view.
//!
//! Exists because a server's health is each node's own observation (each node probes from
//! where it stands) while the management API may be answered by any node. Runtime state, not
//! configuration: not exported, and not a configuration change (no revision). Times are the
//! database's clock, so nodes whose clocks disagree still agree on which rows are current.

use crate::StoreResult;
use async_trait::async_trait;

/// One server's health as one node's check last decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedServer {
    /// The member's id.
    pub member_id: String,
    /// Whether it takes calls on that node.
    pub healthy: bool,
}

/// Publishes and withdraws the nodes' views of server health.
#[async_trait]
pub trait MemberHealthStore: Send + Sync + 'static {
    /// Replaces node `node_id`'s view with `servers` (the servers it probes now), each row
    /// valid for `ttl_ms` unless renewed. One transaction.
    async fn publish_member_health(
        &self,
        node_id: &str,
        servers: &[ProbedServer],
        ttl_ms: i64,
    ) -> StoreResult<()>;

    /// Forgets node `node_id`'s view (it stops probing).
    async fn withdraw_member_health(&self, node_id: &str) -> StoreResult<()>;
}
