//! Markets (R1, R4): a customer's market is its billing country; each market has a currency and a tax rule.

use crate::error::DomainError;
use crate::market_data;
use rust_decimal::Decimal;
use serde::Serialize;

/// A validated ISO 3166-1 alpha-2 code (or XK) known to the market table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MarketCode(&'static str);

impl MarketCode {
    /// Accepts any letter case; the market table's upper-case code is kept.
    pub fn parse(s: &str) -> Option<MarketCode> {
        let upper = s.trim().to_ascii_uppercase();
        market_data::country(&upper).map(|c| MarketCode(c.code))
    }
    pub fn as_str(self) -> &'static str {
        self.0
    }
    pub fn info(self) -> &'static market_data::CountryInfo {
        #[allow(clippy::expect_used, reason = "a MarketCode is only built from a row of this table (parse)")]
        market_data::country(self.0).expect("MarketCode is only built from the table")
    }
}

impl std::fmt::Display for MarketCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A market's stored settings: currency and tax rule (the rate and mode are publisher data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Market {
    pub country: MarketCode,
    pub name: &'static str,
    pub currency_code: String,
    pub minor_units: u8,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
    pub tax_inclusive: bool,
}

impl Market {
    /// The seeded default (R4): AU 10% inclusive, BR inclusive at 0% until set, everything else exclusive at 0%.
    pub fn default_for(country: MarketCode) -> Market {
        let info = country.info();
        let (rate, inclusive) = match country.as_str() {
            "AU" => (Decimal::new(10, 2), true),
            "BR" => (Decimal::ZERO, true),
            _ => (Decimal::ZERO, false),
        };
        Market {
            country,
            name: info.name,
            currency_code: info.currency.to_string(),
            minor_units: info.minor_units,
            tax_rate: rate,
            tax_inclusive: inclusive,
        }
    }

    pub fn all_defaults() -> impl Iterator<Item = Market> {
        market_data::COUNTRIES.iter().map(|c| Market::default_for(MarketCode(c.code)))
    }
}

/// A publisher's edit of a market: validated currency and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketUpdate {
    pub currency_code: String,
    pub minor_units: u8,
    pub tax_rate: Decimal,
    pub tax_inclusive: bool,
}

impl MarketUpdate {
    pub fn parse(currency_code: &str, tax_rate: &str, tax_inclusive: bool) -> Result<MarketUpdate, DomainError> {
        let currency = currency_code.trim().to_ascii_uppercase();
        let minor_units = market_data::currency_minor_units(&currency)
            .ok_or_else(|| DomainError::invalid("currencyCode", format!("unknown currency '{currency_code}'")))?;
        let rate: Decimal = tax_rate
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("taxRate", "expected a decimal string such as \"0.10\""))?;
        if rate < Decimal::ZERO || rate >= Decimal::ONE {
            return Err(DomainError::invalid("taxRate", "must be at least 0 and below 1 (0.10 is 10%)"));
        }
        if rate.scale() > 6 {
            return Err(DomainError::invalid("taxRate", "at most 6 decimals"));
        }
        Ok(MarketUpdate { currency_code: currency, minor_units, tax_rate: rate.normalize(), tax_inclusive })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_codes_in_any_case() {
        assert_eq!(MarketCode::parse("au").map(|m| m.as_str()), Some("AU"));
        assert_eq!(MarketCode::parse("XK").map(|m| m.as_str()), Some("XK"));
        assert_eq!(MarketCode::parse("ZZ"), None);
        assert_eq!(MarketCode::parse("USA"), None);
    }

    #[test]
    fn defaults_follow_r4() {
        let au = Market::default_for(MarketCode::parse("AU").unwrap());
        assert_eq!((au.tax_rate, au.tax_inclusive, au.currency_code.as_str()), (Decimal::new(10, 2), true, "AUD"));
        let br = Market::default_for(MarketCode::parse("BR").unwrap());
        assert_eq!((br.tax_rate, br.tax_inclusive), (Decimal::ZERO, true));
        let jp = Market::default_for(MarketCode::parse("JP").unwrap());
        assert_eq!((jp.tax_inclusive, jp.minor_units), (false, 0));
        assert_eq!(Market::all_defaults().count(), 250);
    }

    #[test]
    fn market_update_validation() {
        assert!(MarketUpdate::parse("EUR", "0.19", false).is_ok());
        assert!(MarketUpdate::parse("XXX", "0.19", false).is_err());
        assert!(MarketUpdate::parse("EUR", "1.5", false).is_err());
        assert!(MarketUpdate::parse("EUR", "-0.1", false).is_err());
        assert!(MarketUpdate::parse("EUR", "ten", false).is_err());
    }
}
