//! The ledger's invariants (SPEC §8), as `partnerhub ledger verify` and `GET /v1/publisher/ledger/verification`
//! check them over the whole ledger: per order line, credits never exceed the charge (net and tax separately); per
//! order, credits that name no line count too; per invoice, the totals equal the sum of exactly the rows stamped
//! with it, and those rows are the invoice's partner's, in its currency — so no row is billed twice.

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
