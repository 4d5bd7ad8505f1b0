//! Partner price lists (issue 23): what a partner pays the publisher, per SKU and market, effective-dated.
//!
//! A price list is a named series of versions. A version gives the partner's cost either as a rule on the list price
//! (`discountPercent`, e.g. 12 for −12%) or as explicit prices per SKU and market (an explicit price wins over the
//! rule; a SKU with neither costs its list price). A version without `effectiveFrom` is a draft; with one, it is
//! scheduled until that instant, then active until a later version of the same list takes effect (superseded).
//! Each partner is assigned one list (or follows the default list), so at any instant it has at most one active
//! version; before any version takes effect, its cost is the list price. Orders copy the cost they were charged, so
//! changing a list never changes an order already placed.

use crate::catalog::{validate_id, Price};
use crate::error::DomainError;
use crate::ids::PriceListId;
use crate::market::MarketCode;
use crate::money::{round_half_away, Money};
use crate::timestamp::Timestamp;
use rust_decimal::Decimal;

/// The longest name of a price list, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// The most explicit prices one version may hold.
pub const MAX_PRICES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceList {
    pub id: PriceListId,
    pub name: String,
    /// The list of every partner that has none assigned (at most one list is the default).
    pub is_default: bool,
    pub created_at: Timestamp,
    /// By number, from 1.
    pub versions: Vec<PriceListVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceListVersion {
    pub number: u32,
    /// `None`: a draft.
    pub effective_from: Option<Timestamp>,
    /// Percent off the list price (0 ≤ p ≤ 100), for SKUs without an explicit price.
    pub discount_percent: Option<Decimal>,
    pub prices: Vec<CostPrice>,
    pub created_at: Timestamp,
}

/// An explicit partner cost of a SKU in one market, in the market's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostPrice {
    pub product_id: String,
    pub sku_id: String,
    pub country: MarketCode,
    pub currency: String,
    pub cost: Money,
}

/// An explicit price as the client (API body or CSV row) wrote it.
#[derive(Debug, Clone, Default)]
pub struct CostPriceDraft {
    pub product_id: String,
    pub sku_id: String,
    pub country: String,
    pub currency_code: String,
    pub cost: String,
}

/// A version's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    Draft,
    Scheduled,
    Active,
    Superseded,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Scheduled => "scheduled",
            VersionStatus::Active => "active",
            VersionStatus::Superseded => "superseded",
        }
    }
}

/// Which list and version an order line's cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceListRef {
    pub id: PriceListId,
    pub version: u32,
}

impl PriceList {
    /// The version in effect at `at`: the latest `effectiveFrom` not after `at` (of two on one instant, the higher
    /// number); none before the first takes effect.
    pub fn active_at(&self, at: Timestamp) -> Option<&PriceListVersion> {
        self.versions
            .iter()
            .filter(|v| v.effective_from.is_some_and(|f| f <= at))
            .max_by_key(|v| (v.effective_from, v.number))
    }

    /// A version's state at `now`.
    pub fn status_of(&self, version: &PriceListVersion, now: Timestamp) -> VersionStatus {
        match version.effective_from {
            None => VersionStatus::Draft,
            Some(f) if f > now => VersionStatus::Scheduled,
            Some(_) if self.active_at(now).map(|a| a.number) == Some(version.number) => VersionStatus::Active,
            Some(_) => VersionStatus::Superseded,
        }
    }

    pub fn version(&self, number: u32) -> Option<&PriceListVersion> {
        self.versions.iter().find(|v| v.number == number)
    }
}

impl PriceListVersion {
    /// The partner's unit cost of a SKU whose list price in the market is `price`: the explicit price, else the
    /// list price less the discount (rounded half away from zero to the currency's minor unit), else the list price.
    /// An explicit price applies only in the currency (and minor unit) it was written in: after a market changes
    /// its currency, the SKU falls back to the rule or the list price rather than charging the old amount in the
    /// new currency.
    pub fn cost(&self, product_id: &str, sku_id: &str, price: &Price) -> Money {
        if let Some(p) = self.prices.iter().find(|p| {
            p.product_id == product_id
                && p.sku_id == sku_id
                && p.country == price.country
                && p.currency == price.currency
                && p.cost.scale == price.list_price.scale
        }) {
            return p.cost;
        }
        match self.discount_percent {
            Some(d) => discounted(price.list_price, d),
            None => price.list_price,
        }
    }
}

