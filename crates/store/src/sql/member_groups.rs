//! SQL implementation of [`VpcMemberGroupStore`], and the group reads and writes the channel
//! calls share.

use super::*;
use crate::member_groups::{MemberGroupFilter, VpcMemberGroupStore};
use crate::vpc_channels::{VpcChannelError, VpcChannelResult, VpcMemberGroup};
use apigw_domain::member_group::{MemberGroupSpec, MAX_GROUPS_PER_CHANNEL};
use std::collections::HashMap;

/// The columns of a group (`g`).
const GROUP_COLUMNS: &str =
    "g.id, g.channel_id, g.name, g.remark, g.weight, g.dict_code, g.create_time, g.update_time";

fn group_from_row(row: &AnyRow) -> StoreResult<VpcMemberGroup> {
    let spec = MemberGroupSpec::from_stored(
        &row.try_get::<String, _>("name")?,
        row.try_get("remark")?,
        row.try_get("weight")?,
        row.try_get("dict_code")?,
    )
    .ok_or_else(|| StoreError::Corrupt("stored backend server group breaks the rules".into()))?;
    Ok(VpcMemberGroup {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        spec,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

impl SqlStore {
    /// The groups of channel `id`, oldest first.
    pub(super) async fn channel_groups(
        conn: &mut AnyConnection,
        id: &str,
    ) -> StoreResult<Vec<VpcMemberGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM vpc_member_groups g WHERE g.channel_id = $1 \
             ORDER BY g.create_time, g.id"
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
        rows.iter().map(group_from_row).collect()
    }

    /// Every group of instance `instance_id`, by channel (what the data plane reads).
    pub(super) async fn instance_groups(
        conn: &mut AnyConnection,
        instance_id: &str,
    ) -> StoreResult<Vec<VpcMemberGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM vpc_member_groups g WHERE g.instance_id = $1 \
             ORDER BY g.channel_id, g.create_time, g.id"
        );
        let rows = sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// The ids of channel `id`'s groups by name (how members name their group).
    pub(super) async fn group_ids(
        conn: &mut AnyConnection,
        id: &str,
    ) -> StoreResult<HashMap<String, String>> {
        let rows = sqlx::query("SELECT id, name FROM vpc_member_groups WHERE channel_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("id")?)))
            .collect()
    }

    /// Adds `groups` to channel `id`, or updates those whose name it has (keeping their ids
    /// and creation times). Refuses a channel that would end with more than its maximum.
    pub(super) async fn upsert_groups(
        conn: &mut AnyConnection,
        scope: &Scope,
        id: &str,
        groups: Vec<MemberGroupSpec>,
    ) -> VpcChannelResult<()> {
        let now = Timestamp::now().nanos();
        // Groups added together keep the order given (a nanosecond apart).
        for (i, g) in groups.into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO vpc_member_groups (id, instance_id, channel_id, name, remark, \
                 weight, dict_code, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (channel_id, name) DO UPDATE SET remark = excluded.remark, \
                 weight = excluded.weight, dict_code = excluded.dict_code, \
                 update_time = excluded.update_time",
            )
            .bind(new_id())
            .bind(&scope.instance_id)
            .bind(id)
            .bind(g.name.as_str())
            .bind(&g.remark)
            .bind(g.weight.map(i64::from))
            .bind(g.dict_code)
            .bind(now + i as i64)
            .execute(&mut *conn)
            .await?;
        }
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM vpc_member_groups WHERE channel_id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
        if count > MAX_GROUPS_PER_CHANNEL as i64 {
            return Err(VpcChannelError::GroupLimitReached);
        }
        Ok(())
    }

    /// Group `group_id` of channel `id` (in `scope`).
    async fn fetch_group(
        conn: &mut AnyConnection,
        scope: &Scope,
        id: &str,
        group_id: &str,
    ) -> VpcChannelResult<VpcMemberGroup> {
        Self::fetch_channel(&mut *conn, scope, id).await?;
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM vpc_member_groups g WHERE g.channel_id = $1 AND g.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(group_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| VpcChannelError::GroupNotFound(group_id.to_owned()))?;
        Ok(group_from_row(&row)?)
    }
}

#[async_trait]
impl VpcMemberGroupStore for SqlStore {
    async fn add_member_groups(
        &self,
        scope: &Scope,
        id: &str,
        groups: Vec<MemberGroupSpec>,
    ) -> VpcChannelResult<Vec<VpcMemberGroup>> {
        let mut tx = self.config_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        Self::upsert_groups(&mut tx, scope, id, groups).await?;
        let groups = Self::channel_groups(&mut tx, id).await?;
        tx.commit().await?;
        Ok(groups)
    }

    async fn list_member_groups(
        &self,
        scope: &Scope,
        id: &str,
        filter: &MemberGroupFilter,
        page: Page,
    ) -> VpcChannelResult<(i64, Vec<VpcMemberGroup>)> {
        let mut tx = self.read_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(" FROM vpc_member_groups g WHERE g.channel_id = ")
                .push_bind(id.to_owned());
            match (&filter.name, filter.name_exact) {
                (Some(n), true) => {
                    q.push(" AND g.name = ").push_bind(n.clone());
                }
                (Some(n), false) => {
                    q.push(" AND instr(g.name, ")
                        .push_bind(n.clone())
                        .push(") > 0");
                }
                (None, _) => {}
            }
            if let Some(code) = &filter.dict_code {
                q.push(" AND g.dict_code = ").push_bind(code.clone());
            }
        };
        let order = " ORDER BY g.create_time, g.id";
        Ok(read_page(tx, GROUP_COLUMNS, filtered, order, page, group_from_row).await?)
    }

    async fn get_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
    ) -> VpcChannelResult<VpcMemberGroup> {
        let mut tx = self.read_tx().await?;
        let group = Self::fetch_group(&mut tx, scope, id, group_id).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn update_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
        spec: MemberGroupSpec,
    ) -> VpcChannelResult<VpcMemberGroup> {
        let mut tx = self.config_tx().await?;
        Self::fetch_group(&mut tx, scope, id, group_id).await?;
        let taken = sqlx::query(
            "SELECT 1 FROM vpc_member_groups WHERE channel_id = $1 AND name = $2 AND id <> $3",
        )
        .bind(id)
        .bind(spec.name.as_str())
        .bind(group_id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(VpcChannelError::GroupNameExists);
        }
        sqlx::query(
            "UPDATE vpc_member_groups SET name = $1, remark = $2, weight = $3, dict_code = $4, \
             update_time = $5 WHERE id = $6",
        )
        .bind(spec.name.as_str())
        .bind(&spec.remark)
        .bind(spec.weight.map(i64::from))
        .bind(spec.dict_code)
        .bind(Timestamp::now().nanos())
        .bind(group_id)
        .execute(&mut *tx)
        .await?;
        let group = Self::fetch_group(&mut tx, scope, id, group_id).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn delete_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
    ) -> VpcChannelResult<()> {
        let mut tx = self.config_tx().await?;
        Self::fetch_group(&mut tx, scope, id, group_id).await?;
        // Explicit, not left to the foreign key: PostgreSQL and SQLite alike.
        sqlx::query("UPDATE vpc_members SET group_id = NULL WHERE group_id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM vpc_member_groups WHERE id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
