//! The Software page (R6) and Partner Center's entitlements, read by any role.

use crate::{Actor, Result, Services};
use domain::catalog::ProductType;
use domain::ids::OrderId;
use domain::ids::TenantId;
use domain::order::OrderLine;
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::software::SoftwareItem;
use domain::{DomainError, Timestamp};

/// Partner Center's two entitlement types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitlementType {
    Software,
    ReservedInstance,
}

impl EntitlementType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementType::Software => "software",
            EntitlementType::ReservedInstance => "reservedinstance",
        }
    }
    pub fn of(product_type: ProductType) -> EntitlementType {
        if product_type == ProductType::AzureReservation {
            EntitlementType::ReservedInstance
        } else {
            EntitlementType::Software
        }
    }
}

/// What a customer is entitled to: one active order line.
#[derive(Debug, Clone)]
pub struct Entitlement {
    pub order_id: OrderId,
    pub purchased_at: Timestamp,
    pub line: OrderLine,
    pub kind: EntitlementType,
}

impl Entitlement {
    pub fn expiry_date(&self) -> Option<time::Date> {
        self.line.term.map(|t| t.end_date(self.purchased_at.date()))
    }
}

impl Services {
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_software(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<SoftwareItem>> {
        let scope = actor.authorize(Action::ViewSoftware)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let rows = self.store.list_software(scope, customer.tenant_id, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |i| Cursor { at: i.purchased_at, id: i.id.to_string() }))
    }

    /// `entitlementType`: `software` or `reservedinstance` (any case); none: both. Paged by (purchase instant,
    /// order id, line number).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn entitlements(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        kind: Option<&str>,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Entitlement>> {
        let scope = actor.authorize(Action::ViewSoftware)?;
        let wanted = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) if k.eq_ignore_ascii_case("software") => Some(EntitlementType::Software),
            Some(k) if k.eq_ignore_ascii_case("reservedinstance") => Some(EntitlementType::ReservedInstance),
            Some(k) => {
                return Err(DomainError::invalid(
                    "entitlementType",
                    format!("'{k}' is not one of software, reservedinstance"),
                )
                .into())
            }
        };
        let customer = self.get_customer(actor, customer_id).await?;
        let reservations = wanted.map(|w| w == EntitlementType::ReservedInstance);
        let rows = self
            .store
            .active_order_lines(scope, customer.tenant_id, reservations, size.get() + 1, after.as_ref())
            .await?
            .into_iter()
            .map(|(order_id, purchased_at, line)| Entitlement {
                kind: EntitlementType::of(line.product_type),
                order_id,
                purchased_at,
                line,
            })
            .collect();
        Ok(Page::from_rows(rows, size, |e| Cursor {
            at: e.purchased_at,
            id: format!("{}:{}", e.order_id, e.line.line_number),
        }))
    }
}
