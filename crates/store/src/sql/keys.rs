//! The stock of activation keys (sealed, refused twice by a keyed fingerprint).

use super::*;
use domain::keys::KeyStock;

#[async_trait]
impl KeyStore for SqlStore {
    async fn add_keys(
        &self,
        product_id: &str,
        sku_id: &str,
        keys: &[NewKey],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        for (i, k) in keys.iter().enumerate() {
            let known = sqlx::query("SELECT 1 FROM activation_keys WHERE fingerprint = $1")
                .bind(&k.fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_some() {
                return Err(StoreError::Refused(domain::DomainError::Conflict(format!(
                    "keys[{i}] is already in stock or sold; nothing was added"
                ))));
            }
            let inserted = sqlx::query(
                "INSERT INTO activation_keys (id, product_id, sku_id, fingerprint, sealed, software_item_id, added_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(k.id.to_string())
            .bind(product_id)
            .bind(sku_id)
            .bind(&k.fingerprint)
            .bind(k.sealed.clone())
            .bind(now.micros())
            .execute(&mut *tx)
            .await;
            // A concurrent import may commit the same key between the check and the insert.
            unless_unique(inserted, || {
                StoreError::Refused(domain::DomainError::Conflict(format!(
                    "keys[{i}] is already in stock or sold; nothing was added"
                )))
            })?;
        }
        let row = sqlx::query(
            "SELECT COUNT(*) FROM activation_keys WHERE product_id = $1 AND sku_id = $2 AND software_item_id IS NULL",
        )
        .bind(product_id)
        .bind(sku_id)
        .fetch_one(&mut *tx)
        .await?;
        let available: i64 = row.try_get(0)?;
        // Refilled above its threshold: no longer low, and the next crossing is recorded again.
        sqlx::query(
            "UPDATE key_thresholds SET low_since = NULL WHERE product_id = $1 AND sku_id = $2 \
             AND low_since IS NOT NULL AND threshold < $3",
        )
        .bind(product_id)
        .bind(sku_id)
        .bind(available)
        .execute(&mut *tx)
        .await?;
        self.commit_operator(tx, effects).await?;
        Ok(available)
    }

    async fn key_stock(&self, product_id: &str, sku_id: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM activation_keys WHERE product_id = $1 AND sku_id = $2 AND software_item_id IS NULL",
        )
        .bind(product_id)
        .bind(sku_id)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn key_stock_levels(&self) -> StoreResult<Vec<KeyStock>> {
        let mut tx = self.read.begin().await?;
        let counts = sqlx::query(
            "SELECT k.product_id, k.sku_id, \
             SUM(CASE WHEN k.software_item_id IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN i.status = 'active' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN i.status = 'cancelled' THEN 1 ELSE 0 END) \
             FROM activation_keys k LEFT JOIN software_items i ON i.id = k.software_item_id \
             GROUP BY k.product_id, k.sku_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let thresholds = sqlx::query("SELECT product_id, sku_id, threshold, low_since FROM key_thresholds")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut levels: Vec<KeyStock> = Vec::with_capacity(counts.len());
        for row in &counts {
            let mut level = KeyStock::empty(&row.try_get::<String, _>(0)?, &row.try_get::<String, _>(1)?);
            // SUM over no rows (or of a dialect's decimal) reads as NULL or a wider type on some drivers.
            level.in_stock = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
            level.assigned = row.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
            level.revoked = row.try_get::<Option<i64>, _>(4)?.unwrap_or(0);
            levels.push(level);
        }
        for row in &thresholds {
            let (product, sku): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let i = match levels.iter().position(|l| l.product_id == product && l.sku_id == sku) {
                Some(i) => i,
                None => {
                    levels.push(KeyStock::empty(&product, &sku));
                    levels.len() - 1
                }
            };
            levels[i].threshold = Some(row.try_get(2)?);
            levels[i].low_since = row.try_get::<Option<i64>, _>(3)?.map(Timestamp::from_micros);
        }
        levels.sort_by(|a, b| (&a.product_id, &a.sku_id).cmp(&(&b.product_id, &b.sku_id)));
        Ok(levels)
    }

    async fn low_key_stock(&self) -> StoreResult<Vec<KeyStock>> {
        let mut tx = self.read.begin().await?;
        let rows = sqlx::query(
            "SELECT product_id, sku_id, threshold, low_since FROM key_thresholds WHERE low_since IS NOT NULL \
             ORDER BY product_id, sku_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut low = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut level = KeyStock::empty(&row.try_get::<String, _>(0)?, &row.try_get::<String, _>(1)?);
            let threshold: i64 = row.try_get(2)?;
            // At most threshold + 1 keys of the stock index are read: exact while the SKU is low.
            let count = sqlx::query(&free_keys_sql(threshold))
                .bind(&level.product_id)
                .bind(&level.sku_id)
                .fetch_one(&mut *tx)
                .await?;
            level.in_stock = count.try_get(0)?;
            level.threshold = Some(threshold);
            level.low_since = row.try_get::<Option<i64>, _>(3)?.map(Timestamp::from_micros);
            low.push(level);
        }
        tx.commit().await?;
        Ok(low)
    }

    async fn set_key_threshold(
        &self,
        product_id: &str,
        sku_id: &str,
        threshold: Option<i64>,
        now: Timestamp,
        mut effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let Some(threshold) = threshold else {
            sqlx::query("DELETE FROM key_thresholds WHERE product_id = $1 AND sku_id = $2")
                .bind(product_id)
                .bind(sku_id)
                .execute(&mut *tx)
                .await?;
            return self.commit_operator(tx, effects).await;
        };
        sqlx::query(
            "INSERT INTO key_thresholds (product_id, sku_id, threshold, low_since) VALUES ($1, $2, $3, NULL) \
             ON CONFLICT (product_id, sku_id) DO UPDATE SET threshold = $3",
        )
        .bind(product_id)
        .bind(sku_id)
        .bind(threshold)
        .execute(&mut *tx)
        .await?;
        let in_stock = free_keys_up_to(&mut tx, product_id, sku_id, threshold).await?;
        if domain::keys::is_low(in_stock, threshold) {
            if let Some(record) = mark_low(&mut tx, product_id, sku_id, in_stock, threshold, now, None).await? {
                effects.operator.push(record);
            }
        } else {
            sqlx::query("UPDATE key_thresholds SET low_since = NULL WHERE product_id = $1 AND sku_id = $2")
                .bind(product_id)
                .bind(sku_id)
                .execute(&mut *tx)
                .await?;
        }
        self.commit_operator(tx, effects).await
    }
}

/// The SKU's free keys, counted up to `threshold + 1` (enough to tell low from not; the stock index's range is
/// read that far at most).
async fn free_keys_up_to(tx: &mut Tx, product_id: &str, sku_id: &str, threshold: i64) -> StoreResult<i64> {
    let row = sqlx::query(&free_keys_sql(threshold)).bind(product_id).bind(sku_id).fetch_one(&mut **tx).await?;
    Ok(row.try_get(0)?)
}

/// Counts a SKU's free keys (`$1`, `$2`) up to `threshold + 1`.
fn free_keys_sql(threshold: i64) -> String {
    format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM activation_keys WHERE product_id = $1 AND sku_id = $2 \
         AND software_item_id IS NULL LIMIT {}) free",
        threshold.clamp(0, domain::keys::MAX_THRESHOLD) + 1
    )
}

/// Records a crossing once: `low_since` is set only where it was not (a concurrent writer that set it first wins,
/// PostgreSQL re-checking the condition after the row lock), and only then is there a `key_stock_low` record.
async fn mark_low(
    tx: &mut Tx,
    product_id: &str,
    sku_id: &str,
    in_stock: i64,
    threshold: i64,
    now: Timestamp,
    partner: Option<PartnerId>,
) -> StoreResult<Option<domain::operator::NewOperatorRecord>> {
    let marked = sqlx::query(
        "UPDATE key_thresholds SET low_since = $3 WHERE product_id = $1 AND sku_id = $2 AND low_since IS NULL",
    )
    .bind(product_id)
    .bind(sku_id)
    .bind(now.micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((marked == 1).then(|| domain::keys::stock_low_record(product_id, sku_id, in_stock, threshold, now, partner)))
}

/// After a checkout took keys of these SKUs: each SKU with a threshold, not low yet, whose stock is now at or
/// below it, is marked low with a `key_stock_low` record. One indexed read per SKU when it has no threshold.
pub(super) async fn watch_stock(
    tx: &mut Tx,
    skus: &[(&str, &str)],
    now: Timestamp,
    partner: PartnerId,
) -> StoreResult<Vec<domain::operator::NewOperatorRecord>> {
    let mut records = Vec::new();
    for (product_id, sku_id) in skus {
        let row = sqlx::query(
            "SELECT threshold FROM key_thresholds WHERE product_id = $1 AND sku_id = $2 AND low_since IS NULL",
        )
        .bind(*product_id)
        .bind(*sku_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { continue };
        let threshold: i64 = row.try_get(0)?;
        let in_stock = free_keys_up_to(tx, product_id, sku_id, threshold).await?;
        if domain::keys::is_low(in_stock, threshold) {
            records.extend(mark_low(tx, product_id, sku_id, in_stock, threshold, now, Some(partner)).await?);
        }
    }
    Ok(records)
}
