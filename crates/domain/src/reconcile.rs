//! Reconciliation (issue 23): a month of a partner's ledger rows (charges, cancel credits, refunds) with both sides
//! of each — the partner's cost as invoiced and the customer's price — and the check that the cost side adds up to
//! the partner's invoices to the cent. A credit reverses the customer's price in the proportion it reverses the
//! charge (R10: by gross, tax in the same proportion).

use crate::ids::InvoiceId;
use crate::invoice::{Invoice, InvoiceLine};
use crate::ledger::LedgerKind;
use crate::money::{prorate, Money};
use crate::order::OrderLine;

/// Net, tax and gross of one side of a row (credits negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// One ledger row, both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconRow {
    pub line: InvoiceLine,
    pub term: Option<String>,
    /// The unit cost and the customer's unit price of the order line (none for a refund naming no line).
    pub unit_cost: Option<Money>,
    pub unit_price: Option<Money>,
    /// What the partner is charged or credited: the invoice's line.
    pub cost: Amounts,
    /// What the customer pays or gets back (none for a refund naming no line).
    pub customer: Option<Amounts>,
    /// Customer net less cost net.
    pub margin: Option<Money>,
    /// The invoice the row was billed on (none: not invoiced yet).
    pub invoice_id: Option<InvoiceId>,
}

/// The customer's side of a row of `order_line`: the line's customer price for its charge; for a credit, the same
/// share of it as the credit's gross is of the charge's gross (negative), taken cumulatively: `credited_before` is
/// the cost gross the line's earlier credits gave back (positive), and the credit is the rounded share up to and
/// including it less the rounded share before it. So credits that give back the whole charge give back the whole
/// customer price, to the cent, however they were split.
pub fn customer_side(line: &InvoiceLine, order_line: &OrderLine, credited_before: i64) -> Amounts {
    let c = &order_line.customer;
    if line.charge_type == LedgerKind::New {
        return Amounts { net: c.net, tax: c.tax, gross: c.gross };
    }
    let (part, whole) = (line.total.minor.saturating_abs(), order_line.pricing.gross.minor);
    let before = credited_before.max(0);
    let share = |m: Money| {
        let upto = prorate(m, before.saturating_add(part), whole);
        Money { minor: upto.minor - prorate(m, before, whole).minor, scale: m.scale }
    };
    let (gross, tax) = (share(c.gross), share(c.tax));
    let net = Money { minor: gross.minor - tax.minor, scale: gross.scale };
    Amounts { net: net.neg(), tax: tax.neg(), gross: gross.neg() }
}

/// A ledger row with both sides; `credited_before` as [`customer_side`] takes it (0 for a charge).
pub fn row(
    line: InvoiceLine,
    order_line: Option<&OrderLine>,
    invoice_id: Option<InvoiceId>,
    credited_before: i64,
) -> ReconRow {
    let cost = Amounts { net: line.subtotal, tax: line.tax_total, gross: line.total };
    let customer = order_line.map(|ol| customer_side(&line, ol, credited_before));
    ReconRow {
        term: order_line.and_then(|ol| ol.term).map(|t| t.as_str().to_string()),
        unit_cost: order_line.map(|ol| ol.pricing.unit_price),
        unit_price: order_line.map(|ol| ol.customer.unit_price),
        margin: customer.and_then(|c| c.net.checked_sub(cost.net)),
        cost,
        customer,
        invoice_id,
        line,
    }
}

/// One invoice's check: its totals against the sum of the cost side of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceCheck {
    pub invoice: Invoice,
    pub rows: usize,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

impl InvoiceCheck {
    pub fn matches(&self) -> bool {
        (self.subtotal, self.tax, self.total)
            == (self.invoice.subtotal, self.invoice.tax_total, self.invoice.total_charges)
            && self.rows as i64 == self.invoice.line_count
    }
}

