//! Storage behind one interface. Every [`Store`] method is one transaction; SQLite and PostgreSQL implement it
//! with the same SQL through sqlx's `Any` driver (see `sql/`), chosen by the database URL at run time.

mod accounts;
mod commerce;
mod deliveries;
mod dialect;
mod effects;
mod error;
mod links;
mod migrate;
mod requests;
mod scope;
mod sql;

pub use accounts::{
    ApiToken, Credentials, LiveOperatorSession, LiveSession, OperatorCredentials, OperatorPatch, OperatorToken,
    UserPatch,
};
pub use commerce::{CancelLines, CartClaim, CatalogCounts, LedgerLines, NewKey, NewSoftwareItem};
pub use deliveries::{ClaimedDelivery, FinishedAttempt, NewDelivery, OperatorWebhookHold, OperatorWebhookOutcome};
pub use dialect::Backend;
/// The ledger's rows are the domain's (`domain::ledger`), re-exported where the store's other inputs are.
pub use domain::ledger::{LedgerKind, LedgerLine};
pub use effects::{ClaimOutcome, Effects, IdempotencyClaim, IdempotencyCompletion};
pub use error::{StoreError, StoreResult};
pub use links::{ItemLink, LinkForDownload, NewDownloadLink, SoftwareItemWithKey};
pub use migrate::{migrations, Migration};
pub use requests::RequestChange;
pub use scope::PartnerScope;
pub use sql::{SqlStore, WriterStats};

/// The store's traits, for code that calls methods on a concrete store (`SqlStore`) rather than through
/// `dyn Store` (which needs no import): `use store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AccessStore, ArtifactStore, AuditStore, BackgroundStore, BalanceStore, CancellationStore, CatalogStore,
        CustomerPriceStore, CustomerStore, DeliveryQueue, DeskStore, DownloadStore, Housekeeping, IdempotencyStore,
        InvoiceRunStore, InvoiceStore, KeyStore, LedgerAuditStore, LinkLookup, OperatorAccessStore, OperatorStore,
        OrderStore, PartnerStore, PriceListStore, PublisherStore, SignInStore, Store, SupportStore, TenantStore,
        TestClockStore, UserStore, WebhookStore,
    };
}

use async_trait::async_trait;
use domain::audit::{AuditRecord, DateRange};
use domain::catalog::{MarketRule, Product, ProductType};
use domain::credit::OrderBalance;
use domain::credit_limit::{CreditLimit, CreditStanding};
use domain::customer::Customer;
use domain::customer_price::{MarkupRule, PriceOverride};
use domain::download::{LinkState, Transfer};
use domain::filter::{AuditFilter, CustomerFilter};
use domain::ids::InvoiceId;
use domain::ids::ServiceRequestId;
use domain::ids::{
    ArtifactId, CartId, DownloadLinkId, OperatorId, OrderId, PartnerId, SoftwareItemId, TenantId, TokenId, UserId,
};
use domain::ids::{AuditRecordId, DeliveryId, WebhookId};
use domain::ids::{MarkupRuleId, PriceListId};
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::market::{Market, MarketCode, MarketUpdate};
use domain::operator::{Operator, OperatorRecord};
use domain::order::{Cart, CartLine, Order};
use domain::paging::Cursor;
use domain::partner::Partner;
use domain::pricelist::{PriceList, PriceListVersion};
use domain::role::RoleSet;
use domain::software::{Artifact, SoftwareItem};
use domain::support::{Attachment, Note, RequestStatus, ServiceRequest};
use domain::user::User;
use domain::webhook::{Delivery, DueDelivery, WebhookEndpoint};
use domain::Timestamp;

/// Everything the services need from storage: the database itself here, and four groups by authority — tenant-owned
/// data ([`TenantStore`]), publisher data ([`PublisherStore`]), background work ([`BackgroundStore`]) and access
/// ([`AccessStore`]) — each made of one trait per area, implemented in that area's module of `sql/`. A caller holding
/// `Arc<dyn Store>` calls any of their methods without naming them, and can hand out a narrower `&dyn TenantStore`
/// (or any group) where that is all a piece of code should reach.
#[async_trait]
pub trait Store: TenantStore + PublisherStore + BackgroundStore + AccessStore + Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Applies the embedded migrations not yet applied, then seeds reference data that is missing.
    async fn migrate(&self) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
    /// SQLite: writes a consistent copy of the live database to `path` (online, `VACUUM INTO`). PostgreSQL:
    /// refused — use `pg_dump`.
    async fn backup_to(&self, path: &str) -> StoreResult<()>;
    /// Stores `value` under `name` unless a value is there already; returns the value in force.
    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String>;
    /// SQLite: (batches committed, writes committed in them) by the group-commit writer since the store was opened;
    /// `None` on PostgreSQL, whose writes commit one by one.
    fn write_batches(&self) -> Option<(u64, u64)>;
}

