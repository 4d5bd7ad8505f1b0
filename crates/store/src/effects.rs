//! What a change writes besides itself (activity records, the idempotency completion), and idempotency claims.

use domain::audit::NewAuditRecord;
use domain::operator::NewOperatorRecord;
use domain::Timestamp;

/// A finished response to keep under an idempotency key, written in the change's own transaction.
#[derive(Debug, Clone)]
pub struct IdempotencyCompletion {
    pub scope: String,
    pub key: String,
    pub status: u16,
    pub body: Vec<u8>,
    /// The body is sealed with the server's secret key because it carries a secret (token, activation key, link).
    pub encrypted: bool,
    /// The claim's lease (`locked_until`): it identifies the claim, so a request whose claim was taken over (it ran
    /// past its lease) cannot complete it, and its change is rolled back rather than committed twice.
    pub lease_until: Timestamp,
}

/// What a change writes besides itself: its activity records (on the partner's chain), the operator's records
/// (on the operator's chain, appended last so that every writer takes that chain's lock after any other) and the
/// response for its idempotency key.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub audit: Vec<NewAuditRecord>,
    pub idempotency: Option<IdempotencyCompletion>,
    pub operator: Vec<NewOperatorRecord>,
}

impl Effects {
    pub fn audit(record: NewAuditRecord) -> Effects {
        Effects { audit: vec![record], ..Effects::default() }
    }

    /// An operator change's record, with the response for its idempotency key.
    pub fn operator(record: NewOperatorRecord, idempotency: Option<IdempotencyCompletion>) -> Effects {
        Effects { operator: vec![record], idempotency, ..Effects::default() }
    }

    /// Also records what the operator did.
    pub fn and_operator(mut self, record: NewOperatorRecord) -> Effects {
        self.operator.push(record);
        self
    }

    /// Nothing to write besides the change itself.
    pub fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.idempotency.is_none() && self.operator.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// Real time (idempotency keys expire in real time even for sandbox partners).
    pub now: Timestamp,
    /// A claim older than this is taken over: the request that made it died before it finished.
    pub lease_micros: i64,
    pub ttl_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    Replay { status: u16, body: Vec<u8>, encrypted: bool },
    InProgress,
    Mismatch,
}
