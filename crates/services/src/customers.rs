//! Customers (R3): create, find, list.

use crate::idempotency::Idem;
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::{Customer, CustomerDraft};
use domain::filter::CustomerFilter;
use domain::ids::{PartnerId, TenantId};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::DomainError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::{Effects, StoreError};

/// Customers found by id, per process. A customer is never changed or deleted once created, so an entry cannot go
/// stale; only hits are kept (one created by another process is looked up until found). Bounded: when full it
/// starts over.
#[derive(Clone, Default)]
pub struct CustomerCache(Arc<Mutex<HashMap<(PartnerId, TenantId), Customer>>>);

const CUSTOMER_CACHE_ENTRIES: usize = 10_000;

impl CustomerCache {
    fn get(&self, partner: PartnerId, id: TenantId) -> Option<Customer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&(partner, id)).cloned()
    }

    fn keep(&self, partner: PartnerId, customer: &Customer) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CUSTOMER_CACHE_ENTRIES {
            map.clear();
        }
        map.insert((partner, customer.tenant_id), customer.clone());
    }
}

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
        if let Some(c) = self.customer_cache.get(scope.partner_id(), id) {
            return Ok(c);
        }
        let customer = self.store.get_customer(scope, id).await?.ok_or(DomainError::NotFound)?;
        self.customer_cache.keep(scope.partner_id(), &customer);
        Ok(customer)
    }

    /// Partner Center's domain availability check: whether one of this partner's customers already uses `domain`
    /// (any role may ask; other partners' customers do not count, as domains are unique per partner).
    pub async fn domain_in_use(&self, actor: &Actor, domain: &str) -> Result<bool> {
        let scope = actor.authorize(Action::ListCustomers)?;
        let domain = domain::customer::parse_domain(domain).map_err(|m| DomainError::invalid("domain", m))?;
        let filter = CustomerFilter {
            field: domain::filter::CustomerField::Domain,
            operator: domain::filter::FilterOperator::Equals,
            value: domain,
        };
        Ok(!self.store.list_customers(scope, Some(&filter), 1, None).await?.is_empty())
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
