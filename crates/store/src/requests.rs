//! A change to a support request, written with its effects in one transaction.

use crate::CancelLines;
use domain::ledger::LedgerLine;
use domain::support::{Attachment, Note, RequestStatus};
use domain::Timestamp;

/// A change to a support request, written with its effects in one transaction: a status, a note, a file, a
/// granted refund (a `refund` ledger row) and a cancel the publisher makes whatever the policy (R11).
#[derive(Debug, Clone)]
pub struct RequestChange {
    pub status: Option<RequestStatus>,
    pub note: Option<Note>,
    pub attachment: Option<Attachment>,
    /// A granted refund's rows: one per line it reverses (an order-level refund is apportioned), or one naming no
    /// order (a goodwill credit).
    pub refunds: Vec<LedgerLine>,
    pub cancel: Option<CancelLines>,
    pub at: Timestamp,
}

impl RequestChange {
    /// No change yet, at `at`: fill in what changes.
    pub fn at(at: Timestamp) -> RequestChange {
        RequestChange { status: None, note: None, attachment: None, refunds: Vec::new(), cancel: None, at }
    }
}
