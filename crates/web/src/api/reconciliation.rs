//! Reconciliation and customer statements (issue 23): a month's charges, credits and refunds with the partner's
//! cost (as invoiced) and the customer's price side by side, as paged JSON and CSV; and one customer's statement.

use super::audit::csv_line;
use super::collection::{collection, page_of_sorted, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::csv::spreadsheet_safe;
use domain::ids::TenantId;
use domain::money::Money;
use domain::paging::Cursor;
use domain::policy::Action;
use domain::reconcile::ReconRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// The month, `YYYY-MM`.
    pub period: String,
    /// Items per page, 1 to 500 (default 100; JSON only).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of the previous page's `links.next`.
    pub seek_operation: Option<String>,
}

/// One charge, cancel credit or refund with both sides (credits negative).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconRowDto {
    pub date: String,
    /// `new`, `cancel` or `refund`.
    pub charge_type: String,
    pub customer_id: Option<String>,
    pub customer_domain_name: Option<String>,
    pub order_id: Option<String>,
    pub line_item_number: Option<u32>,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub product_name: Option<String>,
    pub quantity: i64,
    pub term_duration: Option<String>,
    pub currency_code: String,
    /// The partner's unit cost and the customer's unit price of the order line.
    pub unit_cost: Option<String>,
    pub unit_price: Option<String>,
    pub cost_net: String,
    pub cost_tax: String,
    pub cost_gross: String,
    pub customer_net: Option<String>,
    pub customer_tax: Option<String>,
    pub customer_gross: Option<String>,
    /// Customer net less cost net.
    pub margin: Option<String>,
    /// The invoice the row was billed on; absent while not invoiced.
    pub invoice_id: Option<String>,
    pub attributes: Attributes,
}

const CSV_HEADER: [&str; 22] = [
    "date",
    "chargeType",
    "customerId",
    "customerDomainName",
    "orderId",
    "lineItemNumber",
    "productId",
    "skuId",
    "productName",
    "quantity",
    "termDuration",
    "currencyCode",
    "unitCost",
    "unitPrice",
    "costNet",
    "costTax",
    "costGross",
    "customerNet",
    "customerTax",
    "customerGross",
    "margin",
    "invoiceId",
];

fn f(m: Option<Money>) -> Option<String> {
    m.map(Money::format)
}

impl From<&ReconRow> for ReconRowDto {
    fn from(r: &ReconRow) -> ReconRowDto {
        let l = &r.line;
        ReconRowDto {
            date: l.at.to_rfc3339(),
            charge_type: l.charge_type.as_str().into(),
            customer_id: l.customer_id.map(|c| c.to_string()),
            customer_domain_name: l.customer_domain.clone(),
            order_id: l.order_id.map(|o| o.to_string()),
            line_item_number: l.line_number,
            product_id: l.product_id.clone(),
            sku_id: l.sku_id.clone(),
            product_name: l.product_name.clone(),
            quantity: l.quantity,
            term_duration: r.term.clone(),
            currency_code: l.currency.clone(),
            unit_cost: f(r.unit_cost),
            unit_price: f(r.unit_price),
            cost_net: r.cost.net.format(),
            cost_tax: r.cost.tax.format(),
            cost_gross: r.cost.gross.format(),
            customer_net: f(r.customer.map(|c| c.net)),
            customer_tax: f(r.customer.map(|c| c.tax)),
            customer_gross: f(r.customer.map(|c| c.gross)),
            margin: f(r.margin),
            invoice_id: r.invoice_id.map(|i| i.to_string()),
            attributes: Attributes::of("ReconciliationLine"),
        }
    }
}

