//! [`ThrottleCountStore`] in SQL, written for both backends.

use super::expr::{database_now_ms, json_rows, JsonColumn};
use super::{Backend, SqlStore};
use crate::throttle_counts::{ThrottleCountRow, ThrottleCountStore};
use crate::StoreResult;
use async_trait::async_trait;
use sqlx::Row;

/// Rows per insert statement (one JSON document of about 100 bytes each).
const ROWS_PER_STATEMENT: usize = 10_000;

/// The rows of one statement as `r(b, c, w, l, n)` (binding, caller, window start, window
/// length, calls) from the JSON array bound as `$3`.
fn rows_from_json(backend: Backend) -> String {
    use JsonColumn::{BigInt, Text};
    let columns = [Text("b"), Text("c"), BigInt("w"), BigInt("l"), BigInt("n")];
    json_rows(backend, "$3", &columns)
}

#[async_trait]
impl ThrottleCountStore for SqlStore {
    async fn save_throttle_counts(
        &self,
        node_id: &str,
        instance_id: &str,
        counts: &[ThrottleCountRow],
        stopping: bool,
    ) -> StoreResult<()> {
        let saved = if stopping {
            "0"
        } else {
            database_now_ms(self.backend)
        };
        let insert = format!(
            "INSERT INTO throttle_counts (node_id, instance_id, binding_key, caller, \
             window_start_ms, window_ms, calls, saved_ms) \
             SELECT $1, $2, r.b, r.c, r.w, r.l, r.n, {saved} FROM {}",
            rows_from_json(self.backend)
        );
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM throttle_counts WHERE node_id = $1")
            .bind(node_id)
            .execute(&mut *tx)
            .await?;
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|c| {
                    serde_json::json!({"b": c.binding_key, "c": c.caller,
                        "w": c.window_start_ms, "l": c.window_ms, "n": c.calls})
                })
                .collect();
            sqlx::query(&insert)
                .bind(node_id)
                .bind(instance_id)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn take_throttle_counts(
        &self,
        (node_id, own_too): (&str, bool),
        instance_id: &str,
        stale_ms: i64,
    ) -> StoreResult<Vec<ThrottleCountRow>> {
        let own = if own_too { " OR node_id = $2" } else { "" };
        let taken = sqlx::query(&format!(
            "DELETE FROM throttle_counts \
             WHERE instance_id = $1 AND (node_id <> $2 AND saved_ms < {} - $3{own}) \
             RETURNING binding_key, caller, window_start_ms, window_ms, calls",
            database_now_ms(self.backend)
        ))
        .bind(instance_id)
        .bind(node_id)
        .bind(stale_ms)
        .fetch_all(&self.writer)
        .await?;
        taken
            .iter()
            .map(|row| {
                Ok(ThrottleCountRow {
                    binding_key: row.try_get("binding_key")?,
                    caller: row.try_get("caller")?,
                    window_start_ms: row.try_get("window_start_ms")?,
                    window_ms: row.try_get("window_ms")?,
                    calls: row.try_get("calls")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    fn row(binding: &str, caller: &str, calls: i64) -> ThrottleCountRow {
        ThrottleCountRow {
            binding_key: binding.into(),
            caller: caller.into(),
            window_start_ms: 1_780_000_020_000,
            window_ms: 60_000,
            calls,
        }
    }

    #[tokio::test]
    async fn checkpoints_are_replaced_and_taken_over_once_their_node_stopped_or_went_silent() {
        let master = MasterKey::generate();
        let (_dir, store, scope) = crate::test_db::bootstrapped_store(&master).await;
        let instance = scope.instance_id.as_str();
        let day = 86_400_000;
        let a = [row("p/api/env", "api", 3), row("p/api/env", "app:x", 2)];
        store
            .save_throttle_counts("a", instance, &a, false)
            .await
            .unwrap();
        store
            .save_throttle_counts("a", instance, &a[..1], false)
            .await
            .unwrap();
        // A live node's checkpoint is not taken, and a node never takes its own.
        let none = store
            .take_throttle_counts(("b", false), instance, day)
            .await
            .unwrap();
        assert!(none.is_empty());
        // Stopping releases it at once; it is taken once.
        let b = [row("shared", "ip:192.0.2.1", 4)];
        store
            .save_throttle_counts("b", instance, &b, true)
            .await
            .unwrap();
        assert!(store
            .take_throttle_counts(("b", false), instance, day)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .take_throttle_counts(("c", false), instance, day)
                .await
                .unwrap(),
            b.to_vec()
        );
        assert!(store
            .take_throttle_counts(("c", false), instance, day)
            .await
            .unwrap()
            .is_empty());
        // A node silent for longer than the staleness is taken over.
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let taken = store
            .take_throttle_counts(("c", false), instance, 10)
            .await
            .unwrap();
        assert_eq!(taken, a[..1].to_vec(), "the replaced checkpoint only");
        // Another instance's node takes nothing of this one.
        store
            .save_throttle_counts("a", instance, &a, true)
            .await
            .unwrap();
        let other = store
            .take_throttle_counts(("c", false), "other-instance", 0)
            .await
            .unwrap();
        assert!(other.is_empty());
        // A node starting again takes its own checkpoint, live or not.
        let a_again = store.take_throttle_counts(("a", true), instance, day);
        assert_eq!(a_again.await.unwrap().len(), 2);
    }
}
