//! `impl Store for SqlStore`: Rust wants one block for a trait's implementation, so each method here hands over to
//! the `SqlStore` method of the same name in its area's module (`partners`, `users`, `orders`, `webhooks`…).
//! Nothing else lives here: a trait method and its implementation always share one name.

use super::*;

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self) -> StoreResult<()> {
        SqlStore::migrate(self).await
    }

    async fn ping(&self) -> StoreResult<()> {
        SqlStore::ping(self).await
    }

    async fn backup_to(&self, path: &str) -> StoreResult<()> {
        SqlStore::backup_to(self, path).await
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        SqlStore::setting_or_insert(self, name, value).await
    }

    async fn create_partner(&self, partner: &Partner, effects: Effects) -> StoreResult<()> {
        SqlStore::create_partner(self, partner, effects).await
    }

    async fn get_partner(&self, id: PartnerId) -> StoreResult<Option<Partner>> {
        SqlStore::get_partner(self, id).await
    }

    async fn list_partners(&self) -> StoreResult<Vec<Partner>> {
        SqlStore::list_partners(self).await
    }

    async fn page_partners(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Partner>> {
        SqlStore::page_partners(self, limit, after).await
    }

    async fn advance_clock(
        &self,
        scope: PartnerScope,
        micros: i64,
        max_offset: i64,
        effects: Effects,
    ) -> StoreResult<Partner> {
        SqlStore::advance_clock(self, scope, micros, max_offset, effects).await
    }

    async fn create_user(&self, user: &User, password_hash: Option<&str>, effects: Effects) -> StoreResult<()> {
        SqlStore::create_user(self, user, password_hash, effects).await
    }

    async fn get_user(&self, scope: PartnerScope, id: UserId) -> StoreResult<Option<User>> {
        SqlStore::get_user(self, scope, id).await
    }

    async fn list_users(&self, scope: PartnerScope, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<User>> {
        SqlStore::list_users(self, scope, limit, after).await
    }

    async fn update_user(
        &self,
        scope: PartnerScope,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<User> {
        SqlStore::update_user(self, scope, id, patch, now, effects).await
    }

    async fn credentials_by_email(&self, email_folded: &str) -> StoreResult<Option<Credentials>> {
        SqlStore::credentials_by_email(self, email_folded).await
    }

    async fn create_token(&self, token: &ApiToken, token_hash: &str, effects: Effects) -> StoreResult<()> {
        SqlStore::create_token(self, token, token_hash, effects).await
    }

    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(TokenId, User, Partner)>> {
        SqlStore::authenticate(self, token_hash).await
    }

    async fn list_tokens(
        &self,
        scope: PartnerScope,
        user: UserId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ApiToken>> {
        SqlStore::list_tokens(self, scope, user, limit, after).await
    }

    async fn revoke_token(
        &self,
        scope: PartnerScope,
        user: UserId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::revoke_token(self, scope, user, id, now, effects).await
    }

    async fn list_markets(&self) -> StoreResult<Vec<Market>> {
        SqlStore::list_markets(self).await
    }

    async fn get_market(&self, code: MarketCode) -> StoreResult<Option<Market>> {
        SqlStore::get_market(self, code).await
    }

    async fn put_market(&self, code: MarketCode, update: &MarketUpdate, now: Timestamp) -> StoreResult<Market> {
        SqlStore::put_market(self, code, update, now).await
    }

    async fn put_catalog(&self, products: &[Product], now: Timestamp) -> StoreResult<CatalogCounts> {
        SqlStore::put_catalog(self, products, now).await
    }

    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        SqlStore::list_products(self).await
    }

    async fn put_type_availability(
        &self,
        product_type: ProductType,
        rule: &MarketRule,
        now: Timestamp,
    ) -> StoreResult<()> {
        SqlStore::put_type_availability(self, product_type, rule, now).await
    }

    async fn type_availability(&self) -> StoreResult<Vec<(ProductType, MarketRule)>> {
        SqlStore::type_availability(self).await
    }

    async fn add_keys(
        &self,
        product_id: &str,
        sku_id: &str,
        keys: &[NewKey],
        now: Timestamp,
        idempotency: Option<IdempotencyCompletion>,
    ) -> StoreResult<i64> {
        SqlStore::add_keys(self, product_id, sku_id, keys, now, idempotency).await
    }

    async fn key_stock(&self, product_id: &str, sku_id: &str) -> StoreResult<i64> {
        SqlStore::key_stock(self, product_id, sku_id).await
    }

    async fn create_cart(&self, scope: PartnerScope, cart: &Cart, effects: Effects) -> StoreResult<()> {
        SqlStore::create_cart(self, scope, cart, effects).await
    }

    async fn get_cart(&self, scope: PartnerScope, customer: TenantId, id: CartId) -> StoreResult<Option<Cart>> {
        SqlStore::get_cart(self, scope, customer, id).await
    }

    async fn update_cart(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: CartId,
        lines: &[CartLine],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Cart> {
        SqlStore::update_cart(self, scope, customer, id, lines, now, effects).await
    }

    async fn place_order(
        &self,
        scope: PartnerScope,
        order: &Order,
        cart: CartClaim<'_>,
        items: &[NewSoftwareItem],
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::place_order(self, scope, order, cart, items, effects).await
    }

    async fn get_order(&self, scope: PartnerScope, customer: TenantId, id: OrderId) -> StoreResult<Option<Order>> {
        SqlStore::get_order(self, scope, customer, id).await
    }

    async fn cancel_lines(&self, scope: PartnerScope, cancel: &CancelLines, effects: Effects) -> StoreResult<()> {
        SqlStore::cancel_lines(self, scope, cancel, effects).await
    }

    async fn list_orders(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>> {
        SqlStore::list_orders(self, scope, customer, limit, after).await
    }

    async fn list_software(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<SoftwareItem>> {
        SqlStore::list_software(self, scope, customer, limit, after).await
    }

    async fn active_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        reservations: Option<bool>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        SqlStore::active_order_lines(self, scope, customer, reservations, limit, after).await
    }

    async fn term_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        SqlStore::term_order_lines(self, scope, customer, limit, after).await
    }

    async fn get_software_item(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: SoftwareItemId,
    ) -> StoreResult<Option<SoftwareItemWithKey>> {
        SqlStore::get_software_item(self, scope, customer, id).await
    }

    async fn add_artifact(&self, artifact: &Artifact) -> StoreResult<()> {
        SqlStore::add_artifact(self, artifact).await
    }

    async fn list_artifacts(&self, product_id: &str) -> StoreResult<Vec<Artifact>> {
        SqlStore::list_artifacts(self, product_id).await
    }

    async fn issue_links(
        &self,
        scope: PartnerScope,
        item: SoftwareItemId,
        links: &[NewDownloadLink],
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::issue_links(self, scope, item, links, effects).await
    }

    async fn find_link(&self, token_hash: &str) -> StoreResult<Option<LinkForDownload>> {
        SqlStore::find_link(self, token_hash).await
    }

    async fn redeem_link(
        &self,
        link: DownloadLinkId,
        partner: PartnerId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState> {
        SqlStore::redeem_link(self, link, partner, now, transfer, effects).await
    }

    async fn record_activity(&self, scope: PartnerScope, effects: Effects) -> StoreResult<()> {
        SqlStore::record_activity(self, scope, effects).await
    }

    async fn run_invoices(&self, partners: &[(PartnerScope, Timestamp)], period: Period) -> StoreResult<Vec<Invoice>> {
        SqlStore::run_invoices(self, partners, period).await
    }

    async fn list_invoices(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Invoice>> {
        SqlStore::list_invoices(self, scope, limit, after).await
    }

    async fn get_invoice(&self, scope: PartnerScope, id: InvoiceId) -> StoreResult<Option<Invoice>> {
        SqlStore::get_invoice(self, scope, id).await
    }

    async fn invoice_lines(
        &self,
        scope: PartnerScope,
        id: InvoiceId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<InvoiceLine>> {
        SqlStore::invoice_lines(self, scope, id, limit, after).await
    }

    async fn create_service_request(
        &self,
        scope: PartnerScope,
        request: &ServiceRequest,
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::create_service_request(self, scope, request, effects).await
    }

    async fn get_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
    ) -> StoreResult<Option<ServiceRequest>> {
        SqlStore::get_service_request(self, scope, id).await
    }

    async fn list_service_requests(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        SqlStore::list_service_requests(self, scope, limit, after).await
    }

    async fn list_customer_service_requests(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        SqlStore::list_customer_service_requests(self, scope, customer, limit, after).await
    }

    async fn desk_service_requests(
        &self,
        status: Option<RequestStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        SqlStore::desk_service_requests(self, status, limit, after).await
    }

    async fn desk_service_request(&self, id: ServiceRequestId) -> StoreResult<Option<ServiceRequest>> {
        SqlStore::desk_service_request(self, id).await
    }

    async fn change_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::change_service_request(self, scope, id, change, effects).await
    }

    async fn order_balance(&self, scope: PartnerScope, order: OrderId) -> StoreResult<Option<OrderBalance>> {
        SqlStore::order_balance(self, scope, order).await
    }

    async fn find_order(&self, scope: PartnerScope, id: OrderId) -> StoreResult<Option<Order>> {
        SqlStore::find_order(self, scope, id).await
    }

    async fn ledger_facts(&self) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)> {
        SqlStore::ledger_facts(self).await
    }

    async fn create_webhook(
        &self,
        scope: PartnerScope,
        endpoint: &WebhookEndpoint,
        sealed_secret: &[u8],
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::create_webhook(self, scope, endpoint, sealed_secret, effects).await
    }

    async fn list_webhooks(&self, scope: PartnerScope) -> StoreResult<Vec<WebhookEndpoint>> {
        SqlStore::list_webhooks(self, scope).await
    }

    async fn page_webhooks(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<WebhookEndpoint>> {
        SqlStore::page_webhooks(self, scope, limit, after).await
    }

    async fn get_webhook(&self, scope: PartnerScope, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        SqlStore::get_webhook(self, scope, id).await
    }

    async fn delete_webhook(&self, scope: PartnerScope, id: WebhookId, effects: Effects) -> StoreResult<()> {
        SqlStore::delete_webhook(self, scope, id, effects).await
    }

    async fn webhooks_behind(&self, limit: u32) -> StoreResult<Vec<(WebhookEndpoint, i64)>> {
        SqlStore::webhooks_behind(self, limit).await
    }

    async fn enqueue_deliveries(
        &self,
        endpoint: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> StoreResult<bool> {
        SqlStore::enqueue_deliveries(self, endpoint, from, to, deliveries, now).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_endpoint: u32,
        full_partners: &[PartnerId],
        full_endpoints: &[WebhookId],
    ) -> StoreResult<Vec<DueDelivery>> {
        SqlStore::due_deliveries(self, now, limit, per_endpoint, full_partners, full_endpoints).await
    }

    async fn claim_deliveries(
        &self,
        ids: &[DeliveryId],
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        SqlStore::claim_deliveries(self, ids, now, hold_until).await
    }

    async fn add_test_delivery(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        delivery: &NewDelivery,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<ClaimedDelivery> {
        SqlStore::add_test_delivery(self, scope, endpoint, delivery, now, hold_until).await
    }

    async fn finish_attempt(&self, finished: &FinishedAttempt) -> StoreResult<()> {
        SqlStore::finish_attempt(self, finished).await
    }

    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        SqlStore::purge_deliveries(self, before).await
    }

    async fn list_deliveries(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Delivery>> {
        SqlStore::list_deliveries(self, scope, endpoint, limit, after).await
    }

    async fn create_session(&self, token_hash: &str, user: UserId, csrf: &str, now: Timestamp) -> StoreResult<()> {
        SqlStore::create_session(self, token_hash, user, csrf, now).await
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<(User, Partner, String, Timestamp)>> {
        SqlStore::session(self, token_hash).await
    }

    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        SqlStore::touch_session(self, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        SqlStore::delete_session(self, token_hash).await
    }

    async fn record_sign_in_failure(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        SqlStore::record_sign_in_failure(self, key, now, window_micros).await
    }

    async fn sign_in_failures(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        SqlStore::sign_in_failures(self, key, now, window_micros).await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        SqlStore::clear_sign_in_failures(self, key).await
    }

    async fn purge_sessions(&self, idle_before: Timestamp, window_before: Timestamp) -> StoreResult<u64> {
        SqlStore::purge_sessions(self, idle_before, window_before).await
    }

    async fn create_customer(&self, scope: PartnerScope, customer: &Customer, effects: Effects) -> StoreResult<()> {
        SqlStore::create_customer(self, scope, customer, effects).await
    }

    async fn update_customer_billing(
        &self,
        scope: PartnerScope,
        customer: &Customer,
        expected_version: i64,
        effects: Effects,
    ) -> StoreResult<()> {
        SqlStore::update_customer_billing(self, scope, customer, expected_version, effects).await
    }

    async fn get_customer(&self, scope: PartnerScope, id: TenantId) -> StoreResult<Option<Customer>> {
        SqlStore::get_customer(self, scope, id).await
    }

    async fn list_customers(
        &self,
        scope: PartnerScope,
        filter: Option<&CustomerFilter>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Customer>> {
        SqlStore::list_customers(self, scope, filter, limit, after).await
    }

    async fn list_audit(
        &self,
        scope: PartnerScope,
        range: DateRange,
        filter: Option<&AuditFilter>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<AuditRecord>> {
        SqlStore::list_audit(self, scope, range, filter, limit, after).await
    }

    async fn audit_chain(&self, scope: PartnerScope, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        SqlStore::audit_chain(self, scope, after_seq, limit).await
    }

    async fn audit_head(&self, scope: PartnerScope) -> StoreResult<(i64, String)> {
        SqlStore::audit_head(self, scope).await
    }

    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        SqlStore::claim_idempotency(self, claim).await
    }

    async fn release_idempotency(&self, scope: &str, key: &str) -> StoreResult<()> {
        SqlStore::release_idempotency(self, scope, key).await
    }

    async fn purge_idempotency(&self, older_than: Timestamp) -> StoreResult<u64> {
        SqlStore::purge_idempotency(self, older_than).await
    }
}
