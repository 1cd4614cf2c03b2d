//! Several nodes on one PostgreSQL database: how a change made through one node reaches the
//! data plane of every other node.
//!
//! * **Publish**: after a management request committed a change, this node applies it to its
//!   own data plane, then sends a [`ChangeEvent`] (origin node, change, revisions committed) with
//!   `pg_notify` on [`CHANNEL`].
//! * **Listen**: every node `LISTEN`s on [`CHANNEL`] and applies other nodes' events the same way.
//!   After a lost connection it reconnects and reloads everything.
//! * **Check**: every `--sync-check-interval` a node compares the database's revision with the
//!   revisions its snapshot covers; a revision no event covered (a notification lost because its
//!   sender died after committing) triggers a full reload. A revision is given one interval to
//!   arrive before it counts as missed.

use crate::data_plane::Refresher;
use apigw_admin::changes::{Change, ChangeListener};
use apigw_store::{RevisionStore, SqlStore};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The notification channel every node listens on.
pub const CHANNEL: &str = "apigw_changes";

/// PostgreSQL refuses notification payloads of 8000 bytes or more; a larger event is sent as
/// "everything changed".
const MAX_PAYLOAD: usize = 7900;

/// What one node tells the others about one management request.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The node that made the change (it has applied it already).
    pub origin: String,
    /// What changed.
    pub change: Change,
    /// The configuration revisions the request committed.
    pub revisions: Vec<i64>,
}

/// This node: its data plane (if it runs one) and its link to the other nodes.
pub struct Node {
    id: String,
    store: SqlStore,
    refresher: Option<Arc<Refresher>>,
}

impl Node {
    /// Node `id` (see `membership::node_id`).
    pub fn new(id: String, store: SqlStore, refresher: Option<Arc<Refresher>>) -> Self {
        Self {
            id,
            store,
            refresher,
        }
    }

    /// Starts listening for other nodes' changes and the periodic sync check (PostgreSQL).
    pub fn start_sync(&self, check_interval: Duration) -> anyhow::Result<()> {
        let Some(refresher) = self.refresher.clone() else {
            tracing::info!(node = %self.id, "no data plane on this node: publishing changes only");
            return Ok(());
        };
        anyhow::ensure!(
            !check_interval.is_zero(),
            "--sync-check-interval must be more than zero"
        );
        let url = self.store.database_url().to_owned();
        tokio::spawn(listen(url, self.id.clone(), refresher.clone()));
        tokio::spawn(check_periodically(
            self.store.clone(),
            refresher,
            check_interval,
        ));
        tracing::info!(node = %self.id, channel = CHANNEL, interval = ?check_interval, "cluster sync started");
        Ok(())
    }

    async fn publish(&self, change: Change, revisions: Vec<i64>) {
        let mut event = ChangeEvent {
            origin: self.id.clone(),
            change,
            revisions,
        };
        let mut payload = serde_json::to_string(&event).expect("event serialises");
        if payload.len() > MAX_PAYLOAD {
            event.change = Change::Everything;
            payload = serde_json::to_string(&event).expect("event serialises");
        }
        if let Err(e) = self.store.notify(CHANNEL, &payload).await {
            // The change is committed; the other nodes' sync check will find it.
            tracing::warn!(error = %e, "cannot notify the other nodes of a change; their sync check will pick it up");
        }
    }
}

impl ChangeListener for Node {
    fn changed(
        &self,
        change: Change,
        revisions: Vec<i64>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Some(refresher) = &self.refresher {
                refresher.apply(change.clone(), &revisions).await;
            }
            if self.store.backend() == apigw_store::Backend::Postgres {
                self.publish(change, revisions).await;
            }
        })
    }
}

/// Applies other nodes' events as they arrive; reconnects after a lost connection.
async fn listen(url: String, me: String, refresher: Arc<Refresher>) {
    let mut connected_before = false;
    loop {
        let mut listener = match connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if connected_before {
            // Notifications sent while this node was not listening are lost: start afresh.
            tracing::info!("change listener reconnected; reloading everything");
            refresher.reload_all().await;
        } else {
            // Anything committed between the first load and LISTEN is caught here.
            match refresher.store.revision().await {
                Ok(n) => refresher.ensure_covers(n).await,
                Err(e) => tracing::warn!(error = %e, "cannot read the configuration revision"),
            }
        }
        connected_before = true;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    match serde_json::from_str::<ChangeEvent>(notification.payload()) {
                        Ok(event) if event.origin == me => {}
                        Ok(event) => {
                            tracing::debug!(origin = %event.origin, change = ?event.change, revisions = ?event.revisions, "change from another node");
                            refresher.apply(event.change, &event.revisions).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable change event; reloading everything");
                            refresher.apply(Change::Everything, &[]).await;
                        }
                    }
                }
                Ok(None) => {
                    tracing::warn!("change listener lost its connection");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change listener failed");
                    break;
                }
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Every `interval`: reloads if a revision committed before the previous check is still not
/// covered by the snapshot.
async fn check_periodically(store: SqlStore, refresher: Arc<Refresher>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous: Option<i64> = None;
    let mut unreachable = false;
    loop {
        ticks.tick().await;
        match store.revision().await {
            Ok(n) => {
                if unreachable {
                    tracing::info!("the database is reachable again");
                    unreachable = false;
                }
                if let Some(p) = previous {
                    refresher.ensure_covers(p).await;
                }
                previous = Some(n);
            }
            Err(e) => {
                if !unreachable {
                    tracing::warn!(error = %e, "sync check cannot read the database; serving the current snapshot");
                    unreachable = true;
                }
            }
        }
    }
}