/// `list × (100 − percent) / 100`, rounded half away from zero to the list price's scale.
pub fn discounted(list: Money, percent: Decimal) -> Money {
    let exact = Decimal::from(list.minor) * (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED;
    Money { minor: round_half_away(exact, 0), scale: list.scale }
}

/// The unit cost of a SKU for a partner whose list is `list`, at `at`, and where it came from.
pub fn partner_cost(
    list: Option<&PriceList>,
    product_id: &str,
    sku_id: &str,
    price: &Price,
    at: Timestamp,
) -> (Money, Option<PriceListRef>) {
    match list.and_then(|l| l.active_at(at).map(|v| (l.id, v))) {
        Some((id, v)) => (v.cost(product_id, sku_id, price), Some(PriceListRef { id, version: v.number })),
        None => (price.list_price, None),
    }
}

pub fn validate_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid("name", format!("give 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}

/// When a version takes effect: an RFC 3339 instant, or a date YYYY-MM-DD (its midnight, UTC).
pub fn parse_effective_from(s: &str) -> Result<Timestamp, DomainError> {
    let s = s.trim();
    if let Some(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map(Timestamp::start_of_day)
        .map_err(|_| DomainError::invalid("effectiveFrom", "expected an RFC 3339 date-time or a date YYYY-MM-DD"))
}

/// "12" or "12.5": percent off the list price, 0 to 100, at most 4 decimals.
pub fn parse_discount(s: &str) -> Result<Decimal, DomainError> {
    let bad = || DomainError::invalid("discountPercent", "expected a percentage from 0 to 100 such as \"12.5\"");
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let d: Decimal = t.parse().map_err(|_| bad())?;
    if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED || d.scale() > 4 {
        return Err(bad());
    }
    Ok(d.normalize())
}

/// Validates explicit prices: known market, the market's currency (`market(country)` gives its code and minor
/// units), no more decimals than it allows, ids well formed, one price per SKU and market.
pub fn validate_prices(
    drafts: Vec<CostPriceDraft>,
    market: &dyn Fn(MarketCode) -> (String, u8),
) -> Result<Vec<CostPrice>, DomainError> {
    if drafts.len() > MAX_PRICES {
        return Err(DomainError::invalid("prices", format!("at most {MAX_PRICES} prices per version")));
    }
    let mut seen = std::collections::HashSet::new();
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |f: &str| format!("prices[{i}].{f}");
            let product_id = d.product_id.trim().to_string();
            let sku_id = d.sku_id.trim().to_string();
            validate_id(&product_id).map_err(|m| DomainError::invalid(&field("productId"), m))?;
            validate_id(&sku_id).map_err(|m| DomainError::invalid(&field("skuId"), m))?;
            let country = MarketCode::parse(d.country.trim()).ok_or_else(|| {
                DomainError::invalid(&field("country"), format!("'{}' is not an ISO 3166-1 alpha-2 code", d.country))
            })?;
            let (currency, scale) = market(country);
            if !d.currency_code.trim().eq_ignore_ascii_case(&currency) {
                return Err(DomainError::invalid(
                    &field("currencyCode"),
                    format!("{country}'s currency is {currency}, not '{}'", d.currency_code),
                ));
            }
            let cost = Money::parse(d.cost.trim(), scale).map_err(|m| DomainError::invalid(&field("cost"), m))?;
            if !seen.insert((product_id.clone(), sku_id.clone(), country)) {
                return Err(DomainError::invalid(
                    &field("country"),
                    format!("a second price for {product_id}:{sku_id} in {country}"),
                ));
            }
            Ok(CostPrice { product_id, sku_id, country, currency, cost })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn usd(country: &str, amount: &str) -> Price {
        Price {
            country: MarketCode::parse(country).unwrap(),
            currency: "USD".into(),
            list_price: Money::parse(amount, 2).unwrap(),
        }
    }

    fn version(number: u32, from: Option<i64>, discount: Option<&str>, prices: Vec<CostPrice>) -> PriceListVersion {
        PriceListVersion {
            number,
            effective_from: from.map(|d| Timestamp::from_micros(d * DAY)),
            discount_percent: discount.map(|d| parse_discount(d).unwrap()),
            prices,
            created_at: Timestamp::from_micros(0),
        }
    }

    fn list(versions: Vec<PriceListVersion>) -> PriceList {
        PriceList {
            id: PriceListId::new(),
            name: "Gold".into(),
            is_default: false,
            created_at: Timestamp::from_micros(0),
            versions,
        }
    }

    fn market(c: MarketCode) -> (String, u8) {
        (c.info().currency.to_string(), c.info().minor_units)
    }

    #[test]
    fn the_latest_effective_version_applies_and_states_follow_the_clock() {
        let explicit = validate_prices(
            vec![CostPriceDraft {
                product_id: "SQL".into(),
                sku_id: "1Y".into(),
                country: "US".into(),
                currency_code: "usd".into(),
                cost: "999.99".into(),
            }],
            &market,
        )
        .unwrap();
        let l = list(vec![
            version(1, Some(10), Some("12"), vec![]),
            version(2, Some(40), None, explicit),
            version(3, None, Some("50"), vec![]),
        ]);
        let at = |d: i64| Timestamp::from_micros(d * DAY);
        let price = usd("US", "1200.00");
        // Before version 1: the list price, from no list.
        assert_eq!(partner_cost(Some(&l), "SQL", "1Y", &price, at(9)), (price.list_price, None));
        let (cost, from) = partner_cost(Some(&l), "SQL", "1Y", &price, at(10));
        assert_eq!((cost.format(), from.unwrap().version), ("1056.00".into(), 1));
        // Version 2's explicit price from its date; a SKU it does not name costs its list price there.
        assert_eq!(partner_cost(Some(&l), "SQL", "1Y", &price, at(40)).0.format(), "999.99");
        assert_eq!(partner_cost(Some(&l), "SQL", "3Y", &price, at(40)).0.format(), "1200.00");
        let states = |d: i64| l.versions.iter().map(|v| l.status_of(v, at(d)).as_str()).collect::<Vec<_>>();
        assert_eq!(states(5), ["scheduled", "scheduled", "draft"]);
        assert_eq!(states(10), ["active", "scheduled", "draft"]);
        assert_eq!(states(41), ["superseded", "active", "draft"]);
        assert_eq!(partner_cost(None, "SQL", "1Y", &price, at(41)).0.format(), "1200.00");
    }

    #[test]
    fn an_explicit_price_applies_only_in_its_own_currency() {
        let explicit = vec![CostPrice {
            product_id: "SQL".into(),
            sku_id: "1Y".into(),
            country: MarketCode::parse("US").unwrap(),
            currency: "USD".into(),
            cost: Money::parse("999.99", 2).unwrap(),
        }];
        let v = version(1, Some(0), Some("10"), explicit);
        assert_eq!(v.cost("SQL", "1Y", &usd("US", "1200.00")).format(), "999.99");
        // The market now sells in another currency (and another minor unit): the rule applies, not 999.99.
        let yen = Price {
            country: MarketCode::parse("US").unwrap(),
            currency: "JPY".into(),
            list_price: Money::parse("150000", 0).unwrap(),
        };
        assert_eq!(v.cost("SQL", "1Y", &yen).format(), "135000");
        let eur = Price { currency: "EUR".into(), ..usd("US", "1000.00") };
        assert_eq!(v.cost("SQL", "1Y", &eur).format(), "900.00");
    }

    #[test]
    fn discounts_round_half_away_from_zero_to_the_currency() {
        assert_eq!(discounted(Money::parse("0.05", 2).unwrap(), Decimal::from(50)).format(), "0.03");
        assert_eq!(discounted(Money::parse("150001", 0).unwrap(), Decimal::from(10)).format(), "135001");
        assert_eq!(discounted(Money::parse("10.00", 2).unwrap(), Decimal::ONE_HUNDRED).format(), "0.00");
        for bad in ["-1", "100.01", "", "1e2", "12.34567", "abc"] {
            assert!(parse_discount(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_discount("12.50").unwrap().to_string(), "12.5");
    }

    #[test]
    fn explicit_prices_are_in_the_markets_currency_once_per_sku() {
        let d = |country: &str, currency: &str, cost: &str| CostPriceDraft {
            product_id: "SQL".into(),
            sku_id: "1Y".into(),
            country: country.into(),
            currency_code: currency.into(),
            cost: cost.into(),
        };
        let err = validate_prices(vec![d("US", "EUR", "1.00")], &market).unwrap_err();
        assert!(err.to_string().contains("prices[0].currencyCode"), "{err}");
        let err = validate_prices(vec![d("JP", "JPY", "1.5")], &market).unwrap_err();
        assert!(err.to_string().contains("prices[0].cost"), "{err}");
        let err = validate_prices(vec![d("ZZ", "USD", "1")], &market).unwrap_err();
        assert!(err.to_string().contains("prices[0].country"), "{err}");
        let err = validate_prices(vec![d("US", "USD", "1"), d("US", "USD", "2")], &market).unwrap_err();
        assert!(err.to_string().contains("prices[1]"), "{err}");
        assert!(validate_name("  ").is_err());
        assert_eq!(parse_effective_from("2026-02-01").unwrap().to_rfc3339(), "2026-02-01T00:00:00Z");
        assert!(parse_effective_from("2026-02-30").is_err());
    }
}
