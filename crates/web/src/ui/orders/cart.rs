//! The cart: its lines priced as checkout will price them, a line's quantity changed or removed, and checkout.

use super::*;
use crate::i18n::tr;
use crate::ui::format::filters;

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
pub(super) struct CartQuery {
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
    let priced = state.services.price_cart(&s.actor, &c, &catalog, &cart).await.or_page(s)?;
    let mut lines = Vec::new();
    for (i, l) in cart.lines.iter().enumerate() {
        let product = catalog.products.iter().find(|p| p.id == l.product_id);
        let sku = product.and_then(|p| p.sku(&l.sku_id));
        // What the customer pays (issue 23): the cart is the customer's order.
        let pricing = priced.as_ref().and_then(|o| o.lines.get(i)).map(|o| o.customer);
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
            price: pricing.map(|p| format::money(p.unit_price, &cur)).unwrap_or_else(|| {
                sku.and_then(|k| k.price_for(c.market)).map(|p| format::money(p.list_price, &cur)).unwrap_or_default()
            }),
            net: amount(|p| p.net),
            tax: amount(|p| p.tax),
            gross: amount(|p| p.gross),
            error: mine.map(|r| r.problem.message.clone()),
        });
    }
    let totals = priced.map(|o| {
        let zero = domain::money::Money::zero(o.scale());
        let sum = |f: fn(&domain::money::LinePricing) -> domain::money::Money| {
            o.lines.iter().fold(zero, |acc, l| acc.checked_add(f(&l.customer)).unwrap_or(acc))
        };
        CartTotals {
            net: format::money(sum(|p| p.net), &cur),
            tax: format::money(sum(|p| p.tax), &cur),
            gross: format::money(sum(|p| p.gross), &cur),
        }
    });
    let refused_status = refused.map(|r| r.problem.status);
    let customer = CustomerRow::of(&c);
    let status = problem.as_ref().map(|p| p.status).or(refused_status);
    let res = page(&CartPage {
        title: format!("{} · {}", customer.name, tr!("cart-heading")),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(state, s, customer, "products", None).await,
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

pub(super) async fn cart(
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
pub(super) struct LineForm {
    cart: String,
    line: usize,
    quantity: Option<String>,
    /// `remove`, or anything else to set the quantity.
    action: Option<String>,
}

/// Changes one line's quantity or removes it (the same `update_cart` as the API), then back to the cart; a refused
/// quantity comes back on its line. Removing the last line leaves the cart for the catalog.
pub(super) async fn change_line(
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
                    tr!("problem-whole-quantity", max = domain::money::MAX_QUANTITY),
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
pub(super) struct CheckoutForm {
    cart: String,
}

/// Check out, then redirect to the order's own address (post/redirect/get: a refresh never orders twice); a
/// refused checkout (the cart ordered already, no key left) re-renders the cart saying why.
pub(super) async fn checkout(
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
