//! This node's side of VPC channel server health (see `apigw_store::member_health`): the data
//! plane's health checks decide, in memory, which servers take calls; this task publishes
//! that view to the database whenever it changes (a server probed or no longer, or its health
//! flipped), and renews it every [`RENEW`], so the management API's member answers
//! (`health_status`) show what every live node sees. A node that stops withdraws its view; one
//! that crashes leaves rows that expire after [`TTL`].
//!
//! Off the request path: the data plane never waits for it, and a database outage only delays
//! the answers' view (logged once per outage).

use apigw_store::member_health::ProbedServer;
use apigw_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a view is written again although nothing changed (so it does not expire).
const RENEW: Duration = Duration::from_secs(10);

/// How long a published row counts: three renewals, so one failed write does not blank it.
const TTL: Duration = Duration::from_secs(30);

/// How long a change waits for the changes that come with it (a routing build starts the
/// probes of a whole channel at once), so they make one write.
const SETTLE: Duration = Duration::from_millis(50);

/// The publisher of this node's view.
pub struct HealthReport {
    store: Arc<dyn Store>,
    node_id: String,
    /// What the database holds for this node, as far as it knows (`None`: unknown, e.g. left
    /// by a crashed predecessor, or after a failed write).
    published: Option<Vec<(String, bool)>>,
    /// Whether the last write failed (logged once per outage).
    failing: bool,
}

impl HealthReport {
    /// The publisher for node `node_id`.
    pub fn new(store: Arc<dyn Store>, node_id: String) -> Self {
        Self {
            store,
            node_id,
            published: None,
            failing: false,
        }
    }

    /// Publishes at once (clearing what a predecessor left), then at each change and renewal
    /// until `stopped` turns true; then withdraws the view.
    pub fn spawn(mut self, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut renewals = tokio::time::interval(RENEW);
            renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = renewals.tick() => self.publish(true).await,
                    () = apigw_gateway::probed_servers_changed() => {
                        tokio::time::sleep(SETTLE).await;
                        self.publish(false).await;
                    }
                    _ = async { stopped.wait_for(|stop| *stop).await.is_ok() } => break,
                }
            }
            if self.published.as_ref().is_some_and(Vec::is_empty) {
                return;
            }
            match self.store.withdraw_member_health(&self.node_id).await {
                Ok(()) => tracing::debug!("VPC channel server health withdrawn"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot withdraw this node's VPC channel server health; it expires in {TTL:?}")
                }
            }
        })
    }

    /// Writes the current view if it differs from the published one, or, on a `renewal`, if
    /// it holds any server.
    async fn publish(&mut self, renewal: bool) {
        let mut view = apigw_gateway::probed_servers();
        view.sort_unstable();
        let unchanged = self.published.as_ref() == Some(&view);
        let renew = renewal && !view.is_empty();
        if unchanged && !renew {
            return;
        }
        let servers: Vec<ProbedServer> = view
            .iter()
            .map(|(member_id, healthy)| ProbedServer {
                member_id: member_id.clone(),
                healthy: *healthy,
            })
            .collect();
        let ttl_ms = i64::try_from(TTL.as_millis()).unwrap_or(i64::MAX);
        match self
            .store
            .publish_member_health(&self.node_id, &servers, ttl_ms)
            .await
        {
            Ok(()) => {
                if self.failing {
                    tracing::info!("VPC channel server health is published again");
                    self.failing = false;
                }
                if !unchanged {
                    let unhealthy = view.iter().filter(|(_, healthy)| !healthy).count();
                    tracing::debug!(
                        servers = view.len(),
                        unhealthy,
                        "VPC channel server health published"
                    );
                }
                self.published = Some(view);
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(error = %e, "cannot publish this node's VPC channel server health; the management API shows the last view until it expires, calls are not affected");
                    self.failing = true;
                }
                self.published = None;
            }
        }
    }
}
