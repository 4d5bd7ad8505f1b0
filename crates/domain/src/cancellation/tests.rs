//! The tests of `domain::cancellation` (kept beside it, out of the module's own file).

use super::*;
use proptest::prelude::*;

const DAY: i64 = MICROS_PER_DAY;
const W60: CancellationPolicy = CancellationPolicy::DEFAULT_WINDOW;

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-24T10:15:00Z").unwrap()
}
fn at(offset_micros: i64) -> Eligibility {
    cancellation_eligibility(W60, t0(), t0().plus_micros(offset_micros), false)
}

#[test]
fn window_boundaries() {
    let until = t0().plus_micros(60 * DAY);
    assert_eq!(
        at(0),
        Eligibility {
            policy: "window",
            eligible: true,
            days_remaining: 60,
            cancellable_until: Some(until),
            reason: None
        }
    );
    assert_eq!(until.to_rfc3339(), "2027-01-23T10:15:00Z");
    assert_eq!((at(1).eligible, at(1).days_remaining), (true, 60));
    assert_eq!(at(DAY).days_remaining, 59);
    assert_eq!(at(DAY + 1).days_remaining, 59);
    assert_eq!(at(58 * DAY + 1).days_remaining, 2);
    assert_eq!(at(59 * DAY).days_remaining, 1);
    assert_eq!(at(59 * DAY + 1).days_remaining, 1);
    let last = at(60 * DAY - 1);
    assert_eq!((last.eligible, last.days_remaining, last.reason), (true, 1, None));
    let closed = at(60 * DAY);
    assert_eq!(
        closed,
        Eligibility {
            policy: "window",
            eligible: false,
            days_remaining: 0,
            cancellable_until: Some(until),
            reason: Some("cancellation_window_closed")
        }
    );
    assert_eq!(at(400 * DAY).days_remaining, 0);
    // A clock before the purchase never shows more than the window.
    assert_eq!(at(-5 * DAY).days_remaining, 60);
}

#[test]
fn other_window_lengths() {
    let p = CancellationPolicy::Window { days: 7 };
    let e = cancellation_eligibility(p, t0(), t0().plus_micros(6 * DAY + 1), false);
    assert_eq!((e.eligible, e.days_remaining), (true, 1));
    let e = cancellation_eligibility(p, t0(), t0().plus_micros(7 * DAY), false);
    assert_eq!((e.eligible, e.reason), (false, Some(REASON_WINDOW_CLOSED)));
    assert_eq!(p.window_days(), Some(7));
    assert_eq!(CancellationPolicy::None.window_days(), None);
}

#[test]
fn non_window_policies() {
    let e = cancellation_eligibility(CancellationPolicy::SupportRequest, t0(), t0(), false);
    assert_eq!(
        e,
        Eligibility {
            policy: "support_request",
            eligible: false,
            days_remaining: 0,
            cancellable_until: None,
            reason: Some("cancellation_requires_support_request")
        }
    );
    let e = cancellation_eligibility(CancellationPolicy::None, t0(), t0(), false);
    assert_eq!((e.policy, e.eligible, e.reason), ("none", false, Some("not_cancellable")));
    assert_eq!(e.cancellable_until, None);
}

#[test]
fn already_cancelled_wins() {
    for p in [W60, CancellationPolicy::SupportRequest, CancellationPolicy::None] {
        let e = cancellation_eligibility(p, t0(), t0().plus_micros(DAY), true);
        assert_eq!((e.eligible, e.days_remaining, e.reason, e.policy), (false, 0, Some("already_cancelled"), p.kind()));
    }
}

#[test]
fn extreme_times_do_not_panic() {
    let big = CancellationPolicy::Window { days: u32::MAX };
    let e =
        cancellation_eligibility(big, Timestamp::from_micros(i64::MAX - 1), Timestamp::from_micros(i64::MIN), false);
    assert!(e.eligible);
    let e = cancellation_eligibility(W60, Timestamp::from_micros(i64::MIN), Timestamp::from_micros(i64::MAX), false);
    assert!(!e.eligible);
}

