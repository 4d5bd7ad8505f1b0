//! The console's billing: run a month's invoices (showing which partners' clocks have passed its end), the
//! invoices issued by partner and currency with their totals, one invoice and its CSV.

use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::admin::{invoice_row, line_row, InvoiceLineRow, InvoiceRow};
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::Router;
use domain::ids::{InvoiceId, PartnerId};
use domain::operator::OperatorAction;
use serde::Deserialize;

pub struct ReadinessRow {
    pub partner: String,
    pub clock: String,
    pub due: bool,
}

pub struct IssuedRow {
    pub partner_id: String,
    pub partner: String,
    pub invoice: InvoiceRow,
}

#[derive(Template)]
#[template(path = "operator/billing.html")]
struct BillingPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    period: String,
    month: String,
    readiness: Vec<ReadinessRow>,
    issued: Vec<IssuedRow>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct BillingQuery {
    #[serde(default)]
    period: String,
    #[serde(default)]
    issued: Option<usize>,
}

/// Last month, as the run's default: the month whose invoices are due now.
fn last_month(now: domain::Timestamp) -> String {
    let d = now.date();
    let (y, m) = if u8::from(d.month()) == 1 { (d.year() - 1, 12) } else { (d.year(), u8::from(d.month()) - 1) };
    format!("{y:04}-{m:02}")
}

async fn billing(State(state): State<AppState>, Console(s): Console, Query(q): Query<BillingQuery>) -> ConsoleResult {
    let services = &state.services;
    let period = if q.period.is_empty() { last_month(services.now()) } else { q.period.clone() };
    let (period, readiness) = services.run_readiness(&s.publisher, &period).await.or_console(&s)?;
    let issued = services.issued_invoices(&s.publisher, period).await.or_console(&s)?;
    Ok(page(&BillingPage {
        title: tr!("console-nav-billing"),
        section: "billing",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        period: period.to_string(),
        month: format::month(period.year, u8::from(period.month)),
        readiness: readiness
            .iter()
            .map(|r| ReadinessRow { partner: r.partner.name.clone(), clock: format::when(r.now), due: r.due })
            .collect(),
        issued: issued
            .iter()
            .flat_map(|(p, invoices)| {
                invoices.iter().map(move |i| IssuedRow {
                    partner_id: p.id.to_string(),
                    partner: p.name.clone(),
                    invoice: invoice_row(i),
                })
            })
            .collect(),
        notice: q.issued.map(|n| tr!("console-billing-issued", count = n)),
    }))
}

#[derive(Deserialize)]
struct RunForm {
    period: String,
}

async fn run(State(state): State<AppState>, f: ConsoleForm<RunForm>) -> ConsoleResult {
    let s = &f.session;
    let run = state.services.run_invoices(&s.publisher, f.form.period.trim()).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/billing?period={}&issued={}", run.period, run.invoices.len())).into_response())
}

#[derive(Template)]
#[template(path = "operator/invoice.html")]
struct InvoicePage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    partner_id: String,
    partner: String,
    invoice: InvoiceRow,
    lines: Vec<InvoiceLineRow>,
}

async fn invoice(
    State(state): State<AppState>,
    Console(s): Console,
    Path((partner, id)): Path<(PartnerId, InvoiceId)>,
) -> ConsoleResult {
    let (partner, invoice, lines) = state.services.publisher_invoice(&s.publisher, partner, id).await.or_console(&s)?;
    Ok(page(&InvoicePage {
        title: tr!("invoice-title", period = format::month(invoice.period.year, u8::from(invoice.period.month))),
        section: "billing",
        nav: Some(ConsoleNav::of(&s)),
        partner_id: partner.id.to_string(),
        partner: partner.name,
        invoice: invoice_row(&invoice),
        lines: lines.iter().map(line_row).collect(),
    }))
}

async fn invoice_csv(
    State(state): State<AppState>,
    Console(s): Console,
    Path((partner, id)): Path<(PartnerId, InvoiceId)>,
) -> ConsoleResult {
    let (_, invoice, lines) = state.services.publisher_invoice(&s.publisher, partner, id).await.or_console(&s)?;
    let body = crate::api::invoices::csv_document(&lines);
    let disposition = format!("attachment; filename=\"invoice-{}-{}.csv\"", invoice.period, invoice.currency);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/billing", get_requiring(OperatorAction::Billing, billing))
        .route("/operator/billing/run", post_requiring(OperatorAction::Billing, run))
        .route("/operator/billing/partners/{partner}/invoices/{id}", get_requiring(OperatorAction::Billing, invoice))
        .route(
            "/operator/billing/partners/{partner}/invoices/{id}/lineitems.csv",
            get_requiring(OperatorAction::Billing, invoice_csv),
        )
}
