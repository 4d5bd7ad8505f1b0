//! Storage behind one interface. Every [`Store`] method is one transaction; SQLite and PostgreSQL implement it
//! with the same SQL through sqlx's `Any` driver (see `sql.rs`), chosen by the database URL at run time.

mod catalog_rows;
mod dialect;
mod migrate;
mod orders;
mod sql;

pub use migrate::{migrations, Migration};
pub use sql::SqlStore;

use async_trait::async_trait;
use domain::audit::{AuditRecord, DateRange, NewAuditRecord};
use domain::catalog::{MarketRule, Product, ProductType};
use domain::credit::OrderBalance;
use domain::customer::Customer;
use domain::download::{LinkState, Transfer};
use domain::filter::{AuditFilter, CustomerFilter};
use domain::ids::InvoiceId;
use domain::ids::ServiceRequestId;
use domain::ids::{
    ArtifactId, CartId, DownloadLinkId, KeyId, OrderId, PartnerId, SoftwareItemId, TenantId, TokenId, UserId,
};
use domain::ids::{AuditRecordId, DeliveryId, WebhookId};
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::market::{Market, MarketCode, MarketUpdate};
use domain::order::{Cart, CartLine, Order};
use domain::paging::Cursor;
use domain::partner::Partner;
use domain::role::RoleSet;
use domain::software::{Artifact, SoftwareItem};
use domain::support::{Attachment, Note, RequestStatus, ServiceRequest};
use domain::user::User;
use domain::webhook::{Attempt, AttemptOutcome, Delivery, DueDelivery, WebhookEndpoint};
use domain::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Proof that a request was authenticated for one partner. Every read and write of a partner's data takes one,
/// so forgetting the tenant does not compile. Only the services build it (authentication, and the operator's own
/// commands); the services crate does not re-export it, so the web crate cannot even name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerScope(PartnerId);

impl PartnerScope {
    /// For the services' authentication (and the publisher acting on one partner); nothing else should call it.
    pub fn authenticated(partner: PartnerId) -> PartnerScope {
        PartnerScope(partner)
    }
    pub fn partner_id(&self) -> PartnerId {
        self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; the text says which, for the client.
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database cannot be reached (connection refused or lost, no connection free in time): nothing was
    /// written; the client may try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Stored data that breaks an invariant the code relies on (only that: not a bad setting, not an outage).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A setting the store cannot work with (a database URL it does not understand).
    #[error("{0}")]
    Config(String),
    /// A component of this store (the SQLite redemption writer) has stopped: writes through it cannot be done.
    #[error("the {0} has stopped")]
    Stopped(&'static str),
    /// A batch this write was part of failed to commit: nothing of it was written.
    #[error("not committed: {0}")]
    NotCommitted(String),
    /// A rule refused the change inside its transaction (no key left, cart already ordered…); nothing was written.
    #[error("{0}")]
    Refused(domain::DomainError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let unreachable = match &e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: class 08 (connection exception), and 57P01–57P03 (shut down, cannot connect now).
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
            }
            _ => false,
        };
        if unreachable {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}

/// Where an order's cart comes from at checkout.
#[derive(Debug, Clone, Copy)]
pub enum CartClaim<'a> {
    /// A stored cart, as priced at this `updated_at`; it is claimed (`active` → `ordered`) in the order's
    /// transaction.
    Stored { version: Timestamp },
    /// A cart made for this order alone (`POST /v1/customers/{id}/orders`), written already ordered.
    Direct(&'a Cart),
}

/// A finished response to keep under an idempotency key, written in the change's own transaction.
#[derive(Debug, Clone)]
pub struct IdempotencyCompletion {
    pub scope: String,
    pub key: String,
    pub status: u16,
    pub body: Vec<u8>,
    /// The body is sealed with the server's secret key because it carries a secret (token, activation key, link).
    pub encrypted: bool,
    /// The claim's lease (`locked_until`): it identifies the claim, so a request whose claim was taken over (it ran
    /// past its lease) cannot complete it, and its change is rolled back rather than committed twice.
    pub lease_until: Timestamp,
}

/// What a change writes besides itself: its activity records and the response for its idempotency key.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub audit: Vec<NewAuditRecord>,
    pub idempotency: Option<IdempotencyCompletion>,
}

impl Effects {
    pub fn audit(record: NewAuditRecord) -> Effects {
        Effects { audit: vec![record], idempotency: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// Real time (idempotency keys expire in real time even for sandbox partners).
    pub now: Timestamp,
    /// A claim older than this is taken over: the request that made it died before it finished.
    pub lease_micros: i64,
    pub ttl_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    Replay { status: u16, body: Vec<u8>, encrypted: bool },
    InProgress,
    Mismatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub roles: Option<RoleSet>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: User,
    pub partner: Partner,
    pub password_hash: Option<String>,
}

/// What a catalog import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatalogCounts {
    pub products: u64,
    pub skus: u64,
    pub prices: u64,
}

/// A delivery to write: one activity record (or test event) for one endpoint, with the exact body it sends.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: DeliveryId,
    /// `None` for a test event.
    pub record_id: Option<AuditRecordId>,
    pub operation_type: String,
    pub body: String,
}

/// A delivery a dispatcher holds: what to send, where, and what it needs to decide what follows.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub partner_id: PartnerId,
    pub url: String,
    /// The endpoint's signing secret, sealed with the server's key.
    pub sealed_secret: Vec<u8>,
    pub body: String,
    pub operation_type: String,
    pub is_test: bool,
    /// Attempts made so far.
    pub attempts: u32,
    pub first_attempt_at: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    /// The hold this dispatcher took; its attempt is recorded only while the delivery is still held so.
    pub held_until: Timestamp,
}

