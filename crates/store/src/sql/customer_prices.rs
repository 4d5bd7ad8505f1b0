//! Customer prices (issue 23): a partner's markup rules and explicit per-customer prices.

use super::*;
use domain::customer_price::{Basis, Markup, MarkupRule, PriceOverride};
use domain::ids::MarkupRuleId;
use domain::money::Money;

const RULE_COLS: &str =
    "id, customer_id, product_type, product_id, basis, percent, amount_minor, currency_code, scale, \
    effective_from, created_at";

fn rule_from(row: &AnyRow) -> StoreResult<MarkupRule> {
    let customer: Option<String> = row.try_get("customer_id")?;
    let product_type: Option<String> = row.try_get("product_type")?;
    let basis: String = row.try_get("basis")?;
    let percent: Option<String> = row.try_get("percent")?;
    let markup = match percent {
        Some(p) => Markup::Percent(rate_from(&p, "markup_rules.percent")?),
        None => {
            let scale = row.try_get::<Option<i64>, _>("scale")?.and_then(|s| u8::try_from(s).ok());
            let minor: Option<i64> = row.try_get("amount_minor")?;
            let currency: Option<String> = row.try_get("currency_code")?;
            match (minor, scale, currency) {
                (Some(minor), Some(scale), Some(currency)) => {
                    Markup::Fixed { amount: Money { minor, scale }, currency }
                }
                _ => return Err(corrupt("markup_rules amount")),
            }
        }
    };
    Ok(MarkupRule {
        id: id_of(row, "id", MarkupRuleId::parse)?,
        customer_id: customer
            .map(|c| TenantId::parse(&c).ok_or_else(|| corrupt("markup_rules.customer_id")))
            .transpose()?,
        product_type: product_type
            .map(|t| ProductType::parse(&t).ok_or_else(|| corrupt("markup_rules.product_type")))
            .transpose()?,
        product_id: row.try_get("product_id")?,
        basis: Basis::parse(&basis).ok_or_else(|| corrupt("markup_rules.basis"))?,
        markup,
        effective_from: Timestamp::from_micros(row.try_get("effective_from")?),
        created_at: Timestamp::from_micros(row.try_get("created_at")?),
    })
}

#[async_trait]
impl CustomerPriceStore for SqlStore {
    async fn create_markup_rule(&self, scope: PartnerScope, rule: &MarkupRule, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let (percent, amount, currency, scale) = match &rule.markup {
            Markup::Percent(p) => (Some(p.to_string()), None, None, None),
            Markup::Fixed { amount, currency } => {
                (None, Some(amount.minor), Some(currency.clone()), Some(i64::from(amount.scale)))
            }
        };
        sqlx::query(&format!(
            "INSERT INTO markup_rules (partner_id, {RULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(scope.partner_id().to_string())
        .bind(rule.id.to_string())
        .bind(rule.customer_id.map(|c| c.to_string()))
        .bind(rule.product_type.map(|t| t.as_str().to_string()))
        .bind(rule.product_id.clone())
        .bind(rule.basis.as_str())
        .bind(percent)
        .bind(amount)
        .bind(currency)
        .bind(scale)
        .bind(rule.effective_from.micros())
        .bind(rule.created_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn delete_markup_rule(&self, scope: PartnerScope, id: MarkupRuleId, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM markup_rules WHERE partner_id = $1 AND id = $2")
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn list_markup_rules(&self, scope: PartnerScope) -> StoreResult<Vec<MarkupRule>> {
        let sql = format!("SELECT {RULE_COLS} FROM markup_rules WHERE partner_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(&sql).bind(scope.partner_id().to_string()).fetch_all(&self.read).await?;
        rows.iter().map(rule_from).collect()
    }

    async fn put_price_override(
        &self,
        scope: PartnerScope,
        price: &PriceOverride,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO price_overrides (partner_id, customer_id, product_id, sku_id, currency_code, scale, \
             unit_price_minor, effective_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (partner_id, customer_id, product_id, sku_id, effective_from) DO UPDATE SET \
             currency_code = excluded.currency_code, scale = excluded.scale, \
             unit_price_minor = excluded.unit_price_minor, created_at = excluded.created_at",
        )
        .bind(scope.partner_id().to_string())
        .bind(price.customer_id.to_string())
        .bind(&price.product_id)
        .bind(&price.sku_id)
        .bind(&price.currency)
        .bind(i64::from(price.unit_price.scale))
        .bind(price.unit_price.minor)
        .bind(price.effective_from.micros())
        .bind(price.created_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn list_price_overrides(&self, scope: PartnerScope, customer: TenantId) -> StoreResult<Vec<PriceOverride>> {
        let rows = sqlx::query(
            "SELECT customer_id, product_id, sku_id, currency_code, scale, unit_price_minor, effective_from, \
             created_at FROM price_overrides WHERE partner_id = $1 AND customer_id = $2 \
             ORDER BY product_id, sku_id, effective_from",
        )
        .bind(scope.partner_id().to_string())
        .bind(customer.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("price_overrides"))?;
                Ok(PriceOverride {
                    customer_id: TenantId(uuid_col(row, "customer_id")?),
                    product_id: row.try_get("product_id")?,
                    sku_id: row.try_get("sku_id")?,
                    currency: row.try_get("currency_code")?,
                    unit_price: Money { minor: row.try_get("unit_price_minor")?, scale },
                    effective_from: Timestamp::from_micros(row.try_get("effective_from")?),
                    created_at: Timestamp::from_micros(row.try_get("created_at")?),
                })
            })
            .collect()
    }
}
