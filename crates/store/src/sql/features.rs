//! Gateway features of instances.

use super::*;
use crate::features::{FeatureStore, InstanceFeature};
use apigw_domain::FeatureSetting;

#[async_trait]
impl FeatureStore for SqlStore {
    async fn set_feature(
        &self,
        scope: &Scope,
        setting: FeatureSetting,
    ) -> StoreResult<InstanceFeature> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let now = Timestamp::now();
        let row = sqlx::query(
            "INSERT INTO instance_features (id, instance_id, name, enable, config, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (instance_id, name) DO UPDATE SET \
             enable = excluded.enable, config = excluded.config, update_time = excluded.update_time \
             RETURNING *",
        )
        .bind(new_id())
        .bind(&scope.instance_id)
        .bind(setting.name().as_str())
        .bind(i64::from(setting.enable()))
        .bind(setting.config())
        .bind(now.nanos())
        .fetch_one(&mut *tx)
        .await?;
        let feature = feature_from_row(&row)?;
        tx.commit().await?;
        Ok(feature)
    }

    async fn list_features(
        &self,
        scope: &Scope,
        page: Page,
    ) -> StoreResult<(i64, Vec<InstanceFeature>)> {
        let mut tx = self.read_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let total: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM instance_features WHERE instance_id = $1")
                .bind(&scope.instance_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let items = sqlx::query(
            "SELECT * FROM instance_features WHERE instance_id = $1 ORDER BY name LIMIT $2 OFFSET $3",
        )
        .bind(&scope.instance_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(feature_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok((total, items))
    }

    async fn instance_features(&self, instance_id: &str) -> StoreResult<Vec<InstanceFeature>> {
        sqlx::query("SELECT * FROM instance_features WHERE instance_id = $1 ORDER BY name")
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(feature_from_row)
            .collect()
    }
}

/// A stored feature, parsed again by the domain's rules (a row that breaks them is corrupt).
fn feature_from_row(row: &AnyRow) -> StoreResult<InstanceFeature> {
    let name: String = row.try_get("name")?;
    let enable: i64 = row.try_get("enable")?;
    let config: String = row.try_get("config")?;
    let setting = FeatureSetting::parse(&name, enable != 0, Some(&config))
        .map_err(|e| StoreError::Corrupt(format!("feature {name}: {}", e.message)))?;
    Ok(InstanceFeature {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        setting,
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}
