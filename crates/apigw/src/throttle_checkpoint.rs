//! This node's side of the throttling checkpoints (see `apigw_store::throttle_counts`): the
//! data plane counts throttled calls in memory; every `--throttle-checkpoint-interval` this
//! task saves the calls of the current windows of a minute or more, and takes over the
//! checkpoints other nodes left (stopped, or silent for three intervals: dead); it takes them
//! over once before the listeners open, and saves once more when the node stops. So a policy
//! of so many calls an hour or a day is not reset by a restart or a rolling upgrade: a
//! graceful stop loses nothing, a crash at most one interval's calls.

use apigw_gateway::{Gateway, ThrottleCaller, ThrottleCount};
use apigw_store::throttle_counts::ThrottleCountRow;
use apigw_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A node that has not saved its checkpoint for this many intervals counts as dead.
const STALE_INTERVALS: u32 = 3;

/// Most counts one checkpoint saves: the API and user counts first, then the apps', then the
/// addresses' (a flood from many addresses does not turn into as many rows every interval).
const MAX_SAVED: usize = 50_000;

/// The checkpoints of one data plane.
pub struct ThrottleCheckpoint {
    store: Arc<dyn Store>,
    node_id: String,
    instance_id: String,
    gateway: Gateway,
    interval: Duration,
    /// No other node can be running (SQLite): nothing to take over after the start.
    alone: bool,
    /// Whether the store holds counts of this node (else an empty save is skipped).
    saved_any: bool,
    /// Whether the last save or take-over failed (logged once per outage).
    failing: bool,
}

impl ThrottleCheckpoint {
    /// Takes over the checkpoints left for `instance_id` and adds them to `gateway`'s counters,
    /// before the listeners open. `alone`: no other node can be running (SQLite), so every
    /// checkpoint left is taken, a crashed predecessor's included; else only those released
    /// by a stop or stale.
    pub async fn load(
        store: Arc<dyn Store>,
        (node_id, instance_id): (String, String),
        gateway: Gateway,
        interval: Duration,
        alone: bool,
    ) -> anyhow::Result<Self> {
        let checkpoint = Self {
            store,
            node_id,
            instance_id,
            gateway,
            interval,
            alone,
            saved_any: true, // unknown: the first save replaces whatever a predecessor left
            failing: false,
        };
        let stale = if alone {
            Duration::ZERO
        } else {
            checkpoint.stale()
        };
        // Its own checkpoint too: the node may be starting again after a crash.
        let restored = checkpoint.take_over(stale, true).await?;
        tracing::info!(
            counts = restored,
            "request throttling counts carried on from the last checkpoints"
        );
        Ok(checkpoint)
    }

    fn stale(&self) -> Duration {
        self.interval * STALE_INTERVALS
    }

    /// Takes the other nodes' checkpoints older than `stale` (or released), and with
    /// `own_too` this node's own, and restores them: how many counts were still current.
    async fn take_over(&self, stale: Duration, own_too: bool) -> apigw_store::StoreResult<usize> {
        let stale_ms = i64::try_from(stale.as_millis()).unwrap_or(i64::MAX);
        let taker = (self.node_id.as_str(), own_too);
        let rows = self
            .store
            .take_throttle_counts(taker, &self.instance_id, stale_ms)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let counts: Vec<ThrottleCount> = rows.into_iter().filter_map(count).collect();
        Ok(self.gateway.restore_throttle_counts(&counts))
    }

    /// Replaces this node's checkpoint with its current counts (no store work while there
    /// are none and none were saved).
    async fn save(&mut self, stopping: bool) -> apigw_store::StoreResult<usize> {
        let mut counts = self.gateway.throttle_counts();
        if counts.len() > MAX_SAVED {
            counts.sort_by_key(|c| match c.caller {
                ThrottleCaller::Api | ThrottleCaller::User => 0,
                ThrottleCaller::App(_) => 1,
                ThrottleCaller::Address(_) => 2,
            });
            tracing::debug!(
                counts = counts.len(),
                saved = MAX_SAVED,
                "throttling checkpoint truncated"
            );
            counts.truncate(MAX_SAVED);
        }
        let rows: Vec<ThrottleCountRow> = counts.iter().map(row).collect();
        if rows.is_empty() && !self.saved_any {
            return Ok(0);
        }
        self.store
            .save_throttle_counts(&self.node_id, &self.instance_id, &rows, stopping)
            .await?;
        self.saved_any = !rows.is_empty();
        Ok(rows.len())
    }

