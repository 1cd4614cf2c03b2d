//! [`QuotaLedgerStore`] in SQL: one upsert per reported app, written for both backends.

use super::expr::{database_now_ms, json_rows, JsonColumn};
use super::{Backend, SqlStore};
use crate::ledger::{QuotaLedgerRead, QuotaLedgerStore, QuotaUsageReport, QuotaUsageTally};
use crate::StoreResult;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::hash_map::{Entry, HashMap};

/// Reports per upsert statement (one JSON document of about 100 bytes each).
const REPORTS_PER_STATEMENT: usize = 10_000;

/// The reports of one statement as rows `r(a, q, w, c, i)` (app, quota, window start, calls,
/// window length) from the JSON array bound as `$1`.
fn reports_as_rows(backend: Backend) -> String {
    use JsonColumn::{BigInt, Text};
    let columns = [Text("a"), Text("q"), BigInt("w"), BigInt("c"), BigInt("i")];
    json_rows(backend, "$1", &columns)
}

/// The upsert: each report is added to its app's row (see
/// [`QuotaLedgerStore::add_quota_usage`]); reports of apps not bound to the quota named match
/// no binding and add nothing. `{rows}` stands for [`reports_as_rows`], `{now}` for
/// [`database_now_ms`].
const ADD_USAGE: &str = "\
INSERT INTO app_quota_usage \
 (app_id, app_quota_id, instance_id, window_start_ms, interval_ms, calls, updated_ms) \
SELECT b.app_id, b.app_quota_id, b.instance_id, r.w, r.i, r.c, {now} \
FROM {rows} \
JOIN app_quota_bindings b ON b.app_id = r.a AND b.app_quota_id = r.q \
WHERE 1 = 1 \
ON CONFLICT (app_id) DO UPDATE SET \
 window_start_ms = CASE \
   WHEN excluded.window_start_ms >= app_quota_usage.window_start_ms + excluded.interval_ms \
   THEN app_quota_usage.window_start_ms + (excluded.window_start_ms \
        - app_quota_usage.window_start_ms) / excluded.interval_ms * excluded.interval_ms \
   ELSE app_quota_usage.window_start_ms END, \
 calls = CASE \
   WHEN excluded.window_start_ms >= app_quota_usage.window_start_ms + excluded.interval_ms \
   THEN excluded.calls \
   WHEN excluded.window_start_ms > app_quota_usage.window_start_ms - excluded.interval_ms \
   THEN app_quota_usage.calls + excluded.calls \
   ELSE app_quota_usage.calls END, \
 interval_ms = excluded.interval_ms, \
 updated_ms = excluded.updated_ms";

/// The reports folded to one per app (an upsert may touch a row only once), each with its
/// calls: calls of one window add up, a later window replaces an earlier one.
fn one_per_app(reports: &[QuotaUsageReport]) -> Vec<(&QuotaUsageReport, i64)> {
    let mut folded: HashMap<&str, (&QuotaUsageReport, i64)> = HashMap::new();
    for r in reports {
        match folded.entry(&r.app_id) {
            Entry::Vacant(e) => {
                e.insert((r, r.calls));
            }
            Entry::Occupied(mut e) => {
                let (kept, calls) = e.get_mut();
                if r.window_start_ms == kept.window_start_ms && r.app_quota_id == kept.app_quota_id
                {
                    *calls += r.calls;
                } else if r.window_start_ms > kept.window_start_ms {
                    *kept = r;
                    *calls = r.calls;
                }
            }
        }
    }
    folded.into_values().collect()
}

