//! A customer's Orders tab, the Cancel dialog, and Add products → cart → checkout.

use super::customers::{cancelled_notice, customer_row, CustomerRow, TabHead};
use super::{can, form_problem, format, page, with_status, FieldProblem, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use domain::cancel_reason::CancelReason;
use domain::cancellation::credit_for;
use domain::catalog::{availability_id, catalog_item_id, ProductType, TargetView};
use domain::order::{price_order, CartLineDraft, LineStatus, Order};
use domain::paging::PageSize;
use domain::policy::Action;
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
                    None => format!("{} days left to cancel", e.days_remaining),
                    Some(CancelReason::WindowClosed) => "the cancellation window has passed".into(),
                    Some(CancelReason::RequiresSupportRequest) => "cancel through a support request".into(),
                    Some(CancelReason::NotCancellable) => "cannot be cancelled".into(),
                    Some(CancelReason::AlreadyCancelled) => match l.cancelled_at {
                        Some(at) => format!("cancelled {}", format::when(at)),
                        None => "cancelled".into(),
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
        title: format!("{} · Orders", customer.name),
        section: "customers",
        nav: Some(Nav::of(&s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(&s, customer, "orders", notice),
        can_cancel: can(&s, Action::CancelPurchase),
        orders: list.iter().map(|o| order_row(o, now)).collect(),
    }))
}

pub struct CancelChoice {
    pub value: String,
    pub checked: bool,
    pub order_id: String,
    /// From 1, as people count.
    pub line: u32,
    pub placed: String,
    pub quantity: i64,
    pub amount: String,
    /// What cancelling now gives back; `None` when it cannot be cancelled here.
    pub credit: Option<String>,
    pub eligible: bool,
    pub note: String,
    pub support_link: Option<String>,
}

#[derive(Template)]
#[template(path = "cancel.html")]
struct CancelPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    csrf: String,
    product_id: String,
    product: String,
    choices: Vec<CancelChoice>,
    any_eligible: bool,
    problem: Option<FieldProblem>,
}

#[derive(Deserialize)]
struct CancelQuery {
    product: Option<String>,
}

/// The Cancel dialog: the customer's orders of a product, each with its days remaining, a closed window, or a
/// link to a pre-filled support request.
async fn cancel_dialog(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<CancelQuery>,
) -> UiResult {
    // Only those who may cancel see the dialog; it is about one product, chosen on the Software or Orders tab.
    s.actor.authorize(Action::CancelPurchase).or_page(&s)?;
    let Some(product_id) = q.product.clone() else {
        return Ok(Redirect::to(&format!("/customers/{customer_id}/orders")).into_response());
    };
    cancel_page(&state, &s, &customer_id, &product_id, None, "").await
}

/// The dialog itself; after a refused Submit, with the problem next to the order list and the choice kept.
async fn cancel_page(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    product_id: &str,
    problem: Option<FieldProblem>,
    chosen: &str,
) -> UiResult {
    let customer = customer_row(state, s, customer_id).await?;
    let now = state.services.partner_now(&s.actor.partner);
    let mut choices = Vec::new();
    let mut product = product_id.to_string();
    for o in all_orders(state, s, customer_id).await? {
        for l in o.lines.iter().filter(|l| l.product_id == product_id && l.status == LineStatus::Active) {
            product = l.title.clone();
            let e = l.cancellation(o.created_at, now);
            let (note, support_link) = match e.why_not() {
                None => (format!("{} days remaining", e.days_remaining), None),
                Some(CancelReason::WindowClosed) => (
                    format!(
                        "the cancellation window closed on {}",
                        e.cancellable_until.map(|t| format::date(t.date())).unwrap_or_default()
                    ),
                    None,
                ),
                Some(CancelReason::RequiresSupportRequest) => (
                    "cancelled only through a support request".to_string(),
                    Some(format!(
                        "/support?topic=csp_purchase_refund&customerId={}&orderId={}&lineItems={}",
                        customer.id, o.id, l.line_number
                    )),
                ),
                Some(CancelReason::NotCancellable | CancelReason::AlreadyCancelled) => {
                    ("cannot be cancelled".to_string(), None)
                }
            };
            let value = format!("{}:{}", o.id, l.line_number);
            choices.push(CancelChoice {
                checked: value == chosen,
                value,
                order_id: o.id.to_string(),
                line: l.line_number + 1,
                placed: format::when(o.created_at),
                quantity: l.pricing.quantity,
                amount: format::money(l.pricing.gross, &o.currency),
                credit: e.eligible.then(|| format::money(cancel_credit(&o, l, now), &o.currency)),
                eligible: e.eligible,
                note,
                support_link,
            });
        }
    }
    // Newest first, as on the Orders tab.
    choices.reverse();
    let status = problem.as_ref().map(|p| p.status);
    let any_eligible = choices.iter().any(|c| c.eligible);
    let res = page(&CancelPage {
        any_eligible,
        title: format!("{} · Cancel", customer.name),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(s, customer, "software", None),
        csrf: s.csrf.clone(),
        product_id: product_id.to_string(),
        product,
        choices,
        problem,
    });
    Ok(match status {
        Some(st) => with_status(res, st),
        None => res,
    })
}

