//! What the operator reads and does on one partner's data (the console's partner pages, their API twins) and the
//! invoices issued to every partner: the publisher's view of tenant data, read-only except for onboarding,
//! revoking a token and moving a sandbox clock.

use crate::auth::Publisher;
use crate::idempotency::{completion, Keep};
use crate::support::PUBLISHER_PRINCIPAL;
use crate::{Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::{fold, Customer};
use domain::ids::{InvoiceId, PartnerId, TenantId, TokenId, UserId};
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::operator::{OperatorAction, OperatorOperation};
use domain::order::Order;
use domain::partner::{clock_advance, clock_after_advance, clock_passes_its_end, Partner, CLOCK_MAX};
use domain::user::User;
use domain::{DomainError, Timestamp};
use store::{ApiToken, Effects, LedgerLines};

/// How many rows a console list shows at most (the API pages instead).
pub const CONSOLE_ROWS: u32 = 200;

/// One partner as the operator sees it.
#[derive(Debug, Clone)]
pub struct PartnerOverview {
    pub partner: Partner,
    /// The partner's own time (its test clock for a sandbox).
    pub now: Timestamp,
    pub users: Vec<(User, Vec<ApiToken>)>,
    pub customers: Vec<Customer>,
    pub invoices: Vec<Invoice>,
}

/// Where each partner stands for a month's invoice run: its clock, and whether the month has ended for it.
#[derive(Debug, Clone)]
pub struct RunReadiness {
    pub partner: Partner,
    pub now: Timestamp,
    pub due: bool,
}

impl Services {
    /// Partners whose name contains `query` (case- and accent-insensitive as customer search), oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn find_partners(&self, publisher: &Publisher, query: &str) -> Result<Vec<Partner>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let wanted = fold(query.trim());
        let all = self.store.list_partners().await?;
        Ok(all.into_iter().filter(|p| wanted.is_empty() || fold(&p.name).contains(&wanted)).collect())
    }

    /// A partner's users with their live tokens, its customers and its invoices.
    #[tracing::instrument(skip_all)]
    pub async fn partner_overview(&self, publisher: &Publisher, id: PartnerId) -> Result<PartnerOverview> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let (partner, scope) = self.publisher_scope(id).await?;
        let mut users = Vec::new();
        for user in self.store.list_users(scope, CONSOLE_ROWS, None).await? {
            let tokens = self.store.list_tokens(scope, user.id, CONSOLE_ROWS, None).await?;
            users.push((user, tokens));
        }
        let customers = self.store.list_customers(scope, None, CONSOLE_ROWS, None).await?;
        let invoices = self.store.list_invoices(scope, CONSOLE_ROWS, None).await?;
        let now = self.partner_now(&partner);
        Ok(PartnerOverview { partner, now, users, customers, invoices })
    }

    /// One of a partner's customers with its orders (read-only).
    #[tracing::instrument(skip_all)]
    pub async fn partner_customer_orders(
        &self,
        publisher: &Publisher,
        id: PartnerId,
        customer: TenantId,
    ) -> Result<(Partner, Customer, Vec<Order>)> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let (partner, scope) = self.publisher_scope(id).await?;
        let customer = self.store.get_customer(scope, customer).await?.ok_or(DomainError::NotFound)?;
        let orders = self.store.list_orders(scope, customer.tenant_id, CONSOLE_ROWS, None).await?;
        Ok((partner, customer, orders))
    }

    /// Revokes one of a partner's API tokens: on the partner's log as the publisher's, and on the operator's.
    #[tracing::instrument(skip_all)]
    pub async fn publisher_revoke_partner_token(
        &self,
        publisher: &Publisher,
        id: PartnerId,
        user: UserId,
        token: TokenId,
    ) -> Result<()> {
        publisher.authorize(OperatorAction::ManagePartners)?;
        let (partner, scope) = self.publisher_scope(id).await?;
        let now = self.partner_now(&partner);
        let audit = NewAuditRecord::succeeded(OperationType::RevokeApiToken, PUBLISHER_PRINCIPAL, now)
            .data("userId", user.to_string())
            .data("tokenId", token.to_string());
        let record = publisher
            .record(OperatorOperation::RevokePartnerToken, self.clock.now())
            .partner(partner.id)
            .data("userId", user.to_string())
            .data("tokenId", token.to_string());
        let effects = Effects::audit(audit).and_operator(record);
        Ok(self.store.revoke_token(scope, user, token, now, effects).await?)
    }

    /// Moves a sandbox partner's test clock forward (as the partner's own test clock route does), recorded on
    /// both logs.
    #[tracing::instrument(skip_all)]
    pub async fn publisher_advance_clock(
        &self,
        publisher: &Publisher,
        id: PartnerId,
        days: i64,
        seconds: i64,
        keep: Option<&dyn Keep<Timestamp>>,
    ) -> Result<Timestamp> {
        publisher.authorize(OperatorAction::ManagePartners)?;
        let (partner, scope) = self.publisher_scope(id).await?;
        if !partner.sandbox {
            return Err(DomainError::NotSandbox.into());
        }
        let micros = clock_advance(days, seconds)?;
        let server_now = self.clock.now();
        let moved_to = clock_after_advance(self.partner_now(&partner), micros)?;
        let audit = NewAuditRecord::succeeded(OperationType::AdvanceTestClock, PUBLISHER_PRINCIPAL, moved_to)
            .data("days", days.to_string())
            .data("seconds", seconds.to_string());
        let record = publisher
            .record(OperatorOperation::AdvancePartnerClock, server_now)
            .partner(partner.id)
            .data("days", days.to_string())
            .data("seconds", seconds.to_string());
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &moved_to)?, operator: vec![record] };
        let max_offset = CLOCK_MAX.micros() - server_now.micros();
        let partner = self.store.advance_clock(scope, micros, max_offset, effects).await.map_err(|e| match e {
            store::StoreError::NotFound => clock_passes_its_end().into(),
            other => crate::Error::from(other),
        })?;
        Ok(partner.now(server_now))
    }

    /// For a month's run: each partner, its clock, and whether the month has ended on it.
    #[tracing::instrument(skip_all)]
    pub async fn run_readiness(&self, publisher: &Publisher, period: &str) -> Result<(Period, Vec<RunReadiness>)> {
        publisher.authorize(OperatorAction::Billing)?;
        let period = Period::parse(period)?;
        let mut out = Vec::new();
        for partner in self.store.list_partners().await? {
            let now = self.partner_now(&partner);
            out.push(RunReadiness { due: period.has_ended(now), now, partner });
        }
        Ok((period, out))
    }

    /// The invoices issued for `period`, by partner (in the partners' order) and currency: two reads whatever the
    /// number of partners.
    #[tracing::instrument(skip_all)]
    pub async fn issued_invoices(&self, publisher: &Publisher, period: Period) -> Result<Vec<(Partner, Vec<Invoice>)>> {
        publisher.authorize(OperatorAction::Billing)?;
        let mut by_partner: std::collections::HashMap<PartnerId, Vec<Invoice>> = std::collections::HashMap::new();
        for invoice in self.store.invoices_of_period(period).await? {
            by_partner.entry(invoice.partner_id).or_default().push(invoice);
        }
        let partners = self.store.list_partners().await?;
        Ok(partners.into_iter().filter_map(|p| by_partner.remove(&p.id).map(|i| (p, i))).collect())
    }

    /// One partner's invoice with every line (the console's invoice page and its CSV).
    #[tracing::instrument(skip_all)]
    pub async fn publisher_invoice(
        &self,
        publisher: &Publisher,
        id: PartnerId,
        invoice: InvoiceId,
    ) -> Result<(Partner, Invoice, Vec<InvoiceLine>)> {
        publisher.authorize(OperatorAction::Billing)?;
        let (partner, scope) = self.publisher_scope(id).await?;
        let invoice = self.store.get_invoice(scope, invoice).await?.ok_or(DomainError::NotFound)?;
        let lines = self.all_lines(scope, LedgerLines::Invoice(invoice.id)).await?;
        Ok((partner, invoice, lines))
    }
}

