//! The stock of activation keys (sealed, refused twice by a keyed fingerprint).

use super::*;

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
}