#[derive(Deserialize)]
struct CancelForm {
    choice: Option<String>,
    product: Option<String>,
}

/// Submit: cancels the chosen line and redirects (post/redirect/get) to the Software tab, which names what was
/// cancelled; a refusal re-renders the dialog with the reason next to the order list.
async fn cancel(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    SignedForm { session: s, form }: SignedForm<CancelForm>,
) -> UiResult {
    let choice = form.choice.unwrap_or_default();
    let product = form.product.unwrap_or_default();
    let parsed = choice.split_once(':').and_then(|(o, l)| Some((o.to_string(), l.parse::<i64>().ok()?)));
    let Some((order, line)) = parsed else {
        let problem = FieldProblem::new(
            "choice",
            "Choose the order to cancel: none was chosen.",
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
        return cancel_page(&state, &s, &customer_id, &product, Some(problem), "").await;
    };
    let (customer, order_id) = (parse_id(&customer_id), parse_id(&order));
    match async { state.services.cancel_order(&s.actor, customer?, order_id?, Some(vec![line]), None).await }.await {
        Ok(done) => {
            Ok(Redirect::to(&format!("/customers/{customer_id}/software?cancelled={}&lines={}", done.id, line + 1))
                .into_response())
        }
        Err(e) => match form_problem(&e) {
            Some(p) => cancel_page(&state, &s, &customer_id, &product, Some(p), &choice).await,
            None => Err(e).or_page(&s),
        },
    }
}

pub struct SkuRow {
    pub product: String,
    pub title: String,
    pub term: String,
    pub price: String,
    pub catalog_item_id: String,
    pub reservation: bool,
    /// What the row's form shows: the default, or what was typed before a refused Add to cart.
    pub quantity: String,
    pub subscription_id: String,
    pub quantity_error: Option<String>,
    pub subscription_error: Option<String>,
    pub row_error: Option<String>,
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    csrf: String,
    cart_id: String,
    cart_count: usize,
    views: Vec<(&'static str, &'static str)>,
    view: String,
    currency: String,
    tax_note: String,
    skus: Vec<SkuRow>,
}

#[derive(Deserialize, Default)]
struct ProductsQuery {
    view: Option<String>,
    cart: Option<String>,
}

const VIEWS: [(&str, &str); 5] = [
    ("Software", "All software"),
    ("SoftwareSubscriptions", "Software subscriptions"),
    ("SoftwarePerpetual", "Perpetual software"),
    ("SoftwareSUSELinux", "SUSE Linux"),
    ("AzureReservations", "Azure reservations"),
];

fn tax_note(m: &domain::market::Market) -> String {
    let rate = (m.tax_rate * rust_decimal::Decimal::from(100)).normalize();
    if m.tax_inclusive {
        format!("list prices include {rate}% tax")
    } else {
        format!("{rate}% tax is added to list prices")
    }
}

async fn products(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<ProductsQuery>,
) -> UiResult {
    products_page(&state, &s, &customer_id, &q, None).await
}

/// A refused Add to cart: the form as it was posted and what was wrong with it.
struct AddRefused<'a> {
    form: &'a AddForm,
    problem: FieldProblem,
}