/// The order a support request is about (its refund block's customer and order), with what is left to credit on
/// each line: what the desk's refund and cancel forms show.
#[derive(Debug, Clone)]
pub struct DeskOrder {
    pub customer: Customer,
    pub order: Order,
    pub balance: domain::credit::OrderBalance,
}

impl Services {
    /// `None` when the request names no order of its partner (or names one that is not there).
    #[tracing::instrument(skip_all)]
    pub async fn desk_order(
        &self,
        publisher: &Publisher,
        request: &domain::support::ServiceRequest,
    ) -> Result<Option<DeskOrder>> {
        publisher.authorize(OperatorAction::ViewDesk)?;
        let field = |name: &str| request.refund.as_ref().and_then(|r| r.get(name)).and_then(|v| v.as_str());
        let (Some(customer), Some(order)) = (field("customerId"), field("orderId")) else { return Ok(None) };
        let (Some(customer), Some(order)) = (TenantId::parse(customer), domain::ids::OrderId::parse(order)) else {
            return Ok(None);
        };
        let (_, scope) = self.publisher_scope(request.partner_id).await?;
        let Some(customer) = self.store.get_customer(scope, customer).await? else { return Ok(None) };
        let Some(order) = self.store.get_order(scope, customer.tenant_id, order).await? else { return Ok(None) };
        let Some(balance) = self.store.order_balance(scope, order.id).await? else { return Ok(None) };
        Ok(Some(DeskOrder { customer, order, balance }))
    }
}