proptest! {
    #[test]
    fn window_days_remaining_is_monotonic(
        days in 1_u32..=3650,
        purchased in -1_000_000 * DAY..1_000_000 * DAY,
        a in -10 * DAY..4000 * DAY,
        b in -10 * DAY..4000 * DAY,
        cancelled in any::<bool>(),
    ) {
        let p = CancellationPolicy::Window { days };
        let start = Timestamp::from_micros(purchased);
        let (early, late) = (a.min(b), a.max(b));
        let e1 = cancellation_eligibility(p, start, start.plus_micros(early), cancelled);
        let e2 = cancellation_eligibility(p, start, start.plus_micros(late), cancelled);
        prop_assert!(e1.days_remaining >= e2.days_remaining);
        for e in [&e1, &e2] {
            prop_assert_eq!(e.eligible, e.days_remaining > 0);
            prop_assert_eq!(e.eligible, e.reason.is_none());
            prop_assert!(e.days_remaining <= i64::from(days));
            let until = start.plus_micros(i64::from(days) * DAY);
            prop_assert_eq!(e.cancellable_until, Some(until));
        }
        let open = !cancelled && late < i64::from(days) * DAY;
        prop_assert_eq!(e2.eligible, open);
    }
}

// ---- plan_cancellation (R9) ----

use crate::catalog::{ProductType, Term};
use crate::ids::{CartId, OrderId, TenantId};
use crate::money::{price_line, LinePricing};
use rust_decimal::Decimal;
use time::macros::date;
use time::Date;

const SUB: u32 = 0;
const ESU: u32 = 1;
const SUSE: u32 = 2;

fn usd(s: &str) -> Money {
    Money::parse(s, 2).unwrap()
}

