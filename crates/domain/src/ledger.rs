//! The ledger (R12, SPEC §8): its rows — what a row is ([`LedgerKind`]) and the one place charges and credits are
//! built ([`LedgerLine`]'s constructors; the store writes them, the services decide the credits) — and its
//! invariants, as `partnerhub ledger verify` and `GET /v1/publisher/ledger/verification` check them over the whole
//! ledger: per order line, credits never exceed the charge (net and tax separately); per order, credits that name no
//! line count too; per invoice, the totals equal the sum of exactly the rows stamped with it, and those rows are the
//! invoice's partner's, in its currency — so no row is billed twice.

use crate::credit::LineCredit;
use crate::ids::{LedgerEntryId, OrderId, TenantId};
use crate::money::Money;
use crate::order::{Order, OrderLine};
use crate::Timestamp;

/// What a ledger row is: a charge at checkout, or a credit (a cancel's, or a refund the desk granted). It is the
/// `kind` column and an invoice line's `chargeType`; the store maps the column through it and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    /// An order line's charge, written at checkout.
    New,
    /// A cancel's credit on an order line (R10).
    Cancel,
    /// A refund granted through a support request (R11): on a line, apportioned over an order, or goodwill.
    Refund,
}

impl LedgerKind {
    pub const ALL: [LedgerKind; 3] = [LedgerKind::New, LedgerKind::Cancel, LedgerKind::Refund];

    /// The stored name (and Partner Center's `chargeType`).
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::New => "new",
            LedgerKind::Cancel => "cancel",
            LedgerKind::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<LedgerKind> {
        LedgerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Credits keep a positive quantity and negative amounts; only a charge adds to what an order line is owed.
    pub fn is_credit(self) -> bool {
        self != LedgerKind::New
    }
}

/// A row of the ledger (R12): a charge or a credit, which keeps a positive quantity and negative amounts. Built only
/// by the constructors below, so a charge and a credit always have their signs; invoice runs read these rows, and
/// `invoice_id` is set on them (by the store) when one is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub id: LedgerEntryId,
    pub kind: LedgerKind,
    pub currency: String,
    pub scale: u8,
    pub at: Timestamp,
    pub customer_id: Option<TenantId>,
    pub order_id: Option<OrderId>,
    pub line_number: Option<u32>,
    /// What the row comes from besides an order line (`servicerequest:<id>` for a granted refund).
    pub reference: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub gross_minor: i64,
}

impl LedgerLine {
    /// An order line's charge, dated when the order was placed.
    pub fn charge(order: &Order, line: &OrderLine) -> LedgerLine {
        let p = &line.pricing;
        LedgerLine {
            id: LedgerEntryId::new(),
            kind: LedgerKind::New,
            currency: order.currency.clone(),
            scale: p.net.scale,
            at: order.created_at,
            customer_id: Some(order.customer_id),
            order_id: Some(order.id),
            line_number: Some(line.line_number),
            reference: None,
            quantity: p.quantity,
            unit_price_minor: p.unit_price.minor,
            net_minor: p.net.minor,
            tax_minor: p.tax.minor,
            gross_minor: p.gross.minor,
        }
    }

    /// A cancel's credit on an order line (R10): the line's quantity at its unit price, the credit's amounts.
    pub fn cancel_credit(order: &Order, line: &OrderLine, credit: &LineCredit, at: Timestamp) -> LedgerLine {
        let p = &line.pricing;
        LedgerLine::credit(LedgerKind::Cancel, order, credit, p.quantity, p.unit_price.minor, at, None)
    }

    /// A refund granted on an order line (R11): one unit of the credit's gross.
    pub fn refund_credit(order: &Order, credit: &LineCredit, at: Timestamp, reference: String) -> LedgerLine {
        LedgerLine::credit(LedgerKind::Refund, order, credit, 1, credit.gross(), at, Some(reference))
    }

