//! SQL implementation of [`VpcChannelStore`]: VPC channels and their members.

use super::bindings::push_policy_name_filter;
use super::member_health::member_health_column;
use super::*;
use crate::vpc_channels::*;
use apigw_domain::member_group::GroupName;
use apigw_domain::vpc_channel::{
    ChannelInput, ChannelSpec, HealthCheck, MemberSpec, MemberType, ServerHealth,
    MAX_CHANNELS_PER_INSTANCE, MAX_MEMBERS_PER_CHANNEL,
};
use sqlx::Column;

/// The columns of a channel (`c`).
const CHANNEL_COLUMNS: &str = "c.id, c.name, c.port, c.balance_strategy, c.member_type, \
     c.settings, c.create_time, c.update_time";

/// The columns of a member (`m`) with its channel's member type and its group's name.
const MEMBER_COLUMNS: &str = "m.id, m.channel_id, m.host, m.port, m.weight, m.is_backup, \
     m.status, m.ecs_id, m.ecs_name, m.create_time, m.group_id, g.name AS group_name, \
     c.member_type";

/// What [`MEMBER_COLUMNS`] are selected from.
const MEMBERS_FROM: &str = "vpc_members m JOIN vpc_channels c ON c.id = m.channel_id \
     LEFT JOIN vpc_member_groups g ON g.id = m.group_id";

/// [`MEMBER_COLUMNS`] and the member's health as the live nodes' checks see it (`health`),
/// for the management API's answers.
fn member_columns_with_health(backend: Backend) -> String {
    format!("{MEMBER_COLUMNS}, {}", member_health_column(backend))
}

/// Which members not given a member write removes.
#[derive(Clone, Copy)]
enum Replace<'a> {
    /// None (an add).
    Nothing,
    /// Every other member of the channel.
    Every,
    /// The other members of this group.
    Group(&'a GroupName),
}

/// The text an API definition holds when its backend is channel `id` (definitions are stored
/// as compact JSON): how the store finds the APIs that use a channel.
fn channel_reference(id: &str) -> String {
    format!("\"vpc_channel_id\":\"{id}\"")
}

