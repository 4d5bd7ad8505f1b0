//! Partner price lists (issue 23): lists, their versions and explicit prices, and which partner follows which list.

use super::*;
use domain::ids::PriceListId;
use domain::market::MarketCode;
use domain::money::Money;
use domain::pricelist::{CostPrice, PriceList, PriceListVersion};

const LIST_COLS: &str = "id, name, is_default, created_at";

/// Which explicit prices a read loads with the versions.
#[derive(Clone, Copy)]
enum Prices {
    None,
    All,
    Of(MarketCode),
}

impl SqlStore {
    /// Lists by id with their versions (and, when asked, their explicit prices), in the order of `rows`.
    async fn lists_from(&self, rows: Vec<AnyRow>, prices: Prices) -> StoreResult<Vec<PriceList>> {
        let mut lists = Vec::with_capacity(rows.len());
        for row in &rows {
            lists.push(PriceList {
                id: id_of(row, "id", PriceListId::parse)?,
                name: row.try_get("name")?,
                is_default: flag(row, "is_default")?,
                created_at: Timestamp::from_micros(row.try_get("created_at")?),
                versions: Vec::new(),
            });
        }
        if lists.is_empty() {
            return Ok(lists);
        }
        let ids: Vec<String> = lists.iter().map(|l| l.id.to_string()).collect();
        let sql = format!(
            "SELECT list_id, number, effective_from, discount_percent, created_at FROM price_list_versions \
             WHERE list_id IN ({}) ORDER BY list_id, number",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&self.read).await? {
            let list: String = row.try_get("list_id")?;
            let discount: Option<String> = row.try_get("discount_percent")?;
            let version = PriceListVersion {
                number: u32::try_from(row.try_get::<i64, _>("number")?).map_err(|_| corrupt("number"))?,
                effective_from: row.try_get::<Option<i64>, _>("effective_from")?.map(Timestamp::from_micros),
                discount_percent: discount.map(|d| rate_from(&d, "discount_percent")).transpose()?,
                prices: Vec::new(),
                created_at: Timestamp::from_micros(row.try_get("created_at")?),
            };
            if let Some(l) = lists.iter_mut().find(|l| l.id.to_string() == list) {
                l.versions.push(version);
            }
        }
        if !matches!(prices, Prices::None) {
            let country = match prices {
                Prices::Of(_) => format!(" AND country = ${}", ids.len() + 1),
                _ => String::new(),
            };
            let sql = format!(
                "SELECT list_id, number, product_id, sku_id, country, currency_code, scale, cost_minor \
                 FROM price_list_prices WHERE list_id IN ({}){country} ORDER BY list_id, number, product_id, sku_id, \
                 country",
                placeholders(1, ids.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id.clone());
            }
            if let Prices::Of(c) = prices {
                q = q.bind(c.as_str());
            }
            for row in q.fetch_all(&self.read).await? {
                let list: String = row.try_get("list_id")?;
                let number = row.try_get::<i64, _>("number")?;
                let country: String = row.try_get("country")?;
                let scale =
                    u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("price_list_prices.scale"))?;
                let price = CostPrice {
                    product_id: row.try_get("product_id")?,
                    sku_id: row.try_get("sku_id")?,
                    country: MarketCode::parse(&country).ok_or_else(|| corrupt("price_list_prices.country"))?,
                    currency: row.try_get("currency_code")?,
                    cost: Money { minor: row.try_get("cost_minor")?, scale },
                };
                let version = lists
                    .iter_mut()
                    .find(|l| l.id.to_string() == list)
                    .and_then(|l| l.versions.iter_mut().find(|v| i64::from(v.number) == number))
                    .ok_or_else(|| corrupt("price_list_prices without its version"))?;
                version.prices.push(price);
            }
        }
        Ok(lists)
    }
}

#[async_trait]
impl PriceListStore for SqlStore {
    async fn create_price_list(&self, list: &PriceList, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if list.is_default {
            sqlx::query("UPDATE price_lists SET is_default = 0 WHERE is_default = 1").execute(&mut *tx).await?;
        }
        let insert = sqlx::query("INSERT INTO price_lists (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)")
            .bind(list.id.to_string())
            .bind(&list.name)
            .bind(list.is_default as i64)
            .bind(list.created_at.micros())
            .execute(&mut *tx)
            .await;
        unless_unique(insert, || StoreError::Conflict(format!("a price list named '{}' exists", list.name)))?;
        self.commit_operator(tx, effects).await
    }