    /// Saves and takes over every interval until `stopped` turns true, then saves for the
    /// next node to take over.
    pub fn spawn(mut self, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // immediate; `load` has just taken over
            loop {
                tokio::select! {
                    _ = ticks.tick() => self.renew().await,
                    _ = async { stopped.wait_for(|stop| *stop).await.is_ok() } => break,
                }
            }
            match self.save(true).await {
                Ok(saved) => tracing::info!(counts = saved, "request throttling counts saved"),
                Err(e) => tracing::error!(
                    error = %e,
                    "cannot save the request throttling counts; the last checkpoint stands"
                ),
            }
        })
    }

    async fn renew(&mut self) {
        let renewed = match self.save(false).await {
            Ok(_) if self.alone => Ok(0),
            Ok(_) => self.take_over(self.stale(), false).await,
            Err(e) => Err(e),
        };
        match renewed {
            Ok(restored) => {
                if self.failing {
                    tracing::info!("request throttling checkpoints work again");
                    self.failing = false;
                }
                if restored > 0 {
                    tracing::info!(
                        counts = restored,
                        "request throttling counts of a node gone carried on here"
                    );
                }
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(error = %e, "cannot checkpoint the request throttling counts");
                    self.failing = true;
                }
            }
        }
    }
}

/// The stored form of a count.
fn row(c: &ThrottleCount) -> ThrottleCountRow {
    let caller = match &c.caller {
        ThrottleCaller::Api => "api".to_owned(),
        ThrottleCaller::User => "user".to_owned(),
        ThrottleCaller::App(app) => format!("app:{app}"),
        ThrottleCaller::Address(ip) => format!("ip:{ip}"),
    };
    ThrottleCountRow {
        binding_key: c.binding.clone(),
        caller,
        window_start_ms: c.window_start_ms,
        window_ms: c.window_ms,
        calls: i64::from(c.calls),
    }
}

/// A stored count read back (`None` for a form this version does not know).
fn count(r: ThrottleCountRow) -> Option<ThrottleCount> {
    let caller = match r.caller.split_once(':') {
        None if r.caller == "api" => ThrottleCaller::Api,
        None if r.caller == "user" => ThrottleCaller::User,
        Some(("app", app)) => ThrottleCaller::App(app.to_owned()),
        Some(("ip", ip)) => ThrottleCaller::Address(ip.parse().ok()?),
        _ => return None,
    };
    Some(ThrottleCount {
        binding: r.binding_key,
        caller,
        window_start_ms: r.window_start_ms,
        window_ms: r.window_ms,
        calls: u32::try_from(r.calls).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_keep_their_caller_through_the_store() {
        let callers = [
            ThrottleCaller::Api,
            ThrottleCaller::User,
            ThrottleCaller::App("a1:b".into()),
            ThrottleCaller::Address("2001:db8::1".parse().unwrap()),
            ThrottleCaller::Address("192.0.2.7".parse().unwrap()),
        ];
        for caller in callers {
            let c = ThrottleCount {
                binding: "p/api/env".into(),
                caller,
                window_start_ms: 60_000,
                window_ms: 60_000,
                calls: 7,
            };
            assert_eq!(count(row(&c)), Some(c));
        }
        let unknown = ThrottleCountRow {
            binding_key: "k".into(),
            caller: "tenant:x".into(),
            window_start_ms: 0,
            window_ms: 60_000,
            calls: 1,
        };
        assert_eq!(count(unknown), None);
    }
}