/// Sums the cost side of the rows billed on each invoice.
pub fn check(invoices: &[Invoice], rows: &[ReconRow]) -> Vec<InvoiceCheck> {
    invoices
        .iter()
        .map(|i| {
            let zero = Money::zero(i.subtotal.scale);
            let mine: Vec<&ReconRow> = rows.iter().filter(|r| r.invoice_id == Some(i.id)).collect();
            let sum =
                |f: fn(&Amounts) -> Money| mine.iter().fold(zero, |acc, r| acc.checked_add(f(&r.cost)).unwrap_or(acc));
            InvoiceCheck {
                invoice: i.clone(),
                rows: mine.len(),
                subtotal: sum(|a| a.net),
                tax: sum(|a| a.tax),
                total: sum(|a| a.gross),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::price_line;
    use rust_decimal::Decimal;

    #[test]
    fn a_credit_reverses_the_customer_side_in_proportion() {
        let rate = Decimal::new(725, 4);
        let cost = price_line(Money::parse("264.00", 2).unwrap(), 2, rate, false).unwrap();
        let customer = price_line(Money::parse("330.00", 2).unwrap(), 2, rate, false).unwrap();
        let ol = OrderLine {
            line_number: 0,
            product_id: "SLES".into(),
            sku_id: "0001".into(),
            availability_id: "A".into(),
            product_type: crate::catalog::ProductType::SoftwarePlan,
            title: "SLES".into(),
            friendly_name: None,
            term: Some(crate::catalog::Term::P1Y),
            pricing: cost,
            list: cost,
            customer,
            price_list: None,
            tax_rate: rate,
            policy: crate::cancellation::CancellationPolicy::None,
            status: crate::order::LineStatus::Active,
            cancelled_at: None,
            provisioning_context: None,
        };
        let line = |kind: LedgerKind, net: i64, tax: i64| InvoiceLine {
            id: "x".into(),
            at: crate::Timestamp::from_micros(0),
            charge_type: kind,
            customer_id: None,
            customer_domain: None,
            order_id: None,
            line_number: Some(0),
            order_date: None,
            product_id: None,
            sku_id: None,
            product_name: None,
            unit_price: cost.unit_price,
            quantity: 2,
            subtotal: Money { minor: net, scale: 2 },
            tax_total: Money { minor: tax, scale: 2 },
            total: Money { minor: net + tax, scale: 2 },
            currency: "USD".into(),
        };
        let charge = row(line(LedgerKind::New, cost.net.minor, cost.tax.minor), Some(&ol), None, 0);
        assert_eq!(charge.customer.unwrap().gross.format(), "707.85");
        assert_eq!(charge.margin.unwrap().format(), "132.00");
        // A full cancel gives back all of it; half of the charge, half of the customer's price.
        let all = row(line(LedgerKind::Cancel, -cost.net.minor, -cost.tax.minor), Some(&ol), None, 0);
        assert_eq!(all.customer.unwrap().gross.format(), "-707.85");
        assert_eq!(all.margin.unwrap().format(), "-132.00");
        let half = row(line(LedgerKind::Refund, -26_400, -1_914), Some(&ol), None, 0);
        let c = half.customer.unwrap();
        assert_eq!(
            (c.net.format(), c.tax.format(), c.gross.format()),
            ("-330.00".into(), "-23.93".into(), "-353.93".into())
        );
    }

    #[test]
    fn credits_that_give_back_the_whole_charge_give_back_the_whole_customer_price() {
        // Cost 3.00, customer 10.00, no tax: three refunds of 1.00 each are -3.33, -3.34, -3.33 (not -3.33 × 3).
        let cost = crate::money::price_line(Money::parse("3.00", 2).unwrap(), 1, Decimal::ZERO, false).unwrap();
        let customer = crate::money::price_line(Money::parse("10.00", 2).unwrap(), 1, Decimal::ZERO, false).unwrap();
        let ol = OrderLine {
            line_number: 0,
            product_id: "P".into(),
            sku_id: "S".into(),
            availability_id: "A".into(),
            product_type: crate::catalog::ProductType::SoftwarePlan,
            title: "P".into(),
            friendly_name: None,
            term: None,
            pricing: cost,
            list: cost,
            customer,
            price_list: None,
            tax_rate: Decimal::ZERO,
            policy: crate::cancellation::CancellationPolicy::None,
            status: crate::order::LineStatus::Active,
            cancelled_at: None,
            provisioning_context: None,
        };
        let refund = |minor: i64| InvoiceLine {
            id: "r".into(),
            at: crate::Timestamp::from_micros(0),
            charge_type: LedgerKind::Refund,
            customer_id: None,
            customer_domain: None,
            order_id: None,
            line_number: Some(0),
            order_date: None,
            product_id: None,
            sku_id: None,
            product_name: None,
            unit_price: cost.unit_price,
            quantity: 1,
            subtotal: Money { minor: -minor, scale: 2 },
            tax_total: Money::zero(2),
            total: Money { minor: -minor, scale: 2 },
            currency: "USD".into(),
        };
        let mut before = 0;
        let mut given_back = 0;
        let mut each = Vec::new();
        for _ in 0..3 {
            let c = customer_side(&refund(100), &ol, before);
            each.push(c.gross.format());
            given_back += c.gross.minor;
            before += 100;
        }
        assert_eq!(each, ["-3.33", "-3.34", "-3.33"]);
        assert_eq!(given_back, -1_000, "the whole customer price, to the cent");
        // Past the charge (it never is: the ledger refuses it), nothing more.
        assert_eq!(customer_side(&refund(100), &ol, 300).gross.minor, 0);
    }
}
