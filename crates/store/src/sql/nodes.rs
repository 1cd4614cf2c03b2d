//! [`GatewayNodeStore`] in SQL, written for both backends.

use super::expr::database_now_ms;
use super::SqlStore;
use crate::nodes::GatewayNodeStore;
use crate::StoreResult;
use async_trait::async_trait;

#[async_trait]
impl GatewayNodeStore for SqlStore {
    async fn gateway_node_seen(
        &self,
        node_id: &str,
        instance_id: &str,
        expiry_ms: i64,
    ) -> StoreResult<u32> {
        let now = database_now_ms(self.backend);
        let mut tx = self.writer.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO gateway_nodes (node_id, instance_id, seen_ms) VALUES ($1, $2, {now}) \
             ON CONFLICT (node_id) DO UPDATE SET instance_id = excluded.instance_id, \
             seen_ms = excluded.seen_ms"
        ))
        .bind(node_id)
        .bind(instance_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM gateway_nodes WHERE instance_id = $1 AND seen_ms < {now} - $2"
        ))
        .bind(instance_id)
        .bind(expiry_ms)
        .execute(&mut *tx)
        .await?;
        let live: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM gateway_nodes WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(u32::try_from(live).unwrap_or(u32::MAX).max(1))
    }

    async fn gateway_node_gone(&self, node_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM gateway_nodes WHERE node_id = $1")
            .bind(node_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    #[tokio::test]
    async fn nodes_are_counted_per_instance_until_gone_or_expired() {
        let master = MasterKey::generate();
        let (_dir, store, scope) = crate::test_db::bootstrapped_store(&master).await;
        let instance = scope.instance_id.as_str();
        let day = 86_400_000;
        assert_eq!(
            store.gateway_node_seen("n1", instance, day).await.unwrap(),
            1
        );
        assert_eq!(
            store.gateway_node_seen("n2", instance, day).await.unwrap(),
            2
        );
        assert_eq!(
            store.gateway_node_seen("n1", instance, day).await.unwrap(),
            2
        );
        store.gateway_node_gone("n2").await.unwrap();
        assert_eq!(
            store.gateway_node_seen("n1", instance, day).await.unwrap(),
            1
        );
        // A node not seen within the expiry is forgotten by the next announcement.
        assert_eq!(
            store.gateway_node_seen("n3", instance, day).await.unwrap(),
            2
        );
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert_eq!(
            store.gateway_node_seen("n1", instance, 10).await.unwrap(),
            1
        );
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gateway_nodes")
            .fetch_one(&store.reader)
            .await
            .unwrap();
        assert_eq!(left, 1, "the expired node's row is gone");
    }
}
