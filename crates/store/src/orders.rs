//! Key stock, carts and orders: the rows of the commerce tables and the checkout transaction's steps.

use crate::{StoreError, StoreResult};
use domain::cancellation::CancellationPolicy;
use domain::catalog::{ProductType, Term};
use domain::ids::{CartId, OrderId, TenantId};
use domain::money::{LinePricing, Money};
use domain::order::{Cart, CartLine, CartStatus, LineStatus, Order, OrderLine};
use domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn id_of<T>(row: &AnyRow, col: &str, make: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    make(&s).ok_or_else(|| corrupt(col))
}

pub(crate) const CART_COLS: &str = "id, customer_id, status, line_items, order_id, created_at, updated_at";

pub(crate) fn cart_from(row: &AnyRow) -> StoreResult<Cart> {
    let lines: String = row.try_get("line_items")?;
    let status: String = row.try_get("status")?;
    let order_id: Option<String> = row.try_get("order_id")?;
    Ok(Cart {
        id: id_of(row, "id", CartId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        status: CartStatus::parse(&status).ok_or_else(|| corrupt("carts.status"))?,
        lines: serde_json::from_str::<Vec<CartLine>>(&lines).map_err(|_| corrupt("carts.line_items"))?,
        order_id: order_id.map(|o| OrderId::parse(&o).ok_or_else(|| corrupt("carts.order_id"))).transpose()?,
        created_at: Timestamp::from_micros(row.try_get("created_at")?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at")?),
    })
}

pub(crate) fn lines_json(lines: &[CartLine]) -> StoreResult<String> {
    serde_json::to_string(lines).map_err(|_| corrupt("cart lines"))
}

pub(crate) const ORDER_COLS: &str = "id, customer_id, cart_id, currency_code, created_at";

pub(crate) const LINE_COLS: &str = "order_id, line_number, product_id, sku_id, availability_id, product_type, title, \
    friendly_name, term, quantity, scale, unit_price_minor, net_minor, tax_minor, gross_minor, tax_inclusive, tax_rate, \
    policy_kind, policy_days, status, cancelled_at, provisioning_context";

pub(crate) fn order_from(row: &AnyRow, lines: Vec<OrderLine>) -> StoreResult<Order> {
    Ok(Order {
        id: id_of(row, "id", OrderId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        cart_id: id_of(row, "cart_id", CartId::parse)?,
        currency: row.try_get("currency_code")?,
        created_at: Timestamp::from_micros(row.try_get("created_at")?),
        lines,
    })
}

pub(crate) fn line_from(row: &AnyRow) -> StoreResult<(String, OrderLine)> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("order_lines.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let product_type: String = row.try_get("product_type")?;
    let term: Option<String> = row.try_get("term")?;
    let rate: String = row.try_get("tax_rate")?;
    let kind: String = row.try_get("policy_kind")?;
    let days: Option<i64> = row.try_get("policy_days")?;
    let status: String = row.try_get("status")?;
    let provisioning: Option<String> = row.try_get("provisioning_context")?;
    let policy = match (kind.as_str(), days) {
        ("window", Some(d)) => {
            CancellationPolicy::Window { days: u32::try_from(d).map_err(|_| corrupt("policy_days"))? }
        }
        ("support_request", _) => CancellationPolicy::SupportRequest,
        ("none", _) => CancellationPolicy::None,
        _ => return Err(corrupt("order_lines.policy_kind")),
    };
    let line = OrderLine {
        line_number: u32::try_from(row.try_get::<i64, _>("line_number")?).map_err(|_| corrupt("line_number"))?,
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        availability_id: row.try_get("availability_id")?,
        product_type: ProductType::parse(&product_type).ok_or_else(|| corrupt("order_lines.product_type"))?,
        title: row.try_get("title")?,
        friendly_name: row.try_get("friendly_name")?,
        term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("order_lines.term"))).transpose()?,
        pricing: LinePricing {
            unit_price: money("unit_price_minor")?,
            quantity: row.try_get("quantity")?,
            net: money("net_minor")?,
            tax: money("tax_minor")?,
            gross: money("gross_minor")?,
            tax_inclusive: row.try_get::<i64, _>("tax_inclusive")? != 0,
        },
        tax_rate: rust_decimal::Decimal::from_str(&rate).map_err(|_| corrupt("order_lines.tax_rate"))?,
        policy,
        status: LineStatus::parse(&status).ok_or_else(|| corrupt("order_lines.status"))?,
        cancelled_at: row.try_get::<Option<i64>, _>("cancelled_at")?.map(Timestamp::from_micros),
        provisioning_context: provisioning
            .map(|p| serde_json::from_str(&p).map_err(|_| corrupt("order_lines.provisioning_context")))
            .transpose()?,
    };
    Ok((row.try_get("order_id")?, line))
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub(crate) const SOFTWARE_COLS: &str = "s.id AS id, s.customer_id AS customer_id, s.order_id AS order_id, \
    s.line_number AS line_number, s.product_id AS product_id, s.sku_id AS sku_id, s.key_id AS key_id, \
    s.status AS status, s.purchased_at AS purchased_at, l.title AS title, l.term AS term, l.product_type AS product_type";

pub(crate) fn software_from(row: &AnyRow) -> StoreResult<domain::software::SoftwareItem> {
    let status: String = row.try_get("status")?;
    let term: Option<String> = row.try_get("term")?;
    let product_type: String = row.try_get("product_type")?;
    let key_id: Option<String> = row.try_get("key_id")?;
    Ok(domain::software::SoftwareItem {
        id: id_of(row, "id", domain::ids::SoftwareItemId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        order_id: id_of(row, "order_id", OrderId::parse)?,
        line_number: u32::try_from(row.try_get::<i64, _>("line_number")?).map_err(|_| corrupt("line_number"))?,
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        title: row.try_get("title")?,
        product_type: ProductType::parse(&product_type).ok_or_else(|| corrupt("order_lines.product_type"))?,
        term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("order_lines.term"))).transpose()?,
        status: LineStatus::parse(&status).ok_or_else(|| corrupt("software_items.status"))?,
        purchased_at: Timestamp::from_micros(row.try_get("purchased_at")?),
        has_key: key_id.is_some(),
    })
}