async fn products_page(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    q: &ProductsQuery,
    refused: Option<AddRefused<'_>>,
) -> UiResult {
    s.actor.authorize(Action::BuyForCustomer).or_page(s)?;
    let c = state.services.get_customer(&s.actor, parse_id(customer_id).or_page(s)?).await.or_page(s)?;
    let view = q.view.as_deref().and_then(TargetView::parse);
    let catalog = state.services.market_catalog(c.market, view).await.or_page(s)?;
    let mut skus = Vec::new();
    for p in &catalog.products {
        for sku in &p.skus {
            let Some(price) = sku.price_for(c.market) else { continue };
            let catalog_item_id = catalog_item_id(&p.id, &sku.id, &availability_id(&p.id, &sku.id, c.market));
            let mine = refused.as_ref().filter(|r| r.form.catalog_item_id == catalog_item_id);
            let error_on = |field: &str| mine.filter(|r| r.problem.on(field)).map(|r| r.problem.message.clone());
            skus.push(SkuRow {
                product: p.title.clone(),
                title: sku.title.clone(),
                term: format::term(sku.term.map(|t| t.as_str())),
                price: format::money(price.list_price, &catalog.market.currency_code),
                reservation: p.product_type == ProductType::AzureReservation,
                quantity: mine.and_then(|r| r.form.quantity.clone()).unwrap_or_else(|| "1".into()),
                subscription_id: mine.and_then(|r| r.form.subscription_id.clone()).unwrap_or_default(),
                quantity_error: error_on("quantity"),
                subscription_error: error_on("subscriptionId"),
                row_error: mine
                    .filter(|r| !r.problem.on("quantity") && !r.problem.on("subscriptionId"))
                    .map(|r| r.problem.message.clone()),
                catalog_item_id,
            });
        }
    }
    let cart_id = q.cart.clone().unwrap_or_default();
    let cart_count = if cart_id.is_empty() {
        0
    } else {
        async { state.services.get_cart(&s.actor, parse_id(customer_id)?, parse_id(&cart_id)?).await }
            .await
            .map(|c| c.lines.len())
            .unwrap_or(0)
    };
    let customer = CustomerRow::of(&c);
    let res = page(&ProductsPage {
        title: format!("{} · Add products", customer.name),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(s, customer, "products", None),
        csrf: s.csrf.clone(),
        cart_id,
        cart_count,
        views: VIEWS.to_vec(),
        view: view.map(|v| v.as_str().to_string()).unwrap_or_else(|| "Software".into()),
        currency: catalog.market.currency_code.clone(),
        tax_note: tax_note(&catalog.market),
        skus,
    });
    Ok(match refused {
        Some(r) => with_status(res, r.problem.status),
        None => res,
    })
}

#[derive(Deserialize)]
struct AddForm {
    cart: Option<String>,
    view: Option<String>,
    #[serde(rename = "catalogItemId")]
    catalog_item_id: String,
    quantity: Option<String>,
    #[serde(rename = "subscriptionId")]
    subscription_id: Option<String>,
}

/// Adds a line: a new cart, or the same cart with one more line; then redirects to the cart (post/redirect/get).
/// A refused line re-renders the catalog with the reason next to the field and what was typed kept.
async fn add_to_cart(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    SignedForm { session: s, form }: SignedForm<AddForm>,
) -> UiResult {
    let q = ProductsQuery { view: form.view.clone(), cart: form.cart.clone() };
    match add_line(&state, &s, &customer_id, &form).await {
        Ok(cart) => Ok(Redirect::to(&format!("/customers/{customer_id}/cart?id={cart}&added=1")).into_response()),
        Err(e) => match form_problem(&e) {
            Some(problem) => {
                products_page(&state, &s, &customer_id, &q, Some(AddRefused { form: &form, problem })).await
            }
            None => Err(e).or_page(&s),
        },
    }
}

