//! The console's markets: the tax table (R4: each market's currency, tax rate and whether its prices include tax)
//! and the R1 availability lists per product type and per product, each edited by a plain form saved at once (each
//! save is an operator record, as through the API).

use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::filters;
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::Router;
use domain::catalog::{MarketRule, ProductType};
use domain::operator::OperatorAction;
use serde::Deserialize;

pub struct MarketRow {
    pub country: String,
    pub name: String,
    pub currency: String,
    pub tax_rate: String,
    pub inclusive: bool,
}

pub struct TypeRow {
    pub product_type: String,
    pub title: String,
    /// `unavailable` or `available`.
    pub mode: String,
    pub markets: String,
}

#[derive(Template)]
#[template(path = "operator/markets.html")]
struct MarketsPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    can_manage: bool,
    notice: Option<String>,
    markets: Vec<MarketRow>,
    types: Vec<TypeRow>,
    products: Vec<ProductRow>,
}

/// A product and its own market list, if it has one.
pub struct ProductRow {
    pub id: String,
    pub title: String,
    /// `type` (its type's list), `unavailable` or `available`.
    pub mode: String,
    pub markets: String,
}

#[derive(Deserialize, Default)]
struct MarketsQuery {
    #[serde(default)]
    market: Option<String>,
    #[serde(default)]
    availability: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

async fn markets(State(state): State<AppState>, Console(s): Console, Query(q): Query<MarketsQuery>) -> ConsoleResult {
    let services = &state.services;
    let markets = services.list_markets(&s.publisher).await.or_console(&s)?;
    let rules = services.type_availability(&s.publisher).await.or_console(&s)?;
    let (products, _) = services.publisher_catalog(&s.publisher).await.or_console(&s)?;
    let notice = match (q.market, q.availability, q.product) {
        (Some(code), _, _) => Some(tr!("console-markets-saved", country = code)),
        (None, Some(t), _) => Some(tr!("console-markets-availability-saved", kind = t)),
        (None, None, Some(p)) => Some(tr!("console-markets-availability-saved", kind = p)),
        _ => None,
    };
    let codes = |v: &[domain::market::MarketCode]| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ");
    let products = products
        .iter()
        .map(|p| {
            let (mode, markets) = match (&p.available_markets, &p.unavailable_markets) {
                (Some(v), _) => ("available", codes(v)),
                (None, Some(v)) => ("unavailable", codes(v)),
                (None, None) => ("type", String::new()),
            };
            ProductRow { id: p.id.clone(), title: p.title.clone(), mode: mode.to_string(), markets }
        })
        .collect();
    let types = ProductType::ALL
        .into_iter()
        .map(|t| {
            let rule = rules.iter().find(|(rt, _)| *rt == t).map(|(_, r)| r.clone());
            let (mode, codes) = match rule {
                Some(MarketRule::AvailableOnlyIn(codes)) => ("available", codes),
                Some(MarketRule::UnavailableIn(codes)) => ("unavailable", codes),
                None => ("unavailable", Vec::new()),
            };
            TypeRow {
                product_type: t.as_str().to_string(),
                title: super::catalog::type_text(t),
                mode: mode.to_string(),
                markets: codes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" "),
            }
        })
        .collect();
    Ok(page(&MarketsPage {
        title: tr!("console-nav-markets"),
        section: "markets",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        can_manage: s.publisher.may(OperatorAction::ManageCatalog),
        notice,
        markets: markets
            .iter()
            .map(|m| MarketRow {
                country: m.country.as_str().to_string(),
                name: m.name.to_string(),
                currency: m.currency_code.clone(),
                tax_rate: m.tax_rate.to_string(),
                inclusive: m.tax_inclusive,
            })
            .collect(),
        types,
        products,
    }))
}

#[derive(Deserialize)]
struct MarketForm {
    country: String,
    currency: String,
    tax_rate: String,
    #[serde(default)]
    inclusive: Option<String>,
}

async fn save_market(State(state): State<AppState>, f: ConsoleForm<MarketForm>) -> ConsoleResult {
    let s = &f.session;
    let m = &f.form;
    let market = state
        .services
        .put_market(&s.publisher, m.country.trim(), m.currency.trim(), m.tax_rate.trim(), m.inclusive.is_some())
        .await
        .or_console(s)?;
    Ok(Redirect::to(&format!("/operator/markets?market={}", market.country.as_str())).into_response())
}

#[derive(Deserialize)]
struct AvailabilityForm {
    product_type: String,
    mode: String,
    #[serde(default)]
    markets: String,
}

/// The market codes of a textarea: separated by spaces, commas or semicolons.
fn market_codes(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// An availability list as the form's `mode` says: `available` or `unavailable` markets, or (a product's form only,
/// `type`) neither: the product follows its type's list. Anything else is refused rather than read as a rule.
type Lists<'a> = (Option<&'a [String]>, Option<&'a [String]>);
fn lists_of<'a>(mode: &str, codes: &'a [String], may_inherit: bool) -> Result<Lists<'a>, services::Error> {
    match mode {
        "available" => Ok((Some(codes), None)),
        "unavailable" => Ok((None, Some(codes))),
        "type" if may_inherit => Ok((None, None)),
        _ => Err(domain::DomainError::invalid("mode", tr!("console-markets-choose-mode")).into()),
    }
}

async fn save_availability(State(state): State<AppState>, f: ConsoleForm<AvailabilityForm>) -> ConsoleResult {
    let s = &f.session;
    let codes = market_codes(&f.form.markets);
    let (available, unavailable) = lists_of(&f.form.mode, &codes, false).or_console(s)?;
    let t = &f.form.product_type;
    state.services.put_type_availability(&s.publisher, t, available, unavailable).await.or_console(s)?;
    let t: String = form_urlencoded::byte_serialize(t.as_bytes()).collect();
    Ok(Redirect::to(&format!("/operator/markets?availability={t}")).into_response())
}

#[derive(Deserialize)]
struct ProductAvailabilityForm {
    product: String,
    mode: String,
    #[serde(default)]
    markets: String,
}

async fn save_product_availability(
    State(state): State<AppState>,
    f: ConsoleForm<ProductAvailabilityForm>,
) -> ConsoleResult {
    let s = &f.session;
    let codes = market_codes(&f.form.markets);
    let (available, unavailable) = lists_of(&f.form.mode, &codes, true).or_console(s)?;
    let p = &f.form.product;
    state.services.put_product_availability(&s.publisher, p, available, unavailable).await.or_console(s)?;
    let p: String = form_urlencoded::byte_serialize(p.as_bytes()).collect();
    Ok(Redirect::to(&format!("/operator/markets?product={p}")).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/markets", get_requiring(OperatorAction::ViewPlatform, markets))
        .route("/operator/markets/market", post_requiring(OperatorAction::ManageCatalog, save_market))
        .route("/operator/markets/availability", post_requiring(OperatorAction::ManageCatalog, save_availability))
        .route("/operator/markets/product", post_requiring(OperatorAction::ManageCatalog, save_product_availability))
}
