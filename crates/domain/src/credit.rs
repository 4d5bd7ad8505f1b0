//! The ledger rule (R10–R12, SPEC §8): what an order line was charged bounds what is ever given back on it.
//!
//! Per order line, cancel credits plus refunds never exceed the line's charge, for net and tax separately. Every
//! credit names the line it reverses: a refund granted against a whole order is apportioned to its lines pro rata to
//! what each has left (see [`apportion`]). These functions decide amounts; the store runs [`OrderBalance::admit`]
//! again inside the transaction that writes the credits, under the order's lock, so two racing grants cannot both
//! pass.

use crate::error::DomainError;
use crate::ids::OrderId;
use crate::invoice::refund_split;
use crate::money::Money;
use rust_decimal::Decimal;

/// One order line's charge and what has been credited back on it so far, in positive minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBalance {
    pub line_number: u32,
    pub tax_rate: Decimal,
    pub charged_net: i64,
    pub charged_tax: i64,
    pub credited_net: i64,
    pub credited_tax: i64,
}

impl LineBalance {
    pub fn left_net(&self) -> i64 {
        (self.charged_net - self.credited_net).max(0)
    }
    pub fn left_tax(&self) -> i64 {
        (self.charged_tax - self.credited_tax).max(0)
    }
    pub fn left_gross(&self) -> i64 {
        self.left_net() + self.left_tax()
    }
    /// Credited more than charged (only a ledger written before this rule can be).
    pub fn is_over(&self) -> bool {
        self.credited_net > self.charged_net || self.credited_tax > self.charged_tax
    }
}

/// A credit on one order line, in positive minor units; the ledger row holds it negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCredit {
    pub line_number: u32,
    pub net: i64,
    pub tax: i64,
}

impl LineCredit {
    pub fn gross(&self) -> i64 {
        self.net + self.tax
    }
}

/// An order's lines with their balances: the state every credit on the order is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBalance {
    pub order_id: OrderId,
    pub currency: String,
    pub scale: u8,
    pub lines: Vec<LineBalance>,
}

impl OrderBalance {
    /// `lines` carry what each line was charged and what names it already; `unassigned` is the net of credits that
    /// name the order but no line (refunds granted before every credit named its line, written with no tax). They are
    /// apportioned to the lines pro rata to what each has left, as an order-level refund is today, and booked as they
    /// were written: against net first, tax only where a line's net is used up.
    pub fn new(order_id: OrderId, currency: &str, scale: u8, mut lines: Vec<LineBalance>, unassigned: i64) -> Self {
        lines.sort_by_key(|l| l.line_number);
        let mut balance = OrderBalance { order_id, currency: currency.to_string(), scale, lines };
        if unassigned > 0 {
            let weights: Vec<i64> = balance.lines.iter().map(LineBalance::left_gross).collect();
            let shares = apportion(unassigned.min(balance.left_gross()), &weights);
            for (l, share) in balance.lines.iter_mut().zip(shares) {
                let net = share.min(l.left_net());
                l.credited_net += net;
                l.credited_tax += share - net;
            }
        }
        balance
    }

    pub fn left_gross(&self) -> i64 {
        self.lines.iter().map(LineBalance::left_gross).sum()
    }

    fn line(&self, n: u32) -> Option<&LineBalance> {
        self.lines.iter().find(|l| l.line_number == n)
    }

    fn apply(&mut self, c: &LineCredit) {
        if let Some(l) = self.lines.iter_mut().find(|l| l.line_number == c.line_number) {
            l.credited_net += c.net;
            l.credited_tax += c.tax;
        }
    }

    fn money(&self, minor: i64) -> Money {
        Money { minor, scale: self.scale }
    }

    fn exceeds(&self, line: Option<u32>, left: i64) -> DomainError {
        DomainError::CreditExceedsCharge {
            order_id: self.order_id.to_string(),
            line,
            left: self.money(left).format(),
            currency: self.currency.clone(),
        }
    }

    /// A cancel's credit on a line: R10's credit (`net`, `tax`), never more than is left of either — so a cancel
    /// after a partial refund gives back exactly what is left. Recorded in the balance.
    pub fn cancel(&mut self, line: u32, net: i64, tax: i64) -> Result<LineCredit, DomainError> {
        let l = self.line(line).ok_or(DomainError::LineItemOutOfRange(i64::from(line)))?;
        let credit = LineCredit { line_number: line, net: net.clamp(0, l.left_net()), tax: tax.clamp(0, l.left_tax()) };
        self.apply(&credit);
        Ok(credit)
    }

