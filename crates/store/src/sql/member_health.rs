//! [`MemberHealthStore`] in SQL, written for both backends.

use super::expr::{database_now_ms, json_rows, JsonColumn};
use super::{Backend, SqlStore};
use crate::member_health::{MemberHealthStore, ProbedServer};
use crate::StoreResult;
use apigw_domain::vpc_channel::MAX_MEMBERS_PER_CHANNEL;
use async_trait::async_trait;

/// Rows per insert statement: a full channel's servers, one JSON document of about 50 bytes
/// each.
const ROWS_PER_STATEMENT: usize = MAX_MEMBERS_PER_CHANNEL * 10;

/// The health a member's answer shows, as an SQL expression over member `m`: the lowest of
/// the live views (0 if some node finds it unhealthy, 1 if every node checking it finds it
/// healthy), NULL when no live node checks it.
pub(super) fn member_health_column(backend: Backend) -> String {
    format!(
        "(SELECT MIN(h.healthy) FROM vpc_member_health h \
         WHERE h.member_id = m.id AND h.expires_ms > {}) AS health",
        database_now_ms(backend)
    )
}

#[async_trait]
impl MemberHealthStore for SqlStore {
    async fn publish_member_health(
        &self,
        node_id: &str,
        servers: &[ProbedServer],
        ttl_ms: i64,
    ) -> StoreResult<()> {
        let insert = format!(
            "INSERT INTO vpc_member_health (node_id, member_id, healthy, expires_ms) \
             SELECT $1, r.m, r.h, {} + $2 FROM {}",
            database_now_ms(self.backend),
            json_rows(
                self.backend,
                "$3",
                &[JsonColumn::Text("m"), JsonColumn::BigInt("h")]
            )
        );
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM vpc_member_health WHERE node_id = $1")
            .bind(node_id)
            .execute(&mut *tx)
            .await?;
        for chunk in servers.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|s| serde_json::json!({"m": s.member_id, "h": i64::from(s.healthy)}))
                .collect();
            sqlx::query(&insert)
                .bind(node_id)
                .bind(ttl_ms)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn withdraw_member_health(&self, node_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM vpc_member_health WHERE node_id = $1")
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
    use crate::VpcChannelStore;
    use apigw_domain::vpc_channel::{ChannelInput, ServerHealth};
    use apigw_domain::Page;

    fn published(member_id: &str, healthy: bool) -> ProbedServer {
        ProbedServer {
            member_id: member_id.into(),
            healthy,
        }
    }

    #[tokio::test]
    async fn a_member_shows_the_worst_live_view_and_unknown_without_one() {
        let master = MasterKey::generate();
        let (_dir, store, scope) = crate::test_db::bootstrapped_store(&master).await;
        let body = serde_json::json!({"name": "pair", "port": 80, "balance_strategy": 1,
            "member_type": "ip", "members": [{"host": "10.0.0.1"}, {"host": "10.0.0.2"}]});
        let input = ChannelInput::parse(body.as_object().unwrap()).unwrap();
        let channel = store.create_vpc_channel(&scope, input).await.unwrap();
        let (one, two) = (&channel.members[0].id, &channel.members[1].id);
        let health = |c: &crate::vpc_channels::VpcChannel| -> Vec<ServerHealth> {
            c.members.iter().map(|m| m.health).collect()
        };
        assert_eq!(
            health(&channel),
            [ServerHealth::Unknown, ServerHealth::Unknown]
        );
        let minute = 60_000;
        store
            .publish_member_health("n1", &[published(one, true), published(two, true)], minute)
            .await
            .unwrap();
        store
            .publish_member_health("n2", &[published(one, false)], minute)
            .await
            .unwrap();
        let shown = store.get_vpc_channel(&scope, &channel.id).await.unwrap();
        assert_eq!(
            health(&shown),
            [ServerHealth::Unhealthy, ServerHealth::Healthy],
            "one node finding a server down is enough"
        );
        // A node's next view replaces its last; a withdrawn or expired view counts no more.
        store
            .publish_member_health("n2", &[published(one, true)], minute)
            .await
            .unwrap();
        let shown = store.get_vpc_channel(&scope, &channel.id).await.unwrap();
        assert_eq!(
            health(&shown),
            [ServerHealth::Healthy, ServerHealth::Healthy]
        );
        store
            .publish_member_health("n2", &[published(two, false)], -1)
            .await
            .unwrap();
        store.withdraw_member_health("n1").await.unwrap();
        let (_, listed) = store
            .list_vpc_members(
                &scope,
                &channel.id,
                &Default::default(),
                Page::parse(None, None).unwrap(),
            )
            .await
            .unwrap();
        let listed: Vec<ServerHealth> = listed.iter().map(|m| m.health).collect();
        assert_eq!(listed, [ServerHealth::Unknown, ServerHealth::Unknown]);
        // What the data plane reads carries no health.
        let in_force = store
            .vpc_channels_in_force(&scope.instance_id)
            .await
            .unwrap();
        assert!(in_force[0]
            .members
            .iter()
            .all(|m| m.health == ServerHealth::Unknown));
    }
}
