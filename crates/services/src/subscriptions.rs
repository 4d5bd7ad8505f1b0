//! Partner Center's subscriptions view (any role): a customer's term purchases, read off the order lines.

use crate::{Actor, Result, Services};
use domain::ids::TenantId;
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::subscription::{subscription_of, Subscription};
use domain::DomainError;

/// Lines read per look when finding one subscription by id.
const FIND_BATCH: u32 = 500;

impl Services {
    /// A customer's subscriptions, oldest purchase first, whatever their status.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn subscriptions(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Subscription>> {
        let scope = actor.authorize(Action::ViewOrders)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let now = self.partner_now(&actor.partner);
        let rows = self.store.term_order_lines(scope, customer.tenant_id, size.get() + 1, after.as_ref()).await?;
        let subscriptions = rows
            .into_iter()
            .filter_map(|(order_id, purchased_at, line)| subscription_of(order_id, purchased_at, line, now))
            .collect();
        Ok(Page::from_rows(subscriptions, size, |s: &Subscription| Cursor {
            at: s.purchased_at,
            id: format!("{}:{}", s.order_id, s.line.line_number),
        }))
    }

    /// One subscription by id. Its id is a hash of its order line, so the customer's term lines are read until it
    /// turns up (a customer has few; each look is one indexed read of up to 500 lines).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn subscription(&self, actor: &Actor, customer_id: TenantId, id: &str) -> Result<Subscription> {
        let scope = actor.authorize(Action::ViewOrders)?;
        let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| DomainError::NotFound)?.to_string();
        let customer = self.get_customer(actor, customer_id).await?;
        let now = self.partner_now(&actor.partner);
        let mut after: Option<Cursor> = None;
        loop {
            let rows = self.store.term_order_lines(scope, customer.tenant_id, FIND_BATCH, after.as_ref()).await?;
            let full = rows.len() == FIND_BATCH as usize;
            for (order_id, purchased_at, line) in rows {
                after = Some(Cursor { at: purchased_at, id: format!("{order_id}:{}", line.line_number) });
                if let Some(s) = subscription_of(order_id, purchased_at, line, now).filter(|s| s.id == id) {
                    return Ok(s);
                }
            }
            if !full {
                return Err(DomainError::NotFound.into());
            }
        }
    }
}
