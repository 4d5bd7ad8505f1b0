//! Why a line cannot be cancelled by its partner now, as a type: the dashboard and the API decide by this enum, not
//! by matching the error names that `Eligibility::reason` carries (SPEC §5's `cancellation.reason`).

use crate::cancellation::{
    Eligibility, REASON_ALREADY_CANCELLED, REASON_NOT_CANCELLABLE, REASON_SUPPORT_REQUEST, REASON_WINDOW_CLOSED,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The window policy's days have passed (`cancellation_window_closed`).
    WindowClosed,
    /// Only a support request cancels it (`cancellation_requires_support_request`).
    RequiresSupportRequest,
    /// Neither cancelled nor exchanged (`not_cancellable`).
    NotCancellable,
    /// Cancelled already (`already_cancelled`).
    AlreadyCancelled,
}

impl CancelReason {
    pub const ALL: [CancelReason; 4] = [
        CancelReason::WindowClosed,
        CancelReason::RequiresSupportRequest,
        CancelReason::NotCancellable,
        CancelReason::AlreadyCancelled,
    ];

    /// The errorName a cancel gets for this reason.
    pub fn error_name(self) -> &'static str {
        match self {
            CancelReason::WindowClosed => REASON_WINDOW_CLOSED,
            CancelReason::RequiresSupportRequest => REASON_SUPPORT_REQUEST,
            CancelReason::NotCancellable => REASON_NOT_CANCELLABLE,
            CancelReason::AlreadyCancelled => REASON_ALREADY_CANCELLED,
        }
    }

    pub fn parse(error_name: &str) -> Option<CancelReason> {
        CancelReason::ALL.into_iter().find(|r| r.error_name() == error_name)
    }
}

impl Eligibility {
    /// Why the line may not be cancelled now; `None` when it may.
    pub fn why_not(&self) -> Option<CancelReason> {
        self.reason.and_then(CancelReason::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancellation::{cancellation_eligibility, CancellationPolicy};
    use crate::Timestamp;

    #[test]
    fn every_reason_an_eligibility_gives_has_its_variant() {
        for r in CancelReason::ALL {
            assert_eq!(CancelReason::parse(r.error_name()), Some(r));
        }
        let t = Timestamp::from_micros(0);
        let e = cancellation_eligibility(CancellationPolicy::None, t, t, false);
        assert_eq!(e.why_not(), Some(CancelReason::NotCancellable));
        let e = cancellation_eligibility(CancellationPolicy::SupportRequest, t, t, false);
        assert_eq!(e.why_not(), Some(CancelReason::RequiresSupportRequest));
        let e = cancellation_eligibility(CancellationPolicy::SupportRequest, t, t, true);
        assert_eq!(e.why_not(), Some(CancelReason::AlreadyCancelled));
        let e = cancellation_eligibility(CancellationPolicy::Window { days: 7 }, t, t, false);
        assert_eq!(e.why_not(), None);
        let later = Timestamp::from_micros(8 * 24 * 3600 * 1_000_000);
        let e = cancellation_eligibility(CancellationPolicy::Window { days: 7 }, t, later, false);
        assert_eq!(e.why_not(), Some(CancelReason::WindowClosed));
    }
}