#[async_trait]
impl QuotaLedgerStore for SqlStore {
    async fn add_quota_usage(&self, reports: &[QuotaUsageReport]) -> StoreResult<()> {
        if reports.is_empty() {
            return Ok(());
        }
        let reports = one_per_app(reports);
        let upsert = ADD_USAGE
            .replace("{rows}", &reports_as_rows(self.backend))
            .replace("{now}", database_now_ms(self.backend));
        // Not a configuration change (no revision) and not serialised with the management
        // writes on PostgreSQL: each upsert is atomic on its rows.
        let mut tx = self.writer.begin().await?;
        for chunk in reports.chunks(REPORTS_PER_STATEMENT) {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|(r, calls)| {
                    serde_json::json!({"a": r.app_id, "q": r.app_quota_id,
                        "w": r.window_start_ms, "c": calls, "i": r.interval_ms.max(1)})
                })
                .collect();
            sqlx::query(&upsert)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn quota_usage_since(
        &self,
        instance_id: &str,
        since_ms: i64,
    ) -> StoreResult<QuotaLedgerRead> {
        let read_at_ms: i64 = sqlx::query(&format!(
            "SELECT {} AS now_ms",
            database_now_ms(self.backend)
        ))
        .fetch_one(&self.reader)
        .await?
        .try_get("now_ms")?;
        let rows = sqlx::query(
            "SELECT app_id, app_quota_id, window_start_ms, calls FROM app_quota_usage \
             WHERE instance_id = $1 AND updated_ms >= $2",
        )
        .bind(instance_id)
        .bind(since_ms)
        .fetch_all(&self.reader)
        .await?;
        let tallies = rows
            .iter()
            .map(|row| {
                Ok(QuotaUsageTally {
                    app_id: row.try_get("app_id")?,
                    app_quota_id: row.try_get("app_quota_id")?,
                    window_start_ms: row.try_get("window_start_ms")?,
                    calls: row.try_get("calls")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(QuotaLedgerRead {
            tallies,
            read_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::authz::tests::app;
    use super::*;
    use crate::crypto::MasterKey;
    use crate::Scope;
    use crate::{AppStore, AuthzStore};

    const MINUTE: i64 = 60_000;
    const T: i64 = 1_780_000_000_000;

    fn report(app_id: &str, quota_id: &str, window_start_ms: i64, calls: i64) -> QuotaUsageReport {
        QuotaUsageReport {
            app_id: app_id.into(),
            app_quota_id: quota_id.into(),
            window_start_ms,
            interval_ms: MINUTE,
            calls,
        }
    }

    /// A store whose admin instance has app `ledger_one` bound to a quota of 10 calls a minute
    /// and app `ledger_two` bound to none: the scope, both app ids and the quota id.
    async fn bound_app(
        master: &MasterKey,
    ) -> (
        crate::test_db::TestPlace,
        SqlStore,
        Scope,
        (String, String),
        String,
    ) {
        let (dir, store, scope) = crate::test_db::bootstrapped_store(master).await;
        let a1 = app(&store, &scope, "ledger_one").await;
        let a2 = app(&store, &scope, "ledger_two").await;
        let quota = crate::test_db::quota_per_minute(
            &store,
            &scope,
            "per_minute",
            10,
            std::slice::from_ref(&a1),
        )
        .await;
        (dir, store, scope, (a1, a2), quota)
    }

    #[tokio::test]
    async fn reports_add_up_per_window_and_go_with_the_binding() {
        let (_dir, store, scope, (a1, a2), quota) = bound_app(&MasterKey::generate()).await;
        let read = |since: i64| {
            let store = store.clone();
            let instance = scope.instance_id.clone();
            async move { store.quota_usage_since(&instance, since).await.unwrap() }
        };
        let tallies = |since: i64| {
            let read = read(since);
            async move { read.await.tallies }
        };
        let tally = |window_start_ms: i64, calls: i64| QuotaUsageTally {
            app_id: a1.clone(),
            app_quota_id: quota.clone(),
            window_start_ms,
            calls,
        };

        // Two nodes: the second had its own idea of the app's windows (500 ms later), so its
        // calls count in the first node's window. A2 is not bound and the wrong quota is
        // named: both reports are dropped.
        store
            .add_quota_usage(&[
                report(&a1, &quota, T, 3),
                report(&a2, &quota, T, 7),
                report(&a1, "0123456789abcdef0123456789abcdef", T, 7),
            ])
            .await
            .unwrap();
        let first = read(i64::MIN).await;
        assert_eq!(first.tallies, [tally(T, 3)]);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!(
            (first.read_at_ms - now).abs() < 60_000,
            "the database's clock in Unix milliseconds: {} against {now}",
            first.read_at_ms
        );
        assert!(tallies(first.read_at_ms + 60_000).await.is_empty());
        store
            .add_quota_usage(&[report(&a1, &quota, T + 500, 2)])
            .await
            .unwrap();
        assert_eq!(
            tallies(first.read_at_ms).await,
            [tally(T, 5)],
            "changed since"
        );

        // A later window starts over on the row's grid; an earlier one is dropped.
        store
            .add_quota_usage(&[report(&a1, &quota, T + 2 * MINUTE + 500, 4)])
            .await
            .unwrap();
        assert_eq!(tallies(i64::MIN).await, [tally(T + 2 * MINUTE, 4)]);
        store
            .add_quota_usage(&[report(&a1, &quota, T, 9)])
            .await
            .unwrap();
        assert_eq!(tallies(i64::MIN).await, [tally(T + 2 * MINUTE, 4)]);

        // Several reports of one app in one call (a node's backlog after a failed exchange):
        // one window's calls add up, a later window wins.
        store
            .add_quota_usage(&[
                report(&a1, &quota, T + 2 * MINUTE, 1),
                report(&a1, &quota, T + 2 * MINUTE, 2),
            ])
            .await
            .unwrap();
        assert_eq!(tallies(i64::MIN).await, [tally(T + 2 * MINUTE, 7)]);
        store
            .add_quota_usage(&[
                report(&a1, &quota, T + 3 * MINUTE, 1),
                report(&a1, &quota, T + 2 * MINUTE, 5),
                report(&a1, &quota, T + 3 * MINUTE, 1),
            ])
            .await
            .unwrap();
        assert_eq!(tallies(i64::MIN).await, [tally(T + 3 * MINUTE, 2)]);

        // Unbinding drops the row, and so does deleting the app once bound again.
        store.unbind_app_quota(&scope, &quota, &a1).await.unwrap();
        assert!(tallies(i64::MIN).await.is_empty());
        store
            .bind_app_quota(&scope, &quota, std::slice::from_ref(&a1))
            .await
            .unwrap();
        store
            .add_quota_usage(&[report(&a1, &quota, T, 1)])
            .await
            .unwrap();
        assert_eq!(tallies(i64::MIN).await, [tally(T, 1)]);
        assert!(store.delete_app(&scope, &a1).await.unwrap());
        assert!(tallies(i64::MIN).await.is_empty());
    }

    #[tokio::test]
    async fn the_ledger_moves_with_an_installation_and_older_dumps_import_without_it() {
        let master = MasterKey::generate();
        let (_dir, store, scope, (a1, _), quota) = bound_app(&master).await;
        store
            .add_quota_usage(&[report(&a1, &quota, T, 4)])
            .await
            .unwrap();
        let mut dump = store.export().await.unwrap();

        let (_copy_dir, copy) = crate::test_db::open_store(&master).await;
        copy.import(&dump).await.unwrap();
        let rows = copy
            .quota_usage_since(&scope.instance_id, i64::MIN)
            .await
            .unwrap()
            .tallies;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].window_start_ms, rows[0].calls), (T, 4));

        // A dump of the version before the ledger has no such table.
        dump.tables.retain(|t| t.name != "app_quota_usage");
        let (_older_dir, older) = crate::test_db::open_store(&master).await;
        let summary = older.import(&dump).await.unwrap();
        assert!(summary.rows.contains(&("app_quota_usage".to_owned(), 0)));
        assert!(older
            .quota_usage_since(&scope.instance_id, i64::MIN)
            .await
            .unwrap()
            .tallies
            .is_empty());
    }
}