/// An attempt and what follows it, to record.
#[derive(Debug, Clone)]
pub struct FinishedAttempt {
    pub delivery: DeliveryId,
    /// The claim's hold (see [`ClaimedDelivery::held_until`]).
    pub held_until: Timestamp,
    pub endpoint: WebhookId,
    pub attempt: Attempt,
    pub outcome: AttemptOutcome,
}

/// A key for the stock: sealed, with a keyed fingerprint to refuse duplicates.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub id: KeyId,
    pub fingerprint: String,
    pub sealed: Vec<u8>,
}

/// A software item to create with an order line; `needs_key` takes one key from stock for it.
#[derive(Debug, Clone)]
pub struct NewSoftwareItem {
    pub id: SoftwareItemId,
    pub line_number: u32,
    pub needs_key: bool,
}

/// A row of the invoice ledger (R12): a charge (`new`) or a credit (`cancel`, `refund`), which keeps a positive
/// quantity and negative amounts. Invoice runs read these; `invoice_id` is set when one is issued.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    pub id: domain::ids::LedgerEntryId,
    pub kind: &'static str,
    pub currency: String,
    pub scale: u8,
    pub at: Timestamp,
    pub customer_id: Option<TenantId>,
    pub order_id: Option<OrderId>,
    pub line_number: Option<u32>,
    /// What the row comes from besides an order line (`servicerequest:<id>` for a granted refund).
    pub reference: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub gross_minor: i64,
}

/// A cancellation to write (R10): the lines, when, and their credits.
#[derive(Debug, Clone)]
pub struct CancelLines {
    pub customer: TenantId,
    pub order_id: OrderId,
    pub lines: Vec<u32>,
    pub at: Timestamp,
    pub credits: Vec<LedgerLine>,
}

/// A change to a support request, written with its effects in one transaction: a status, a note, a file, a
/// granted refund (a `refund` ledger row) and a cancel the publisher makes whatever the policy (R11).
#[derive(Debug, Clone)]
pub struct RequestChange {
    pub status: Option<RequestStatus>,
    pub note: Option<Note>,
    pub attachment: Option<Attachment>,
    /// A granted refund's rows: one per line it reverses (an order-level refund is apportioned), or one naming no
    /// order (a goodwill credit).
    pub refunds: Vec<LedgerLine>,
    pub cancel: Option<CancelLines>,
    pub at: Timestamp,
}

impl RequestChange {
    /// No change yet, at `at`: fill in what changes.
    pub fn at(at: Timestamp) -> RequestChange {
        RequestChange { status: None, note: None, attachment: None, refunds: Vec::new(), cancel: None, at }
    }
}

/// A download link to write; its token is known only by its SHA-256.
#[derive(Debug, Clone)]
pub struct NewDownloadLink {
    pub id: DownloadLinkId,
    pub token_hash: String,
    pub customer_id: TenantId,
    pub artifact_id: ArtifactId,
    /// The user principal who issued it (the activity log says who).
    pub issued_by: String,
    pub state: LinkState,
}

/// A software item with its sealed activation key, when it holds one.
#[derive(Debug, Clone)]
pub struct SoftwareItemWithKey {
    pub item: SoftwareItem,
    pub sealed_key: Option<Vec<u8>>,
}

/// What serving a download needs: the link, its file, and whose it is (the partner's clock, the activity record).
#[derive(Debug, Clone)]
pub struct LinkForDownload {
    pub id: DownloadLinkId,
    pub partner: Partner,
    pub customer_id: TenantId,
    pub customer_name: String,
    pub software_item_id: SoftwareItemId,
    pub artifact: Artifact,
    pub state: LinkState,
}

/// A link as the Software tab lists it: its file, who issued it, and how much of it is used (never its token,
/// which is kept only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLink {
    pub id: DownloadLinkId,
    pub artifact: Artifact,
    pub issued_by: String,
    pub state: LinkState,
}