fn rate(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn order_line(
    line_number: u32,
    product_id: &str,
    product_type: ProductType,
    term: Option<Term>,
    policy: CancellationPolicy,
    pricing: LinePricing,
) -> OrderLine {
    OrderLine {
        line_number,
        product_id: product_id.to_string(),
        sku_id: "0001".to_string(),
        availability_id: "AVAILABILITY".to_string(),
        product_type,
        title: format!("{product_id} title"),
        friendly_name: None,
        term,
        pricing,
        list: pricing,
        customer: pricing,
        price_list: None,
        tax_rate: rate("0.0725"),
        policy,
        status: LineStatus::Active,
        cancelled_at: None,
        provisioning_context: None,
    }
}

/// Line 0: a 1-year subscription (60-day window); line 1: Windows 7 ESU (support request); line 2: a SUSE plan
/// (none). Bought at `t0()`.
fn order() -> Order {
    let p = price_line(usd("1200.00"), 1, rate("0.0725"), false).unwrap();
    Order {
        id: OrderId::new(),
        customer_id: TenantId::new(),
        cart_id: CartId::new(),
        currency: "USD".to_string(),
        created_at: t0(),
        lines: vec![
            order_line(SUB, "SQL2019STD", ProductType::SoftwareSubscription, Some(Term::P1Y), W60, p),
            order_line(
                ESU,
                "WIN7ESU2020",
                ProductType::ExtendedSecurityUpdate,
                Some(Term::P1Y),
                CancellationPolicy::SupportRequest,
                p,
            ),
            order_line(SUSE, "SUSE-SLES", ProductType::SoftwarePlan, Some(Term::P1Y), CancellationPolicy::None, p),
        ],
    }
}

fn cancel_lines(order: &mut Order, numbers: &[u32]) {
    for l in order.lines.iter_mut().filter(|l| numbers.contains(&l.line_number)) {
        l.status = LineStatus::Cancelled;
        l.cancelled_at = Some(t0().plus_micros(DAY));
    }
}

fn day(n: i64) -> Timestamp {
    t0().plus_micros(n * DAY)
}

fn plan(order: &Order, requested: Option<&[i64]>, now: Timestamp) -> Result<Vec<u32>, DomainError> {
    plan_cancellation(order, requested, now, Canceller::Partner)
}

fn publisher(order: &Order, requested: Option<&[i64]>, now: Timestamp) -> Result<Vec<u32>, DomainError> {
    plan_cancellation(order, requested, now, Canceller::Publisher)
}

fn window_closed(line: u32) -> DomainError {
    DomainError::CancellationWindowClosed { line, closed_at: "2027-01-23T10:15:00Z".to_string() }
}

fn support_request(order: &Order) -> DomainError {
    DomainError::CancellationRequiresSupportRequest {
        line: ESU,
        product: "WIN7ESU2020".to_string(),
        customer_id: order.customer_id.to_string(),
        order_id: order.id.to_string(),
    }
}

fn not_cancellable() -> DomainError {
    DomainError::NotCancellable { line: SUSE, product: "SUSE-SLES".to_string() }
}

#[test]
fn plan_window_day_59_succeeds_and_day_60_refuses() {
    let o = order();
    let sub = Some(&[i64::from(SUB)][..]);
    // Day 59: one day remaining.
    assert_eq!(o.lines[0].cancellation(o.created_at, day(59)).days_remaining, 1);
    assert_eq!(plan(&o, sub, day(59)), Ok(vec![SUB]));
    // The last microsecond of the window still succeeds.
    assert_eq!(plan(&o, sub, day(60).plus_micros(-1)), Ok(vec![SUB]));
    // A clock before the purchase (never expected, but harmless) and the purchase instant itself.
    assert_eq!(plan(&o, sub, t0()), Ok(vec![SUB]));
    // Exactly 60 days: closed.
    let err = plan(&o, sub, day(60)).unwrap_err();
    assert_eq!(err, window_closed(SUB));
    assert_eq!((err.error_name(), err.code()), ("cancellation_window_closed", 900117));
    assert_eq!(
        err.to_string(),
        "line item 0 can no longer be cancelled: its cancellation window closed at 2027-01-23T10:15:00Z"
    );
    assert!(err.data().is_empty());
    assert_eq!(plan(&o, sub, day(400)), Err(window_closed(SUB)));
}

#[test]
fn plan_other_window_lengths_name_their_own_close() {
    let mut o = order();
    o.lines[0].policy = CancellationPolicy::Window { days: 7 };
    let sub = Some(&[0_i64][..]);
    assert_eq!(plan(&o, sub, day(7).plus_micros(-1)), Ok(vec![SUB]));
    assert_eq!(
        plan(&o, sub, day(7)),
        Err(DomainError::CancellationWindowClosed { line: 0, closed_at: "2026-12-01T10:15:00Z".to_string() })
    );
}

#[test]
fn plan_all_is_all_or_nothing_with_the_first_failing_line() {
    let o = order();
    // Lines in order: the ESU line (1) fails before the SUSE line (2).
    let err = plan(&o, None, day(1)).unwrap_err();
    assert_eq!(err, support_request(&o));
    // Once the window has closed, line 0 is the first to fail.
    assert_eq!(plan(&o, None, day(60)), Err(window_closed(SUB)));
    // Only the SUSE line left ineligible: its error.
    let mut two = o.clone();
    two.lines.remove(1);
    let err = plan(&two, None, day(1)).unwrap_err();
    assert_eq!(err, not_cancellable());
    assert_eq!((err.error_name(), err.code()), ("not_cancellable", 800061));
    assert_eq!(err.to_string(), "line item 2 (SUSE-SLES) can be neither cancelled nor exchanged");
    assert!(err.data().is_empty());
    // Only the subscription: everything goes.
    let mut one = o.clone();
    one.lines.truncate(1);
    assert_eq!(plan(&one, None, day(59)), Ok(vec![SUB]));
    // The order of the stored lines decides, not their numbers.
    let mut reversed = o.clone();
    reversed.lines.reverse();
    assert_eq!(plan(&reversed, None, day(1)), Err(not_cancellable()));
    assert_eq!(publisher(&reversed, None, day(1)), Ok(vec![SUSE, ESU, SUB]));
}

#[test]
fn plan_named_lines_fail_in_the_order_asked() {
    let o = order();
    let ask = |lines: &[i64], now| plan(&o, Some(lines), now);
    assert_eq!(ask(&[1, 2], day(1)), Err(support_request(&o)));
    assert_eq!(ask(&[2, 1], day(1)), Err(not_cancellable()));
    assert_eq!(ask(&[0, 2, 1], day(1)), Err(not_cancellable()));
    assert_eq!(ask(&[0, 1, 2], day(1)), Err(support_request(&o)));
    assert_eq!(ask(&[0, 2], day(60)), Err(window_closed(SUB)));
    assert_eq!(ask(&[2, 0], day(60)), Err(not_cancellable()));
    assert_eq!(ask(&[1, 0], day(60)), Err(support_request(&o)));
    assert_eq!(ask(&[0], day(1)), Ok(vec![SUB]));
}

#[test]
fn plan_line_numbers_out_of_range() {
    let o = order();
    for n in [3_i64, 4, 1000, -1, -2, i64::from(i32::MIN), i64::from(u32::MAX), i64::MAX, i64::MIN] {
        let err = plan(&o, Some(&[n]), day(1)).unwrap_err();
        assert_eq!(err, DomainError::LineItemOutOfRange(n), "{n}");
        assert_eq!((err.error_name(), err.code()), ("line_item_out_of_range", 800071));
        assert_eq!(err.to_string(), format!("the order has no line item {n}"));
        // The publisher cannot cancel what is not there either.
        assert_eq!(publisher(&o, Some(&[n]), day(1)), Err(DomainError::LineItemOutOfRange(n)));
    }
    // Numbers that would wrap onto a real line if truncated to 32 bits.
    for n in [1_i64 << 32, (1_i64 << 32) + 1, (1_i64 << 32) + 2, -(1_i64 << 32), i64::from(u32::MAX) + 1] {
        assert_eq!(plan(&o, Some(&[n]), day(1)), Err(DomainError::LineItemOutOfRange(n)), "{n}");
        assert_eq!(publisher(&o, Some(&[0, n]), day(1)), Err(DomainError::LineItemOutOfRange(n)), "{n}");
    }
    // A missing line is found even after an eligible one.
    assert_eq!(plan(&o, Some(&[0, 3]), day(1)), Err(DomainError::LineItemOutOfRange(3)));
    // An order whose lines do not start at 0.
    let mut gap = o.clone();
    gap.lines.remove(0);
    assert_eq!(publisher(&gap, Some(&[0]), day(1)), Err(DomainError::LineItemOutOfRange(0)));
    assert_eq!(publisher(&gap, Some(&[2, 1]), day(1)), Ok(vec![SUSE, ESU]));
}

#[test]
fn plan_empty_list_is_invalid() {
    let o = order();
    let err = plan(&o, Some(&[]), day(1)).unwrap_err();
    assert_eq!((err.error_name(), err.code()), ("invalid_request", 400000));
    assert!(err.to_string().starts_with("lineItems: "), "{err}");
    assert_eq!(publisher(&o, Some(&[]), day(1)).unwrap_err().error_name(), "invalid_request");
    // Even for an order that is entirely cancelled.
    let mut all = o.clone();
    cancel_lines(&mut all, &[SUB, ESU, SUSE]);
    assert_eq!(plan(&all, Some(&[]), day(1)).unwrap_err().error_name(), "invalid_request");
}

#[test]
fn plan_repeats_are_ignored() {
    let o = order();
    assert_eq!(plan(&o, Some(&[0, 0, 0]), day(1)), Ok(vec![SUB]));
    assert_eq!(publisher(&o, Some(&[2, 0, 2, 1, 0, 1]), day(1)), Ok(vec![SUSE, SUB, ESU]));
    // A repeated ineligible line is still refused.
    assert_eq!(plan(&o, Some(&[0, 2, 0, 2]), day(1)), Err(not_cancellable()));
}

#[test]
fn plan_already_cancelled_lines() {
    let mut o = order();
    cancel_lines(&mut o, &[SUB]);
    for by in [Canceller::Partner, Canceller::Publisher] {
        let err = plan_cancellation(&o, Some(&[0]), day(1), by).unwrap_err();
        assert_eq!((err.error_name(), err.code()), ("already_cancelled", 409004));
        assert_eq!(err.to_string(), format!("line item 0 of order {} is already cancelled", o.id));
        assert!(err.data().is_empty());
        // Past the window too: already cancelled wins over the closed window.
        let err = plan_cancellation(&o, Some(&[0]), day(400), by).unwrap_err();
        assert_eq!(err.error_name(), "already_cancelled");
    }
    // In the order asked: the cancelled line first, or the ESU line first.
    assert_eq!(plan(&o, Some(&[0, 1]), day(1)).unwrap_err().error_name(), "already_cancelled");
    assert_eq!(plan(&o, Some(&[1, 0]), day(1)), Err(support_request(&o)));
    // "All" means the lines still active: the cancelled one is skipped, the ESU line still refuses.
    assert_eq!(plan(&o, None, day(1)), Err(support_request(&o)));
    assert_eq!(publisher(&o, None, day(1)), Ok(vec![ESU, SUSE]));
    // With the ESU and SUSE lines gone too, the whole order is already cancelled.
    cancel_lines(&mut o, &[ESU, SUSE]);
    assert_eq!(o.status().as_str(), "cancelled");
    for by in [Canceller::Partner, Canceller::Publisher] {
        let err = plan_cancellation(&o, None, day(1), by).unwrap_err();
        assert_eq!((err.error_name(), err.code()), ("already_cancelled", 409004));
        assert_eq!(err.to_string(), format!("order {} is already cancelled", o.id));
    }
}

#[test]
fn plan_support_request_error_carries_the_prefilled_request() {
    let o = order();
    let err = plan(&o, Some(&[1]), day(1)).unwrap_err();
    assert_eq!(err, support_request(&o));
    assert_eq!((err.error_name(), err.code()), ("cancellation_requires_support_request", 800061));
    assert!(err.to_string().starts_with("line item 1 (WIN7ESU2020) can only be cancelled through a support request"));
    let data = err.data();
    assert_eq!(data.len(), 1);
    let d = &data[0];
    let link = d["supportRequestLink"].as_str().unwrap();
    assert!(link.contains("topic=csp_purchase_refund"), "{link}");
    assert!(link.contains(&format!("customerId={}", o.customer_id)), "{link}");
    assert!(link.contains(&format!("orderId={}", o.id)), "{link}");
    assert!(link.contains("lineItems=1"), "{link}");
    assert_eq!(d["supportTopicId"], "csp_purchase_refund");
    assert_eq!(d["refund"]["customerId"], o.customer_id.to_string());
    assert_eq!(d["refund"]["orderId"], o.id.to_string());
    assert_eq!(d["refund"]["lineItemNumber"], 1);
    let title = d["title"].as_str().unwrap();
    assert!(title.contains("WIN7ESU2020") && title.contains(&o.id.to_string()), "{title}");
    // The policy refuses at any time, inside the window or not.
    assert_eq!(plan(&o, Some(&[1]), t0()), Err(support_request(&o)));
    assert_eq!(plan(&o, Some(&[1]), day(400)), Err(support_request(&o)));
}

#[test]
fn plan_publisher_cancels_whatever_the_policy() {
    let o = order();
    assert_eq!(publisher(&o, Some(&[1]), day(1)), Ok(vec![ESU]));
    assert_eq!(publisher(&o, Some(&[2]), day(1)), Ok(vec![SUSE]));
    assert_eq!(publisher(&o, Some(&[0]), day(60)), Ok(vec![SUB]));
    assert_eq!(publisher(&o, Some(&[0]), day(4000)), Ok(vec![SUB]));
    assert_eq!(publisher(&o, None, day(400)), Ok(vec![SUB, ESU, SUSE]));
    assert_eq!(publisher(&o, Some(&[2, 1, 0]), day(400)), Ok(vec![SUSE, ESU, SUB]));
    // ...but not a line already cancelled.
    let mut c = o.clone();
    cancel_lines(&mut c, &[ESU]);
    assert_eq!(publisher(&c, Some(&[1]), day(1)).unwrap_err().error_name(), "already_cancelled");
    assert_eq!(publisher(&c, Some(&[0, 2, 1]), day(1)).unwrap_err().error_name(), "already_cancelled");
    assert_eq!(publisher(&c, None, day(1)), Ok(vec![SUB, SUSE]));
}

#[test]
fn plan_is_pure() {
    let o = order();
    let before = o.clone();
    let _ = plan(&o, None, day(1));
    let _ = publisher(&o, None, day(1));
    assert_eq!(o, before);
}

// ---- credit_for (R10) ----

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn line_with(term: Option<Term>, pricing: LinePricing) -> OrderLine {
    let t = if term.is_some() { ProductType::SoftwareSubscription } else { ProductType::PerpetualSoftware };
    order_line(0, "P", t, term, W60, pricing)
}

fn usd_line(term: Option<Term>) -> OrderLine {
    let p = price_line(usd("1200.00"), 1, rate("0.0725"), false).unwrap();
    assert_eq!((p.net, p.tax, p.gross), (usd("1200.00"), usd("87.00"), usd("1287.00")));
    line_with(term, p)
}

#[test]
fn credit_perpetual_is_the_whole_charge() {
    let l = usd_line(None);
    let bought = ts("2026-01-15T10:15:00Z");
    for cancelled in [bought, bought.plus_micros(10 * DAY), bought.plus_micros(5000 * DAY), bought.plus_micros(-DAY)] {
        let c = credit_for(&l, bought, cancelled);
        assert_eq!((c.net, c.tax, c.gross), (usd("1200.00"), usd("87.00"), usd("1287.00")));
        assert_eq!(c.remaining_days, c.term_days);
    }
}

#[test]
fn credit_one_year_cancelled_on_day_10() {
    let l = usd_line(Some(Term::P1Y));
    let bought = ts("2026-01-15T10:15:00Z");
    // 2026-01-15 → 2027-01-15 is 365 days; 10 used, 355 remaining.
    // net 120000 × 355 / 365 = 116712.33 → 116712; tax 8700 × 355 / 365 = 8461.64 → 8462.
    let expected =
        Credit { net: usd("1167.12"), tax: usd("84.62"), gross: usd("1251.74"), remaining_days: 355, term_days: 365 };
    assert_eq!(credit_for(&l, bought, ts("2026-01-25T10:15:00Z")), expected);
    // Any instant of day 10, up to 1 µs before day 11, still counts 10 used days.
    assert_eq!(credit_for(&l, bought, ts("2026-01-26T10:14:59.999999Z")), expected);
    assert_eq!(credit_for(&l, bought, bought.plus_micros(11 * DAY - 1)), expected);
    // 1 µs before day 10 is still day 9.
    let c = credit_for(&l, bought, bought.plus_micros(10 * DAY - 1));
    assert_eq!(c.remaining_days, 356);
    // Day 11.
    let c = credit_for(&l, bought, bought.plus_micros(11 * DAY));
    assert_eq!(c.remaining_days, 354);
    assert_eq!(c.net, prorate(usd("1200.00"), 354, 365));
}

#[test]
fn credit_at_the_purchase_instant_is_everything() {
    for term in [Term::P1M, Term::P1Y, Term::P3Y] {
        let l = usd_line(Some(term));
        let bought = ts("2026-01-15T10:15:00Z");
        let c = credit_for(&l, bought, bought);
        assert_eq!((c.net, c.tax, c.gross), (usd("1200.00"), usd("87.00"), usd("1287.00")), "{term}");
        assert_eq!(c.remaining_days, c.term_days);
        // Less than a day later: nothing used yet.
        assert_eq!(credit_for(&l, bought, bought.plus_micros(DAY - 1)), c);
        // A cancel stamped before the purchase (clock skew) never credits more than the charge.
        assert_eq!(credit_for(&l, bought, bought.plus_micros(-3 * DAY)), c);
    }
}

#[test]
fn credit_term_days_follow_the_calendar() {
    let l = usd_line(Some(Term::P1Y));
    // 29 February 2024 + P1Y ends on 28 February 2025: 365 days.
    let leap = ts("2024-02-29T23:59:59.999999Z");
    assert_eq!(credit_for(&l, leap, leap).term_days, 365);
    assert_eq!(Term::P1Y.end_date(date!(2024 - 02 - 29)), date!(2025 - 02 - 28));
    let c = credit_for(&l, leap, leap.plus_micros(364 * DAY));
    assert_eq!((c.remaining_days, c.net, c.tax), (1, prorate(usd("1200.00"), 1, 365), usd("0.24")));
    assert_eq!(c.net, usd("3.29"));
    // The end of the term, and after it: nothing.
    for n in [365, 366, 1000] {
        let c = credit_for(&l, leap, leap.plus_micros(n * DAY));
        assert_eq!((c.net, c.tax, c.gross, c.remaining_days), (usd("0"), usd("0"), usd("0"), 0), "{n}");
    }
    // A year containing 29 February 2028: 366.
    assert_eq!(credit_for(&l, ts("2027-03-01T00:00:00Z"), ts("2027-03-01T00:00:00Z")).term_days, 366);
    assert_eq!(credit_for(&l, ts("2026-01-15T00:00:00Z"), ts("2026-01-15T00:00:00Z")).term_days, 365);
    // The UTC date counts, not the local one.
    let late = ts("2027-02-28T23:59:59Z");
    assert_eq!(credit_for(&l, late, late).term_days, 365);
    let next = ts("2027-03-01T00:00:00Z");
    assert_eq!(credit_for(&l, next, next).term_days, 366);

    let l3 = usd_line(Some(Term::P3Y));
    // 2025-06-15 → 2028-06-15 spans 29 February 2028: 1096 days.
    let bought = ts("2025-06-15T08:00:00Z");
    let c = credit_for(&l3, bought, bought.plus_micros(100 * DAY));
    assert_eq!((c.term_days, c.remaining_days), (1096, 996));
    assert_eq!(c.net, prorate(usd("1200.00"), 996, 1096));
    assert_eq!(c.net, usd("1090.51"));
    assert_eq!(c.tax, usd("79.06"));
    assert_eq!(c.gross, usd("1169.57"));
    // 29 February 2024 + P3Y = 28 February 2027: 1095 days.
    assert_eq!(credit_for(&l3, leap, leap).term_days, 1095);
    // 2026-01-15 + P3Y = 2029-01-15: 1096 days (29 February 2028 inside).
    assert_eq!(credit_for(&l3, ts("2026-01-15T00:00:00Z"), ts("2026-01-15T00:00:00Z")).term_days, 1096);
}

#[test]
fn credit_rounds_half_away_from_zero_per_amount() {
    // 1 minor unit × 183 / 366 = 0.5 → 1, for net and tax separately; gross is their sum, not prorated.
    let p = LinePricing {
        unit_price: Money { minor: 1, scale: 0 },
        quantity: 1,
        net: Money { minor: 1, scale: 0 },
        tax: Money { minor: 1, scale: 0 },
        gross: Money { minor: 2, scale: 0 },
        tax_inclusive: false,
    };
    let l = line_with(Some(Term::P1Y), p);
    let bought = ts("2027-03-01T00:00:00Z");
    let c = credit_for(&l, bought, bought.plus_micros(183 * DAY));
    assert_eq!((c.term_days, c.remaining_days), (366, 183));
    assert_eq!((c.net.minor, c.tax.minor, c.gross.minor), (1, 1, 2));
    let c = credit_for(&l, bought, bought.plus_micros(184 * DAY));
    assert_eq!((c.net.minor, c.tax.minor, c.gross.minor), (0, 0, 0));
    // JPY (no decimals) and BHD (three) keep their scale.
    let jpy = price_line(Money { minor: 150_001, scale: 0 }, 1, rate("0.10"), false).unwrap();
    let c = credit_for(&line_with(Some(Term::P1Y), jpy), bought, bought.plus_micros(DAY));
    assert_eq!((c.net.scale, c.tax.scale, c.gross.scale), (0, 0, 0));
    assert_eq!(c.net.minor, 149_591); // 150001 × 365 / 366 = 149591.16
    assert_eq!(c.tax.minor, 14_959); // 15000 × 365 / 366 = 14959.02
    let bhd = price_line(Money { minor: 12_345, scale: 3 }, 2, rate("0.10"), true).unwrap();
    let c = credit_for(&line_with(Some(Term::P1Y), bhd), bought, bought);
    assert_eq!((c.net, c.tax, c.gross), (bhd.net, bhd.tax, bhd.gross));
}

// ---- credit_for properties ----

/// 2020-01-01T00:00:00Z and 2031-01-01T00:00:00Z.
const FROM_2020: i64 = 1_577_836_800 * 1_000_000;
const TO_2031: i64 = 1_924_992_000 * 1_000_000;

/// An independent R10 `term_days`: the same date `years` later, 29 February → 28 February.
fn oracle_term_days(start: Date, years: i32) -> i64 {
    let end = start
        .replace_year(start.year() + years)
        .or_else(|_| start.replace_day(28).and_then(|d| d.replace_year(start.year() + years)))
        .unwrap();
    (end - start).whole_days()
}

fn pricing() -> impl Strategy<Value = LinePricing> {
    (0_u8..=3)
        .prop_flat_map(|s| (Just(s), 0_i64..=1_000_000 * 10_i64.pow(u32::from(s))))
        .prop_flat_map(|(s, minor)| (Just(Money { minor, scale: s }), 1_i64..=10_000, 0_i64..=300_000, any::<bool>()))
        .prop_map(|(u, q, r, inclusive)| price_line(u, q, Decimal::new(r, 6), inclusive).unwrap())
}

fn term() -> impl Strategy<Value = (Term, i32)> {
    prop_oneof![Just((Term::P1Y, 1)), Just((Term::P3Y, 3))]
}

proptest! {
    #[test]
    fn credit_properties(
        p in pricing(),
        (term, years) in term(),
        bought in FROM_2020..TO_2031,
        a in 0_i64..4 * 366 * DAY,
        b in 0_i64..4 * 366 * DAY,
    ) {
        let line = line_with(Some(term), p);
        let start = Timestamp::from_micros(bought);
        let (early, late) = (a.min(b), a.max(b));
        let c1 = credit_for(&line, start, start.plus_micros(early));
        let c2 = credit_for(&line, start, start.plus_micros(late));
        let term_days = oracle_term_days(start.date(), years);
        for (c, offset) in [(&c1, early), (&c2, late)] {
            prop_assert_eq!(c.term_days, term_days);
            let remaining = (term_days - offset / DAY).max(0);
            prop_assert_eq!(c.remaining_days, remaining);
            for (credit, charge) in [(c.net, p.net), (c.tax, p.tax), (c.gross, p.gross)] {
                prop_assert_eq!(credit.scale, charge.scale);
                prop_assert!(credit.minor >= 0);
                prop_assert!(credit.minor <= charge.minor);
            }
            prop_assert_eq!(c.net.checked_add(c.tax), Some(c.gross));
            prop_assert_eq!(c.net, prorate(p.net, remaining, term_days));
            prop_assert_eq!(c.tax, prorate(p.tax, remaining, term_days));
            // Tax is credited in proportion to net, within rounding (each side off by at most ½ minor unit).
            let lhs = i128::from(c.tax.minor) * i128::from(p.net.minor);
            let rhs = i128::from(c.net.minor) * i128::from(p.tax.minor);
            let bound = i128::from(p.net.minor) + i128::from(p.tax.minor);
            prop_assert!(2 * (lhs - rhs).abs() <= bound, "tax {:?} net {:?} of {:?}", c.tax, c.net, p);
        }
        // A later cancel never credits more.
        prop_assert!(c2.net.minor <= c1.net.minor);
        prop_assert!(c2.tax.minor <= c1.tax.minor);
        prop_assert!(c2.gross.minor <= c1.gross.minor);
        prop_assert!(c2.remaining_days <= c1.remaining_days);
        // At offset 0 the credit is the charge.
        let c0 = credit_for(&line, start, start);
        prop_assert_eq!((c0.net, c0.tax, c0.gross), (p.net, p.tax, p.gross));
        prop_assert_eq!(c0.remaining_days, term_days);
    }

    #[test]
    fn perpetual_credit_is_always_the_charge(
        p in pricing(),
        bought in FROM_2020..TO_2031,
        offset in -DAY..10 * 366 * DAY,
    ) {
        let line = line_with(None, p);
        let start = Timestamp::from_micros(bought);
        let c = credit_for(&line, start, start.plus_micros(offset));
        prop_assert_eq!((c.net, c.tax, c.gross), (p.net, p.tax, p.gross));
    }
}