    async fn add_price_list_version(
        &self,
        list: PriceListId,
        version: &PriceListVersion,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO price_list_versions (list_id, number, effective_from, discount_percent, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(list.to_string())
        .bind(i64::from(version.number))
        .bind(version.effective_from.map(Timestamp::micros))
        .bind(version.discount_percent.map(|d| d.to_string()))
        .bind(version.created_at.micros())
        .execute(&mut *tx)
        .await;
        unless_unique(insert, || {
            StoreError::Conflict(format!("version {} of this list was just added; add yours again", version.number))
        })?;
        for chunk in version.prices.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO price_list_prices (list_id, number, product_id, sku_id, country, currency_code, scale, \
                 cost_minor) VALUES {}",
                values_rows("(?, ?, ?, ?, ?, ?, ?, ?)", chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q
                    .bind(list.to_string())
                    .bind(i64::from(version.number))
                    .bind(&p.product_id)
                    .bind(&p.sku_id)
                    .bind(p.country.as_str())
                    .bind(&p.currency)
                    .bind(i64::from(p.cost.scale))
                    .bind(p.cost.minor);
            }
            q.execute(&mut *tx).await?;
        }
        self.commit_operator(tx, effects).await
    }

    async fn schedule_price_list_version(
        &self,
        list: PriceListId,
        number: u32,
        effective_from: Timestamp,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Only while it has not taken effect: what was charged under a version stays explained by it.
        let n = sqlx::query(
            "UPDATE price_list_versions SET effective_from = $1 WHERE list_id = $2 AND number = $3 \
             AND (effective_from IS NULL OR effective_from > $4)",
        )
        .bind(effective_from.micros())
        .bind(list.to_string())
        .bind(i64::from(number))
        .bind(now.micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "version {number} has taken effect already (or does not exist); add a new version instead"
            )));
        }
        self.commit_operator(tx, effects).await
    }

    async fn get_price_list(&self, id: PriceListId) -> StoreResult<Option<PriceList>> {
        let sql = format!("SELECT {LIST_COLS} FROM price_lists WHERE id = $1");
        let rows = sqlx::query(&sql).bind(id.to_string()).fetch_all(&self.read).await?;
        Ok(self.lists_from(rows, Prices::All).await?.pop())
    }

    async fn page_price_lists(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<PriceList>> {
        let mut sql = format!("SELECT {LIST_COLS} FROM price_lists WHERE 1 = 1");
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", 1));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql);
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        let rows = q.fetch_all(&self.read).await?;
        self.lists_from(rows, Prices::None).await
    }

    async fn assign_price_list(
        &self,
        partner: PartnerId,
        list: PriceListId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO partner_price_lists (partner_id, list_id, assigned_at) VALUES ($1, $2, $3) \
             ON CONFLICT (partner_id) DO UPDATE SET list_id = excluded.list_id, assigned_at = excluded.assigned_at",
        )
        .bind(partner.to_string())
        .bind(list.to_string())
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_operator(tx, effects).await
    }

    async fn assigned_price_list(&self, partner: PartnerId) -> StoreResult<Option<PriceList>> {
        let sql = format!(
            "SELECT {LIST_COLS} FROM price_lists WHERE id = (SELECT list_id FROM partner_price_lists \
             WHERE partner_id = $1) OR (is_default = 1 AND NOT EXISTS (SELECT 1 FROM partner_price_lists \
             WHERE partner_id = $1))"
        );
        let rows = sqlx::query(&sql).bind(partner.to_string()).fetch_all(&self.read).await?;
        Ok(self.lists_from(rows, Prices::None).await?.pop())
    }

    async fn partner_price_list(&self, partner: PartnerId, country: MarketCode) -> StoreResult<Option<PriceList>> {
        let sql = format!(
            "SELECT {LIST_COLS} FROM price_lists WHERE id = (SELECT list_id FROM partner_price_lists \
             WHERE partner_id = $1) OR (is_default = 1 AND NOT EXISTS (SELECT 1 FROM partner_price_lists \
             WHERE partner_id = $1))"
        );
        let rows = sqlx::query(&sql).bind(partner.to_string()).fetch_all(&self.read).await?;
        Ok(self.lists_from(rows, Prices::Of(country)).await?.pop())
    }
}