/// The rows as CSV (SPEC §5: the JSON field names as the header, text cells spreadsheet-safe).
pub(crate) fn csv_document(rows: &[ReconRow]) -> Vec<u8> {
    let mut body = csv_line(CSV_HEADER.map(String::from));
    for r in rows {
        let d = ReconRowDto::from(r);
        let text = |s: Option<String>| spreadsheet_safe(&s.unwrap_or_default()).into_owned();
        let n = |s: Option<String>| s.unwrap_or_default();
        body.extend(csv_line([
            d.date,
            d.charge_type,
            text(d.customer_id),
            text(d.customer_domain_name),
            text(d.order_id),
            d.line_item_number.map(|n| n.to_string()).unwrap_or_default(),
            text(d.product_id),
            text(d.sku_id),
            text(d.product_name),
            d.quantity.to_string(),
            n(d.term_duration),
            d.currency_code,
            n(d.unit_cost),
            n(d.unit_price),
            d.cost_net,
            d.cost_tax,
            d.cost_gross,
            n(d.customer_net),
            n(d.customer_tax),
            n(d.customer_gross),
            n(d.margin),
            n(d.invoice_id),
        ]));
    }
    body
}

fn csv_response(body: Vec<u8>, name: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ReadInvoices, routes!(reconciliation)))
        .routes(requires(Action::ReadInvoices, routes!(reconciliation_csv)))
        .routes(requires(Action::ReadInvoices, routes!(statement)))
        .routes(requires(Action::ReadInvoices, routes!(statement_csv)))
}

/// A month's charges, credits and refunds, one row each, with cost (as invoiced) and customer price side by side;
/// the cost side of the rows billed on the month's invoices adds up to them to the cent. Paged by (date, id).
#[utoipa::path(get, path = "/v1/reconciliation", tag = "billing", params(PeriodParams),
    responses((status = 200, body = Collection<ReconRowDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reconciliation(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(q): Query<PeriodParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ReconRowDto>>> {
    let r = state.services.reconciliation(&actor, &q.period).await?;
    page_of_rows(r.rows, &q, &headers, &uri)
}

/// One page of a month's rows (already in (date, id) order), from the request's size and continuation.
fn page_of_rows(
    rows: Vec<ReconRow>,
    q: &PeriodParams,
    headers: &HeaderMap,
    uri: &Uri,
) -> ApiResult<Json<Collection<ReconRowDto>>> {
    let paging = PageParams { size: q.size, seek_operation: q.seek_operation.clone() };
    let (size, after) = (paging.size()?, paging.cursor(headers)?);
    let page = page_of_sorted(
        rows,
        size,
        after.as_ref(),
        |row, c| (row.line.at, &row.line.id) > (c.at, &c.id),
        |row| Cursor { at: row.line.at, id: row.line.id.clone() },
    );
    Ok(Json(collection(page, uri, |r| ReconRowDto::from(r))))
}

/// The same month as CSV.
#[utoipa::path(get, path = "/v1/reconciliation.csv", tag = "billing", params(PeriodParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reconciliation_csv(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(q): Query<PeriodParams>,
) -> ApiResult<Response> {
    let r = state.services.reconciliation(&actor, &q.period).await?;
    Ok(csv_response(csv_document(&r.rows), format!("reconciliation-{}", r.period)))
}

/// A customer's statement for a month: its charges, credits and refunds at customer prices (with the unit cost
/// and unit price of each line). Paged by (date, id).
#[utoipa::path(get, path = "/v1/customers/{customerId}/statement", tag = "billing",
    params(("customerId" = String, Path), PeriodParams),
    responses((status = 200, body = Collection<ReconRowDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn statement(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(q): Query<PeriodParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ReconRowDto>>> {
    let (_, r) = state.services.customer_statement(&actor, customer_id, &q.period).await?;
    page_of_rows(r.rows, &q, &headers, &uri)
}

/// The customer's statement as CSV, for a PSA or accounting tool.
#[utoipa::path(get, path = "/v1/customers/{customerId}/statement.csv", tag = "billing",
    params(("customerId" = String, Path), PeriodParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn statement_csv(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(q): Query<PeriodParams>,
) -> ApiResult<Response> {
    let (c, r) = state.services.customer_statement(&actor, customer_id, &q.period).await?;
    Ok(csv_response(csv_document(&r.rows), format!("statement-{}-{}", c.domain, r.period)))
}
