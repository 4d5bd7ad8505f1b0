//! R9: whether a purchased line may be cancelled by the partner, as one pure function of policy and time.

use crate::error::DomainError;
use crate::money::{prorate, Money};
use crate::order::{LineStatus, Order, OrderLine};
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

/// Who asks for a cancel: the partner (self-service, R9's policies apply) or the publisher answering a support
/// request (R11: any policy, which is how Windows 7 ESU gets cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    Partner,
    Publisher,
}

/// R9: the lines a cancel takes, or the error of the first line (in the order asked) that may not be cancelled.
/// `requested`: the line numbers named (any order, repeats ignored), or none for every line still active. All or
/// nothing: either every named line may go, or nothing does.
pub fn plan_cancellation(
    order: &Order,
    requested: Option<&[i64]>,
    now: Timestamp,
    by: Canceller,
) -> Result<Vec<u32>, DomainError> {
    let wanted: Vec<u32> = match requested {
        None => {
            let active: Vec<u32> =
                order.lines.iter().filter(|l| l.status == LineStatus::Active).map(|l| l.line_number).collect();
            if active.is_empty() {
                return Err(DomainError::AlreadyCancelled(format!("order {} is already cancelled", order.id)));
            }
            active
        }
        Some([]) => {
            return Err(DomainError::invalid("lineItems", "name at least one line, or leave it out to cancel all"))
        }
        Some(numbers) => {
            let mut out: Vec<u32> = Vec::with_capacity(numbers.len());
            for n in numbers {
                let line = u32::try_from(*n)
                    .ok()
                    .filter(|n| order.lines.iter().any(|l| l.line_number == *n))
                    .ok_or(DomainError::LineItemOutOfRange(*n))?;
                if !out.contains(&line) {
                    out.push(line);
                }
            }
            out
        }
    };
    for number in &wanted {
        let line = order
            .lines
            .iter()
            .find(|l| l.line_number == *number)
            .ok_or(DomainError::LineItemOutOfRange(i64::from(*number)))?;
        if line.status == LineStatus::Cancelled {
            return Err(DomainError::AlreadyCancelled(format!(
                "line item {number} of order {} is already cancelled",
                order.id
            )));
        }
        if by == Canceller::Publisher {
            continue;
        }
        let e = line.cancellation(order.created_at, now);
        match e.reason {
            None => {}
            Some(REASON_WINDOW_CLOSED) => {
                let closed_at = e.cancellable_until.map(|t| t.to_rfc3339()).unwrap_or_default();
                return Err(DomainError::CancellationWindowClosed { line: *number, closed_at });
            }
            Some(REASON_SUPPORT_REQUEST) => {
                return Err(DomainError::CancellationRequiresSupportRequest {
                    line: *number,
                    product: line.product_id.clone(),
                    customer_id: order.customer_id.to_string(),
                    order_id: order.id.to_string(),
                })
            }
            Some(REASON_NOT_CANCELLABLE) => {
                return Err(DomainError::NotCancellable { line: *number, product: line.product_id.clone() })
            }
            Some(other) => {
                return Err(DomainError::AlreadyCancelled(format!("line item {number} cannot be cancelled: {other}")))
            }
        }
    }
    Ok(wanted)
}

/// What a cancelled line gives back (R10): all of it for perpetual software; for a term, the unused whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    /// Days of the term not used (the term's length for perpetual software: the whole charge).
    pub remaining_days: i64,
    pub term_days: i64,
}

/// R10: `used_days = floor((cancelled_at − purchased_at) / 24 h)`, `term_days` = days from the purchase date to the
/// same date one term later (UTC calendar); `credit = round(charge × (term_days − used_days) / term_days)` for net
/// and tax separately, half away from zero; gross = net + tax. Never more than the charge, never negative.
pub fn credit_for(line: &OrderLine, purchased_at: Timestamp, cancelled_at: Timestamp) -> Credit {
    let p = &line.pricing;
    let Some(term) = line.term else {
        return Credit { net: p.net, tax: p.tax, gross: p.gross, remaining_days: 1, term_days: 1 };
    };
    let term_days = term.days(purchased_at.date());
    let used_days = cancelled_at.micros().saturating_sub(purchased_at.micros()).max(0) / MICROS_PER_DAY;
    let remaining_days = (term_days - used_days).clamp(0, term_days);
    let net = prorate(p.net, remaining_days, term_days);
    let tax = prorate(p.tax, remaining_days, term_days);
    let gross = net.checked_add(tax).unwrap_or(p.gross);
    Credit { net, tax, gross, remaining_days, term_days }
}

#[cfg(test)]
mod tests;