    /// A refund of `gross` against one line, its tax split at the line's rate (R12) and fitted to what is left of
    /// net and tax; refused with `credit_exceeds_charge` above what is left. Recorded in the balance.
    pub fn refund_line(&mut self, line: u32, gross: i64) -> Result<LineCredit, DomainError> {
        let l = self.line(line).ok_or(DomainError::LineItemOutOfRange(i64::from(line)))?;
        if gross > l.left_gross() {
            return Err(self.exceeds(Some(line), l.left_gross()));
        }
        let credit = fit(l, gross, self.scale);
        self.apply(&credit);
        Ok(credit)
    }

    /// A refund of `gross` against the whole order: apportioned to its lines pro rata to what each has left, each
    /// share split at its line's rate; refused with `credit_exceeds_charge` above what is left of the order.
    /// Lines whose share is 0 get no credit. Recorded in the balance.
    pub fn refund_order(&mut self, gross: i64) -> Result<Vec<LineCredit>, DomainError> {
        let left = self.left_gross();
        if gross > left {
            return Err(self.exceeds(None, left));
        }
        let credits = self.split_order_refund(gross);
        for c in &credits {
            self.apply(c);
        }
        Ok(credits)
    }

    fn split_order_refund(&self, gross: i64) -> Vec<LineCredit> {
        let weights: Vec<i64> = self.lines.iter().map(LineBalance::left_gross).collect();
        apportion(gross, &weights)
            .into_iter()
            .zip(&self.lines)
            .filter(|(share, _)| *share > 0)
            .map(|(share, l)| fit(l, share, self.scale))
            .collect()
    }

    /// Admits credits worked out earlier (from a read made before the write): each one's gross must still fit what
    /// is left of its line now, or the whole set is refused with `credit_exceeds_charge`. The gross is the decision
    /// (what the activity record states); its split into net and tax is derived, so a split that no longer fits
    /// (another credit landed meanwhile) is moved into what is left — the same result as working it out now, since
    /// what is left only shrinks. The store calls this inside the transaction that writes the credits, under the
    /// order's lock, and writes the credits as admitted.
    pub fn admit(&mut self, credits: &mut [LineCredit]) -> Result<(), DomainError> {
        for c in credits.iter_mut() {
            let l = self.line(c.line_number).ok_or(DomainError::LineItemOutOfRange(i64::from(c.line_number)))?;
            let gross = c.gross();
            if c.net < 0 || c.tax < 0 || gross > l.left_gross() {
                return Err(self.exceeds(Some(c.line_number), l.left_gross()));
            }
            let tax = c.tax.clamp((gross - l.left_net()).max(0), l.left_tax().min(gross));
            *c = LineCredit { line_number: c.line_number, net: gross - tax, tax };
            self.apply(c);
        }
        Ok(())
    }
}

/// Splits `gross` (at most what is left of the line) into net and tax: the tax at the line's rate (R12's refund
/// split), moved by the fewest minor units needed so that neither part exceeds what is left of it.
fn fit(l: &LineBalance, gross: i64, scale: u8) -> LineCredit {
    let (_, tax) = refund_split(Money { minor: gross, scale }, Some(l.tax_rate));
    let low = (gross - l.left_net()).max(0);
    let high = l.left_tax().min(gross);
    let tax = tax.minor.clamp(low, high.max(low));
    LineCredit { line_number: l.line_number, net: gross - tax, tax }
}

