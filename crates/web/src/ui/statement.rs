//! A customer's statement (issue 23): a month of its charges, credits and refunds at customer prices, as a
//! printable page and a CSV with the unit cost and unit price of each line (the same rows as
//! `/v1/customers/{id}/statement`), for the roles that see billing.

use super::format::{self, filters};
use super::{page, Nav, OrPage, Signed, UiResult};
use crate::extract::parse_id;
use crate::i18n::tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use domain::invoice::Period;
use domain::money::Money;
use serde::Deserialize;

pub struct StatementRow {
    pub when: String,
    pub kind: &'static str,
    pub product: String,
    pub quantity: i64,
    pub unit_price: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    customer_id: String,
    customer_name: String,
    period: String,
    period_name: String,
    rows: Vec<StatementRow>,
    /// Per currency: net, tax and gross.
    totals: Vec<(String, String, String, String)>,
}

#[derive(Deserialize, Default)]
struct StatementQuery {
    period: Option<String>,
}

/// The month asked for, else the current one on the partner's clock.
fn period_of(s: &services::sessions::SessionActor, state: &AppState, q: &StatementQuery) -> String {
    q.period
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| Period::of(state.services.partner_now(&s.actor.partner)).to_string())
}

/// The customer and its statement for the month asked for (else the current one on the partner's clock).
async fn load(
    state: &AppState,
    s: &services::sessions::SessionActor,
    customer_id: &str,
    q: &StatementQuery,
) -> Result<(domain::customer::Customer, services::reconciliation::Reconciliation), super::UiError> {
    let period = period_of(s, state, q);
    state.services.customer_statement(&s.actor, parse_id(customer_id).or_page(s)?, &period).await.or_page(s)
}

async fn statement(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> UiResult {
    let (c, r) = load(&state, &s, &customer_id, &q).await?;
    let mut totals: Vec<(String, Money, Money, Money)> = Vec::new();
    let mut rows = Vec::new();
    for row in &r.rows {
        let cur = &row.line.currency;
        let Some(side) = row.customer else { continue };
        match totals.iter_mut().find(|t| &t.0 == cur) {
            Some(t) => {
                t.1 = t.1.checked_add(side.net).unwrap_or(t.1);
                t.2 = t.2.checked_add(side.tax).unwrap_or(t.2);
                t.3 = t.3.checked_add(side.gross).unwrap_or(t.3);
            }
            None => totals.push((cur.clone(), side.net, side.tax, side.gross)),
        }
        rows.push(StatementRow {
            when: format::when(row.line.at),
            kind: row.line.charge_type.as_str(),
            product: row.line.product_name.clone().unwrap_or_default(),
            quantity: row.line.quantity,
            unit_price: row.unit_price.map(|m| format::money(m, cur)).unwrap_or_default(),
            net: format::money(side.net, cur),
            tax: format::money(side.tax, cur),
            gross: format::money(side.gross, cur),
        });
    }
    Ok(page(&StatementPage {
        title: tr!("statement-title"),
        section: "customers",
        nav: Some(Nav::of(&s)),
        customer_id: c.tenant_id.to_string(),
        customer_name: c.company_name.clone(),
        period_name: format::month(r.period.year, r.period.month as u8),
        period: r.period.to_string(),
        rows,
        totals: totals
            .iter()
            .map(|t| (t.0.clone(), format::money(t.1, &t.0), format::money(t.2, &t.0), format::money(t.3, &t.0)))
            .collect(),
    }))
}

async fn statement_csv(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> UiResult {
    let (c, r) = load(&state, &s, &customer_id, &q).await?;
    let disposition = format!("attachment; filename=\"statement-{}-{}.csv\"", c.domain, r.period);
    let body = crate::api::reconciliation::csv_document(&r.rows);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{customer_id}/statement", get(statement))
        .route("/customers/{customer_id}/statement.csv", get(statement_csv))
}
