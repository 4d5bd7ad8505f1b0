//! Carts and orders (R5), priced line by line as R4 says.

use crate::cancellation::{cancellation_eligibility, CancellationPolicy, Eligibility};
use crate::catalog::{availability_id, parse_catalog_item_id, Product, ProductType, Term};
use crate::customer_price::{CustomerPrices, UnitFacts};
use crate::error::DomainError;
use crate::ids::{CartId, OrderId, TenantId};
use crate::market::Market;
use crate::money::{price_line, LinePricing, Money, MAX_QUANTITY};
use crate::pricelist::{partner_cost, PriceList, PriceListRef};
use crate::timestamp::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most lines one cart may hold.
pub const MAX_CART_LINES: usize = 100;

/// Where a reservation is provisioned (Partner Center's `provisioningContext`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningContext {
    pub subscription_id: String,
    pub scope: String,
}

/// A validated cart line: what to buy, not yet priced (prices are taken at checkout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub id: u32,
    pub catalog_item_id: String,
    pub product_id: String,
    pub sku_id: String,
    pub quantity: i64,
    pub term_duration: Option<String>,
    pub friendly_name: Option<String>,
    pub provisioning_context: Option<ProvisioningContext>,
}

/// A cart line as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct CartLineDraft {
    pub catalog_item_id: String,
    pub quantity: i64,
    pub billing_cycle: String,
    pub term_duration: Option<String>,
    pub friendly_name: Option<String>,
    pub subscription_id: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Active,
    Ordered,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Active => "active",
            CartStatus::Ordered => "ordered",
        }
    }
    pub fn parse(s: &str) -> Option<CartStatus> {
        match s {
            "active" => Some(CartStatus::Active),
            "ordered" => Some(CartStatus::Ordered),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub id: CartId,
    pub customer_id: TenantId,
    pub status: CartStatus,
    pub lines: Vec<CartLine>,
    pub order_id: Option<OrderId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn unavailable(product: &str, market: &Market) -> DomainError {
    DomainError::ProductUnavailableInMarket(format!(
        "{product} is not available in the customer's market ({})",
        market.country
    ))
}

/// Validates cart lines against the catalog of the customer's market (`catalog` is already filtered by R1 and
/// by price, so a product missing from it is unavailable there).
pub fn validate_cart_lines(
    drafts: Vec<CartLineDraft>,
    catalog: &[Product],
    market: &Market,
) -> Result<Vec<CartLine>, DomainError> {
    if drafts.is_empty() || drafts.len() > MAX_CART_LINES {
        return Err(DomainError::invalid("lineItems", format!("give 1 to {MAX_CART_LINES} line items")));
    }
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |f: &str| format!("lineItems[{i}].{f}");
            let (product_id, sku_id, availability) =
                parse_catalog_item_id(d.catalog_item_id.trim()).ok_or_else(|| {
                    DomainError::invalid(&field("catalogItemId"), "expected productId:skuId:availabilityId")
                })?;
            let product =
                catalog.iter().find(|p| p.id == product_id).ok_or_else(|| unavailable(&product_id, market))?;
            let sku = product.sku(&sku_id).ok_or_else(|| unavailable(&format!("{product_id}:{sku_id}"), market))?;
            if availability != availability_id(&product_id, &sku_id, market.country) {
                return Err(unavailable(&d.catalog_item_id, market));
            }
            if !(1..=MAX_QUANTITY).contains(&d.quantity) {
                return Err(DomainError::invalid(&field("quantity"), format!("must be 1 to {MAX_QUANTITY}")));
            }
            if !matches!(d.billing_cycle.as_str(), "one_time" | "OneTime" | "oneTime") {
                return Err(DomainError::invalid(&field("billingCycle"), "must be one_time"));
            }
            let sku_term = sku.term.map(|t| t.as_str().to_string());
            if let Some(t) = d.term_duration.as_deref().filter(|t| !t.is_empty()) {
                if Some(t) != sku_term.as_deref() {
                    return Err(DomainError::invalid(
                        &field("termDuration"),
                        format!("{t} is not this SKU's term ({})", sku_term.as_deref().unwrap_or("none")),
                    ));
                }
            }
            let friendly_name = d.friendly_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
            if friendly_name.as_ref().is_some_and(|n| n.chars().count() > 256) {
                return Err(DomainError::invalid(&field("friendlyName"), "at most 256 characters"));
            }
            let provisioning_context = if product.product_type == ProductType::AzureReservation {
                let sub = d.subscription_id.as_deref().map(str::trim).unwrap_or("");
                let sub = uuid::Uuid::parse_str(sub).map_err(|_| {
                    DomainError::invalid(
                        &field("provisioningContext.subscriptionId"),
                        "a reservation needs the Azure subscription id (a GUID) it applies to",
                    )
                })?;
                let scope = d.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("shared");
                if !matches!(scope, "shared" | "single") {
                    return Err(DomainError::invalid(&field("provisioningContext.scope"), "must be shared or single"));
                }
                Some(ProvisioningContext { subscription_id: sub.to_string(), scope: scope.to_string() })
            } else {
                None
            };
            Ok(CartLine {
                id: i as u32,
                catalog_item_id: d.catalog_item_id.trim().to_string(),
                product_id,
                sku_id,
                quantity: d.quantity,
                term_duration: sku_term,
                friendly_name,
                provisioning_context,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    Active,
    Cancelled,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Active => "active",
            LineStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<LineStatus> {
        match s {
            "active" => Some(LineStatus::Active),
            "cancelled" => Some(LineStatus::Cancelled),
            _ => None,
        }
    }
}

/// A priced order line; prices, tax rate and policy are copied at checkout so later catalog and price-list edits
/// change nothing. `pricing` is what the partner is charged (its cost, on its invoice); `list` is the publisher's
/// list price and `customer` what the partner's customer pays, each with R4's tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub line_number: u32,
    pub product_id: String,
    pub sku_id: String,
    pub availability_id: String,
    pub product_type: ProductType,
    pub title: String,
    pub friendly_name: Option<String>,
    pub term: Option<Term>,
    pub pricing: LinePricing,
    pub list: LinePricing,
    pub customer: LinePricing,
    /// The price list (and version) the cost came from; none: the list price.
    pub price_list: Option<PriceListRef>,
    pub tax_rate: Decimal,
    pub policy: CancellationPolicy,
    pub status: LineStatus,
    pub cancelled_at: Option<Timestamp>,
    pub provisioning_context: Option<ProvisioningContext>,
}

impl OrderLine {
    /// R9 for this line at `now` (on the partner's clock).
    pub fn cancellation(&self, purchased_at: Timestamp, now: Timestamp) -> Eligibility {
        cancellation_eligibility(self.policy, purchased_at, now, self.status == LineStatus::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: TenantId,
    pub cart_id: CartId,
    pub currency: String,
    pub created_at: Timestamp,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// An order's status (SPEC §5): `completed` from checkout, `cancelled` once every line is. The only change an order
/// takes (`PATCH …/orders/{id}`) is to `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        match s {
            "completed" => Some(OrderStatus::Completed),
            "cancelled" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Order {
    /// `cancelled` once every line is.
    pub fn status(&self) -> OrderStatus {
        if self.lines.iter().all(|l| l.status == LineStatus::Cancelled) {
            OrderStatus::Cancelled
        } else {
            OrderStatus::Completed
        }
    }

    pub fn scale(&self) -> u8 {
        self.lines.first().map(|l| l.pricing.net.scale).unwrap_or(2)
    }

    /// The sum of the lines as charged (cancellations are credits on the invoice, not edits of the order).
    pub fn totals(&self) -> Totals {
        let zero = Money::zero(self.scale());
        let sum = |f: fn(&LinePricing) -> Money| {
            self.lines.iter().fold(zero, |acc, l| acc.checked_add(f(&l.pricing)).unwrap_or(acc))
        };
        Totals { net: sum(|p| p.net), tax: sum(|p| p.tax), gross: sum(|p| p.gross) }
    }
}

/// What a checkout prices a line from besides the catalog: the partner's price list (its cost) and its customer
/// prices (what the customer pays). The default is list prices on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceBook {
    pub price_list: Option<PriceList>,
    pub customer: CustomerPrices,
}

/// Prices a cart at checkout from the current catalog, the partner's price list and customer prices in effect
/// `now` and the market's tax rule (R4), one line at a time.
pub fn price_order(
    id: OrderId,
    cart: &Cart,
    catalog: &[Product],
    market: &Market,
    book: &PriceBook,
    now: Timestamp,
) -> Result<Order, DomainError> {
    let lines = cart
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let product =
                catalog.iter().find(|p| p.id == l.product_id).ok_or_else(|| unavailable(&l.product_id, market))?;
            let sku = product.sku(&l.sku_id).ok_or_else(|| unavailable(&l.catalog_item_id, market))?;
            let price = sku.price_for(market.country).ok_or_else(|| unavailable(&l.catalog_item_id, market))?;
            let (cost, from) = partner_cost(book.price_list.as_ref(), &product.id, &sku.id, price, now);
            let facts = UnitFacts {
                customer: cart.customer_id,
                product_id: &product.id,
                product_type: product.product_type,
                sku_id: &sku.id,
                currency: &market.currency_code,
                list: price.list_price,
                cost,
            };
            let (customer_unit, _) = book.customer.unit_price(&facts, now);
            let priced = |unit: Money| {
                price_line(unit, l.quantity, market.tax_rate, market.tax_inclusive)
                    .map_err(|m| DomainError::invalid(&format!("lineItems[{i}]"), m))
            };
            let list = priced(price.list_price)?;
            Ok(OrderLine {
                line_number: i as u32,
                product_id: product.id.clone(),
                sku_id: sku.id.clone(),
                availability_id: availability_id(&product.id, &sku.id, market.country),
                product_type: product.product_type,
                title: sku.title.clone(),
                friendly_name: l.friendly_name.clone(),
                term: sku.term,
                pricing: priced(cost)?,
                list,
                customer: priced(customer_unit)?,
                price_list: from,
                tax_rate: market.tax_rate,
                policy: product.policy,
                status: LineStatus::Active,
                cancelled_at: None,
                provisioning_context: l.provisioning_context.clone(),
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    // The order's totals must be representable too (each line alone may be).
    let zero = Money::zero(lines.first().map(|l| l.pricing.net.scale).unwrap_or(market.minor_units));
    lines
        .iter()
        .try_fold(zero, |acc, l| acc.checked_add(l.pricing.gross))
        .ok_or_else(|| DomainError::invalid("lineItems", "the order's total is too large"))?;
    Ok(Order {
        id,
        customer_id: cart.customer_id,
        cart_id: cart.id,
        currency: market.currency_code.clone(),
        created_at: now,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;
    use crate::market::MarketCode;
    use serde_json::json;

    fn catalog() -> Vec<Product> {
        let doc = json!({"products": [
            {"id": "SQL", "title": "SQL", "publisherName": "C", "productType": "software_subscription",
             "skus": [{"id": "1Y", "title": "SQL 1 year", "termDuration": "P1Y",
                       "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "1200.00"},
                                  {"country": "AU", "currencyCode": "AUD", "listPrice": "1980.00"},
                                  {"country": "JP", "currencyCode": "JPY", "listPrice": "150001"}]}]},
            {"id": "VM", "title": "VM", "publisherName": "C", "productType": "azure_reservation",
             "skus": [{"id": "1Y", "title": "VM 1 year", "termDuration": "P1Y",
                       "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "700.00"}]}]}
        ]});
        parse_catalog(doc.to_string().as_bytes(), &|m: MarketCode| {
            (m.info().currency.to_string(), m.info().minor_units)
        })
        .unwrap()
    }

    fn market(code: &str, rate: &str, inclusive: bool) -> Market {
        let mut m = Market::default_for(MarketCode::parse(code).unwrap());
        m.tax_rate = rate.parse().unwrap();
        m.tax_inclusive = inclusive;
        m
    }

    fn draft(item: String, qty: i64) -> CartLineDraft {
        CartLineDraft { catalog_item_id: item, quantity: qty, billing_cycle: "one_time".into(), ..Default::default() }
    }

    fn item(p: &str, s: &str, m: &Market) -> String {
        format!("{p}:{s}:{}", availability_id(p, s, m.country))
    }

    fn cart(lines: Vec<CartLine>) -> Cart {
        let t = Timestamp::from_micros(0);
        Cart {
            id: CartId::new(),
            customer_id: TenantId::new(),
            status: CartStatus::Active,
            lines,
            order_id: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn lines_are_validated_against_the_market() {
        let us = market("US", "0.0725", false);
        let lines = validate_cart_lines(vec![draft(item("SQL", "1Y", &us), 2)], &catalog(), &us).unwrap();
        assert_eq!(lines[0].term_duration.as_deref(), Some("P1Y"));
        // Another market's availability id, an unknown product, a zero quantity, a wrong term.
        let au = market("AU", "0.10", true);
        let err = validate_cart_lines(vec![draft(item("SQL", "1Y", &au), 1)], &catalog(), &us).unwrap_err();
        assert_eq!(err.error_name(), "product_unavailable_in_market");
        let err = validate_cart_lines(vec![draft(item("NOPE", "1Y", &us), 1)], &catalog(), &us).unwrap_err();
        assert_eq!(err.error_name(), "product_unavailable_in_market");
        assert!(validate_cart_lines(vec![draft(item("SQL", "1Y", &us), 0)], &catalog(), &us).is_err());
        let mut d = draft(item("SQL", "1Y", &us), 1);
        d.term_duration = Some("P3Y".into());
        assert!(validate_cart_lines(vec![d], &catalog(), &us).is_err());
        assert!(validate_cart_lines(vec![], &catalog(), &us).is_err());
        // A reservation needs its subscription.
        let err = validate_cart_lines(vec![draft(item("VM", "1Y", &us), 1)], &catalog(), &us).unwrap_err();
        assert!(err.to_string().contains("provisioningContext.subscriptionId"), "{err}");
        let mut d = draft(item("VM", "1Y", &us), 1);
        d.subscription_id = Some(uuid::Uuid::new_v4().to_string());
        let l = validate_cart_lines(vec![d], &catalog(), &us).unwrap();
        assert_eq!(l[0].provisioning_context.as_ref().unwrap().scope, "shared");
    }

    #[test]
    fn orders_are_priced_per_line_as_r4_says() {
        let au = market("AU", "0.10", true);
        let lines = validate_cart_lines(vec![draft(item("SQL", "1Y", &au), 3)], &catalog(), &au).unwrap();
        let o = price_order(
            OrderId::new(),
            &cart(lines),
            &catalog(),
            &au,
            &PriceBook::default(),
            Timestamp::from_micros(5),
        )
        .unwrap();
        let p = o.lines[0].pricing;
        assert_eq!(
            (p.gross.format(), p.tax.format(), p.net.format()),
            ("5940.00".into(), "540.00".into(), "5400.00".into())
        );
        assert_eq!(o.currency, "AUD");
        assert_eq!(o.totals().gross.format(), "5940.00");
        assert_eq!(o.status(), OrderStatus::Completed);
        assert_eq!(o.status().as_str(), "completed");
        // JPY: no decimals; 150001 × 0.10 = 15000.1 → 15000.
        let jp = market("JP", "0.10", false);
        let lines = validate_cart_lines(vec![draft(item("SQL", "1Y", &jp), 1)], &catalog(), &jp).unwrap();
        let o = price_order(
            OrderId::new(),
            &cart(lines),
            &catalog(),
            &jp,
            &PriceBook::default(),
            Timestamp::from_micros(5),
        )
        .unwrap();
        assert_eq!(
            (o.lines[0].pricing.tax.format(), o.lines[0].pricing.gross.format()),
            ("15000".into(), "165001".into())
        );
    }

    #[test]
    fn totals_do_not_depend_on_the_order_of_the_lines() {
        let us = market("US", "0.0725", false);
        let drafts = |order: &[i64]| order.iter().map(|q| draft(item("SQL", "1Y", &us), *q)).collect::<Vec<_>>();
        let price = |qs: &[i64]| {
            let lines = validate_cart_lines(drafts(qs), &catalog(), &us).unwrap();
            price_order(OrderId::new(), &cart(lines), &catalog(), &us, &PriceBook::default(), Timestamp::from_micros(0))
                .unwrap()
                .totals()
        };
        let a = price(&[1, 3, 7, 2]);
        assert_eq!(a, price(&[7, 2, 1, 3]));
        assert_eq!(a, price(&[2, 7, 3, 1]));
        // 87.00 + 261.00 + 609.00 + 174.00 of tax, one line at a time.
        assert_eq!(
            (a.net.format(), a.tax.format(), a.gross.format()),
            ("15600.00".into(), "1131.00".into(), "16731.00".into())
        );
    }
}