async fn add_line(state: &AppState, s: &SessionActor, customer_id: &str, form: &AddForm) -> services::Result<String> {
    let typed = form.quantity.as_deref().unwrap_or("1").trim();
    let quantity = typed.parse::<i64>().map_err(|_| {
        domain::DomainError::invalid(
            "quantity",
            format!("must be a whole number from 1 to {}", domain::money::MAX_QUANTITY),
        )
    })?;
    let line = CartLineDraft {
        catalog_item_id: form.catalog_item_id.clone(),
        quantity,
        billing_cycle: "one_time".into(),
        subscription_id: form.subscription_id.clone().filter(|s| !s.trim().is_empty()),
        ..Default::default()
    };
    let customer_id = parse_id(customer_id)?;
    let existing = match form.cart.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => Some(state.services.get_cart(&s.actor, customer_id, parse_id(id)?).await?),
        None => None,
    };
    let cart = match existing {
        Some(cart) => {
            let mut lines = drafts_of(&cart);
            lines.push(line);
            // Earlier lines were accepted before, so a refusal is about the line this form adds.
            state.services.update_cart(&s.actor, customer_id, cart.id, lines, None).await?
        }
        None => state.services.create_cart(&s.actor, customer_id, vec![line], None).await?,
    };
    Ok(cart.id.to_string())
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

pub struct CartRow {
    /// The line's place in the cart (from 0, as the form posts it) and as people count.
    pub index: usize,
    pub number: usize,
    pub product: String,
    pub title: String,
    pub quantity: String,
    pub price: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub error: Option<String>,
}

/// The cart's totals, priced as checkout will price it (R4, `price_order`).
pub struct CartTotals {
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    csrf: String,
    cart_id: String,
    currency: String,
    tax_note: String,
    lines: Vec<CartRow>,
    totals: Option<CartTotals>,
    ordered: bool,
    added: bool,
    problem: Option<FieldProblem>,
}

#[derive(Deserialize)]
struct CartQuery {
    id: Option<String>,
    added: Option<String>,
}

/// A refused change of a cart line: which line, what was typed, and why.
struct LineRefused {
    index: usize,
    quantity: String,
    problem: FieldProblem,
}

async fn cart_page(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    cart_id: &str,
    problem: Option<FieldProblem>,
) -> UiResult {
    cart_view(state, s, customer_id, cart_id, problem, None, false).await
}

async fn cart_view(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    cart_id: &str,
    problem: Option<FieldProblem>,
    refused: Option<LineRefused>,
    added: bool,
) -> UiResult {
    let c = state.services.get_customer(&s.actor, parse_id(customer_id).or_page(s)?).await.or_page(s)?;
    let catalog = state.services.market_catalog(c.market, None).await.or_page(s)?;
    let cart = state.services.get_cart(&s.actor, c.tenant_id, parse_id(cart_id).or_page(s)?).await.or_page(s)?;
    let cur = catalog.market.currency_code.clone();
    // Priced exactly as checkout prices it (the same pure function, on the same catalog); a line that can no longer
    // be priced leaves the amounts blank, and checkout will say why.
    let now = state.services.partner_now(&s.actor.partner);
    let priced = price_order(domain::ids::OrderId::new(), &cart, &catalog.products, &catalog.market, now).ok();
    let mut lines = Vec::new();
    for (i, l) in cart.lines.iter().enumerate() {
        let product = catalog.products.iter().find(|p| p.id == l.product_id);
        let sku = product.and_then(|p| p.sku(&l.sku_id));
        let pricing = priced.as_ref().and_then(|o| o.lines.get(i)).map(|o| o.pricing);
        let amount = |f: fn(&domain::money::LinePricing) -> domain::money::Money| {
            pricing.as_ref().map(|p| format::money(f(p), &cur)).unwrap_or_default()
        };
        let mine = refused.as_ref().filter(|r| r.index == i);
        lines.push(CartRow {
            index: i,
            number: i + 1,
            product: product.map(|p| p.title.clone()).unwrap_or_else(|| l.product_id.clone()),
            title: sku.map(|k| k.title.clone()).unwrap_or_else(|| l.sku_id.clone()),
            quantity: mine.map(|r| r.quantity.clone()).unwrap_or_else(|| l.quantity.to_string()),
            price: sku
                .and_then(|k| k.price_for(c.market))
                .map(|p| format::money(p.list_price, &cur))
                .unwrap_or_default(),
            net: amount(|p| p.net),
            tax: amount(|p| p.tax),
            gross: amount(|p| p.gross),
            error: mine.map(|r| r.problem.message.clone()),
        });
    }
    let totals = priced.map(|o| {
        let t = o.totals();
        CartTotals {
            net: format::money(t.net, &cur),
            tax: format::money(t.tax, &cur),
            gross: format::money(t.gross, &cur),
        }
    });
    let refused_status = refused.map(|r| r.problem.status);
    let customer = CustomerRow::of(&c);
    let status = problem.as_ref().map(|p| p.status).or(refused_status);
    let res = page(&CartPage {
        title: format!("{} · Cart", customer.name),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(s, customer, "products", None),
        csrf: s.csrf.clone(),
        cart_id: cart_id.to_string(),
        currency: catalog.market.currency_code.clone(),
        tax_note: tax_note(&catalog.market),
        lines,
        totals,
        ordered: cart.status != domain::order::CartStatus::Active,
        added,
        problem,
    });
    Ok(match status {
        Some(st) => with_status(res, st),
        None => res,
    })
}

