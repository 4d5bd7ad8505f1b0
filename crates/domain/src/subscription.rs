//! Partner Center's subscriptions view: each order line bought for a term (a software subscription or plan, an
//! Azure reservation) seen as a `Subscription`. Nothing is stored for it; it is read off the order lines.

use crate::ids::OrderId;
use crate::order::{LineStatus, OrderLine};
use crate::timestamp::Timestamp;
use sha2::{Digest, Sha256};

/// Partner Center's subscription states that apply: bought and running, cancelled (R10), or past its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    /// Cancelled: Partner Center's `deleted`.
    Deleted,
    Expired,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Deleted => "deleted",
            SubscriptionStatus::Expired => "expired",
        }
    }
}

/// One term purchase as a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Stable for the line ([`subscription_id`]).
    pub id: String,
    pub order_id: OrderId,
    pub purchased_at: Timestamp,
    pub line: OrderLine,
    /// The last day of the term.
    pub commitment_end: time::Date,
    pub status: SubscriptionStatus,
}

/// The subscription id of an order line: a UUID (version 8, RFC 9562's custom layout) made of the SHA-256 of the
/// order id and line number, so it is the same on every read and on every server, and names nothing else.
pub fn subscription_id(order: OrderId, line_number: u32) -> String {
    let digest = Sha256::new()
        .chain_update(b"partnerhub subscription\0")
        .chain_update(order.to_string().as_bytes())
        .chain_update(line_number.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// The line as a subscription at `now` (on the partner's clock), or `None` for a line bought without a term.
pub fn subscription_of(
    order_id: OrderId,
    purchased_at: Timestamp,
    line: OrderLine,
    now: Timestamp,
) -> Option<Subscription> {
    let term = line.term?;
    let commitment_end = term.end_date(purchased_at.date());
    let status = if line.status == LineStatus::Cancelled {
        SubscriptionStatus::Deleted
    } else if now.date() > commitment_end {
        SubscriptionStatus::Expired
    } else {
        SubscriptionStatus::Active
    };
    Some(Subscription {
        id: subscription_id(order_id, line.line_number),
        order_id,
        purchased_at,
        line,
        commitment_end,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_uuids_distinct_per_line() {
        let order = OrderId::new();
        let a = subscription_id(order, 0);
        assert_eq!(a, subscription_id(order, 0));
        assert_ne!(a, subscription_id(order, 1));
        assert_ne!(a, subscription_id(OrderId::new(), 0));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
    }
}
