//! Customers (R3): create, find, list.

use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::{BillingDraft, Customer, CustomerDraft};
use domain::filter::CustomerFilter;
use domain::ids::{PartnerId, TenantId};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::DomainError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Effects, StoreError};

/// Customers found by id, per process, for at most [`CUSTOMER_CACHE_FOR`]. What prices orders (the tenant id and
/// the market) never changes; the billing profile may (`PUT …/profiles/billing`): this process forgets its entry at
/// once, another server's entry ages out within a second, and the profile's own routes always read the database.
/// Only hits are kept (one created by another process is looked up until found). Bounded: when full it starts over.
#[derive(Clone, Default)]
pub struct CustomerCache(Arc<Mutex<HashMap<(PartnerId, TenantId), Cached>>>);

/// A customer and when it was read.
type Cached = (Instant, Customer);

const CUSTOMER_CACHE_ENTRIES: usize = 10_000;
const CUSTOMER_CACHE_FOR: Duration = Duration::from_secs(1);

impl CustomerCache {
    fn get(&self, partner: PartnerId, id: TenantId) -> Option<Customer> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(partner, id)).filter(|(at, _)| at.elapsed() < CUSTOMER_CACHE_FOR).map(|(_, c)| c.clone())
    }

    fn keep(&self, partner: PartnerId, customer: &Customer) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CUSTOMER_CACHE_ENTRIES {
            map.clear();
        }
        map.insert((partner, customer.tenant_id), (Instant::now(), customer.clone()));
    }

    fn forget(&self, partner: PartnerId, id: TenantId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&(partner, id));
    }
}

/// An ETag as a client sends it in `If-Match`: without a weak prefix or quotes.
fn etag_value(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"')
}

impl Services {
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_customer(
        &self,
        actor: &Actor,
        draft: CustomerDraft,
        keep: Option<&dyn Keep<Customer>>,
    ) -> Result<Customer> {
        let scope = actor.authorize(Action::CreateCustomer)?;
        let customer = draft.validate(self.partner_now(&actor.partner))?;
        let audit = NewAuditRecord::succeeded(OperationType::CreateCustomer, actor.principal(), customer.created_at)
            .customer(customer.tenant_id, &customer.company_name)
            .data("domain", customer.domain.clone())
            .data("market", customer.market.as_str());
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &customer)?, ..Effects::default() };
        match self.store.create_customer(scope, &customer, effects).await {
            Err(StoreError::Conflict(m)) => Err(DomainError::DuplicateCustomer(m).into()),
            other => Ok(other.map(|_| customer)?),
        }
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_customer(&self, actor: &Actor, id: TenantId) -> Result<Customer> {
        let scope = actor.authorize(Action::ViewCustomer)?;
        if let Some(c) = self.customer_cache.get(scope.partner_id(), id) {
            return Ok(c);
        }
        let customer = self.store.get_customer(scope, id).await?.ok_or(DomainError::NotFound)?;
        self.customer_cache.keep(scope.partner_id(), &customer);
        Ok(customer)
    }

    /// The customer as stored now (the billing and company profile routes: never from the cache).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn customer_profile(&self, actor: &Actor, id: TenantId) -> Result<Customer> {
        let scope = actor.authorize(Action::ViewCustomer)?;
        Ok(self.store.get_customer(scope, id).await?.ok_or(DomainError::NotFound)?)
    }

    /// Partner Center's `PUT …/profiles/billing`: replaces the billing profile if `if_match` is its current ETag
    /// (`*` matches any), keeping the country (the market). One `update_customer` activity record.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn update_billing_profile(
        &self,
        actor: &Actor,
        id: TenantId,
        draft: BillingDraft,
        if_match: Option<&str>,
        keep: Option<&dyn Keep<Customer>>,
    ) -> Result<Customer> {
        let scope = actor.authorize(Action::UpdateCustomer)?;
        let current = self.store.get_customer(scope, id).await?.ok_or(DomainError::NotFound)?;
        let if_match = if_match.map(etag_value).filter(|e| !e.is_empty()).ok_or(DomainError::PreconditionRequired)?;
        if if_match != "*" && if_match != current.billing_etag() {
            return Err(DomainError::PreconditionFailed.into());
        }
        let updated = current.with_billing(draft.validate(&current.company_name, "")?)?;
        let audit = NewAuditRecord::succeeded(
            OperationType::UpdateCustomer,
            actor.principal(),
            self.partner_now(&actor.partner),
        )
        .customer(updated.tenant_id, &updated.company_name)
        .data("change", "billing_profile")
        .data("profileVersion", updated.profile_version.to_string());
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &updated)?, ..Effects::default() };
        let written = self.store.update_customer_billing(scope, &updated, current.profile_version, effects).await;
        self.customer_cache.forget(scope.partner_id(), id);
        written?;
        Ok(updated)
    }

    /// Partner Center's domain availability check: whether one of this partner's customers already uses `domain`
    /// (any role may ask; other partners' customers do not count, as domains are unique per partner).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
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

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
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