    /// A refund naming no order (a goodwill credit): it reverses no charge, so it carries no tax.
    pub fn goodwill_refund(
        gross: Money,
        currency: String,
        customer_id: Option<TenantId>,
        at: Timestamp,
        reference: String,
    ) -> LedgerLine {
        LedgerLine {
            id: LedgerEntryId::new(),
            kind: LedgerKind::Refund,
            currency,
            scale: gross.scale,
            at,
            customer_id,
            order_id: None,
            line_number: None,
            reference: Some(reference),
            quantity: 1,
            unit_price_minor: -gross.minor,
            net_minor: -gross.minor,
            tax_minor: 0,
            gross_minor: -gross.minor,
        }
    }

    fn credit(
        kind: LedgerKind,
        order: &Order,
        credit: &LineCredit,
        quantity: i64,
        unit_price_minor: i64,
        at: Timestamp,
        reference: Option<String>,
    ) -> LedgerLine {
        let scale = order.lines.first().map_or(0, |l| l.pricing.net.scale);
        LedgerLine {
            id: LedgerEntryId::new(),
            kind,
            currency: order.currency.clone(),
            scale,
            at,
            customer_id: Some(order.customer_id),
            order_id: Some(order.id),
            line_number: Some(credit.line_number),
            reference,
            quantity,
            unit_price_minor: -unit_price_minor,
            net_minor: -credit.net,
            tax_minor: -credit.tax,
            gross_minor: -credit.gross(),
        }
    }

    /// The same row with the amounts a credit was admitted at (see `OrderBalance::admit`).
    pub fn admitted_as(&self, admitted: &LineCredit) -> LedgerLine {
        LedgerLine { net_minor: -admitted.net, tax_minor: -admitted.tax, ..self.clone() }
    }
}

/// What the ledger holds for one order line (`line` none: credits that name the order but no line), in positive
/// minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts {
    pub order_id: String,
    pub line: Option<u32>,
    pub charged_net: i64,
    pub charged_tax: i64,
    pub credited_net: i64,
    pub credited_tax: i64,
}

/// One invoice as issued, and what the rows stamped with it add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFacts {
    pub invoice_id: String,
    /// Subtotal, tax total, total and line count as the invoice states them.
    pub stated: (i64, i64, i64, i64),
    /// The same, summed over the rows stamped with the invoice.
    pub summed: (i64, i64, i64, i64),
    /// Rows stamped with the invoice that belong to another partner or currency.
    pub foreign_rows: i64,
}

/// A broken invariant, naming the rows concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A line (or, `line` none, an order as a whole) was credited more than it was charged.
    OverCredited { order_id: String, line: Option<u32>, charged: (i64, i64), credited: (i64, i64) },
    /// An invoice's stated totals differ from its rows, or it holds rows that are not its own.
    InvoiceMismatch {
        invoice_id: String,
        stated: (i64, i64, i64, i64),
        summed: (i64, i64, i64, i64),
        foreign_rows: i64,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::OverCredited { order_id, line, charged, credited } => {
                match line {
                    Some(n) => write!(f, "order {order_id} line {n}")?,
                    None => write!(f, "order {order_id} (all lines)")?,
                }
                write!(
                    f,
                    ": credited net {} + tax {} (minor units) against a charge of net {} + tax {}",
                    credited.0, credited.1, charged.0, charged.1
                )
            }
            Violation::InvoiceMismatch { invoice_id, stated, summed, foreign_rows } => write!(
                f,
                "invoice {invoice_id}: states subtotal {} tax {} total {} over {} lines, its rows add up to {} {} {} \
                 over {} lines; {foreign_rows} rows of another partner or currency",
                stated.0, stated.1, stated.2, stated.3, summed.0, summed.1, summed.2, summed.3
            ),
        }
    }
}

impl Violation {
    pub fn kind(&self) -> &'static str {
        match self {
            Violation::OverCredited { .. } => "over_credited",
            Violation::InvoiceMismatch { .. } => "invoice_mismatch",
        }
    }
}

