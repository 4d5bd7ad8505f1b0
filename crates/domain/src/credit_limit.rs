//! A partner's credit limit (issue 23): the publisher may cap what a partner owes in one currency — its unbilled
//! charges less credits plus its invoices not yet paid, gross. A checkout that would take that past the limit is
//! refused; one that reaches it exactly is not. Orders in another currency are not limited by it.

use crate::error::DomainError;
use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLimit {
    pub amount: Money,
    pub currency: String,
}

/// A limit and what counts against it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditStanding {
    pub limit: CreditLimit,
    /// Unbilled charges less credits, plus unpaid invoices, gross, in the limit's currency.
    pub used: Money,
}

impl CreditStanding {
    /// What is left before the limit (negative when a credit or an invoice left the partner above it).
    pub fn available(&self) -> Money {
        self.limit.amount.checked_sub(self.used).unwrap_or(Money::zero(self.limit.amount.scale))
    }

    /// Admits a charge of `gross` in `currency` on top of `used`, or refuses it with what is left.
    pub fn admit(&self, gross: Money, currency: &str) -> Result<(), DomainError> {
        if currency != self.limit.currency {
            return Ok(());
        }
        let after = self.used.checked_add(gross);
        if after.is_some_and(|a| a <= self.limit.amount) {
            return Ok(());
        }
        let left = self.available();
        Err(DomainError::CreditLimitExceeded {
            charge: gross.format(),
            left: left.max(Money::zero(left.scale)).format(),
            currency: currency.to_string(),
        })
    }
}

/// Validates a limit as the publisher gives it: an amount in the currency's decimals (`scale_of` gives them, none
/// for an unknown code).
pub fn parse_limit(
    amount: &str,
    currency: &str,
    scale_of: &dyn Fn(&str) -> Option<u8>,
) -> Result<CreditLimit, DomainError> {
    let currency = currency.trim().to_ascii_uppercase();
    let scale = scale_of(&currency)
        .ok_or_else(|| DomainError::invalid("currencyCode", "expected the ISO 4217 code of a market's currency"))?;
    let amount = Money::parse(amount.trim(), scale).map_err(|m| DomainError::invalid("amount", m))?;
    Ok(CreditLimit { amount, currency })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Money {
        Money::parse(s, 2).unwrap()
    }

    #[test]
    fn a_charge_may_reach_the_limit_but_not_pass_it() {
        let standing = CreditStanding {
            limit: CreditLimit { amount: usd("1000.00"), currency: "USD".into() },
            used: usd("400.00"),
        };
        assert_eq!(standing.available(), usd("600.00"));
        assert!(standing.admit(usd("600.00"), "USD").is_ok());
        let err = standing.admit(usd("600.01"), "USD").unwrap_err();
        assert_eq!(err.error_name(), "credit_limit_exceeded");
        assert!(err.to_string().contains("600.00 USD is left"), "{err}");
        // Another currency is not limited.
        assert!(standing.admit(usd("5000.00"), "EUR").is_ok());
        // Above the limit already: nothing is left, nothing more is admitted.
        let over = CreditStanding { used: usd("1200.00"), ..standing };
        assert!(over.admit(usd("0.01"), "USD").unwrap_err().to_string().contains("0.00 USD is left"));
        let scale = |c: &str| (c == "USD").then_some(2);
        assert!(parse_limit("10.001", "USD", &scale).is_err());
        assert!(parse_limit("10", "XXX", &scale).is_err());
        assert_eq!(parse_limit("10", "usd", &scale).unwrap().amount, usd("10.00"));
    }
}