// -------------------------------------------------------------------------------------------------------------------
// Tenant-owned data.

/// Tenant-owned data: every method takes the `PartnerScope` it reads or writes in, and the query itself
/// filters by it (or inserts under it), so one partner's rows never reach another's request.
pub trait TenantStore:
    UserStore
    + TestClockStore
    + CustomerStore
    + OrderStore
    + CancellationStore
    + BalanceStore
    + DownloadStore
    + InvoiceStore
    + SupportStore
    + WebhookStore
    + AuditStore
    + CustomerPriceStore
{
}
impl<
        T: ?Sized
            + UserStore
            + TestClockStore
            + CustomerStore
            + OrderStore
            + CancellationStore
            + BalanceStore
            + DownloadStore
            + InvoiceStore
            + SupportStore
            + WebhookStore
            + AuditStore
            + CustomerPriceStore,
    > TenantStore for T
{
}

/// A partner's users, their API tokens and dashboard sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds a user to the scope's partner (`NotFound` for a user of another partner, writing nothing).
    async fn create_user(
        &self,
        scope: PartnerScope,
        user: &User,
        password_hash: Option<&str>,
        effects: Effects,
    ) -> StoreResult<()>;
    async fn get_user(&self, scope: PartnerScope, id: UserId) -> StoreResult<Option<User>>;
    async fn list_users(&self, scope: PartnerScope, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<User>>;
    /// Applies the patch. Disabling a user also ends every session of the user and revokes every API token (at
    /// `now`), in the same transaction: enabling the user again brings neither back.
    async fn update_user(
        &self,
        scope: PartnerScope,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<User>;
    /// Issues a token for one of the scope's partner's users (`NotFound` for anyone else's, writing nothing).
    async fn create_token(
        &self,
        scope: PartnerScope,
        token: &ApiToken,
        token_hash: &str,
        effects: Effects,
    ) -> StoreResult<()>;
    /// A user's live tokens by (created_at, id).
    async fn list_tokens(
        &self,
        scope: PartnerScope,
        user: UserId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(
        &self,
        scope: PartnerScope,
        user: UserId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    /// Saves the language a user chose for the pages (`None`: follow the browser); `NotFound` for a user of another
    /// partner. Not an activity record: it changes nothing but how the pages read.
    async fn set_user_language(&self, scope: PartnerScope, user: UserId, language: Option<&str>) -> StoreResult<()>;
    /// Starts a dashboard session for one of the scope's partner's users (`NotFound` for anyone else's).
    async fn create_session(
        &self,
        scope: PartnerScope,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// A sandbox partner's test clock.
#[async_trait]
pub trait TestClockStore: Send + Sync {
    /// Moves a sandbox partner's clock forward unless its offset would pass `max_offset` (`NotFound` then, writing
    /// nothing); returns the partner as it is now.
    async fn advance_clock(
        &self,
        scope: PartnerScope,
        micros: i64,
        max_offset: i64,
        effects: Effects,
    ) -> StoreResult<Partner>;
}

/// A partner's customers (tenants).
#[async_trait]
pub trait CustomerStore: Send + Sync {
    async fn create_customer(&self, scope: PartnerScope, customer: &Customer, effects: Effects) -> StoreResult<()>;
    /// Replaces a customer's billing profile (email, company name, contact, address) with `customer`'s, if its
    /// version is still `expected_version` (else `Refused(PreconditionFailed)`; `NotFound` for another partner's).
    async fn update_customer_billing(
        &self,
        scope: PartnerScope,
        customer: &Customer,
        expected_version: i64,
        effects: Effects,
    ) -> StoreResult<()>;
    async fn get_customer(&self, scope: PartnerScope, id: TenantId) -> StoreResult<Option<Customer>>;
    async fn list_customers(
        &self,
        scope: PartnerScope,
        filter: Option<&CustomerFilter>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Customer>>;
}

/// Carts, checkout, orders and their lines, the Software page and entitlements.
#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn create_cart(&self, scope: PartnerScope, cart: &Cart, effects: Effects) -> StoreResult<()>;
    async fn get_cart(&self, scope: PartnerScope, customer: TenantId, id: CartId) -> StoreResult<Option<Cart>>;
    /// The customer's open cart: its most recently changed active cart, if any.
    async fn open_cart(&self, scope: PartnerScope, customer: TenantId) -> StoreResult<Option<Cart>>;
    /// Replaces an active cart's lines; an ordered cart refuses with `cart_already_ordered`.
    async fn update_cart(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: CartId,
        lines: &[CartLine],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Cart>;
    /// Checkout, in one transaction: marks the cart ordered, writes the order and its lines, creates the software
    /// items (each taking one key from stock when it needs one), the ledger charges and the effects. Refuses
    /// with `cart_already_ordered` or `insufficient_key_stock`, writing nothing.
    /// For a stored cart, `CartClaim::Stored` carries its `updated_at` as priced: a cart changed since is refused
    /// (409 `conflict`). `CartClaim::Direct` (an order created without a cart, as Partner Center allows) writes its
    /// cart already ordered, in the same transaction.
    async fn place_order(
        &self,
        scope: PartnerScope,
        order: &Order,
        cart: CartClaim<'_>,
        items: &[NewSoftwareItem],
        effects: Effects,
    ) -> StoreResult<()>;
    async fn get_order(&self, scope: PartnerScope, customer: TenantId, id: OrderId) -> StoreResult<Option<Order>>;
    async fn list_orders(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>>;
    /// A customer's software items with their order line's title, term and type, by (purchased_at, id).
    async fn list_software(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<SoftwareItem>>;
    /// A customer's active order lines with their order id and purchase instant (entitlements), by (purchase
    /// instant, order id, line number); `reservations`: only Azure reservations (`Some(true)`), none of them
    /// (`Some(false)`), or both. The cursor's id is `{orderId}:{lineNumber}`.
    async fn active_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        reservations: Option<bool>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>>;
    /// A customer's order lines bought for a term (software subscriptions, plans, reservations), whatever their
    /// status (Partner Center's subscriptions), in the order and with the cursor of [`Store::active_order_lines`].
    async fn term_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>>;
    /// The partner of an order, found by its id alone (a refund names only the order).
    async fn find_order(&self, scope: PartnerScope, id: OrderId) -> StoreResult<Option<Order>>;
}

/// Cancellation (R10).
#[async_trait]
pub trait CancellationStore: Send + Sync {
    /// R10 in one transaction: the lines and their software items cancelled, every link of those items revoked,
    /// the credits written to the ledger, and the effects. A line cancelled meanwhile refuses the whole change
    /// with `already_cancelled`, writing nothing.
    async fn cancel_lines(&self, scope: PartnerScope, cancel: &CancelLines, effects: Effects) -> StoreResult<()>;
}

/// What an order's lines were charged and have been credited.
#[async_trait]
pub trait BalanceStore: Send + Sync {
    /// What each line of an order was charged and has been credited back so far: the balance a cancel or a refund
    /// is worked out from. (The write checks its credits again against the balance under the order's lock.)
    async fn order_balance(&self, scope: PartnerScope, order: OrderId) -> StoreResult<Option<OrderBalance>>;
}

/// A customer's software items, their download links and redemptions (R6, R7).
#[async_trait]
pub trait DownloadStore: Send + Sync {
    /// One software item of a customer, with its sealed key.
    async fn get_software_item(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: SoftwareItemId,
    ) -> StoreResult<Option<SoftwareItemWithKey>>;
    /// Writes an item's new links with their effects; refuses with `item_cancelled` if the item was cancelled
    /// meanwhile, writing nothing.
    async fn issue_links(
        &self,
        scope: PartnerScope,
        item: SoftwareItemId,
        links: &[NewDownloadLink],
        effects: Effects,
    ) -> StoreResult<()>;
    /// Admits one transfer on a link at `now` (the partner's time) and writes its effects, in one transaction. A
    /// counted transfer takes one download by a single conditional UPDATE, so the limit is exact under any
    /// concurrency; a refused one writes nothing and returns `Refused(link_expired | link_revoked)`. The link must be
    /// the scope's partner's (`NotFound` otherwise).
    async fn redeem_link(
        &self,
        scope: PartnerScope,
        link: DownloadLinkId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState>;
    /// The links issued for one software item of a customer, newest first.
    async fn list_item_links(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
    ) -> StoreResult<Vec<ItemLink>>;
    /// Revokes one link of the item now (it answers `link_revoked` from then on), with its effects; `Ok(false)`,
    /// with nothing written, when it was revoked already; `NotFound` when the item has no such link.
    async fn revoke_link(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
        link: DownloadLinkId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool>;
}

/// A partner's invoices (R12).
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// The partner's invoices, newest month first, then by currency. The cursor is the last invoice's period (its
    /// first instant) and currency.
    async fn list_invoices(&self, scope: PartnerScope, limit: u32, after: Option<&Cursor>)
        -> StoreResult<Vec<Invoice>>;
    async fn get_invoice(&self, scope: PartnerScope, id: InvoiceId) -> StoreResult<Option<Invoice>>;
    /// An invoice's lines, or the ledger rows not invoiced yet, by (at, id).
    async fn invoice_lines(
        &self,
        scope: PartnerScope,
        of: LedgerLines,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<InvoiceLine>>;
}

/// A partner's support requests (R11).
#[async_trait]
pub trait SupportStore: Send + Sync {
    async fn create_service_request(
        &self,
        scope: PartnerScope,
        request: &ServiceRequest,
        effects: Effects,
    ) -> StoreResult<()>;
    /// One request with its notes and attachments.
    async fn get_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
    ) -> StoreResult<Option<ServiceRequest>>;
    /// The partner's requests by (created_at, id), without notes and attachments.
    async fn list_service_requests(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>>;
    /// The requests about one of the partner's customers by (created_at, id), without notes and attachments.
    async fn list_customer_service_requests(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>>;
    /// Applies a change; a closed request refuses every change with `conflict`, writing nothing.
    async fn change_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
        effects: Effects,
    ) -> StoreResult<()>;
}

/// A partner's webhook endpoints and their deliveries (SPEC §3).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint; it hears the records after the partner's current chain head. Refuses (nothing
    /// written) a partner's endpoint beyond [`domain::webhook::MAX_ENDPOINTS_PER_PARTNER`].
    async fn create_webhook(
        &self,
        scope: PartnerScope,
        endpoint: &WebhookEndpoint,
        sealed_secret: &[u8],
        effects: Effects,
    ) -> StoreResult<()>;
    /// The partner's endpoints, oldest first (at most [`domain::webhook::MAX_ENDPOINTS_PER_PARTNER`]).
    async fn list_webhooks(&self, scope: PartnerScope) -> StoreResult<Vec<WebhookEndpoint>>;
    /// A keyset page of the partner's endpoints by (created_at, id).
    async fn page_webhooks(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<WebhookEndpoint>>;
    async fn get_webhook(&self, scope: PartnerScope, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>>;
    /// Deletes an endpoint with its deliveries and their attempts; `NotFound` when the partner has no such one.
    async fn delete_webhook(&self, scope: PartnerScope, id: WebhookId, effects: Effects) -> StoreResult<()>;
    /// Writes a test delivery already held by the caller, who sends it at once; `NotFound` for another's endpoint.
    async fn add_test_delivery(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        delivery: &NewDelivery,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<ClaimedDelivery>;
    /// An endpoint's deliveries with their attempts, newest first (the cursor pages backwards in time).
    async fn list_deliveries(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Delivery>>;
}

/// The order activity records are listed in: by (operation date, seq), as the API pages them, or the reverse, as
/// people read a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOrder {
    OldestFirst,
    NewestFirst,
}

/// A partner's activity log: its hash chain.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Commits activity records on their own (a replayed key view).
    async fn record_activity(&self, scope: PartnerScope, effects: Effects) -> StoreResult<()>;
    /// Records in the range (and filter) in `order`; `after` a cursor, the records past it in that order.
    async fn list_audit(
        &self,
        scope: PartnerScope,
        range: DateRange,
        filter: Option<&AuditFilter>,
        limit: u32,
        after: Option<&Cursor>,
        order: AuditOrder,
    ) -> StoreResult<Vec<AuditRecord>>;
    /// Records in chain order (`seq > after_seq`), for verification.
    async fn audit_chain(&self, scope: PartnerScope, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    /// The (seq, hash) the partner's chain ends with.
    async fn audit_head(&self, scope: PartnerScope) -> StoreResult<(i64, String)>;
}

// -------------------------------------------------------------------------------------------------------------------
// Publisher data.

/// Publisher data: partners, the catalog, keys, files, the support desk and the whole ledger — changed only by publisher
/// use cases (which take the `Publisher` proof) and the operator's commands; the catalog and markets are read by every
/// partner too.
pub trait PublisherStore:
    PartnerStore + CatalogStore + PriceListStore + KeyStore + ArtifactStore + DeskStore + LedgerAuditStore + OperatorStore
{
}
impl<
        T: ?Sized
            + PartnerStore
            + CatalogStore
            + PriceListStore
            + KeyStore
            + ArtifactStore
            + DeskStore
            + LedgerAuditStore
            + OperatorStore,
    > PublisherStore for T
{
}

/// The operator's own users, their API tokens, and the operator activity log.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// `Conflict` when an operator user has this email already.
    async fn create_operator(
        &self,
        operator: &Operator,
        password_hash: Option<&str>,
        effects: Effects,
    ) -> StoreResult<()>;
    async fn get_operator(&self, id: OperatorId) -> StoreResult<Option<Operator>>;
    /// A keyset page of operator users by (created_at, id).
    async fn page_operators(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Operator>>;
    /// Applies the patch; disabling also ends every session and revokes every token of the operator user.
    async fn update_operator(
        &self,
        id: OperatorId,
        patch: &OperatorPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Operator>;
    async fn set_operator_language(&self, id: OperatorId, language: Option<&str>) -> StoreResult<()>;
    async fn create_operator_token(&self, token: &OperatorToken, token_hash: &str, effects: Effects)
        -> StoreResult<()>;
    /// An operator user's live tokens, oldest first.
    async fn list_operator_tokens(&self, operator: OperatorId) -> StoreResult<Vec<OperatorToken>>;
    /// `NotFound` for a token of another operator user or one already revoked.
    async fn revoke_operator_token(
        &self,
        operator: OperatorId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    /// Writes effects that go with no other change (the operator's records, an idempotency completion).
    async fn record_operator_activity(&self, effects: Effects) -> StoreResult<()>;
    /// The operator log, newest first, `before_seq` the page's continuation.
    async fn operator_log(&self, limit: u32, before_seq: Option<i64>) -> StoreResult<Vec<OperatorRecord>>;
    /// The operator chain in `seq` order after `after_seq`, for verification.
    async fn operator_chain(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<OperatorRecord>>;
    /// (seq, hash) the operator chain ends with.
    async fn operator_chain_head(&self) -> StoreResult<(i64, String)>;
}

/// Partners.
#[async_trait]
pub trait PartnerStore: Send + Sync {
    async fn create_partner(&self, partner: &Partner, effects: Effects) -> StoreResult<()>;
    async fn get_partner(&self, id: PartnerId) -> StoreResult<Option<Partner>>;
    /// Every partner, by (created_at, id) (the operator's commands and invoice runs).
    async fn list_partners(&self) -> StoreResult<Vec<Partner>>;
    /// A keyset page of partners by (created_at, id).
    async fn page_partners(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Partner>>;
    /// Sets (or, with `None`, removes) a partner's credit limit; `NotFound` for no such partner.
    async fn set_credit_limit(
        &self,
        partner: PartnerId,
        limit: Option<&CreditLimit>,
        effects: Effects,
    ) -> StoreResult<()>;
    /// The partner's credit limit and what counts against it now (none without a limit); `NotFound` for no such
    /// partner.
    async fn credit_standing(&self, partner: PartnerId) -> StoreResult<Option<CreditStanding>>;
}

/// Markets, the catalog and R1's type availability.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn list_markets(&self) -> StoreResult<Vec<Market>>;
    async fn get_market(&self, code: MarketCode) -> StoreResult<Option<Market>>;
    async fn put_market(
        &self,
        code: MarketCode,
        update: &MarketUpdate,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Market>;
    /// Upserts whole products: a product in the document replaces its stored SKUs and prices; others stay.
    async fn put_catalog(&self, products: &[Product], now: Timestamp, effects: Effects) -> StoreResult<CatalogCounts>;
    async fn list_products(&self) -> StoreResult<Vec<Product>>;
    async fn put_type_availability(
        &self,
        product_type: ProductType,
        rule: &MarketRule,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    async fn type_availability(&self) -> StoreResult<Vec<(ProductType, MarketRule)>>;
    /// Sets a product's own market list (R1), or with `None` leaves it to its type's. `false` for an unknown
    /// product: nothing is written then.
    async fn put_product_availability(
        &self,
        product_id: &str,
        rule: Option<&MarketRule>,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool>;
}

/// Customer prices (issue 23): a partner's markup rules and explicit per-customer prices.
#[async_trait]
pub trait CustomerPriceStore: Send + Sync {
    async fn create_markup_rule(&self, scope: PartnerScope, rule: &MarkupRule, effects: Effects) -> StoreResult<()>;
    /// `NotFound` for no such rule of this partner.
    async fn delete_markup_rule(&self, scope: PartnerScope, id: MarkupRuleId, effects: Effects) -> StoreResult<()>;
    /// Every rule of the partner, oldest first.
    async fn list_markup_rules(&self, scope: PartnerScope) -> StoreResult<Vec<MarkupRule>>;
    /// Adds an explicit price (one per customer, SKU and `effectiveFrom`: the same instant again replaces it).
    async fn put_price_override(&self, scope: PartnerScope, price: &PriceOverride, effects: Effects)
        -> StoreResult<()>;
    /// A customer's explicit prices, by product, SKU and `effectiveFrom`.
    async fn list_price_overrides(&self, scope: PartnerScope, customer: TenantId) -> StoreResult<Vec<PriceOverride>>;
}

/// Partner price lists (issue 23): the publisher writes them, every checkout reads its partner's.
#[async_trait]
pub trait PriceListStore: Send + Sync {
    /// A new list (a default one takes the default from the list that had it, in the same transaction); a name
    /// already used is `Conflict`.
    async fn create_price_list(&self, list: &PriceList, effects: Effects) -> StoreResult<()>;
    /// Adds a version under its number (the next one, read before; a number taken meanwhile is `Conflict`).
    async fn add_price_list_version(
        &self,
        list: PriceListId,
        version: &PriceListVersion,
        effects: Effects,
    ) -> StoreResult<()>;
    /// Sets when a version takes effect, only while it has not yet at `now` (else `Conflict`).
    async fn schedule_price_list_version(
        &self,
        list: PriceListId,
        number: u32,
        effective_from: Timestamp,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    /// One list with its versions and all their prices.
    async fn get_price_list(&self, id: PriceListId) -> StoreResult<Option<PriceList>>;
    /// A keyset page of lists by (created_at, id), with their versions but no explicit prices.
    async fn page_price_lists(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<PriceList>>;
    /// The partner follows `list` from now on (replacing any earlier assignment).
    /// The list a partner follows (its own, else the default), with its versions but without explicit prices.
    async fn assigned_price_list(&self, partner: PartnerId) -> StoreResult<Option<PriceList>>;
    async fn assign_price_list(
        &self,
        partner: PartnerId,
        list: PriceListId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    /// The list a partner follows (its own, else the default; none: list prices), with its versions carrying the
    /// explicit prices of `country` only (what a checkout in that market needs).
    async fn partner_price_list(&self, partner: PartnerId, country: MarketCode) -> StoreResult<Option<PriceList>>;
}

/// The stock of activation keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds keys to a SKU's stock, all or none (a key already known anywhere refuses the batch); returns the
    /// number of keys now available for the SKU.
    async fn add_keys(
        &self,
        product_id: &str,
        sku_id: &str,
        keys: &[NewKey],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<i64>;
    /// Keys in stock (not sold) for a SKU.
    async fn key_stock(&self, product_id: &str, sku_id: &str) -> StoreResult<i64>;
    /// Every SKU that has keys or a threshold: in stock, assigned, revoked, its threshold and since when it is low.
    async fn key_stock_levels(&self) -> StoreResult<Vec<domain::keys::KeyStock>>;
    /// The SKUs marked low (`low_since` set) with their keys in stock, read without counting the whole stock table
    /// (for the console's overview); `assigned` and `revoked` are not read (0).
    async fn low_key_stock(&self) -> StoreResult<Vec<domain::keys::KeyStock>>;
    /// Sets (or with `None` removes) a SKU's low-stock threshold. When the stock is already at or below it and
    /// was not low before, the crossing is recorded at once (`low_since`, and a `key_stock_low` record added to the
    /// effects); above it, the SKU is no longer low.
    async fn set_key_threshold(
        &self,
        product_id: &str,
        sku_id: &str,
        threshold: Option<i64>,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
}

/// The files of the products.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Records a file whose bytes are already in blob storage.
    async fn add_artifact(&self, artifact: &Artifact, effects: Effects) -> StoreResult<()>;
    /// A product's files (not withdrawn), by version, language, file type and upload time.
    async fn list_artifacts(&self, product_id: &str) -> StoreResult<Vec<Artifact>>;
    /// A keyset page of every product's files (not withdrawn), by upload time and id.
    async fn page_artifacts(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Artifact>>;
    /// A file (not withdrawn) by id, whatever its product.
    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Option<Artifact>>;
    /// Withdraws a file of a product (no longer offered for new links; issued links keep working). `false` when
    /// there is no such file, or it is withdrawn already: nothing is written then.
    async fn withdraw_artifact(
        &self,
        product_id: &str,
        id: ArtifactId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool>;
    /// Records `new` (its bytes already stored) and withdraws `old` in one transaction. `false` when `old` is not a
    /// file of `new`'s product, or is withdrawn already: nothing is written then.
    async fn replace_artifact(&self, new: &Artifact, old: ArtifactId, effects: Effects) -> StoreResult<bool>;
}

/// The publisher's support desk: every partner's requests.
#[async_trait]
pub trait DeskStore: Send + Sync {
    /// The publisher's desk: every partner's requests, optionally of one status.
    async fn desk_service_requests(
        &self,
        status: Option<RequestStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>>;
    /// The publisher's desk: any partner's request (its `partner_id` says whose).
    async fn desk_service_request(&self, id: ServiceRequestId) -> StoreResult<Option<ServiceRequest>>;
}

/// The whole ledger, as `ledger verify` checks it.
#[async_trait]
pub trait LedgerAuditStore: Send + Sync {
    /// The whole ledger as `ledger verify` checks it (every partner's): per order line what was charged and credited,
    /// ordered by order; per invoice its stated totals and what its rows add up to.
    async fn ledger_facts(&self) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)>;
}

// -------------------------------------------------------------------------------------------------------------------
// Background work.

/// Background work: the webhook dispatcher, invoice runs and housekeeping, across partners, with no request
/// behind them.
pub trait BackgroundStore: DeliveryQueue + InvoiceRunStore + Housekeeping {}
impl<T: ?Sized + DeliveryQueue + InvoiceRunStore + Housekeeping> BackgroundStore for T {}

/// The webhook dispatcher: deliveries fed from the activity log, held, sent and finished.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Enabled endpoints, of any partner, whose cursor is behind their partner's activity chain, with the cursor.
    async fn webhooks_behind(&self, limit: u32) -> StoreResult<Vec<(WebhookEndpoint, i64)>>;
    /// Moves an endpoint's cursor from `from` to `to` and writes the deliveries for the records in between, in one
    /// transaction — only if the cursor is still `from`; `false` when another dispatcher moved it first.
    async fn enqueue_deliveries(
        &self,
        endpoint: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Pending deliveries due at `now` (real time) of enabled endpoints that nobody holds, oldest due first: at most
    /// `per_endpoint` per endpoint, none of `full_partners` or `full_endpoints`, `limit` in all. Only a read.
    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_endpoint: u32,
        full_partners: &[PartnerId],
        full_endpoints: &[WebhookId],
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Holds those of `ids` still pending and held by nobody at `now` until `hold_until`, and returns them: no
    /// other dispatcher takes them meanwhile.
    async fn claim_deliveries(
        &self,
        ids: &[DeliveryId],
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt and what follows for its delivery and endpoint (healthy again, failing, disabled) — only
    /// if the delivery is still held by that claim (else another dispatcher took it over, or it was deleted).
    async fn finish_attempt(&self, finished: &FinishedAttempt) -> StoreResult<()>;
    /// Holds the operator webhook's cursor until `hold_until` when nobody holds it and its next attempt is due at
    /// `now` (real time), and returns where it stands; `None` otherwise.
    async fn claim_operator_webhook(
        &self,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Option<OperatorWebhookHold>>;
    /// Writes what sending from the operator log came to, and gives the hold up — only if `hold` is still the
    /// holder (else another process took it over); `false` then.
    async fn finish_operator_webhook(
        &self,
        hold: &OperatorWebhookHold,
        outcome: &OperatorWebhookOutcome,
    ) -> StoreResult<bool>;
}

/// Invoice runs (R12).
#[async_trait]
pub trait InvoiceRunStore: Send + Sync {
    /// Runs `period` for the partner once: one invoice per currency with anything to bill — the rows dated in the
    /// month, plus late rows dated in a month already run — then records the run. Running it again returns the same
    /// invoices and issues nothing; rows of a month not run yet wait for that month's run.
    ///
    /// Several partners (each at its own `now`) run in one transaction: each partner's invoices are all or nothing,
    /// and shared ledger pages are written once per batch.
    async fn run_invoices(&self, partners: &[(PartnerScope, Timestamp)], period: Period) -> StoreResult<Vec<Invoice>>;
    /// Every partner's invoices of `period`, by partner and currency (the console's billing page).
    async fn invoices_of_period(&self, period: Period) -> StoreResult<Vec<Invoice>>;
}

/// Purges of what has served its time: sessions and sign-in failures, idempotency keys, delivered webhooks.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Deletes sessions idle since before `idle_before` and failure counts whose window began before
    /// `window_before`; returns how many rows went.
    async fn purge_sessions(&self, idle_before: Timestamp, window_before: Timestamp) -> StoreResult<u64>;
    async fn purge_idempotency(&self, older_than: Timestamp) -> StoreResult<u64>;
    /// Deletes finished (succeeded or failed) deliveries created before `before`, with their attempts; returns how
    /// many deliveries went.
    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64>;
}

// -------------------------------------------------------------------------------------------------------------------
// Access.

/// Access: what is looked up before a scope exists — tokens, sign-ins, sessions, download links and
/// idempotency keys — each by its own credential.
pub trait AccessStore: SignInStore + OperatorAccessStore + LinkLookup + IdempotencyStore {}
impl<T: ?Sized + SignInStore + OperatorAccessStore + LinkLookup + IdempotencyStore> AccessStore for T {}

/// Who is asking on the operator's side: an operator token, a console sign-in, a console session.
#[async_trait]
pub trait OperatorAccessStore: Send + Sync {
    async fn operator_credentials(&self, email_folded: &str) -> StoreResult<Option<OperatorCredentials>>;
    /// The live token's operator user; `None` for an unknown or revoked token or a disabled operator user.
    async fn authenticate_operator(&self, token_hash: &str) -> StoreResult<Option<(TokenId, Operator)>>;
    /// Starts a console session, with its effects (the sign-in's record).
    async fn create_operator_session(
        &self,
        token_hash: &str,
        operator: OperatorId,
        csrf: &str,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()>;
    /// `None` when unknown or the operator user is disabled.
    async fn operator_session(&self, token_hash: &str) -> StoreResult<Option<LiveOperatorSession>>;
    async fn touch_operator_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()>;
    async fn delete_operator_session(&self, token_hash: &str) -> StoreResult<()>;
}

/// Who is asking: a token, a sign-in, a session, and sign-in throttling.
#[async_trait]
pub trait SignInStore: Send + Sync {
    async fn credentials_by_email(&self, email_folded: &str) -> StoreResult<Option<Credentials>>;
    /// The live token's user and partner; `None` for an unknown or revoked token or a disabled user.
    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(TokenId, User, Partner)>>;
    /// The live session's user, partner, CSRF token, last activity and language; `None` when unknown or the user
    /// is disabled.
    async fn session(&self, token_hash: &str) -> StoreResult<Option<LiveSession>>;
    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Counts one failed sign-in under `key` in a window of `window_micros`; returns the failures in the window.
    async fn record_sign_in_failure(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64>;
    /// Failed sign-ins under `key` in the current window.
    async fn sign_in_failures(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64>;
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;
}

/// A download link found by its token (the token is the credential).
#[async_trait]
pub trait LinkLookup: Send + Sync {
    /// The link with this token hash (any partner's: the token is the credential).
    async fn find_link(&self, token_hash: &str) -> StoreResult<Option<LinkForDownload>>;
}

/// Idempotency keys (SPEC §5): claimed before a change, completed in it, released on failure.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome>;
    /// Gives a claim back when the request failed without changing anything, so a retry runs again.
    async fn release_idempotency(&self, scope: &str, key: &str) -> StoreResult<()>;
}
