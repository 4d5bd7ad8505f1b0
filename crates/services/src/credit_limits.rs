//! Credit limits (issue 23): the publisher caps what a partner may owe; checkout is refused past it (the store checks
//! inside the order's transaction), and the refusal is recorded in the partner's activity log.

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::credit_limit::{parse_limit, CreditStanding};
use domain::customer::Customer;
use domain::ids::PartnerId;
use domain::operator::{OperatorAction, OperatorOperation};
use domain::order::Order;
use domain::policy::Action;
use domain::DomainError;
use store::{Effects, PartnerScope, StoreError};

impl Services {
    /// Publisher: sets a partner's credit limit (`amount` none: removes it). Returns the standing now.
    #[tracing::instrument(skip_all)]
    pub async fn set_credit_limit(
        &self,
        publisher: &Publisher,
        partner: PartnerId,
        amount: Option<&str>,
        currency: Option<&str>,
    ) -> Result<Option<CreditStanding>> {
        publisher.authorize(OperatorAction::Billing)?;
        let limit = match amount {
            Some(a) => {
                let markets = self.store.list_markets().await?;
                let scale_of = |c: &str| markets.iter().find(|m| m.currency_code == c).map(|m| m.minor_units);
                Some(parse_limit(a, currency.unwrap_or_default(), &scale_of)?)
            }
            None => None,
        };
        let mut record = publisher.record(OperatorOperation::SetCreditLimit, self.clock.now()).partner(partner);
        record = match &limit {
            Some(l) => record.data("amount", l.amount.to_string()).data("currency", l.currency.clone()),
            None => record.data("amount", "none"),
        };
        self.store.set_credit_limit(partner, limit.as_ref(), Effects::operator(record, None)).await?;
        self.partner_credit_standing(publisher, partner).await
    }

    /// Publisher: a partner's limit and what counts against it.
    pub async fn partner_credit_standing(
        &self,
        publisher: &Publisher,
        partner: PartnerId,
    ) -> Result<Option<CreditStanding>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        Ok(self.store.credit_standing(partner).await?)
    }

    /// The actor's partner's limit and the room left (the roles that see billing).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn credit_standing(&self, actor: &Actor) -> Result<Option<CreditStanding>> {
        actor.authorize(Action::ReadInvoices)?;
        Ok(self.store.credit_standing(actor.partner.id).await?)
    }

    /// A checkout's write refused by the credit limit is recorded in the partner's activity log (in a transaction
    /// of its own: the order's was rolled back); any other outcome passes through.
    pub(crate) async fn note_credit_refusal(
        &self,
        scope: PartnerScope,
        actor: &Actor,
        customer: &Customer,
        order: &Order,
        placed: std::result::Result<(), StoreError>,
    ) -> Result<()> {
        let Err(StoreError::Refused(refusal @ DomainError::CreditLimitExceeded { .. })) = placed else {
            return Ok(placed?);
        };
        let DomainError::CreditLimitExceeded { charge, left, currency } = &refusal else { return Err(refusal.into()) };
        let mut record = NewAuditRecord::succeeded(OperationType::CreateOrder, actor.principal(), order.created_at)
            .customer(customer.tenant_id, &customer.company_name)
            .data("reason", refusal.error_name())
            .data("currency", currency.clone())
            .data("gross", charge.clone())
            .data("left", left.clone());
        record.operation_status = "failed".into();
        self.store.record_activity(scope, Effects::audit(record)).await?;
        Err(refusal.into())
    }
}
