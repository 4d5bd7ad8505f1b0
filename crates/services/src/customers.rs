//! Customers (R3): create, find, list.

use crate::idempotency::Idem;
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::{Customer, CustomerDraft};
use domain::filter::CustomerFilter;
use domain::ids::TenantId;
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::DomainError;
use store::{Effects, StoreError};

impl Services {
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_customer(
        &self,
        actor: &Actor,
        draft: CustomerDraft,
        idem: Option<Idem<'_, Customer>>,
    ) -> Result<Customer> {
        let scope = actor.authorize(Action::CreateCustomer)?;
        let customer = draft.validate(self.partner_now(&actor.partner))?;
        let audit = NewAuditRecord::succeeded(OperationType::CreateCustomer, actor.principal(), customer.created_at)
            .customer(customer.tenant_id, &customer.company_name)
            .data("domain", customer.domain.clone())
            .data("market", customer.market.as_str());
        let effects = Effects { audit: vec![audit], idempotency: self.completion(idem.as_ref(), &customer) };
        match self.store.create_customer(scope, &customer, effects).await {
            Err(StoreError::Conflict(m)) => Err(DomainError::DuplicateCustomer(m).into()),
            other => Ok(other.map(|_| customer)?),
        }
    }

    pub async fn get_customer(&self, actor: &Actor, id: &str) -> Result<Customer> {
        let scope = actor.authorize(Action::ViewCustomer)?;
        let id = TenantId::parse(id).ok_or(DomainError::NotFound)?;
        self.store.get_customer(scope, id).await?.ok_or_else(|| DomainError::NotFound.into())
    }

    pub async fn list_customers(
        &self,
        actor: &Actor,
        filter: Option<&str>,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Customer>> {
        let scope = actor.authorize(Action::ListCustomers)?;
        let filter = filter.filter(|f| !f.trim().is_empty()).map(CustomerFilter::parse).transpose()?;
        let rows = self.store.list_customers(scope, filter.as_ref(), size.get() + 1, after.as_ref()).await?;
        // Customers page by their position (commit order); the cursor carries it in its ordering key.
        Ok(Page::from_rows(rows, size, |c| Cursor {
            at: domain::Timestamp::from_micros(c.position),
            id: c.tenant_id.to_string(),
        }))
    }
}
