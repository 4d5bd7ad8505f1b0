//! Reading and writing the catalog tables (products, SKUs, prices, type availability).

use crate::{CatalogCounts, StoreError, StoreResult};
use domain::cancellation::CancellationPolicy;
use domain::catalog::{availability_id, MarketRule, Price, Product, ProductType, Sku, Term};
use domain::market::MarketCode;
use domain::money::Money;
use domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn join(markets: &Option<Vec<MarketCode>>) -> Option<String> {
    markets.as_ref().map(|v| v.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(","))
}

fn split(s: Option<String>) -> StoreResult<Option<Vec<MarketCode>>> {
    s.map(|s| {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(|c| MarketCode::parse(c).ok_or_else(|| corrupt("products markets")))
            .collect()
    })
    .transpose()
}

pub(crate) async fn put_catalog(
    tx: &mut Transaction<'static, Any>,
    products: &[Product],
    now: Timestamp,
) -> StoreResult<CatalogCounts> {
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
        .bind(join(&p.available_markets))
        .bind(join(&p.unavailable_markets))
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

fn policy(kind: &str, days: Option<i64>) -> StoreResult<CancellationPolicy> {
    match (kind, days) {
        ("window", Some(d)) => {
            Ok(CancellationPolicy::Window { days: u32::try_from(d).map_err(|_| corrupt("policy_days"))? })
        }
        ("support_request", _) => Ok(CancellationPolicy::SupportRequest),
        ("none", _) => Ok(CancellationPolicy::None),
        _ => Err(corrupt("products.policy_kind")),
    }
}

pub(crate) fn assemble(products: Vec<AnyRow>, skus: Vec<AnyRow>, prices: Vec<AnyRow>) -> StoreResult<Vec<Product>> {
    let mut price_map: HashMap<(String, String), Vec<Price>> = HashMap::new();
    for r in &prices {
        let country: String = r.try_get("country")?;
        let scale = u8::try_from(r.try_get::<i64, _>("scale")?).map_err(|_| corrupt("prices.scale"))?;
        price_map.entry((r.try_get("product_id")?, r.try_get("sku_id")?)).or_default().push(Price {
            country: MarketCode::parse(&country).ok_or_else(|| corrupt("prices.country"))?,
            currency: r.try_get("currency_code")?,
            list_price: Money { minor: r.try_get("list_price_minor")?, scale },
        });
    }
    let mut sku_map: HashMap<String, Vec<Sku>> = HashMap::new();
    for r in &skus {
        let product_id: String = r.try_get("product_id")?;
        let id: String = r.try_get("id")?;
        let term: Option<String> = r.try_get("term")?;
        let mut prices = price_map.remove(&(product_id.clone(), id.clone())).unwrap_or_default();
        prices.sort_by_key(|p| p.country);
        sku_map.entry(product_id).or_default().push(Sku {
            id,
            title: r.try_get("title")?,
            term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("skus.term"))).transpose()?,
            prices,
        });
    }
    products
        .iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let t: String = r.try_get("product_type")?;
            let kind: String = r.try_get("policy_kind")?;
            Ok(Product {
                skus: sku_map.remove(&id).unwrap_or_default(),
                id,
                title: r.try_get("title")?,
                publisher_name: r.try_get("publisher_name")?,
                product_type: ProductType::parse(&t).ok_or_else(|| corrupt("products.product_type"))?,
                policy: policy(&kind, r.try_get("policy_days")?)?,
                available_markets: split(r.try_get("available_markets")?)?,
                unavailable_markets: split(r.try_get("unavailable_markets")?)?,
            })
        })
        .collect()
}

pub(crate) fn rule_from(row: &AnyRow) -> StoreResult<(ProductType, MarketRule)> {
    let t: String = row.try_get("product_type")?;
    let mode: String = row.try_get("mode")?;
    let markets: String = row.try_get("markets")?;
    Ok((
        ProductType::parse(&t).ok_or_else(|| corrupt("type_availability.product_type"))?,
        MarketRule::from_stored(&mode, &markets).ok_or_else(|| corrupt("type_availability.markets"))?,
    ))
}
