//! Markets, the catalog (products, SKUs, prices) and R1's type availability.

use super::*;
use domain::catalog::availability_id;

/// Writes the products with their SKUs and prices (each product's SKUs and prices replaced whole).
async fn write_catalog(tx: &mut Tx, products: &[Product], now: Timestamp) -> StoreResult<CatalogCounts> {
    let mut counts = CatalogCounts::default();
    for p in products {
        sqlx::query(
            "INSERT INTO products (id, title, publisher_name, product_type, policy_kind, policy_days, \
             available_markets, unavailable_markets, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET title = $2, publisher_name = $3, product_type = $4, policy_kind = $5, \
             policy_days = $6, available_markets = $7, unavailable_markets = $8, updated_at = $9",
        )
        .bind(&p.id)
        .bind(&p.title)
        .bind(&p.publisher_name)
        .bind(p.product_type.as_str())
        .bind(p.policy.kind())
        .bind(p.policy.window_days().map(i64::from))
        .bind(markets_text(&p.available_markets))
        .bind(markets_text(&p.unavailable_markets))
        .bind(now.micros())
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM prices WHERE product_id = $1").bind(&p.id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM skus WHERE product_id = $1").bind(&p.id).execute(&mut **tx).await?;
        counts.products += 1;
        for (position, sku) in p.skus.iter().enumerate() {
            sqlx::query("INSERT INTO skus (product_id, id, position, title, term) VALUES ($1, $2, $3, $4, $5)")
                .bind(&p.id)
                .bind(&sku.id)
                .bind(position as i64)
                .bind(&sku.title)
                .bind(sku.term.map(|t| t.as_str().to_string()))
                .execute(&mut **tx)
                .await?;
            counts.skus += 1;
            for price in &sku.prices {
                sqlx::query(
                    "INSERT INTO prices (product_id, sku_id, country, availability_id, currency_code, scale, \
                     list_price_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&p.id)
                .bind(&sku.id)
                .bind(price.country.as_str())
                .bind(availability_id(&p.id, &sku.id, price.country))
                .bind(&price.currency)
                .bind(price.list_price.scale as i64)
                .bind(price.list_price.minor)
                .execute(&mut **tx)
                .await?;
                counts.prices += 1;
            }
        }
    }
    Ok(counts)
}

#[async_trait]
impl CatalogStore for SqlStore {
    async fn list_markets(&self) -> StoreResult<Vec<Market>> {
        sqlx::query("SELECT country, currency_code, minor_units, tax_rate, tax_inclusive FROM markets ORDER BY country")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(market_from)
            .collect()
    }

    async fn get_market(&self, code: MarketCode) -> StoreResult<Option<Market>> {
        let row = sqlx::query(
            "SELECT country, currency_code, minor_units, tax_rate, tax_inclusive FROM markets WHERE country = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(market_from).transpose()
    }

    async fn put_market(
        &self,
        code: MarketCode,
        u: &MarketUpdate,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Market> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO markets (country, currency_code, minor_units, tax_rate, tax_inclusive, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (country) DO UPDATE SET currency_code = $2, \
             minor_units = $3, tax_rate = $4, tax_inclusive = $5, updated_at = $6 \
             RETURNING country, currency_code, minor_units, tax_rate, tax_inclusive",
        )
        .bind(code.as_str())
        .bind(&u.currency_code)
        .bind(u.minor_units as i64)
        .bind(u.tax_rate.to_string())
        .bind(u.tax_inclusive as i64)
        .bind(now.micros())
        .fetch_one(&mut *tx)
        .await?;
        let market = market_from(&row)?;
        self.commit_operator(tx, effects).await?;
        Ok(market)
    }

    async fn put_catalog(&self, products: &[Product], now: Timestamp, effects: Effects) -> StoreResult<CatalogCounts> {
        let mut tx = self.begin().await?;
        let counts = write_catalog(&mut tx, products, now).await?;
        self.commit_operator(tx, effects).await?;
        Ok(counts)
    }

    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        // One snapshot of the three tables, so a concurrent import is seen whole or not at all.
        let mut tx = self.read.begin().await?;
        let products = sqlx::query(
            "SELECT id, title, publisher_name, product_type, policy_kind, policy_days, available_markets, \
             unavailable_markets FROM products ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let skus = sqlx::query("SELECT product_id, id, title, term FROM skus ORDER BY product_id, position")
            .fetch_all(&mut *tx)
            .await?;
        let prices =
            sqlx::query("SELECT product_id, sku_id, country, currency_code, scale, list_price_minor FROM prices")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        assemble(products, skus, prices)
    }

    async fn put_type_availability(
        &self,
        product_type: ProductType,
        rule: &MarketRule,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let (mode, markets) = rule.to_stored();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO type_availability (product_type, mode, markets, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (product_type) DO UPDATE SET mode = $2, markets = $3, updated_at = $4",
        )
        .bind(product_type.as_str())
        .bind(mode)
        .bind(markets)
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_operator(tx, effects).await
    }

    async fn put_product_availability(
        &self,
        product_id: &str,
        rule: Option<&MarketRule>,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool> {
        let (available, unavailable) = match rule {
            Some(MarketRule::AvailableOnlyIn(v)) => (Some(v.clone()), None),
            Some(MarketRule::UnavailableIn(v)) => (None, Some(v.clone())),
            None => (None, None),
        };
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE products SET available_markets = $2, unavailable_markets = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(product_id)
        .bind(markets_text(&available))
        .bind(markets_text(&unavailable))
        .bind(now.micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        self.commit_operator(tx, effects).await?;
        Ok(true)
    }

    async fn type_availability(&self) -> StoreResult<Vec<(ProductType, MarketRule)>> {
        sqlx::query("SELECT product_type, mode, markets FROM type_availability ORDER BY product_type")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(rule_from)
            .collect()
    }
}
