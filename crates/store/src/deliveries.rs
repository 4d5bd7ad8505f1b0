//! Webhook deliveries as the dispatcher writes, holds and finishes them.

use domain::ids::{AuditRecordId, DeliveryId, PartnerId, WebhookId};
use domain::webhook::{Attempt, AttemptOutcome};
use domain::Timestamp;

/// A delivery to write: one activity record (or test event) for one endpoint, with the exact body it sends.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: DeliveryId,
    /// `None` for a test event.
    pub record_id: Option<AuditRecordId>,
    pub operation_type: String,
    pub body: String,
}

/// A delivery a dispatcher holds: what to send, where, and what it needs to decide what follows.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub partner_id: PartnerId,
    pub url: String,
    /// The endpoint's signing secret, sealed with the server's key.
    pub sealed_secret: Vec<u8>,
    pub body: String,
    pub operation_type: String,
    pub is_test: bool,
    /// Attempts made so far.
    pub attempts: u32,
    pub first_attempt_at: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    /// The hold this dispatcher took; its attempt is recorded only while the delivery is still held so.
    pub held_until: Timestamp,
}

/// An attempt and what follows it, to record.
#[derive(Debug, Clone)]
pub struct FinishedAttempt {
    pub delivery: DeliveryId,
    /// The claim's hold (see [`ClaimedDelivery::held_until`]).
    pub held_until: Timestamp,
    pub endpoint: WebhookId,
    pub attempt: Attempt,
    pub outcome: AttemptOutcome,
}

/// The operator webhook's place in the operator activity log, held by the dispatcher that sends from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorWebhookHold {
    /// The last record sent (or passed over).
    pub cursor_seq: i64,
    /// Failed attempts at the record after the cursor.
    pub attempts: u32,
    pub first_attempt_at: Option<Timestamp>,
    /// The hold: it identifies this claim when the outcome is written.
    pub held_until: Timestamp,
}

/// What a dispatcher writes after sending from the operator log: the new cursor and the state of the record
/// after it (no failures, or failures with when to try again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorWebhookOutcome {
    pub cursor_seq: i64,
    pub attempts: u32,
    pub first_attempt_at: Option<Timestamp>,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}