fn channel_from_row(row: &AnyRow) -> StoreResult<VpcChannel> {
    let corrupt = || StoreError::Corrupt("stored VPC channel breaks the rules".into());
    let spec = ChannelSpec::from_stored(
        row.try_get("name")?,
        row.try_get("port")?,
        row.try_get("balance_strategy")?,
        &row.try_get::<String, _>("member_type")?,
        &row.try_get::<String, _>("settings")?,
    )
    .ok_or_else(corrupt)?;
    Ok(VpcChannel {
        id: row.try_get("id")?,
        spec,
        members: Vec::new(),
        groups: Vec::new(),
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

fn member_from_row(row: &AnyRow) -> StoreResult<VpcMember> {
    let corrupt = || StoreError::Corrupt("stored VPC channel member breaks the rules".into());
    let member_type = MemberType::from_wire(&row.try_get::<String, _>("member_type")?);
    let spec = MemberSpec::from_stored(
        &row.try_get::<String, _>("host")?,
        row.try_get("port")?,
        row.try_get("weight")?,
        (
            row.try_get::<i64, _>("is_backup")? != 0,
            row.try_get::<i64, _>("status")? == 1,
        ),
        (row.try_get("ecs_id")?, row.try_get("ecs_name")?),
        member_type.ok_or_else(corrupt)?,
        row.try_get::<Option<String>, _>("group_name")?.as_deref(),
    )
    .ok_or_else(corrupt)?;
    // Only the management API's reads ask for the health (see `member_columns_with_health`).
    let asked = row.columns().iter().any(|c| c.name() == "health");
    let health = match asked
        .then(|| row.try_get::<Option<i64>, _>("health"))
        .transpose()?
    {
        Some(Some(0)) => ServerHealth::Unhealthy,
        Some(Some(_)) => ServerHealth::Healthy,
        Some(None) | None => ServerHealth::Unknown,
    };
    Ok(VpcMember {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        spec,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        health,
        group_id: row.try_get("group_id")?,
    })
}

impl SqlStore {
    /// Channel `id` in `scope`, without its members.
    pub(super) async fn fetch_channel(
        conn: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> VpcChannelResult<VpcChannel> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM vpc_channels c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = $1 AND c.instance_id = $2 AND c.id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| VpcChannelError::NotFound(id.to_owned()))?;
        Ok(channel_from_row(&row)?)
    }

    /// The members of channel `id`, oldest first.
    async fn channel_members(
        conn: &mut AnyConnection,
        backend: Backend,
        id: &str,
    ) -> StoreResult<Vec<VpcMember>> {
        let sql = format!(
            "SELECT {} FROM {MEMBERS_FROM} \
             WHERE m.channel_id = $1 ORDER BY m.create_time, m.id",
            member_columns_with_health(backend)
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Reads `channel`'s members and groups into it.
    async fn fill(
        conn: &mut AnyConnection,
        backend: Backend,
        channel: &mut VpcChannel,
    ) -> StoreResult<()> {
        channel.members = Self::channel_members(&mut *conn, backend, &channel.id).await?;
        channel.groups = Self::channel_groups(&mut *conn, &channel.id).await?;
        Ok(())
    }

    /// Adds `members` to channel `id` or updates the existing ones with their identity
    /// (keeping their ids and times), removing the members `replace` says; only the members
    /// of its group when it names one. Refuses a channel that would end with more than its
    /// maximum.
    async fn upsert_members(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
        mut members: Vec<MemberSpec>,
        replace: Replace<'_>,
    ) -> VpcChannelResult<()> {
        let group_ids = Self::group_ids(&mut *tx, id).await?;
        let removed = match replace {
            Replace::Nothing => None,
            Replace::Every => Some(None),
            Replace::Group(name) => {
                let group_id = group_ids
                    .get(name.as_str())
                    .ok_or_else(|| VpcChannelError::GroupNotFound(name.as_str().to_owned()))?;
                // APIG's rule: the members of other groups given are ignored.
                members.retain(|m| m.group.as_ref() == Some(name));
                Some(Some(group_id))
            }
        };
        if let Some(group_id) = removed {
            let mut q = QueryBuilder::new("DELETE FROM vpc_members WHERE channel_id = ");
            q.push_bind(id.to_owned());
            if let Some(group_id) = group_id {
                q.push(" AND group_id = ").push_bind(group_id.clone());
            }
            for m in &members {
                q.push(" AND identity <> ")
                    .push_bind(m.identity().to_owned());
            }
            q.build().execute(&mut *tx).await?;
        }
        let now = Timestamp::now().nanos();
        // Members added together keep the order given (a nanosecond apart).
        for (i, m) in members.into_iter().enumerate() {
            let group_id = match &m.group {
                Some(name) => Some(
                    group_ids
                        .get(name.as_str())
                        .ok_or(VpcChannelError::UnknownGroup(i))?,
                ),
                None => None,
            };
            let (ecs_id, ecs_name) = m.ecs.clone().unwrap_or_default();
            // One statement for both cases: an existing identity keeps its id and time.
            sqlx::query(
                "INSERT INTO vpc_members (id, instance_id, channel_id, identity, host, port, \
                 weight, is_backup, status, ecs_id, ecs_name, create_time, group_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (channel_id, identity) DO UPDATE SET host = excluded.host, \
                 port = excluded.port, weight = excluded.weight, is_backup = excluded.is_backup, \
                 status = excluded.status, ecs_id = excluded.ecs_id, ecs_name = excluded.ecs_name, \
                 group_id = excluded.group_id",
            )
            .bind(new_id())
            .bind(&scope.instance_id)
            .bind(id)
            .bind(m.identity())
            .bind(&m.host)
            .bind(i64::from(m.port.unwrap_or(0)))
            .bind(i64::from(m.weight))
            .bind(i64::from(m.is_backup))
            .bind(if m.enabled { 1_i64 } else { 2 })
            .bind(ecs_id)
            .bind(ecs_name)
            .bind(now + i as i64)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM vpc_members WHERE channel_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count > MAX_MEMBERS_PER_CHANNEL as i64 {
            return Err(VpcChannelError::MemberLimitReached);
        }
        Ok(())
    }

    /// Whether an API of the instance names channel `id`: its definition, where it is
    /// published, or a version kept to roll back to.
    async fn channel_in_use(tx: &mut AnyConnection, scope: &Scope, id: &str) -> StoreResult<bool> {
        super::apis::definitions_mention(tx, &scope.instance_id, &channel_reference(id)).await
    }

    /// Whether channel `id` is in `scope` (for the APIs that name it).
    pub(super) async fn channel_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM vpc_channels WHERE instance_id = $1 AND id = $2")
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(row.is_some())
    }

    async fn write_channel_settings(
        tx: &mut AnyConnection,
        id: &str,
        spec: &ChannelSpec,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE vpc_channels SET name = $1, port = $2, balance_strategy = $3, \
             member_type = $4, settings = $5, update_time = $6 WHERE id = $7",
        )
        .bind(&spec.name)
        .bind(i64::from(spec.port))
        .bind(spec.balance_strategy.code())
        .bind(spec.member_type.as_str())
        .bind(spec.to_stored())
        .bind(now.nanos())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl VpcChannelStore for SqlStore {
    async fn create_vpc_channel(
        &self,
        scope: &Scope,
        input: ChannelInput,
    ) -> VpcChannelResult<VpcChannel> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "vpc_channels", scope, &input.spec.name, "")
            .await?
        {
            return Err(VpcChannelError::NameExists);
        }
        if Self::rows_in_instance(&mut tx, "vpc_channels", scope).await?
            >= MAX_CHANNELS_PER_INSTANCE as i64
        {
            return Err(VpcChannelError::LimitReached);
        }
        let id = new_id();
        let now = Timestamp::now();
        let spec = &input.spec;
        sqlx::query(
            "INSERT INTO vpc_channels (id, instance_id, name, port, balance_strategy, \
             member_type, settings, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&scope.instance_id)
        .bind(&spec.name)
        .bind(i64::from(spec.port))
        .bind(spec.balance_strategy.code())
        .bind(spec.member_type.as_str())
        .bind(spec.to_stored())
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        Self::upsert_groups(&mut tx, scope, &id, input.groups).await?;
        Self::upsert_members(&mut tx, scope, &id, input.members, Replace::Every).await?;
        let mut channel = Self::fetch_channel(&mut tx, scope, &id).await?;
        Self::fill(&mut tx, self.backend, &mut channel).await?;
        tx.commit().await?;
        Ok(channel)
    }

    async fn update_vpc_channel(
        &self,
        scope: &Scope,
        id: &str,
        input: ChannelInput,
    ) -> VpcChannelResult<VpcChannel> {
        let mut tx = self.config_tx().await?;
        let previous = Self::fetch_channel(&mut tx, scope, id).await?;
        if Self::name_taken_in_instance(&mut tx, "vpc_channels", scope, &input.spec.name, id)
            .await?
        {
            return Err(VpcChannelError::NameExists);
        }
        let now = Timestamp::now();
        if previous.spec.member_type != input.spec.member_type {
            // Members of one type are no members of the other.
            sqlx::query("DELETE FROM vpc_members WHERE channel_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Self::write_channel_settings(&mut tx, id, &input.spec, now).await?;
        Self::upsert_groups(&mut tx, scope, id, input.groups).await?;
        Self::upsert_members(&mut tx, scope, id, input.members, Replace::Every).await?;
        let mut channel = Self::fetch_channel(&mut tx, scope, id).await?;
        Self::fill(&mut tx, self.backend, &mut channel).await?;
        tx.commit().await?;
        Ok(channel)
    }

    async fn get_vpc_channel(&self, scope: &Scope, id: &str) -> VpcChannelResult<VpcChannel> {
        let mut tx = self.read_tx().await?;
        let mut channel = Self::fetch_channel(&mut tx, scope, id).await?;
        Self::fill(&mut tx, self.backend, &mut channel).await?;
        tx.commit().await?;
        Ok(channel)
    }

    async fn list_vpc_channels(
        &self,
        scope: &Scope,
        filter: &VpcChannelFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<VpcChannel>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM vpc_channels c JOIN instances i ON i.id = c.instance_id \
                 WHERE i.project_id = ",
            )
            .push_bind(scope.project_id.clone())
            .push(" AND c.instance_id = ")
            .push_bind(scope.instance_id.clone());
            let (id, name) = (filter.id.as_ref(), filter.name.as_ref());
            push_policy_name_filter(q, "c", id, name, filter.name_exact);
            if let Some(code) = &filter.dict_code {
                q.push(" AND instr(c.settings, ")
                    .push_bind(format!("\"dict_code\":{}", serde_json::json!(code)))
                    .push(") > 0");
            }
            if filter.member_host.is_some() || filter.member_port.is_some() {
                q.push(" AND EXISTS (SELECT 1 FROM vpc_members m WHERE m.channel_id = c.id");
                if let Some(host) = &filter.member_host {
                    q.push(" AND m.host = ")
                        .push_bind(host.to_ascii_lowercase());
                }
                if let Some(port) = filter.member_port {
                    let port = i64::from(port);
                    q.push(" AND (m.port = ")
                        .push_bind(port)
                        .push(" OR (m.port = 0 AND c.port = ")
                        .push_bind(port)
                        .push("))");
                }
                q.push(")");
            }
            if filter.group_name.is_some() || filter.group_id.is_some() {
                q.push(" AND EXISTS (SELECT 1 FROM vpc_member_groups g WHERE g.channel_id = c.id");
                if let Some(name) = &filter.group_name {
                    q.push(" AND g.name = ").push_bind(name.clone());
                }
                if let Some(id) = &filter.group_id {
                    q.push(" AND g.id = ").push_bind(id.clone());
                }
                q.push(")");
            }
        };
        let tx = self.read_tx().await?;
        let order = " ORDER BY c.create_time DESC, c.id";
        read_page(tx, CHANNEL_COLUMNS, filtered, order, page, channel_from_row).await
    }

    async fn delete_vpc_channel(&self, scope: &Scope, id: &str) -> VpcChannelResult<()> {
        let mut tx = self.config_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        if Self::channel_in_use(&mut tx, scope, id).await? {
            return Err(VpcChannelError::InUse);
        }
        sqlx::query("DELETE FROM vpc_members WHERE channel_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM vpc_channels WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        members: Vec<MemberSpec>,
    ) -> VpcChannelResult<Vec<VpcMember>> {
        self.change_members(scope, id, members, Replace::Nothing)
            .await
    }

    async fn replace_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        members: Vec<MemberSpec>,
        within: Option<&GroupName>,
    ) -> VpcChannelResult<Vec<VpcMember>> {
        let replace = within.map_or(Replace::Every, Replace::Group);
        self.change_members(scope, id, members, replace).await
    }

    async fn list_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        filter: &VpcMemberFilter,
        page: Page,
    ) -> VpcChannelResult<(i64, Vec<VpcMember>)> {
        let mut tx = self.read_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(format!(" FROM {MEMBERS_FROM} WHERE m.channel_id = "))
                .push_bind(id.to_owned());
            // An `ip` member's name is its host (APIG shows it as its `ecs_name`).
            let name = "CASE WHEN c.member_type = 'ip' THEN m.host ELSE m.ecs_name END";
            match (&filter.name, filter.name_exact) {
                (Some(n), true) => {
                    q.push(format!(" AND {name} = ")).push_bind(n.clone());
                }
                (Some(n), false) => {
                    q.push(format!(" AND instr({name}, "))
                        .push_bind(n.clone())
                        .push(") > 0");
                }
                (None, _) => {}
            }
            if let Some(group) = &filter.group_name {
                q.push(" AND g.name = ").push_bind(group.clone());
            }
            if let Some(group) = &filter.group_id {
                q.push(" AND m.group_id = ").push_bind(group.clone());
            }
        };
        let order = " ORDER BY m.create_time, m.id";
        let columns = member_columns_with_health(self.backend);
        Ok(read_page(tx, &columns, filtered, order, page, member_from_row).await?)
    }

    async fn delete_vpc_member(
        &self,
        scope: &Scope,
        id: &str,
        member_id: &str,
    ) -> VpcChannelResult<()> {
        let mut tx = self.config_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        let deleted = sqlx::query("DELETE FROM vpc_members WHERE channel_id = $1 AND id = $2")
            .bind(id)
            .bind(member_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(VpcChannelError::MemberNotFound(member_id.to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_vpc_members_enabled(
        &self,
        scope: &Scope,
        id: &str,
        member_ids: &[String],
        enabled: bool,
    ) -> VpcChannelResult<()> {
        let mut tx = self.config_tx().await?;
        Self::fetch_channel(&mut tx, scope, id).await?;
        for member_id in member_ids {
            let changed =
                sqlx::query("UPDATE vpc_members SET status = $1 WHERE channel_id = $2 AND id = $3")
                    .bind(if enabled { 1_i64 } else { 2 })
                    .bind(id)
                    .bind(member_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if changed == 0 {
                return Err(VpcChannelError::MemberNotFound(member_id.clone()));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_vpc_health_check(
        &self,
        scope: &Scope,
        id: &str,
        health: HealthCheck,
    ) -> VpcChannelResult<VpcChannel> {
        let mut tx = self.config_tx().await?;
        let mut channel = Self::fetch_channel(&mut tx, scope, id).await?;
        channel.spec.health = Some(health);
        let now = Timestamp::now();
        Self::write_channel_settings(&mut tx, id, &channel.spec, now).await?;
        Self::fill(&mut tx, self.backend, &mut channel).await?;
        tx.commit().await?;
        channel.update_time = now;
        Ok(channel)
    }

    async fn vpc_channels_in_force(&self, instance_id: &str) -> StoreResult<Vec<VpcChannel>> {
        let mut conn = self.reader.acquire().await?;
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM vpc_channels c WHERE c.instance_id = $1 ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut channels = rows
            .iter()
            .map(channel_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM {MEMBERS_FROM} \
             WHERE c.instance_id = $1 ORDER BY m.channel_id, m.create_time, m.id"
        );
        let rows = sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let member = member_from_row(row)?;
            if let Some(c) = channels.iter_mut().find(|c| c.id == member.channel_id) {
                c.members.push(member);
            }
        }
        for group in Self::instance_groups(&mut conn, instance_id).await? {
            if let Some(c) = channels.iter_mut().find(|c| c.id == group.channel_id) {
                c.groups.push(group);
            }
        }
        Ok(channels)
    }
}

impl SqlStore {
    /// [`VpcChannelStore::add_vpc_members`] and [`VpcChannelStore::replace_vpc_members`].
    async fn change_members(
        &self,
        scope: &Scope,
        id: &str,
        members: Vec<MemberSpec>,
        replace: Replace<'_>,
    ) -> VpcChannelResult<Vec<VpcMember>> {
        let mut tx = self.config_tx().await?;
        let channel = Self::fetch_channel(&mut tx, scope, id).await?;
        if members
            .iter()
            .any(|m| m.ecs.is_some() != (channel.spec.member_type == MemberType::Ecs))
        {
            return Err(VpcChannelError::MemberTypeChanged);
        }
        Self::upsert_members(&mut tx, scope, id, members, replace).await?;
        let members = Self::channel_members(&mut tx, self.backend, id).await?;
        tx.commit().await?;
        Ok(members)
    }
}
