//! The Software page (R6): every software item bought for a customer, with its status and term.

use crate::catalog::{ProductType, Term};
use crate::ids::{OrderId, SoftwareItemId, TenantId};
use crate::order::LineStatus;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareItem {
    pub id: SoftwareItemId,
    pub customer_id: TenantId,
    pub order_id: OrderId,
    pub line_number: u32,
    pub product_id: String,
    pub sku_id: String,
    pub title: String,
    pub product_type: ProductType,
    pub term: Option<Term>,
    pub status: LineStatus,
    pub purchased_at: Timestamp,
    /// An activation key from stock was assigned at checkout.
    pub has_key: bool,
}

impl SoftwareItem {
    /// The last day of the term: the same date one term later on the UTC calendar (none for perpetual software).
    pub fn expiry_date(&self) -> Option<time::Date> {
        self.term.map(|t| t.end_date(self.purchased_at.date()))
    }

    /// A key can be shown only for an item that holds one and is not cancelled (R10).
    pub fn key_available(&self) -> bool {
        self.has_key && self.status == LineStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn item(term: Option<Term>, status: LineStatus, has_key: bool) -> SoftwareItem {
        SoftwareItem {
            id: SoftwareItemId::new(),
            customer_id: TenantId::new(),
            order_id: OrderId::new(),
            line_number: 0,
            product_id: "P".into(),
            sku_id: "S".into(),
            title: "T".into(),
            product_type: ProductType::SoftwareSubscription,
            term,
            status,
            purchased_at: Timestamp::from_datetime(datetime!(2024-02-29 23:30 UTC)),
            has_key,
        }
    }

    #[test]
    fn expiry_follows_the_calendar_and_keys_follow_status() {
        assert_eq!(item(Some(Term::P1Y), LineStatus::Active, true).expiry_date(), Some(date!(2025 - 02 - 28)));
        assert_eq!(item(Some(Term::P3Y), LineStatus::Active, true).expiry_date(), Some(date!(2027 - 02 - 28)));
        assert_eq!(item(None, LineStatus::Active, true).expiry_date(), None);
        assert!(item(None, LineStatus::Active, true).key_available());
        assert!(!item(None, LineStatus::Cancelled, true).key_available());
        assert!(!item(None, LineStatus::Active, false).key_available());
    }
}
