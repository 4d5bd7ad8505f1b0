//! Customer prices (issue 23): what a partner's customers pay. A markup rule adds a percentage or a fixed amount
//! per unit to the partner's cost or to the list price, for every product, a product type, a product, or a
//! customer (alone or with a type or product), from an instant on; the most specific rule in effect wins (customer
//! over product over type over all; then the latest `effectiveFrom`, then the latest made). An explicit price for a
//! customer and SKU overrides every rule from its `effectiveFrom`. Without either, the customer pays the list price.

use crate::catalog::ProductType;
use crate::error::DomainError;
use crate::ids::{MarkupRuleId, TenantId};
use crate::money::{round_half_away, Money};
use crate::timestamp::Timestamp;
use rust_decimal::Decimal;

/// The largest percentage a markup may add.
pub const MAX_MARKUP_PERCENT: i64 = 1000;

/// What a markup is added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Cost,
    List,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Cost => "cost",
            Basis::List => "list",
        }
    }
    pub fn parse(s: &str) -> Option<Basis> {
        match s {
            "cost" => Some(Basis::Cost),
            "list" => Some(Basis::List),
            _ => None,
        }
    }
}

/// A percentage of the basis, or a fixed amount per unit in one currency (applying only to lines in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Markup {
    Percent(Decimal),
    Fixed { amount: Money, currency: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkupRule {
    pub id: MarkupRuleId,
    pub customer_id: Option<TenantId>,
    pub product_type: Option<ProductType>,
    pub product_id: Option<String>,
    pub basis: Basis,
    pub markup: Markup,
    pub effective_from: Timestamp,
    pub created_at: Timestamp,
}

/// An explicit unit price for one customer and SKU, in the customer's market currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceOverride {
    pub customer_id: TenantId,
    pub product_id: String,
    pub sku_id: String,
    pub currency: String,
    pub unit_price: Money,
    pub effective_from: Timestamp,
    pub created_at: Timestamp,
}

/// What a customer's price of a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    ListPrice,
    Rule(MarkupRuleId),
    Override,
}

/// A partner's rules and one customer's overrides, as a checkout or a catalog view needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPrices {
    pub rules: Vec<MarkupRule>,
    pub overrides: Vec<PriceOverride>,
}

/// What one line's unit is priced from.
#[derive(Debug, Clone, Copy)]
pub struct UnitFacts<'a> {
    pub customer: TenantId,
    pub product_id: &'a str,
    pub product_type: ProductType,
    pub sku_id: &'a str,
    pub currency: &'a str,
    pub list: Money,
    pub cost: Money,
}

impl MarkupRule {
    /// Customer 4, product 2, product type 1: a customer's rule beats any other, a product's beats a type's.
    pub fn specificity(&self) -> u8 {
        let customer = if self.customer_id.is_some() { 4 } else { 0 };
        let product = if self.product_id.is_some() {
            2
        } else if self.product_type.is_some() {
            1
        } else {
            0
        };
        customer + product
    }

    fn applies(&self, f: &UnitFacts<'_>, at: Timestamp) -> bool {
        self.effective_from <= at
            && self.customer_id.is_none_or(|c| c == f.customer)
            && self.product_id.as_deref().is_none_or(|p| p == f.product_id)
            && self.product_type.is_none_or(|t| t == f.product_type)
            && match &self.markup {
                Markup::Percent(_) => true,
                Markup::Fixed { currency, amount } => currency == f.currency && amount.scale == f.list.scale,
            }
    }

    /// The unit price this rule gives.
    pub fn price(&self, f: &UnitFacts<'_>) -> Money {
        let basis = match self.basis {
            Basis::Cost => f.cost,
            Basis::List => f.list,
        };
        match &self.markup {
            Markup::Percent(p) => {
                let exact = Decimal::from(basis.minor) * (Decimal::ONE_HUNDRED + p) / Decimal::ONE_HUNDRED;
                Money { minor: round_half_away(exact, 0), scale: basis.scale }
            }
            Markup::Fixed { amount, .. } => basis.checked_add(*amount).unwrap_or(basis),
        }
    }
}

