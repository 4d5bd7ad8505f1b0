//! Key stock, carts, checkout and orders (R5): one order per checkout, written in one transaction.

use crate::auth::Publisher;
use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::Customer;
use domain::ids::{CartId, KeyId, OrderId, SoftwareItemId, TenantId};
use domain::keys::validate_keys;
use domain::order::{price_order, validate_cart_lines, Cart, CartLineDraft, CartStatus, Order};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::{DomainError, Timestamp};
use store::{CartClaim, Effects, NewKey, NewSoftwareItem, PartnerScope};

impl Services {
    /// Publisher: adds activation keys to a SKU's stock, sealed at rest; returns (added, available).
    #[tracing::instrument(skip_all)]
    pub async fn add_keys(
        &self,
        publisher: &Publisher,
        product_id: &str,
        sku_id: &str,
        keys: Vec<String>,
        keep: Option<&dyn Keep<(usize, i64)>>,
    ) -> Result<(usize, i64)> {
        publisher.authorize(domain::operator::OperatorAction::ManageCatalog)?;
        validate_keys(&keys)?;
        crate::keystock::key_product(&self.store.list_products().await?, product_id, sku_id)?;
        let sealed: Vec<NewKey> = keys
            .iter()
            .map(|k| NewKey {
                id: KeyId::new(),
                fingerprint: self.secrets.fingerprint(k.as_bytes()),
                sealed: self.secrets.seal(k.as_bytes()),
            })
            .collect();
        let added = keys.len();
        // A replayed response shows the stock as it was expected after this batch (a concurrent import of other
        // keys in between is not reflected in the replay; the live response counts inside the transaction).
        let completion = match keep {
            Some(keep) => {
                let before = self.store.key_stock(product_id, sku_id).await?;
                completion(Some(keep), &(added, before + added as i64))?
            }
            None => None,
        };
        let now = self.clock.now();
        let record = publisher
            .record(domain::operator::OperatorOperation::ImportKeys, now)
            .data("productId", product_id)
            .data("skuId", sku_id)
            .data("added", added.to_string());
        let available =
            self.store.add_keys(product_id, sku_id, &sealed, now, Effects::operator(record, completion)).await?;
        Ok((added, available))
    }

    async fn buyer(&self, actor: &Actor, customer_id: TenantId) -> Result<(PartnerScope, Customer)> {
        let scope = actor.authorize(Action::BuyForCustomer)?;
        let customer = self.get_customer(actor, customer_id).await?;
        Ok((scope, customer))
    }

