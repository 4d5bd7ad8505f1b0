//! Carts, checkout and orders (R5), and the publisher's key stock.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, PublisherAuth, Query};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::ids::{CartId, OrderId, TenantId};
use domain::order::{Cart, CartLineDraft, LineStatus, Order, OrderStatus, ProvisioningContext};
use domain::policy::Action;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningContextDto {
    /// The Azure subscription (GUID) a reservation applies to.
    pub subscription_id: Option<String>,
    /// `shared` (default) or `single`.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineInput {
    /// `{productId}:{skuId}:{availabilityId}` from an availability of the customer's market.
    pub catalog_item_id: String,
    pub quantity: i64,
    /// `one_time` (the only cycle of software and reservations); default `one_time`.
    #[serde(default)]
    pub billing_cycle: Option<String>,
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Required for reservations.
    #[serde(default)]
    pub provisioning_context: Option<ProvisioningContextDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartInput {
    pub line_items: Vec<CartLineInput>,
}

fn drafts(input: &CartInput) -> Vec<CartLineDraft> {
    input
        .line_items
        .iter()
        .map(|l| {
            let cycle = l.billing_cycle.clone().unwrap_or_else(|| "one_time".into());
            line_draft(
                &l.catalog_item_id,
                l.quantity,
                cycle,
                &l.term_duration,
                &l.friendly_name,
                &l.provisioning_context,
            )
        })
        .collect()
}

/// A cart line as the domain validates it, from either a cart's line or an order's line (Partner Center's
/// `offerId` is our `catalogItemId`).
fn line_draft(
    catalog_item_id: &str,
    quantity: i64,
    billing_cycle: String,
    term_duration: &Option<String>,
    friendly_name: &Option<String>,
    provisioning: &Option<ProvisioningContextDto>,
) -> CartLineDraft {
    CartLineDraft {
        catalog_item_id: catalog_item_id.to_string(),
        quantity,
        billing_cycle,
        term_duration: term_duration.clone(),
        friendly_name: friendly_name.clone(),
        subscription_id: provisioning.as_ref().and_then(|p| p.subscription_id.clone()),
        scope: provisioning.as_ref().and_then(|p| p.scope.clone()),
    }
}

fn provisioning(p: &Option<ProvisioningContext>) -> Option<ProvisioningContextDto> {
    p.as_ref().map(|p| ProvisioningContextDto {
        subscription_id: Some(p.subscription_id.clone()),
        scope: Some(p.scope.clone()),
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineDto {
    pub id: u32,
    pub catalog_item_id: String,
    pub quantity: i64,
    pub billing_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_context: Option<ProvisioningContextDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartDto {
    pub id: String,
    pub creation_timestamp: String,
    pub last_modified_timestamp: String,
    /// `active` or `ordered`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub line_items: Vec<CartLineDto>,
    pub attributes: Attributes,
}

impl From<&Cart> for CartDto {
    fn from(c: &Cart) -> CartDto {
        CartDto {
            id: c.id.to_string(),
            creation_timestamp: c.created_at.to_rfc3339(),
            last_modified_timestamp: c.updated_at.to_rfc3339(),
            status: c.status.as_str().into(),
            order_id: c.order_id.map(|o| o.to_string()),
            line_items: c
                .lines
                .iter()
                .map(|l| CartLineDto {
                    id: l.id,
                    catalog_item_id: l.catalog_item_id.clone(),
                    quantity: l.quantity,
                    billing_cycle: "one_time".into(),
                    term_duration: l.term_duration.clone(),
                    friendly_name: l.friendly_name.clone(),
                    provisioning_context: provisioning(&l.provisioning_context),
                })
                .collect(),
            attributes: Attributes::of("Cart"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingDto {
    pub unit_price: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub currency_code: String,
    pub tax_inclusive: bool,
}

impl PricingDto {
    pub fn of(p: &domain::money::LinePricing, currency: &str) -> PricingDto {
        PricingDto {
            unit_price: p.unit_price.format(),
            net: p.net.format(),
            tax: p.tax.format(),
            gross: p.gross.format(),
            currency_code: currency.to_string(),
            tax_inclusive: p.tax_inclusive,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancellationDto {
    /// `window`, `support_request` or `none`.
    pub policy: String,
    pub eligible: bool,
    /// Ceiling of the remaining days of the window; 0 when closed.
    pub days_remaining: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellable_until: Option<String>,
    /// The errorName a cancel would get now, when not eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineDto {
    pub line_item_number: u32,
    /// The catalog item bought.
    pub offer_id: String,
    pub product_id: String,
    pub sku_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// 0 once the line is cancelled.
    pub quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    /// `active` or `cancelled`.
    pub status: String,
    /// What the partner is charged for the line: its cost from its price list (the list price without one), as on
    /// its invoice.
    pub pricing: PricingDto,
    /// The publisher's list price of the line at checkout.
    pub list_pricing: PricingDto,
    /// What the partner's customer pays for the line (its customer price at checkout).
    pub customer_pricing: PricingDto,
    pub cancellation: CancellationDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_context: Option<ProvisioningContextDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsDto {
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDto {
    pub id: String,
    pub reference_customer_id: String,
    pub billing_cycle: String,
    pub currency_code: String,
    pub creation_date: String,
    /// `completed`, or `cancelled` once every line is.
    pub status: String,
    pub line_items: Vec<OrderLineDto>,
    pub totals: TotalsDto,
    pub attributes: Attributes,
}

/// An order as shown at `now` on the partner's clock (cancellation eligibility depends on it).
pub fn order_dto(o: &Order, now: Timestamp) -> OrderDto {
    let totals = o.totals();
    OrderDto {
        id: o.id.to_string(),
        reference_customer_id: o.customer_id.to_string(),
        billing_cycle: "one_time".into(),
        currency_code: o.currency.clone(),
        creation_date: o.created_at.to_rfc3339(),
        status: o.status().as_str().into(),
        line_items: o
            .lines
            .iter()
            .map(|l| {
                let e = l.cancellation(o.created_at, now);
                OrderLineDto {
                    line_item_number: l.line_number,
                    offer_id: format!("{}:{}:{}", l.product_id, l.sku_id, l.availability_id),
                    product_id: l.product_id.clone(),
                    sku_id: l.sku_id.clone(),
                    title: l.title.clone(),
                    friendly_name: l.friendly_name.clone(),
                    quantity: if l.status == LineStatus::Cancelled { 0 } else { l.pricing.quantity },
                    term_duration: l.term.map(|t| t.as_str().to_string()),
                    status: l.status.as_str().into(),
                    pricing: PricingDto::of(&l.pricing, &o.currency),
                    list_pricing: PricingDto::of(&l.list, &o.currency),
                    customer_pricing: PricingDto::of(&l.customer, &o.currency),
                    cancellation: CancellationDto {
                        policy: e.policy.into(),
                        eligible: e.eligible,
                        days_remaining: e.days_remaining,
                        cancellable_until: e.cancellable_until.map(|t| t.to_rfc3339()),
                        reason: e.reason.map(String::from),
                    },
                    provisioning_context: provisioning(&l.provisioning_context),
                }
            })
            .collect(),
        totals: TotalsDto { net: totals.net.format(), tax: totals.tax.format(), gross: totals.gross.format() },
        attributes: Attributes::of("Order"),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutResult {
    pub orders: Vec<OrderDto>,
    pub order_errors: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeysInput {
    pub keys: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeysAdded {
    pub added: usize,
    /// Keys in stock for the SKU now.
    pub available: i64,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::BuyForCustomer, routes!(create_cart)))
        .routes(requires(Action::BuyForCustomer, routes!(get_cart)))
        .routes(requires(Action::BuyForCustomer, routes!(update_cart)))
        .routes(requires(Action::BuyForCustomer, routes!(checkout)))
        .routes(requires(Action::ViewOrders, routes!(list_orders)))
        .routes(requires(Action::BuyForCustomer, routes!(create_order)))
        .routes(requires(Action::ViewOrders, routes!(get_order)))
        .routes(requires(Action::CancelPurchase, routes!(cancel_order)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(add_keys)))
}

/// Create a cart for a customer (admin agent or global admin).
#[utoipa::path(post, path = "/v1/customers/{customerId}/carts", tag = "orders", request_body = CartInput,
    params(("customerId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = CartDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_cart(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    mut body: IdemJson<CartInput>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |v| CartDto::from(v));
    let result = state.services.create_cart(&actor, customer_id, drafts(&body.value), reply.keep()).await;
    reply.send(result).await
}

/// A cart.
#[utoipa::path(get, path = "/v1/customers/{customerId}/carts/{cartId}", tag = "orders",
    params(("customerId" = String, Path), ("cartId" = String, Path)),
    responses((status = 200, body = CartDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_cart(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, cart_id)): Path<(TenantId, CartId)>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(CartDto::from(&state.services.get_cart(&actor, customer_id, cart_id).await?)))
}

/// Replace a cart's lines (an ordered cart is refused with cart_already_ordered).
#[utoipa::path(put, path = "/v1/customers/{customerId}/carts/{cartId}", tag = "orders", request_body = CartInput,
    params(("customerId" = String, Path), ("cartId" = String, Path)),
    responses((status = 200, body = CartDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_cart(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, cart_id)): Path<(TenantId, CartId)>,
    mut body: IdemJson<CartInput>,
) -> ApiResult<Response> {
    // A PUT takes no idempotency key: the reply only renders.
    let reply = body.reply(StatusCode::OK, |v| CartDto::from(v));
    let result = state.services.update_cart(&actor, customer_id, cart_id, drafts(&body.value), reply.keep()).await;
    reply.send(result).await
}

/// Check a cart out: one order, all lines or none, charged to the partner's monthly invoice.
#[utoipa::path(post, path = "/v1/customers/{customerId}/carts/{cartId}/checkout", tag = "orders",
    params(("customerId" = String, Path), ("cartId" = String, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key: a retry returns the first order")),
    responses((status = 201, body = CheckoutResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn checkout(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, cart_id)): Path<(TenantId, CartId)>,
    mut body: IdemJson<serde_json::Value>,
) -> ApiResult<Response> {
    let now = state.services.partner_now(&actor.partner);
    let reply = body.reply(StatusCode::CREATED, move |o: &Order| CheckoutResult {
        orders: vec![order_dto(o, now)],
        order_errors: vec![],
    });
    let result = state.services.checkout(&actor, customer_id, cart_id, reply.keep()).await;
    reply.send(result).await
}

/// One line of an order created without a cart, as Partner Center's `OrderLineItem`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOrderLine {
    /// 0 to n−1, each once (optional: the lines' order otherwise); the order's lines keep these numbers.
    #[serde(default)]
    pub line_item_number: Option<i64>,
    /// `{productId}:{skuId}:{availabilityId}`, as `catalogItemId` of a cart line.
    pub offer_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Required for reservations.
    #[serde(default)]
    pub provisioning_context: Option<ProvisioningContextDto>,
}

/// Partner Center's `Order` as a client sends it to create one; other fields it may carry are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOrder {
    pub line_items: Vec<NewOrderLine>,
    /// `one_time` (any case; the only cycle of software and reservations); default `one_time`.
    #[serde(default)]
    pub billing_cycle: Option<String>,
    /// When given, the customer of the path.
    #[serde(default)]
    pub reference_customer_id: Option<String>,
}

/// The cart lines an order without a cart amounts to, in `lineItemNumber` order.
fn order_drafts(customer_id: TenantId, input: &NewOrder) -> Result<Vec<CartLineDraft>, domain::DomainError> {
    if let Some(reference) = input.reference_customer_id.as_deref().filter(|r| !r.trim().is_empty()) {
        if TenantId::parse(reference.trim()) != Some(customer_id) {
            return Err(domain::DomainError::invalid("referenceCustomerId", "must be the customer of the path"));
        }
    }
    let n = input.line_items.len() as i64;
    let mut lines: Vec<(i64, &NewOrderLine)> = Vec::with_capacity(input.line_items.len());
    for (i, l) in input.line_items.iter().enumerate() {
        let number = l.line_item_number.unwrap_or(i as i64);
        if !(0..n).contains(&number) || lines.iter().any(|(taken, _)| *taken == number) {
            return Err(domain::DomainError::invalid(
                &format!("lineItems[{i}].lineItemNumber"),
                format!("must be 0 to {}, each once", (n - 1).max(0)),
            ));
        }
        lines.push((number, l));
    }
    lines.sort_by_key(|(number, _)| *number);
    let cycle = input.billing_cycle.as_deref().map(|c| c.to_ascii_lowercase().replace("onetime", "one_time"));
    let cycle = cycle.unwrap_or_else(|| "one_time".into());
    Ok(lines
        .into_iter()
        .map(|(_, l)| {
            line_draft(
                &l.offer_id,
                l.quantity,
                cycle.clone(),
                &l.term_duration,
                &l.friendly_name,
                &l.provisioning_context,
            )
        })
        .collect())
}

/// Create an order without a cart, as Partner Center does (admin agent or global admin): every rule of checkout
/// (R1 availability, R4 pricing, key stock, all or nothing) in one transaction; 201 with the order.
#[utoipa::path(post, path = "/v1/customers/{customerId}/orders", tag = "orders", request_body = NewOrder,
    params(("customerId" = String, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key: a retry returns the first order")),
    responses((status = 201, body = OrderDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_order(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    mut body: IdemJson<NewOrder>,
) -> ApiResult<Response> {
    let now = state.services.partner_now(&actor.partner);
    let reply = body.reply(StatusCode::CREATED, move |o: &Order| order_dto(o, now));
    let result = match order_drafts(customer_id, &body.value) {
        Ok(lines) => state.services.create_order(&actor, customer_id, lines, reply.keep()).await,
        Err(e) => Err(e.into()),
    };
    reply.send(result).await
}

/// A customer's orders, oldest first (any role).
#[utoipa::path(get, path = "/v1/customers/{customerId}/orders", tag = "orders",
    params(("customerId" = String, Path), PageParams),
    responses((status = 200, body = Collection<OrderDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_orders(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<OrderDto>>> {
    let page = state.services.list_orders(&actor, customer_id, params.size()?, params.cursor(&headers)?).await?;
    let now = state.services.partner_now(&actor.partner);
    Ok(Json(collection(page, &uri, |o| order_dto(o, now))))
}

/// One order, with each line's pricing and cancellation eligibility now (any role).
#[utoipa::path(get, path = "/v1/customers/{customerId}/orders/{orderId}", tag = "orders",
    params(("customerId" = String, Path), ("orderId" = String, Path)),
    responses((status = 200, body = OrderDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, order_id)): Path<(TenantId, OrderId)>,
) -> ApiResult<Json<OrderDto>> {
    let order = state.services.get_order(&actor, customer_id, order_id).await?;
    Ok(Json(order_dto(&order, state.services.partner_now(&actor.partner))))
}

/// Add activation keys to a SKU's stock (publisher); a key already known refuses the whole batch.
#[utoipa::path(post, path = "/v1/publisher/products/{productId}/skus/{skuId}/keys", tag = "publisher",
    request_body = KeysInput, params(("productId" = String, Path), ("skuId" = String, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = KeysAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_keys(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((product_id, sku_id)): Path<(String, String)>,
    mut body: IdemJson<KeysInput>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, |r: &(usize, i64)| KeysAdded { added: r.0, available: r.1 });
    let result = state.services.add_keys(&publisher, &product_id, &sku_id, body.value.keys.clone(), reply.keep()).await;
    reply.send(result).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItemRef {
    pub line_item_number: i64,
}

/// A cancel: `status` must be `cancelled`; `lineItems` names the lines (none: every active line).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPatch {
    pub status: String,
    #[serde(default)]
    pub line_items: Option<Vec<LineItemRef>>,
}

/// Cancel lines of an order (admin agents only; R9): all or nothing, by each product's policy on the partner's
/// clock. Keys and links of the cancelled items are revoked and the credit goes to the next invoice (R10) in the
/// same transaction.
#[utoipa::path(patch, path = "/v1/customers/{customerId}/orders/{orderId}", tag = "orders", request_body = OrderPatch,
    params(("customerId" = String, Path), ("orderId" = String, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = OrderDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_order(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, order_id)): Path<(TenantId, OrderId)>,
    mut body: IdemJson<OrderPatch>,
) -> ApiResult<Response> {
    if OrderStatus::parse(&body.value.status) != Some(OrderStatus::Cancelled) {
        let refused = domain::DomainError::invalid("status", "the only change an order takes is \"cancelled\"");
        return Err(body.refuse(refused).await);
    }
    let lines = body.value.line_items.as_ref().map(|l| l.iter().map(|r| r.line_item_number).collect());
    let now = state.services.partner_now(&actor.partner);
    let reply = body.reply(StatusCode::OK, move |o: &Order| order_dto(o, now));
    let result = state.services.cancel_order(&actor, customer_id, order_id, lines, reply.keep()).await;
    reply.send(result).await
}