impl CustomerPrices {
    /// The customer's unit price of a SKU at `at`, and where it came from.
    pub fn unit_price(&self, f: &UnitFacts<'_>, at: Timestamp) -> (Money, PriceSource) {
        let explicit = self
            .overrides
            .iter()
            .filter(|o| {
                o.customer_id == f.customer
                    && o.product_id == f.product_id
                    && o.sku_id == f.sku_id
                    && o.currency == f.currency
                    && o.unit_price.scale == f.list.scale
                    && o.effective_from <= at
            })
            .max_by_key(|o| (o.effective_from, o.created_at));
        if let Some(o) = explicit {
            return (o.unit_price, PriceSource::Override);
        }
        let rule = self
            .rules
            .iter()
            .filter(|r| r.applies(f, at))
            .max_by_key(|r| (r.specificity(), r.effective_from, r.created_at, r.id));
        match rule {
            Some(r) => (r.price(f), PriceSource::Rule(r.id)),
            None => (f.list, PriceSource::ListPrice),
        }
    }
}

/// An explicit price as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct PriceOverrideDraft {
    pub product_id: String,
    pub sku_id: String,
    pub unit_price: String,
    pub effective_from: Option<String>,
}

/// A markup rule as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct MarkupRuleDraft {
    pub customer_id: Option<TenantId>,
    pub product_type: Option<String>,
    pub product_id: Option<String>,
    /// `cost` or `list`.
    pub basis: String,
    pub percent: Option<String>,
    pub amount: Option<String>,
    pub currency_code: Option<String>,
    pub effective_from: Option<String>,
}

/// Validates a rule: a known basis, exactly one of `percent` (0 to 1000, at most 4 decimals) and `amount` with its
/// `currencyCode` (`scale_of(currency)` gives its decimals, none for an unknown code), a product type or a product
/// but not both. `now` is its `effectiveFrom` when none is given.
pub fn validate_rule(
    d: MarkupRuleDraft,
    scale_of: &dyn Fn(&str) -> Option<u8>,
    now: Timestamp,
) -> Result<MarkupRule, DomainError> {
    let basis = Basis::parse(d.basis.trim()).ok_or_else(|| DomainError::invalid("basis", "must be cost or list"))?;
    let product_type = match d.product_type.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => Some(
            ProductType::parse(t)
                .ok_or_else(|| DomainError::invalid("productType", format!("'{t}' is not a product type")))?,
        ),
        None => None,
    };
    let product_id = d.product_id.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    if let Some(p) = &product_id {
        crate::catalog::validate_id(p).map_err(|m| DomainError::invalid("productId", m))?;
    }
    if product_type.is_some() && product_id.is_some() {
        return Err(DomainError::invalid("productId", "give a product type or a product, not both"));
    }
    let markup = match (d.percent.as_deref(), d.amount.as_deref()) {
        (Some(p), None) => {
            let bad = || DomainError::invalid("percent", format!("expected 0 to {MAX_MARKUP_PERCENT}, such as \"15\""));
            let t = p.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(bad());
            }
            let v: Decimal = t.parse().map_err(|_| bad())?;
            if v > Decimal::from(MAX_MARKUP_PERCENT) || v.scale() > 4 {
                return Err(bad());
            }
            Markup::Percent(v.normalize())
        }
        (None, Some(a)) => {
            let currency = d.currency_code.as_deref().map(|c| c.trim().to_ascii_uppercase()).unwrap_or_default();
            let scale = scale_of(&currency)
                .ok_or_else(|| DomainError::invalid("currencyCode", "a fixed markup needs its ISO 4217 currency"))?;
            let amount = Money::parse(a.trim(), scale).map_err(|m| DomainError::invalid("amount", m))?;
            Markup::Fixed { amount, currency }
        }
        _ => return Err(DomainError::invalid("percent", "give either percent or amount (with currencyCode)")),
    };
    let effective_from = match d.effective_from.as_deref() {
        Some(s) => crate::pricelist::parse_effective_from(s)?,
        None => now,
    };
    Ok(MarkupRule {
        id: MarkupRuleId::new(),
        customer_id: d.customer_id,
        product_type,
        product_id,
        basis,
        markup,
        effective_from,
        created_at: now,
    })
}