/// Apportions `total` over `weights` pro rata: share `i` is `⌊total·Cᵢ/W⌋ − ⌊total·Cᵢ₋₁/W⌋` where `Cᵢ` is the sum of
/// the first `i` weights and `W` of all. The shares sum to `total` exactly (the remainders of rounding fall where
/// the cumulative sum crosses a whole unit), and when `total ≤ W` no share exceeds its weight. All zero when `W` is.
pub fn apportion(total: i64, weights: &[i64]) -> Vec<i64> {
    let w: i128 = weights.iter().map(|&x| i128::from(x.max(0))).sum();
    if w == 0 {
        return vec![0; weights.len()];
    }
    let t = i128::from(total);
    let mut cumulative = 0i128;
    let mut before = 0i128;
    weights
        .iter()
        .map(|&x| {
            cumulative += i128::from(x.max(0));
            let upto = (t * cumulative).div_euclid(w);
            let share = upto - before;
            before = upto;
            i64::try_from(share).unwrap_or(i64::MAX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn rate(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn line(n: u32, net: i64, tax: i64, r: &str) -> LineBalance {
        LineBalance {
            line_number: n,
            tax_rate: rate(r),
            charged_net: net,
            charged_tax: tax,
            credited_net: 0,
            credited_tax: 0,
        }
    }

    fn order(lines: Vec<LineBalance>) -> OrderBalance {
        OrderBalance::new(OrderId::new(), "USD", 2, lines, 0)
    }

    #[test]
    fn a_line_refund_splits_at_the_rate_and_is_refused_above_what_is_left() {
        let mut o = order(vec![line(0, 360_000, 30_000, "0.0833333")]);
        let c = o.refund_line(0, 390_000).unwrap();
        assert_eq!((c.net, c.tax), (360_000, 30_000));
        let e = o.refund_line(0, 1).unwrap_err();
        assert_eq!(e.error_name(), "credit_exceeds_charge");
        assert!(e.to_string().contains("0.00 USD"), "{e}");
        assert_eq!(e.code(), 409006);
    }

    #[test]
    fn a_cancel_after_a_partial_refund_credits_exactly_what_is_left() {
        let mut o = order(vec![line(0, 10_000, 725, "0.0725")]);
        o.refund_line(0, 5_000).unwrap();
        let c = o.cancel(0, 10_000, 725).unwrap();
        assert_eq!(c.gross(), 10_725 - 5_000);
        assert_eq!(o.left_gross(), 0);
        // Nothing left: a cancel gives back nothing, a refund of one cent is refused.
        assert_eq!(o.cancel(0, 10_000, 725).unwrap().gross(), 0);
        assert!(o.refund_line(0, 1).is_err());
    }

    #[test]
    fn a_cancel_and_a_refund_together_never_exceed_the_charge() {
        let mut o = order(vec![line(0, 390_000, 0, "0")]);
        o.cancel(0, 390_000, 0).unwrap();
        let e = o.refund_line(0, 390_000).unwrap_err();
        assert!(e.to_string().contains("0.00 USD is left"), "{e}");
    }

    #[test]
    fn an_order_refund_is_apportioned_to_what_each_line_has_left_and_counts_against_later_cancels() {
        let mut o = order(vec![line(0, 300_000, 0, "0"), line(1, 90_000, 9_000, "0.10")]);
        o.refund_line(1, 49_500).unwrap();
        let credits = o.refund_order(100_000).unwrap();
        // Left: 300,000 and 49,500 of 349,500: 85.84% and 14.16%.
        let shares: Vec<i64> = credits.iter().map(LineCredit::gross).collect();
        assert_eq!(shares, vec![85_836, 14_164]);
        assert_eq!(credits[1].tax, 1_288, "split at 10%");
        // The order-level refund counted: a full cancel gives back only what is left.
        let c0 = o.cancel(0, 300_000, 0).unwrap();
        assert_eq!(c0.gross(), 300_000 - 85_836);
        assert_eq!(o.refund_order(o.left_gross() + 1).unwrap_err().error_name(), "credit_exceeds_charge");
    }

    #[test]
    fn admit_refuses_a_credit_planned_before_another_was_written() {
        let mut planned = order(vec![line(0, 1_000, 0, "0")]);
        let c = planned.refund_line(0, 1_000).unwrap();
        let mut now = order(vec![line(0, 1_000, 0, "0")]);
        now.admit(&mut [c]).unwrap();
        assert_eq!(now.admit(&mut [c]).unwrap_err().error_name(), "credit_exceeds_charge");
    }

    #[test]
    fn admit_moves_a_stale_split_into_what_is_left_as_working_it_out_now_would() {
        // Net 10,000 + tax 725. Planned on the fresh line: 5,000 gross split 4,662 + 338.
        let mut planned = order(vec![line(0, 10_000, 725, "0.0725")]);
        let mut late = [planned.refund_line(0, 5_000).unwrap()];
        assert_eq!((late[0].net, late[0].tax), (4_662, 338));
        // Meanwhile another credit took 1,000 net and 500 tax: 9,000 + 225 are left.
        let mut now = order(vec![line(0, 10_000, 725, "0.0725")]);
        now.admit(&mut [LineCredit { line_number: 0, net: 1_000, tax: 500 }]).unwrap();
        let mut fresh = now.clone();
        now.admit(&mut late).unwrap();
        assert_eq!((late[0].net, late[0].tax), (4_775, 225), "the same gross, its tax within what is left");
        assert_eq!(late[0], fresh.refund_line(0, 5_000).unwrap(), "as if worked out now");
        assert_eq!(now.lines[0].left_tax(), 0);
    }

    #[test]
    fn legacy_unassigned_credits_reduce_what_is_left() {
        let o =
            OrderBalance::new(OrderId::new(), "USD", 2, vec![line(0, 1_000, 0, "0"), line(1, 3_000, 0, "0")], 2_000);
        assert_eq!(o.left_gross(), 2_000);
        assert_eq!((o.lines[0].left_gross(), o.lines[1].left_gross()), (500, 1_500));
    }

    #[test]
    fn legacy_unassigned_credits_count_against_net_as_they_were_written() {
        // An old order-level refund of 53,625 was written as net 53,625, tax 0: a cancel now gives back the rest of
        // the net and all of the tax, so the ledger's net credits never pass the net charged.
        let mut o = OrderBalance::new(OrderId::new(), "USD", 2, vec![line(0, 100_000, 7_250, "0.0725")], 53_625);
        assert_eq!((o.lines[0].left_net(), o.lines[0].left_tax()), (46_375, 7_250));
        let c = o.cancel(0, 100_000, 7_250).unwrap();
        assert_eq!((c.net + 53_625, c.tax), (100_000, 7_250));
    }

    proptest! {
        #[test]
        fn apportioned_shares_sum_to_the_total_and_none_exceeds_its_weight(
            weights in proptest::collection::vec(0i64..1_000_000_000, 1..8),
            fraction in 0u32..=1000,
        ) {
            let w: i64 = weights.iter().sum();
            let total = (i128::from(w) * i128::from(fraction) / 1000) as i64;
            let shares = apportion(total, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), if w == 0 { 0 } else { total });
            for (s, x) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0 && s <= x, "{} of {}", s, x);
            }
        }

        /// Any sequence of cancels, line refunds and order refunds: every line's credits stay within its charge,
        /// and every refund accepted is given back exactly.
        #[test]
        fn no_sequence_of_credits_exceeds_any_charge(
            charges in proptest::collection::vec((0i64..500_000, 0i64..50_000), 1..4),
            steps in proptest::collection::vec((0u8..3, 0u32..4, 0i64..600_000, 0u32..=100), 1..12),
        ) {
            let lines = charges.iter().enumerate().map(|(i, (n, t))| LineBalance {
                line_number: i as u32, tax_rate: rate("0.0725"), charged_net: *n, charged_tax: *t,
                credited_net: 0, credited_tax: 0,
            }).collect();
            let mut o = order(lines);
            for (kind, l, amount, pct) in steps {
                let before = o.left_gross();
                match kind {
                    0 => {
                        let Some(b) = o.line(l).cloned() else { continue };
                        let c = o.cancel(l, b.charged_net * i64::from(pct) / 100, b.charged_tax * i64::from(pct) / 100).unwrap();
                        prop_assert_eq!(o.left_gross(), before - c.gross());
                    }
                    1 => match o.refund_line(l, amount) {
                        Ok(c) => prop_assert_eq!((c.gross(), o.left_gross()), (amount, before - amount)),
                        Err(e) => prop_assert!(
                            e == DomainError::LineItemOutOfRange(i64::from(l)) || o.line(l).unwrap().left_gross() < amount
                        ),
                    },
                    _ => match o.refund_order(amount) {
                        Ok(cs) => prop_assert_eq!((cs.iter().map(LineCredit::gross).sum::<i64>(), o.left_gross()), (amount, before - amount)),
                        Err(_) => prop_assert!(before < amount),
                    },
                }
                for l in &o.lines {
                    prop_assert!(!l.is_over(), "{:?}", l);
                }
            }
        }
    }
}
