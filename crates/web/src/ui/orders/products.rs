//! Add products: the customer's market's catalog by view, and Add to cart (a new cart, or one more line).

use super::*;
use crate::i18n::tr;
use crate::ui::format::filters;

pub struct SkuRow {
    pub product: String,
    pub title: String,
    pub term: String,
    pub price: String,
    /// What this customer pays (issue 23), and the partner's cost and margin for the roles that see billing.
    pub customer_price: String,
    pub cost: String,
    pub margin: String,
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
    views: Vec<(&'static str, String)>,
    view: String,
    currency: String,
    tax_note: String,
    show_margins: bool,
    skus: Vec<SkuRow>,
}

#[derive(Deserialize, Default)]
pub(super) struct ProductsQuery {
    view: Option<String>,
    cart: Option<String>,
}

/// The catalog views the Add products tab offers, in words.
fn views() -> Vec<(&'static str, String)> {
    vec![
        ("Software", tr!("products-view-software")),
        ("SoftwareSubscriptions", tr!("products-view-subscriptions")),
        ("SoftwarePerpetual", tr!("products-view-perpetual")),
        ("SoftwareSUSELinux", tr!("products-view-suse")),
        ("AzureReservations", tr!("products-view-reservations")),
    ]
}

pub(super) async fn products(
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
    let sheet = state.services.price_sheet(&s.actor, &c, &catalog).await.or_page(s)?;
    let cur = catalog.market.currency_code.clone();
    let mut skus = Vec::new();
    for p in &catalog.products {
        for sku in &p.skus {
            let Some(price) = sku.price_for(c.market) else { continue };
            let catalog_item_id = catalog_item_id(&p.id, &sku.id, &availability_id(&p.id, &sku.id, c.market));
            let mine = refused.as_ref().filter(|r| r.form.catalog_item_id == catalog_item_id);
            let error_on = |field: &str| mine.filter(|r| r.problem.on(field)).map(|r| r.problem.message.clone());
            let line = sheet.iter().find(|l| l.product_id == p.id && l.sku_id == sku.id);
            let shown = |m: Option<domain::money::Money>| m.map(|m| format::money(m, &cur)).unwrap_or_default();
            skus.push(SkuRow {
                product: p.title.clone(),
                title: sku.title.clone(),
                term: format::term(sku.term.map(|t| t.as_str())),
                price: format::money(price.list_price, &catalog.market.currency_code),
                customer_price: shown(line.map(|l| l.customer)),
                cost: shown(line.and_then(|l| l.cost)),
                margin: shown(line.and_then(|l| l.margin)),
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
    let customer = CustomerRow::of(&c);
    let head = TabHead::new(state, s, customer.clone(), "products", None).await;
    // Adding goes on in the cart in the address, else in the customer's open cart (as a shop keeps one's basket).
    let cart_id = q.cart.clone().filter(|c| !c.is_empty()).or_else(|| head.cart.as_ref().map(|c| c.0.clone()));
    let cart_id = cart_id.unwrap_or_default();
    let cart_count = if cart_id.is_empty() {
        0
    } else {
        async { state.services.get_cart(&s.actor, parse_id(customer_id)?, parse_id(&cart_id)?).await }
            .await
            .map(|c| c.lines.len())
            .unwrap_or(0)
    };
    let res = page(&ProductsPage {
        title: format!("{} · {}", customer.name, tr!("tab-products")),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head,
        csrf: s.csrf.clone(),
        cart_id,
        cart_count,
        views: views(),
        view: view.map(|v| v.as_str().to_string()).unwrap_or_else(|| "Software".into()),
        currency: catalog.market.currency_code.clone(),
        tax_note: tax_note(&catalog.market),
        show_margins: super::super::can(s, Action::ViewMargins),
        skus,
    });
    Ok(match refused {
        Some(r) => with_status(res, r.problem.status),
        None => res,
    })
}

#[derive(Deserialize)]
pub(super) struct AddForm {
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
pub(super) async fn add_to_cart(
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
        domain::DomainError::invalid("quantity", tr!("problem-whole-quantity", max = domain::money::MAX_QUANTITY))
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
