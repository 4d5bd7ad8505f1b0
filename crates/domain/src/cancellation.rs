//! R9: whether a purchased line may be cancelled by the partner, as one pure function of policy and time.

use crate::timestamp::{Timestamp, MICROS_PER_DAY};

/// A product's cancellation policy (catalog data, R9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancellationPolicy {
    /// Self-service cancel while `now < purchased_at + days`.
    Window { days: u32 },
    /// Only the publisher may cancel, through a support request (Windows 7 ESU).
    SupportRequest,
    /// Neither cancel nor exchange (SUSE Linux and Red Hat software plans).
    None,
}

impl CancellationPolicy {
    /// The default window of R9.
    pub const DEFAULT_WINDOW: CancellationPolicy = CancellationPolicy::Window { days: 60 };

    /// The policy's `kind` as the catalog document and the API spell it.
    pub fn kind(self) -> &'static str {
        match self {
            CancellationPolicy::Window { .. } => "window",
            CancellationPolicy::SupportRequest => "support_request",
            CancellationPolicy::None => "none",
        }
    }

    /// The window length in days, for the `window` policy.
    pub fn window_days(self) -> Option<u32> {
        match self {
            CancellationPolicy::Window { days } => Some(days),
            _ => None,
        }
    }
}

/// What the cancel dialog and the order line's `cancellation` object show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// The policy's kind: "window", "support_request" or "none".
    pub policy: &'static str,
    pub eligible: bool,
    /// Ceiling of the remaining window in days; 0 when closed or not self-service.
    pub days_remaining: i64,
    /// `purchased_at + days` for the window policy.
    pub cancellable_until: Option<Timestamp>,
    /// The errorName that a cancel would get, when not eligible.
    pub reason: Option<&'static str>,
}

pub const REASON_WINDOW_CLOSED: &str = "cancellation_window_closed";
pub const REASON_SUPPORT_REQUEST: &str = "cancellation_requires_support_request";
pub const REASON_NOT_CANCELLABLE: &str = "not_cancellable";
pub const REASON_ALREADY_CANCELLED: &str = "already_cancelled";

/// window: eligible while now < purchased_at + days (and the line is not cancelled already); days_remaining =
/// ceiling of the remaining time in days, 0 when closed (never more than `days`, even for a `now` before the
/// purchase); cancellable_until = purchased_at + days.
/// support_request: never self-service ("cancellation_requires_support_request"); none: "not_cancellable";
/// an already cancelled line: "already_cancelled", days_remaining 0, whatever the policy.
pub fn cancellation_eligibility(
    policy: CancellationPolicy,
    purchased_at: Timestamp,
    now: Timestamp,
    already_cancelled: bool,
) -> Eligibility {
    let refused = |reason, cancellable_until| Eligibility {
        policy: policy.kind(),
        eligible: false,
        days_remaining: 0,
        cancellable_until,
        reason: Some(reason),
    };
    match policy {
        CancellationPolicy::Window { days } => {
            let until = purchased_at.plus_micros(i64::from(days).saturating_mul(MICROS_PER_DAY));
            if already_cancelled {
                return refused(REASON_ALREADY_CANCELLED, Some(until));
            }
            let remaining = until.micros().saturating_sub(now.micros());
            if remaining <= 0 {
                return refused(REASON_WINDOW_CLOSED, Some(until));
            }
            let ceil_days = remaining / MICROS_PER_DAY + i64::from(remaining % MICROS_PER_DAY != 0);
            Eligibility {
                policy: policy.kind(),
                eligible: true,
                days_remaining: ceil_days.min(i64::from(days)),
                cancellable_until: Some(until),
                reason: None,
            }
        }
        _ if already_cancelled => refused(REASON_ALREADY_CANCELLED, None),
        CancellationPolicy::SupportRequest => refused(REASON_SUPPORT_REQUEST, None),
        CancellationPolicy::None => refused(REASON_NOT_CANCELLABLE, None),
    }
}

#[cfg(test)]
mod tests {
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
            assert_eq!(
                (e.eligible, e.days_remaining, e.reason, e.policy),
                (false, 0, Some("already_cancelled"), p.kind())
            );
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let big = CancellationPolicy::Window { days: u32::MAX };
        let e = cancellation_eligibility(
            big,
            Timestamp::from_micros(i64::MAX - 1),
            Timestamp::from_micros(i64::MIN),
            false,
        );
        assert!(e.eligible);
        let e =
            cancellation_eligibility(W60, Timestamp::from_micros(i64::MIN), Timestamp::from_micros(i64::MAX), false);
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
}
