//! Cancelling purchases (R9, R10): the policy check, the credits, and one transaction that revokes and credits.

use crate::idempotency::Idem;
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::cancellation::{credit_for, plan_cancellation, Canceller};
use domain::customer::Customer;
use domain::ids::{LedgerEntryId, OrderId};
use domain::order::{LineStatus, Order};
use domain::policy::Action;
use domain::{DomainError, Timestamp};
use store::{CancelLines, Effects, LedgerLine};

/// Who cancels, for whom, and when (the partner's clock).
#[derive(Clone, Copy)]
pub(crate) struct Canceling<'a> {
    pub customer: &'a Customer,
    /// The principal the activity record names.
    pub by: &'a str,
    pub at: Timestamp,
}

impl Services {
    /// An admin agent cancels lines of one order (none named: every active line), all or nothing, by the
    /// product's policy on the partner's clock. Returns the order as it now is.
    pub async fn cancel_order(
        &self,
        actor: &Actor,
        customer_id: &str,
        order_id: &str,
        lines: Option<Vec<i64>>,
        idem: Option<Idem<'_, Order>>,
    ) -> Result<Order> {
        let scope = actor.authorize(Action::CancelPurchase)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let id = OrderId::parse(order_id).ok_or(DomainError::NotFound)?;
        let order = self.store.get_order(scope, customer.tenant_id, id).await?.ok_or(DomainError::NotFound)?;
        let now = self.partner_now(&actor.partner);
        let chosen = plan_cancellation(&order, lines.as_deref(), now, Canceller::Partner)?;
        let who = Canceling { customer: &customer, by: actor.principal(), at: now };
        let refunded = self.store.credited(scope, order.id).await?;
        let (order, cancel, audit) = prepare_cancellation(&who, order, &chosen, &refunded);
        let effects = Effects { audit: vec![audit], idempotency: self.completion(idem.as_ref(), &order) };
        self.store.cancel_lines(scope, &cancel, effects).await?;
        Ok(order)
    }
}

/// The lines' credits (R10), the order as it becomes, and the `update_order` record: what a cancel writes, by the
/// partner or by the publisher through a support request. `refunded` is what was already credited per line (refunds
/// granted on support requests): a cancel never gives back more than was charged.
pub(crate) fn prepare_cancellation(
    who: &Canceling<'_>,
    mut order: Order,
    chosen: &[u32],
    refunded: &[(Option<u32>, i64, i64, i64)],
) -> (Order, CancelLines, NewAuditRecord) {
    let Canceling { customer, by, at: now } = *who;
    {
        let mut credits = Vec::with_capacity(chosen.len());
        let mut credited = Vec::new();
        for line in order.lines.iter_mut().filter(|l| chosen.contains(&l.line_number)) {
            let mut credit = credit_for(line, order.created_at, now);
            if let Some((_, net, tax, _)) = refunded.iter().find(|(l, ..)| *l == Some(line.line_number)) {
                credit.net.minor = credit.net.minor.min(line.pricing.net.minor - net).max(0);
                credit.tax.minor = credit.tax.minor.min(line.pricing.tax.minor - tax).max(0);
                credit.gross.minor = credit.net.minor + credit.tax.minor;
            }
            credits.push(LedgerLine {
                id: LedgerEntryId::new(),
                kind: "cancel",
                currency: order.currency.clone(),
                scale: line.pricing.net.scale,
                at: now,
                customer_id: Some(order.customer_id),
                order_id: Some(order.id),
                line_number: Some(line.line_number),
                reference: None,
                quantity: line.pricing.quantity,
                unit_price_minor: -line.pricing.unit_price.minor,
                net_minor: -credit.net.minor,
                tax_minor: -credit.tax.minor,
                gross_minor: -credit.gross.minor,
            });
            credited.push(match line.term {
                Some(_) => format!(
                    "{}: {} ({} of {} days unused)",
                    line.line_number,
                    credit.gross.format(),
                    credit.remaining_days,
                    credit.term_days
                ),
                None => format!("{}: {} (all of it)", line.line_number, credit.gross.format()),
            });
            line.status = LineStatus::Cancelled;
            line.cancelled_at = Some(now);
        }
        let lines: Vec<String> = chosen.iter().map(u32::to_string).collect();
        let audit = NewAuditRecord::succeeded(OperationType::UpdateOrder, by, now)
            .customer(customer.tenant_id, &customer.company_name)
            .data("orderId", order.id.to_string())
            .data("status", "cancelled")
            .data("lineItems", lines.join(","))
            .data("currency", order.currency.clone())
            .data("credits", credited.join("; "));
        let cancel =
            CancelLines { customer: customer.tenant_id, order_id: order.id, lines: chosen.to_vec(), at: now, credits };
        (order, cancel, audit)
    }
}