/// Every broken invariant among these facts (the order's line facts must be adjacent, as a `GROUP BY` or an
/// `ORDER BY order_id` gives them).
pub fn verify(lines: &[LineFacts], invoices: &[InvoiceFacts]) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let order = &lines[i].order_id;
        let end = lines[i..].iter().position(|l| &l.order_id != order).map_or(lines.len(), |p| i + p);
        let of_order = &lines[i..end];
        for l in of_order.iter().filter(|l| l.line.is_some()) {
            if l.credited_net > l.charged_net || l.credited_tax > l.charged_tax {
                found.push(Violation::OverCredited {
                    order_id: order.clone(),
                    line: l.line,
                    charged: (l.charged_net, l.charged_tax),
                    credited: (l.credited_net, l.credited_tax),
                });
            }
        }
        let sum = |f: fn(&LineFacts) -> i64| of_order.iter().map(f).sum::<i64>();
        let charged = (sum(|l| l.charged_net), sum(|l| l.charged_tax));
        let credited = (sum(|l| l.credited_net), sum(|l| l.credited_tax));
        if of_order.iter().any(|l| l.line.is_none()) && (credited.0 > charged.0 || credited.1 > charged.1) {
            found.push(Violation::OverCredited { order_id: order.clone(), line: None, charged, credited });
        }
        i = end;
    }
    for inv in invoices {
        if inv.stated != inv.summed || inv.foreign_rows != 0 {
            found.push(Violation::InvoiceMismatch {
                invoice_id: inv.invoice_id.clone(),
                stated: inv.stated,
                summed: inv.summed,
                foreign_rows: inv.foreign_rows,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_kind_is_stored_by_its_name_and_only_a_charge_is_not_a_credit() {
        for kind in LedgerKind::ALL {
            assert_eq!(LedgerKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LedgerKind::ALL.map(LedgerKind::as_str), ["new", "cancel", "refund"]);
        assert_eq!(LedgerKind::parse("New"), None);
        assert_eq!(LedgerKind::ALL.map(LedgerKind::is_credit), [false, true, true]);
    }

    #[test]
    fn a_goodwill_refund_is_a_credit_with_no_tax_and_no_order() {
        let gross = Money { minor: 1_250, scale: 2 };
        let row = LedgerLine::goodwill_refund(
            gross,
            "EUR".into(),
            None,
            Timestamp::from_micros(7),
            "servicerequest:x".into(),
        );
        assert_eq!((row.kind, row.order_id, row.line_number), (LedgerKind::Refund, None, None));
        assert_eq!(
            (row.quantity, row.unit_price_minor, row.net_minor, row.tax_minor, row.gross_minor),
            (1, -1_250, -1_250, 0, -1_250)
        );
        assert_eq!((row.scale, row.currency.as_str(), row.reference.as_deref()), (2, "EUR", Some("servicerequest:x")));
    }

    fn facts(order: &str, line: Option<u32>, charged: (i64, i64), credited: (i64, i64)) -> LineFacts {
        LineFacts {
            order_id: order.into(),
            line,
            charged_net: charged.0,
            charged_tax: charged.1,
            credited_net: credited.0,
            credited_tax: credited.1,
        }
    }

    #[test]
    fn a_line_credited_over_its_charge_is_named() {
        let lines = [
            facts("a", Some(0), (100, 10), (100, 10)),
            facts("a", Some(1), (100, 10), (50, 11)),
            facts("b", Some(0), (100, 0), (0, 0)),
        ];
        let v = verify(&lines, &[]);
        assert_eq!(v.len(), 1);
        assert!(v[0].to_string().starts_with("order a line 1: credited net 50 + tax 11"), "{}", v[0]);
    }

    #[test]
    fn credits_naming_only_the_order_count_against_it() {
        let ok = [facts("a", Some(0), (100, 0), (60, 0)), facts("a", None, (0, 0), (40, 0))];
        assert!(verify(&ok, &[]).is_empty());
        let over = [facts("a", Some(0), (100, 0), (60, 0)), facts("a", None, (0, 0), (41, 0))];
        assert_eq!(verify(&over, &[])[0].kind(), "over_credited");
    }

    #[test]
    fn an_invoice_whose_totals_differ_from_its_rows_is_named() {
        let good = InvoiceFacts { invoice_id: "i".into(), stated: (1, 2, 3, 4), summed: (1, 2, 3, 4), foreign_rows: 0 };
        let bad = InvoiceFacts { summed: (1, 2, 3, 5), ..good.clone() };
        let foreign = InvoiceFacts { foreign_rows: 1, ..good.clone() };
        assert!(verify(&[], &[good]).is_empty());
        assert_eq!(verify(&[], &[bad, foreign]).len(), 2);
    }
}
