//! Monthly invoices (R12): billing periods, what an invoice holds, and the tax split of a granted refund.

use crate::error::DomainError;
use crate::ids::{InvoiceId, OrderId, PartnerId, TenantId};
use crate::money::{round_half_away, Money};
use crate::timestamp::Timestamp;
use rust_decimal::Decimal;
use time::{Date, Month};

/// A calendar month (UTC): what one invoice covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: Month,
}

impl Period {
    /// `YYYY-MM`, years 2000 to 2999.
    pub fn parse(s: &str) -> Result<Period, DomainError> {
        let bad = || DomainError::invalid("period", format!("'{s}' is not a month like 2026-11"));
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month = Month::try_from(m.parse::<u8>().map_err(|_| bad())?).map_err(|_| bad())?;
        if !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The month that holds an instant.
    pub fn of(at: Timestamp) -> Period {
        let d = at.date();
        Period { year: d.year(), month: d.month() }
    }

    pub fn first_day(self) -> Date {
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The first day of the next month: the invoice's date.
    pub fn next_first_day(self) -> Date {
        let (year, month) = if self.month == Month::December {
            (self.year + 1, Month::January)
        } else {
            (self.year, self.month.next())
        };
        Date::from_calendar_date(year, month, 1).unwrap_or(Date::MAX)
    }

    pub fn last_day(self) -> Date {
        self.next_first_day().previous_day().unwrap_or(Date::MIN)
    }

    /// The period ends (exclusive) at midnight UTC starting the next month.
    pub fn end(self) -> Timestamp {
        Timestamp::start_of_day(self.next_first_day())
    }

    pub fn start(self) -> Timestamp {
        Timestamp::start_of_day(self.first_day())
    }

    /// A month is invoiced once it has ended on the partner's clock.
    pub fn has_ended(self, partner_now: Timestamp) -> bool {
        partner_now >= self.end()
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month as u8)
    }
}

/// One partner's invoice for one month and currency; never changed once issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: InvoiceId,
    pub partner_id: PartnerId,
    pub period: Period,
    pub currency: String,
    /// Net, tax and gross of every line (credits are negative).
    pub subtotal: Money,
    pub tax_total: Money,
    pub total_charges: Money,
    pub line_count: i64,
    pub issued_at: Timestamp,
}

impl Invoice {
    /// Dated the first day of the next month.
    pub fn invoice_date(&self) -> Date {
        self.period.next_first_day()
    }
}

/// One billed line: a charge, or a credit (positive quantity, negative amounts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// The ledger row's id, the line's stable identity.
    pub id: String,
    pub at: Timestamp,
    /// The ledger row's kind ([`crate::ledger::LedgerKind::as_str`]).
    pub charge_type: crate::ledger::LedgerKind,
    pub customer_id: Option<TenantId>,
    pub customer_domain: Option<String>,
    pub order_id: Option<OrderId>,
    pub line_number: Option<u32>,
    pub order_date: Option<Timestamp>,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub product_name: Option<String>,
    pub unit_price: Money,
    pub quantity: i64,
    pub subtotal: Money,
    pub tax_total: Money,
    pub total: Money,
    pub currency: String,
}

/// R12: a refund is a gross amount. Naming an order line, its tax is split at that line's rate
/// (`tax = round(gross × rate / (1 + rate))`); otherwise its tax is 0. Returns (net, tax).
pub fn refund_split(gross: Money, line_rate: Option<Decimal>) -> (Money, Money) {
    let tax = match line_rate {
        Some(rate) if rate > Decimal::ZERO => {
            let exact = Decimal::from(gross.minor) * rate / (Decimal::ONE + rate);
            Money { minor: round_half_away(exact, 0), scale: gross.scale }
        }
        _ => Money::zero(gross.scale),
    };
    let net = Money { minor: gross.minor - tax.minor, scale: gross.scale };
    (net, tax)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::{date, datetime};

    #[test]
    fn periods_parse_and_bound_whole_months() {
        let p = Period::parse("2026-11").unwrap();
        assert_eq!(p.to_string(), "2026-11");
        assert_eq!(
            (p.first_day(), p.last_day(), p.next_first_day()),
            (date!(2026 - 11 - 01), date!(2026 - 11 - 30), date!(2026 - 12 - 01))
        );
        let dec = Period::parse("2026-12").unwrap();
        assert_eq!((dec.last_day(), dec.next_first_day()), (date!(2026 - 12 - 31), date!(2027 - 01 - 01)));
        assert_eq!(Period::parse("2028-02").unwrap().last_day(), date!(2028 - 02 - 29));
        for bad in
            ["2026-13", "2026-00", "26-11", "2026/11", "2026-1", "", "abcd-ef", "1999-12", "+026-11", "2026-11-01"]
        {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        let end = Timestamp::from_datetime(datetime!(2026-12-01 00:00 UTC));
        assert!(!p.has_ended(end.plus_micros(-1)));
        assert!(p.has_ended(end));
        assert_eq!(Period::of(end.plus_micros(-1)), p);
        assert_eq!(Period::of(end), dec);
    }

    #[test]
    fn a_refund_splits_its_tax_at_the_lines_rate_or_has_none() {
        let gross = Money { minor: 10_725, scale: 2 };
        let (net, tax) = refund_split(gross, Some(Decimal::from_str("0.0725").unwrap()));
        assert_eq!((net.minor, tax.minor), (10_000, 725));
        let (net, tax) = refund_split(gross, None);
        assert_eq!((net.minor, tax.minor), (10_725, 0));
        let (net, tax) = refund_split(Money { minor: 1100, scale: 0 }, Some(Decimal::from_str("0.10").unwrap()));
        assert_eq!((net.minor, tax.minor), (1000, 100));
    }
}