/// The order activity records are listed in: by (operation date, seq), as the API pages them, or the reverse, as
/// people read a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOrder {
    OldestFirst,
    NewestFirst,
}

/// Which ledger rows an invoice-line read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerLines {
    /// The rows an invoice was issued with.
    Invoice(InvoiceId),
    /// The rows no invoice has taken yet: this month's charges and credits so far (and an earlier month's, until
    /// its invoice run).
    Unbilled,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations not yet applied, then seeds reference data that is missing.
    async fn migrate(&self) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
    /// SQLite: writes a consistent copy of the live database to `path` (online, `VACUUM INTO`). PostgreSQL:
    /// refused — use `pg_dump`.
    async fn backup_to(&self, path: &str) -> StoreResult<()>;
    /// Stores `value` under `name` unless a value is there already; returns the value in force.
    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String>;

    // Partners.
    async fn create_partner(&self, partner: &Partner, effects: Effects) -> StoreResult<()>;
    async fn get_partner(&self, id: PartnerId) -> StoreResult<Option<Partner>>;
    /// Every partner, by (created_at, id) (the operator's commands and invoice runs).
    async fn list_partners(&self) -> StoreResult<Vec<Partner>>;
    /// A keyset page of partners by (created_at, id).
    async fn page_partners(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Partner>>;
    /// Moves a sandbox partner's clock forward unless its offset would pass `max_offset` (`NotFound` then, writing
    /// nothing); returns the partner as it is now.
    async fn advance_clock(
        &self,
        scope: PartnerScope,
        micros: i64,
        max_offset: i64,
        effects: Effects,
    ) -> StoreResult<Partner>;

    // Users and tokens.
    async fn create_user(&self, user: &User, password_hash: Option<&str>, effects: Effects) -> StoreResult<()>;
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
    async fn credentials_by_email(&self, email_folded: &str) -> StoreResult<Option<Credentials>>;
    async fn create_token(&self, token: &ApiToken, token_hash: &str, effects: Effects) -> StoreResult<()>;
    /// The live token's user and partner; `None` for an unknown or revoked token or a disabled user.
    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(TokenId, User, Partner)>>;
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

    // Markets.
    async fn list_markets(&self) -> StoreResult<Vec<Market>>;
    async fn get_market(&self, code: MarketCode) -> StoreResult<Option<Market>>;
    async fn put_market(&self, code: MarketCode, update: &MarketUpdate, now: Timestamp) -> StoreResult<Market>;

    // Catalog.
    /// Upserts whole products: a product in the document replaces its stored SKUs and prices; others stay.
    async fn put_catalog(&self, products: &[Product], now: Timestamp) -> StoreResult<CatalogCounts>;
    async fn list_products(&self) -> StoreResult<Vec<Product>>;
    async fn put_type_availability(
        &self,
        product_type: ProductType,
        rule: &MarketRule,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn type_availability(&self) -> StoreResult<Vec<(ProductType, MarketRule)>>;

    // Key stock.
    /// Adds keys to a SKU's stock, all or none (a key already known anywhere refuses the batch); returns the
    /// number of keys now available for the SKU.
    async fn add_keys(
        &self,
        product_id: &str,
        sku_id: &str,
        keys: &[NewKey],
        now: Timestamp,
        idempotency: Option<IdempotencyCompletion>,
    ) -> StoreResult<i64>;

    /// Keys in stock (not sold) for a SKU.
    async fn key_stock(&self, product_id: &str, sku_id: &str) -> StoreResult<i64>;

    // Carts and orders.
    async fn create_cart(&self, scope: PartnerScope, cart: &Cart, effects: Effects) -> StoreResult<()>;
    async fn get_cart(&self, scope: PartnerScope, customer: TenantId, id: CartId) -> StoreResult<Option<Cart>>;
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
    /// R10 in one transaction: the lines and their software items cancelled, every link of those items revoked,
    /// the credits written to the ledger, and the effects. A line cancelled meanwhile refuses the whole change
    /// with `already_cancelled`, writing nothing.
    async fn cancel_lines(&self, scope: PartnerScope, cancel: &CancelLines, effects: Effects) -> StoreResult<()>;
    async fn list_orders(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>>;

    // The Software page and entitlements.
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

    /// One software item of a customer, with its sealed key.
    async fn get_software_item(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: SoftwareItemId,
    ) -> StoreResult<Option<SoftwareItemWithKey>>;

    // Files and download links (R6, R7).
    /// Records a file whose bytes are already in blob storage.
    async fn add_artifact(&self, artifact: &Artifact) -> StoreResult<()>;
    /// A product's files, by version, language, file type and upload time.
    async fn list_artifacts(&self, product_id: &str) -> StoreResult<Vec<Artifact>>;
    /// Writes an item's new links with their effects; refuses with `item_cancelled` if the item was cancelled
    /// meanwhile, writing nothing.
    async fn issue_links(
        &self,
        scope: PartnerScope,
        item: SoftwareItemId,
        links: &[NewDownloadLink],
        effects: Effects,
    ) -> StoreResult<()>;
    /// The link with this token hash (any partner's: the token is the credential).
    async fn find_link(&self, token_hash: &str) -> StoreResult<Option<LinkForDownload>>;
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
    /// Admits one transfer on a link at `now` (the partner's time) and writes its effects, in one transaction. A
    /// counted transfer takes one download by a single conditional UPDATE, so the limit is exact under any
    /// concurrency; a refused one writes nothing and returns `Refused(link_expired | link_revoked)`.
    async fn redeem_link(
        &self,
        link: DownloadLinkId,
        partner: PartnerId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState>;
    /// Commits activity records on their own (a replayed key view).
    async fn record_activity(&self, scope: PartnerScope, effects: Effects) -> StoreResult<()>;

    // Invoices (R12).
    /// Runs `period` for the partner once: one invoice per currency with anything to bill — the rows dated in the
    /// month, plus late rows dated in a month already run — then records the run. Running it again returns the same
    /// invoices and issues nothing; rows of a month not run yet wait for that month's run.
    ///
    /// Several partners (each at its own `now`) run in one transaction: each partner's invoices are all or nothing,
    /// and shared ledger pages are written once per batch.
    async fn run_invoices(&self, partners: &[(PartnerScope, Timestamp)], period: Period) -> StoreResult<Vec<Invoice>>;
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

    // Support requests (R11).
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
    /// The publisher's desk: every partner's requests, optionally of one status.
    async fn desk_service_requests(
        &self,
        status: Option<RequestStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>>;
    /// The publisher's desk: any partner's request (its `partner_id` says whose).
    async fn desk_service_request(&self, id: ServiceRequestId) -> StoreResult<Option<ServiceRequest>>;
    /// Applies a change; a closed request refuses every change with `conflict`, writing nothing.
    async fn change_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
        effects: Effects,
    ) -> StoreResult<()>;
    /// What each line of an order was charged and has been credited back so far: the balance a cancel or a refund
    /// is worked out from. (The write checks its credits again against the balance under the order's lock.)
    async fn order_balance(&self, scope: PartnerScope, order: OrderId) -> StoreResult<Option<OrderBalance>>;
    /// The partner of an order, found by its id alone (a refund names only the order).
    async fn find_order(&self, scope: PartnerScope, id: OrderId) -> StoreResult<Option<Order>>;

    /// The whole ledger as `ledger verify` checks it (every partner's): per order line what was charged and credited,
    /// ordered by order; per invoice its stated totals and what its rows add up to.
    async fn ledger_facts(&self) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)>;

    // Webhooks (SPEC §3): endpoints, and deliveries fed from the activity log.
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
    /// Writes a test delivery already held by the caller, who sends it at once; `NotFound` for another's endpoint.
    async fn add_test_delivery(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        delivery: &NewDelivery,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<ClaimedDelivery>;
    /// Records an attempt and what follows for its delivery and endpoint (healthy again, failing, disabled) — only
    /// if the delivery is still held by that claim (else another dispatcher took it over, or it was deleted).
    async fn finish_attempt(&self, finished: &FinishedAttempt) -> StoreResult<()>;
    /// Deletes finished (succeeded or failed) deliveries created before `before`, with their attempts; returns how
    /// many deliveries went.
    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64>;
    /// An endpoint's deliveries with their attempts, newest first (the cursor pages backwards in time).
    async fn list_deliveries(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Delivery>>;

    // Dashboard sessions and sign-in throttling (SPEC §6).
    async fn create_session(&self, token_hash: &str, user: UserId, csrf: &str, now: Timestamp) -> StoreResult<()>;
    /// The live session's user, partner, CSRF token and last activity; `None` when unknown or the user is disabled.
    async fn session(&self, token_hash: &str) -> StoreResult<Option<(User, Partner, String, Timestamp)>>;
    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Counts one failed sign-in under `key` in a window of `window_micros`; returns the failures in the window.
    async fn record_sign_in_failure(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64>;
    /// Failed sign-ins under `key` in the current window.
    async fn sign_in_failures(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64>;
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;
    /// Deletes sessions idle since before `idle_before` and failure counts whose window began before
    /// `window_before`; returns how many rows went.
    async fn purge_sessions(&self, idle_before: Timestamp, window_before: Timestamp) -> StoreResult<u64>;

    // Customers.
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

    // Activity log.
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

    // Idempotency.
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome>;
    /// Gives a claim back when the request failed without changing anything, so a retry runs again.
    async fn release_idempotency(&self, scope: &str, key: &str) -> StoreResult<()>;
    async fn purge_idempotency(&self, older_than: Timestamp) -> StoreResult<u64>;
}
