//! A customer's Orders tab and an order's own page, and the pages of buying and cancelling, one module each: the
//! Cancel dialog (`cancel`), Add products (`products`) and the cart with checkout (`cart`). The rows and helpers
//! they share (an order's rows, the tax note, a cart's lines as drafts) are here.

mod cancel;
mod cart;
mod products;

use super::customers::{cancelled_notice, customer_row, CustomerRow, TabHead};
use super::{can, form_problem, format, page, with_status, FieldProblem, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::i18n::tr;
use crate::ui::format::filters;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use cancel::{cancel, cancel_dialog};
use cart::{cart, change_line, checkout};
use domain::cancel_reason::CancelReason;
use domain::cancellation::credit_for;
use domain::catalog::{availability_id, catalog_item_id, ProductType, TargetView};
use domain::order::{CartLineDraft, LineStatus, Order};
use domain::paging::PageSize;
use domain::policy::Action;
use products::{add_to_cart, products};
use serde::Deserialize;
use services::sessions::SessionActor;

pub struct LineRow {
    /// As people count: from 1 (the API keeps Partner Center's numbering from 0).
    pub number: u32,
    pub product_id: String,
    pub title: String,
    pub quantity: i64,
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub status: String,
    pub cancellation: String,
    pub cancellable: bool,
    /// A cancelled line: the credit it gave (R10, the same function the cancel uses).
    pub credit: Option<String>,
}

pub struct OrderRow {
    pub id: String,
    pub date: String,
    pub status: String,
    pub currency: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
    /// Once a line is cancelled: the order's total less the cancel credits.
    pub remaining: Option<String>,
    pub lines: Vec<LineRow>,
}

/// What a cancelled line was credited, or a line cancelled now would be: R10's `credit_for`, which the cancel
/// itself uses (before any cap for refunds granted on the line, which the credit never exceeds).
pub fn cancel_credit(o: &Order, l: &domain::order::OrderLine, now: domain::Timestamp) -> domain::money::Money {
    credit_for(l, o.created_at, l.cancelled_at.unwrap_or(now)).gross
}

fn order_row(o: &Order, now: domain::Timestamp) -> OrderRow {
    let totals = o.totals();
    let cur = o.currency.as_str();
    let cancelled: Vec<_> = o.lines.iter().filter(|l| l.status == LineStatus::Cancelled).collect();
    let remaining = (!cancelled.is_empty()).then(|| {
        let credits = cancelled.iter().fold(0_i64, |acc, l| acc.saturating_add(cancel_credit(o, l, now).minor));
        let left = domain::money::Money { minor: totals.gross.minor.saturating_sub(credits), scale: o.scale() };
        format::money(left, cur)
    });
    OrderRow {
        id: o.id.to_string(),
        date: format::when(o.created_at),
        status: o.status().to_string(),
        currency: o.currency.clone(),
        net: format::money(totals.net, cur),
        tax: format::money(totals.tax, cur),
        gross: format::money(totals.gross, cur),
        remaining,
        lines: o
            .lines
            .iter()
            .map(|l| {
                let e = l.cancellation(o.created_at, now);
                let cancellation = match e.why_not() {
                    None => tr!("cancellation-days-left", days = e.days_remaining),
                    Some(CancelReason::WindowClosed) => tr!("cancellation-window-passed"),
                    Some(CancelReason::RequiresSupportRequest) => tr!("cancellation-support-only"),
                    Some(CancelReason::NotCancellable) => tr!("cancellation-not-cancellable"),
                    Some(CancelReason::AlreadyCancelled) => match l.cancelled_at {
                        Some(at) => tr!("cancellation-cancelled-at", when = format::when(at)),
                        None => tr!("cancellation-cancelled"),
                    },
                };
                let is_cancelled = l.status == LineStatus::Cancelled;
                LineRow {
                    number: l.line_number + 1,
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    quantity: l.pricing.quantity,
                    net: format::money(l.pricing.net, cur),
                    tax: format::money(l.pricing.tax, cur),
                    gross: format::money(l.pricing.gross, cur),
                    status: l.status.as_str().to_string(),
                    cancellation,
                    cancellable: e.eligible || e.why_not() == Some(CancelReason::RequiresSupportRequest),
                    credit: is_cancelled.then(|| format::money(cancel_credit(o, l, now), cur)),
                }
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    can_cancel: bool,
    orders: Vec<OrderRow>,
}

#[derive(Deserialize, Default)]
struct Notice {
    cancelled: Option<String>,
    line: Option<String>,
}

async fn all_orders(state: &AppState, s: &SessionActor, customer: &str) -> Result<Vec<Order>, super::UiError> {
    let size = PageSize::parse(Some(500)).map_err(services::Error::from).or_page(s)?;
    Ok(state.services.list_orders(&s.actor, parse_id(customer).or_page(s)?, size, None).await.or_page(s)?.items)
}

async fn orders(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(n): Query<Notice>,
) -> UiResult {
    let customer = customer_row(&state, &s, &customer_id).await?;
    let now = state.services.partner_now(&s.actor.partner);
    let mut list = all_orders(&state, &s, &customer_id).await?;
    list.reverse(); // newest first
    let notice = cancelled_notice(&state, &s, &customer_id, n.cancelled.as_deref(), n.line.as_deref()).await;
    Ok(page(&OrdersPage {
        title: format!("{} · {}", customer.name, tr!("tab-orders")),
        section: "customers",
        nav: Some(Nav::of(&s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(&state, &s, customer, "orders", notice).await,
        can_cancel: can(&s, Action::CancelPurchase),
        orders: list.iter().map(|o| order_row(o, now)).collect(),
    }))
}

fn tax_note(m: &domain::market::Market) -> String {
    let rate = (m.tax_rate * rust_decimal::Decimal::from(100)).normalize();
    if m.tax_inclusive {
        tr!("tax-included", rate = rate.to_string())
    } else {
        tr!("tax-added", rate = rate.to_string())
    }
}

/// A cart's lines as drafts, to write it back with one line changed.
fn drafts_of(cart: &domain::order::Cart) -> Vec<CartLineDraft> {
    cart.lines
        .iter()
        .map(|l| CartLineDraft {
            catalog_item_id: l.catalog_item_id.clone(),
            quantity: l.quantity,
            billing_cycle: "one_time".into(),
            term_duration: l.term_duration.clone(),
            friendly_name: l.friendly_name.clone(),
            subscription_id: l.provisioning_context.as_ref().map(|p| p.subscription_id.clone()),
            scope: l.provisioning_context.as_ref().map(|p| p.scope.clone()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    placed: bool,
    tax_note: String,
    order: OrderRow,
}

#[derive(Deserialize, Default)]
struct OrderQuery {
    placed: Option<String>,
}

/// One order at its own address; `?placed=1` makes it the checkout confirmation.
async fn order_page(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path((customer_id, order_id)): Path<(String, String)>,
    Query(q): Query<OrderQuery>,
) -> UiResult {
    let c = state.services.get_customer(&s.actor, parse_id(&customer_id).or_page(&s)?).await.or_page(&s)?;
    let order = state.services.get_order(&s.actor, c.tenant_id, parse_id(&order_id).or_page(&s)?).await.or_page(&s)?;
    let market = state.services.market_catalog(c.market, None).await.or_page(&s)?.market;
    let now = state.services.partner_now(&s.actor.partner);
    let customer = CustomerRow::of(&c);
    let placed = q.placed.is_some();
    Ok(page(&OrderPage {
        title: format!("{} · {}", customer.name, tr!("order-title", id = order.id.to_string())),
        section: "customers",
        nav: Some(Nav::of(&s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(&state, &s, customer, if placed { "products" } else { "orders" }, None).await,
        placed,
        tax_note: tax_note(&market),
        order: order_row(&order, now),
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{customer_id}/orders", get(orders))
        .route(
            "/customers/{customer_id}/cancel",
            get(cancel_dialog).merge(super::post_requiring(domain::policy::Action::CancelPurchase, cancel)),
        )
        .route("/customers/{customer_id}/orders/{order_id}", get(order_page))
        .route("/customers/{customer_id}/products", get(products))
        .route(
            "/customers/{customer_id}/cart",
            get(cart).merge(super::post_requiring(domain::policy::Action::BuyForCustomer, add_to_cart)),
        )
        .route(
            "/customers/{customer_id}/cart/lines",
            super::post_requiring(domain::policy::Action::BuyForCustomer, change_line),
        )
        .route(
            "/customers/{customer_id}/cart/checkout",
            super::post_requiring(domain::policy::Action::BuyForCustomer, checkout),
        )
}