    /// A cart of validated lines (R1) for a customer the actor may buy for, with the market's catalog it was
    /// validated against: stored as a cart (`Active`) or ordered at once (`Ordered`, an order without a cart).
    async fn new_cart(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        lines: Vec<CartLineDraft>,
        status: CartStatus,
    ) -> Result<(PartnerScope, Customer, crate::catalog::MarketCatalog, Cart)> {
        let (scope, customer) = self.buyer(actor, customer_id).await?;
        let catalog = self.market_catalog(customer.market, None).await?;
        let lines = validate_cart_lines(lines, &catalog.products, &catalog.market)?;
        let now = self.partner_now(&actor.partner);
        let cart = Cart {
            id: CartId::new(),
            customer_id: customer.tenant_id,
            status,
            lines,
            order_id: None,
            created_at: now,
            updated_at: now,
        };
        Ok((scope, customer, catalog, cart))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_cart(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        lines: Vec<CartLineDraft>,
        keep: Option<&dyn Keep<Cart>>,
    ) -> Result<Cart> {
        let (scope, _, _, cart) = self.new_cart(actor, customer_id, lines, CartStatus::Active).await?;
        let effects = Effects { audit: vec![], idempotency: completion(keep, &cart)?, ..Effects::default() };
        self.store.create_cart(scope, &cart, effects).await?;
        Ok(cart)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_cart(&self, actor: &Actor, customer_id: TenantId, cart_id: CartId) -> Result<Cart> {
        let (scope, customer) = self.buyer(actor, customer_id).await?;
        self.store.get_cart(scope, customer.tenant_id, cart_id).await?.ok_or_else(|| DomainError::NotFound.into())
    }

    /// The customer's open cart (the one changed last that is not ordered yet), for whoever may buy.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn open_cart(&self, actor: &Actor, customer_id: TenantId) -> Result<Option<Cart>> {
        let (scope, customer) = self.buyer(actor, customer_id).await?;
        Ok(self.store.open_cart(scope, customer.tenant_id).await?)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn update_cart(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        cart_id: CartId,
        lines: Vec<CartLineDraft>,
        keep: Option<&dyn Keep<Cart>>,
    ) -> Result<Cart> {
        let mut cart = self.get_cart(actor, customer_id, cart_id).await?;
        if cart.status == CartStatus::Ordered {
            let order = cart.order_id.map(|o| o.to_string()).unwrap_or_default();
            return Err(DomainError::CartAlreadyOrdered(order).into());
        }
        let (scope, customer) = self.buyer(actor, customer_id).await?;
        let catalog = self.market_catalog(customer.market, None).await?;
        cart.lines = validate_cart_lines(lines, &catalog.products, &catalog.market)?;
        cart.updated_at = self.partner_now(&actor.partner);
        let effects = Effects { audit: vec![], idempotency: completion(keep, &cart)?, ..Effects::default() };
        self.store.update_cart(scope, customer.tenant_id, cart.id, &cart.lines, cart.updated_at, effects).await?;
        Ok(cart)
    }

    /// A cart priced exactly as checkout would price it now (the catalog, the partner's price list, R4), for a page
    /// that shows it; `None` when a line can no longer be priced (checkout will say why).
    pub async fn price_cart(
        &self,
        actor: &Actor,
        customer: &Customer,
        catalog: &crate::catalog::MarketCatalog,
        cart: &Cart,
    ) -> Result<Option<Order>> {
        let book = self.price_book(actor, customer).await?;
        let now = self.partner_now(&actor.partner);
        Ok(price_order(OrderId::new(), cart, &catalog.products, &catalog.market, &book, now).ok())
    }

    /// Checkout (R5): prices the cart now, and writes the order, its software items with their keys, the invoice
    /// charges, the activity record and the idempotency record in one transaction — all or nothing.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn checkout(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        cart_id: CartId,
        keep: Option<&dyn Keep<Order>>,
    ) -> Result<Order> {
        let (scope, customer) = self.buyer(actor, customer_id).await?;
        let cart = self.store.get_cart(scope, customer.tenant_id, cart_id).await?.ok_or(DomainError::NotFound)?;
        if cart.status == CartStatus::Ordered {
            let order = cart.order_id.map(|o| o.to_string()).unwrap_or_default();
            return Err(DomainError::CartAlreadyOrdered(order).into());
        }
        let catalog = self.market_catalog(customer.market, None).await?;
        let book = self.price_book(actor, &customer).await?;
        let now = self.partner_now(&actor.partner);
        let order = price_order(OrderId::new(), &cart, &catalog.products, &catalog.market, &book, now)?;
        let (items, audit) = checkout_writes(&order, &customer, actor.principal(), now);
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &order)?, ..Effects::default() };
        let placed = self
            .store
            .place_order(scope, &order, CartClaim::Stored { version: cart.updated_at }, &items, effects)
            .await;
        self.note_credit_refusal(scope, actor, &customer, &order, placed).await?;
        Ok(order)
    }

    /// Partner Center's order without a cart (`POST /v1/customers/{id}/orders`): the lines are validated and priced
    /// exactly as a cart's at checkout (R1, R4), and the order, its cart (written already ordered), software items
    /// with their keys, charges, activity record and idempotency record commit in one transaction (R5).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_order(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        lines: Vec<CartLineDraft>,
        keep: Option<&dyn Keep<Order>>,
    ) -> Result<Order> {
        let (scope, customer, catalog, cart) = self.new_cart(actor, customer_id, lines, CartStatus::Ordered).await?;
        let now = cart.created_at;
        let book = self.price_book(actor, &customer).await?;
        let order = price_order(OrderId::new(), &cart, &catalog.products, &catalog.market, &book, now)?;
        let (items, audit) = checkout_writes(&order, &customer, actor.principal(), now);
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &order)?, ..Effects::default() };
        let placed = self.store.place_order(scope, &order, CartClaim::Direct(&cart), &items, effects).await;
        self.note_credit_refusal(scope, actor, &customer, &order, placed).await?;
        Ok(order)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_orders(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Order>> {
        let scope = actor.authorize(Action::ViewOrders)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let rows = self.store.list_orders(scope, customer.tenant_id, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |o| Cursor { at: o.created_at, id: o.id.to_string() }))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_order(&self, actor: &Actor, customer_id: TenantId, id: OrderId) -> Result<Order> {
        let scope = actor.authorize(Action::ViewOrders)?;
        let customer = self.get_customer(actor, customer_id).await?;
        self.store.get_order(scope, customer.tenant_id, id).await?.ok_or_else(|| DomainError::NotFound.into())
    }
}

/// What a checkout writes besides the order: a software item per software line (taking a key where the product
/// has keys) and the `create_order` activity record.
pub fn checkout_writes(
    order: &Order,
    customer: &Customer,
    principal: &str,
    now: Timestamp,
) -> (Vec<NewSoftwareItem>, NewAuditRecord) {
    let items = order
        .lines
        .iter()
        .filter(|l| l.product_type.is_software())
        .map(|l| NewSoftwareItem {
            id: SoftwareItemId::new(),
            line_number: l.line_number,
            needs_key: l.product_type.has_keys(),
        })
        .collect();
    let totals = order.totals();
    let audit = NewAuditRecord::succeeded(OperationType::CreateOrder, principal, now)
        .customer(customer.tenant_id, &customer.company_name)
        .data("orderId", order.id.to_string())
        .data("lineItems", order.lines.len().to_string())
        .data("currency", order.currency.clone())
        .data("gross", totals.gross.format());
    (items, audit)
}