/// The margin of a unit or line: what the customer pays less what the partner pays.
pub fn margin(customer: Money, cost: Money) -> Money {
    customer.checked_sub(cost).unwrap_or(Money::zero(customer.scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn usd(s: &str) -> Money {
        Money::parse(s, 2).unwrap()
    }

    fn rule(
        customer: Option<TenantId>,
        t: Option<ProductType>,
        product: Option<&str>,
        basis: &str,
        pct: &str,
        day: i64,
    ) -> MarkupRule {
        let d = MarkupRuleDraft {
            customer_id: customer,
            product_type: t.map(|t| t.as_str().to_string()),
            product_id: product.map(String::from),
            basis: basis.into(),
            percent: Some(pct.into()),
            ..Default::default()
        };
        validate_rule(d, &|_| Some(2), Timestamp::from_micros(day * DAY)).unwrap()
    }

    #[test]
    fn the_most_specific_rule_in_effect_wins_and_an_override_beats_them() {
        let (alice, bob) = (TenantId::new(), TenantId::new());
        let facts = |customer| UnitFacts {
            customer,
            product_id: "SLES",
            product_type: ProductType::SoftwarePlan,
            sku_id: "0001",
            currency: "USD",
            list: usd("300.00"),
            cost: usd("250.00"),
        };
        let at = |d: i64| Timestamp::from_micros(d * DAY);
        let mut prices = CustomerPrices::default();
        assert_eq!(prices.unit_price(&facts(alice), at(0)), (usd("300.00"), PriceSource::ListPrice));
        prices.rules.push(rule(None, None, None, "cost", "10", 0));
        prices.rules.push(rule(None, Some(ProductType::SoftwarePlan), None, "cost", "20", 0));
        prices.rules.push(rule(None, None, Some("SLES"), "list", "5", 0));
        prices.rules.push(rule(Some(alice), None, None, "cost", "0", 10));
        // Product beats type beats all: 300.00 + 5%.
        assert_eq!(prices.unit_price(&facts(bob), at(0)).0, usd("315.00"));
        // Alice's own rule from day 10 beats the product's, for her only.
        assert_eq!(prices.unit_price(&facts(alice), at(9)).0, usd("315.00"));
        assert_eq!(prices.unit_price(&facts(alice), at(10)).0, usd("250.00"));
        assert_eq!(prices.unit_price(&facts(bob), at(10)).0, usd("315.00"));
        // An explicit price wins from its date.
        prices.overrides.push(PriceOverride {
            customer_id: bob,
            product_id: "SLES".into(),
            sku_id: "0001".into(),
            currency: "USD".into(),
            unit_price: usd("299.99"),
            effective_from: at(20),
            created_at: at(1),
        });
        assert_eq!(prices.unit_price(&facts(bob), at(19)).0, usd("315.00"));
        assert_eq!(prices.unit_price(&facts(bob), at(20)), (usd("299.99"), PriceSource::Override));
        assert_eq!(margin(usd("299.99"), usd("250.00")), usd("49.99"));
    }

    #[test]
    fn fixed_markups_apply_in_their_currency_and_rules_are_validated() {
        let d = MarkupRuleDraft {
            basis: "cost".into(),
            amount: Some("12.50".into()),
            currency_code: Some("usd".into()),
            ..Default::default()
        };
        let scale = |c: &str| (c == "USD" || c == "EUR").then_some(2);
        let fixed = validate_rule(d.clone(), &scale, Timestamp::from_micros(0)).unwrap();
        let f = UnitFacts {
            customer: TenantId::new(),
            product_id: "SLES",
            product_type: ProductType::SoftwarePlan,
            sku_id: "0001",
            currency: "USD",
            list: usd("300.00"),
            cost: usd("250.00"),
        };
        let prices = CustomerPrices { rules: vec![fixed], overrides: vec![] };
        assert_eq!(prices.unit_price(&f, Timestamp::from_micros(0)).0, usd("262.50"));
        let eur = UnitFacts { currency: "EUR", ..f };
        assert_eq!(prices.unit_price(&eur, Timestamp::from_micros(0)).0, usd("300.00"));
        let bad = |d: MarkupRuleDraft, field: &str| {
            let e = validate_rule(d, &scale, Timestamp::from_micros(0)).unwrap_err();
            assert!(e.to_string().starts_with(field), "{e}");
        };
        bad(MarkupRuleDraft { basis: "retail".into(), ..d.clone() }, "basis");
        bad(MarkupRuleDraft { currency_code: Some("XXX".into()), ..d.clone() }, "currencyCode");
        bad(MarkupRuleDraft { percent: Some("5".into()), ..d.clone() }, "percent");
        bad(MarkupRuleDraft { amount: None, percent: Some("1001".into()), ..d.clone() }, "percent");
        bad(MarkupRuleDraft { product_type: Some("x".into()), ..d.clone() }, "productType");
        bad(
            MarkupRuleDraft { product_type: Some("software_plan".into()), product_id: Some("SLES".into()), ..d },
            "productId",
        );
    }
}