async fn cart(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<CartQuery>,
) -> UiResult {
    match q.id.as_deref().filter(|i| !i.is_empty()) {
        Some(id) => cart_view(&state, &s, &customer_id, id, None, None, q.added.is_some()).await,
        // No cart yet: start from the catalog.
        None => Ok(Redirect::to(&format!("/customers/{customer_id}/products")).into_response()),
    }
}

#[derive(Deserialize)]
struct LineForm {
    cart: String,
    line: usize,
    quantity: Option<String>,
    /// `remove`, or anything else to set the quantity.
    action: Option<String>,
}

/// Changes one line's quantity or removes it (the same `update_cart` as the API), then back to the cart; a refused
/// quantity comes back on its line. Removing the last line leaves the cart for the catalog.
async fn change_line(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    SignedForm { session: s, form }: SignedForm<LineForm>,
) -> UiResult {
    let (customer, cart_id) = (parse_id(&customer_id).or_page(&s)?, parse_id(&form.cart).or_page(&s)?);
    let cart = state.services.get_cart(&s.actor, customer, cart_id).await.or_page(&s)?;
    let mut lines = drafts_of(&cart);
    let back = format!("/customers/{customer_id}/cart?id={}", cart.id);
    if form.line >= lines.len() {
        return Ok(Redirect::to(&back).into_response());
    }
    let typed = form.quantity.clone().unwrap_or_default();
    if form.action.as_deref() == Some("remove") {
        lines.remove(form.line);
        if lines.is_empty() {
            return Ok(Redirect::to(&format!("/customers/{customer_id}/products")).into_response());
        }
    } else {
        match typed.trim().parse::<i64>() {
            Ok(q) => lines[form.line].quantity = q,
            Err(_) => {
                let problem = FieldProblem::new(
                    "quantity",
                    format!("Quantity must be a whole number from 1 to {}.", domain::money::MAX_QUANTITY),
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                );
                let refused = LineRefused { index: form.line, quantity: typed, problem };
                return cart_view(&state, &s, &customer_id, &form.cart, None, Some(refused), false).await;
            }
        }
    }
    match state.services.update_cart(&s.actor, customer, cart_id, lines, None).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => match form_problem(&e) {
            Some(p) if p.on("quantity") => {
                let refused = LineRefused { index: form.line, quantity: typed, problem: p };
                cart_view(&state, &s, &customer_id, &form.cart, None, Some(refused), false).await
            }
            Some(p) => cart_page(&state, &s, &customer_id, &form.cart, Some(p)).await,
            None => Err(e).or_page(&s),
        },
    }
}

#[derive(Deserialize)]
struct CheckoutForm {
    cart: String,
}

/// Check out, then redirect to the order's own address (post/redirect/get: a refresh never orders twice); a
/// refused checkout (the cart ordered already, no key left) re-renders the cart saying why.
async fn checkout(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    SignedForm { session: s, form }: SignedForm<CheckoutForm>,
) -> UiResult {
    let (customer, cart_id) = (parse_id(&customer_id), parse_id(&form.cart));
    match async { state.services.checkout(&s.actor, customer?, cart_id?, None).await }.await {
        Ok(order) => {
            Ok(Redirect::to(&format!("/customers/{customer_id}/orders/{}?placed=1", order.id)).into_response())
        }
        Err(e) => match form_problem(&e) {
            Some(p) => cart_page(&state, &s, &customer_id, &form.cart, Some(p)).await,
            None => Err(e).or_page(&s),
        },
    }
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
        title: format!("{} · Order {}", customer.name, order.id),
        section: "customers",
        nav: Some(Nav::of(&s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(&s, customer, if placed { "products" } else { "orders" }, None),
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
