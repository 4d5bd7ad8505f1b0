//! Cancelling purchases (R9, R10): the policy check, the credits, and one transaction that revokes and credits.

use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::cancellation::{credit_for, plan_cancellation, Canceller};
use domain::credit::OrderBalance;
use domain::customer::Customer;
use domain::ids::{OrderId, TenantId};
use domain::money::Money;
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
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn cancel_order(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        id: OrderId,
        lines: Option<Vec<i64>>,
        keep: Option<&dyn Keep<Order>>,
    ) -> Result<Order> {
        let scope = actor.authorize(Action::CancelPurchase)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let order = self.store.get_order(scope, customer.tenant_id, id).await?.ok_or(DomainError::NotFound)?;
        let now = self.partner_now(&actor.partner);
        let chosen = plan_cancellation(&order, lines.as_deref(), now, Canceller::Partner)?;
        let who = Canceling { customer: &customer, by: actor.principal(), at: now };
        let mut attempt = 0;
        loop {
            let mut balance = self.store.order_balance(scope, order.id).await?.ok_or(DomainError::NotFound)?;
            let (cancelled, cancel, audit) = prepare_cancellation(&who, order.clone(), &chosen, &mut balance)?;
            let effects =
                Effects { audit: vec![audit], idempotency: completion(keep, &cancelled)?, ..Effects::default() };
            match self.store.cancel_lines(scope, &cancel, effects).await {
                Ok(()) => return Ok(cancelled),
                Err(e) if attempt < CREDIT_RETRIES && credited_meanwhile(&e) => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// How often a change whose credits were worked out from a balance that another credit changed before the write is
/// worked out again. A cancel caps its credit to what is left, so its second attempt fits unless yet another credit
/// landed meanwhile.
pub(crate) const CREDIT_RETRIES: u32 = 2;

/// The store refused credits worked out before another credit on the order was written (its in-transaction check).
pub(crate) fn credited_meanwhile(e: &store::StoreError) -> bool {
    matches!(e, store::StoreError::Refused(DomainError::CreditExceedsCharge { .. }))
}

/// The lines' credits (R10), the order as it becomes, and the `update_order` record: what a cancel writes, by the
/// partner or by the publisher through a support request. Each credit is R10's, never more than `balance` says is
/// left of the line (refunds granted on it already, or in the same desk answer); `balance` records them, so a
/// refund worked out next sees them. The store admits the credits again under the order's lock.
pub(crate) fn prepare_cancellation(
    who: &Canceling<'_>,
    mut order: Order,
    chosen: &[u32],
    balance: &mut OrderBalance,
) -> Result<(Order, CancelLines, NewAuditRecord)> {
    let Canceling { customer, by, at: now } = *who;
    let mut credits = Vec::with_capacity(chosen.len());
    let mut credited = Vec::new();
    let (created_at, snapshot) = (order.created_at, order.clone());
    for line in order.lines.iter_mut().filter(|l| chosen.contains(&l.line_number)) {
        let r10 = credit_for(line, created_at, now);
        let credit = balance.cancel(line.line_number, r10.net.minor, r10.tax.minor)?;
        let given = Money { minor: credit.gross(), scale: r10.gross.scale };
        let capped = if credit.gross() < r10.gross.minor { ", all that was left after refunds" } else { "" };
        credited.push(match line.term {
            Some(_) => format!(
                "{}: {} ({} of {} days unused{capped})",
                line.line_number,
                given.format(),
                r10.remaining_days,
                r10.term_days
            ),
            None => format!("{}: {} (all of it{capped})", line.line_number, given.format()),
        });
        // Nothing left to give back (refunded in full already): no credit row.
        if credit.gross() > 0 {
            credits.push(LedgerLine::cancel_credit(&snapshot, line, &credit, now));
        }
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
    Ok((order, cancel, audit))
}
