//! Invoices (R12): the publisher's invoice runs, and billing reads for billing and global admins.

use super::audit::csv_line;
use super::collection::{collection, Attributes, Collection, Link, Links, PageParams};
use super::operator_requires;
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{parse_json, PartnerAuth, Path, PublisherAuth, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::csv::spreadsheet_safe;
use domain::ids::InvoiceId;
use domain::invoice::{Invoice, InvoiceLine};
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

fn date_time(d: time::Date) -> String {
    format!("{d}T00:00:00Z")
}

/// Partner Center's names for the one kind of line item an invoice has here (`invoiceLineItemType`,
/// `billingProvider` on invoice details and line items).
pub const BILLING_LINE_ITEMS: &str = "billing_line_items";
pub const ONE_TIME: &str = "one_time";

/// A link relative to the API root (as Partner Center's links are: a client resolves it against its base URL,
/// which ends in `/v1`).
fn get_link(uri: String) -> Links {
    Links { self_: Link { uri, method: "GET".into(), headers: vec![] }, next: None }
}

/// Partner Center's `InvoiceDetail`: one kind of line item of an invoice and where to fetch them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDetailDto {
    /// Always `billing_line_items`.
    pub invoice_line_item_type: String,
    /// Always `one_time`.
    pub billing_provider: String,
    /// `self`: the invoice's line items, `/invoices/{invoiceId}/lineitems?provider=onetime&invoicelineitemtype=\
    /// billinglineitems` (relative to the API root).
    pub links: Links,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDto {
    pub id: String,
    /// The first day of the month after the billing period.
    pub invoice_date: String,
    pub billing_period_start_date: String,
    pub billing_period_end_date: String,
    pub currency_code: String,
    /// Net of every line (credits are negative).
    pub subtotal: String,
    pub tax_total: String,
    /// Gross: subtotal + taxTotal.
    pub total_charges: String,
    pub document_type: String,
    /// Always `OneTime`: every line is a one-time charge or credit.
    pub invoice_type: String,
    pub line_item_count: i64,
    /// One entry (`billing_line_items` from `one_time`) whose `links.self` leads to the lines, as Partner Center's
    /// clients walk it.
    pub invoice_details: Vec<InvoiceDetailDto>,
    /// `self`: this invoice, relative to the API root (`/invoices/{invoiceId}`).
    pub links: Links,
    pub attributes: Attributes,
}

impl From<&Invoice> for InvoiceDto {
    fn from(i: &Invoice) -> InvoiceDto {
        InvoiceDto {
            id: i.id.to_string(),
            invoice_date: date_time(i.invoice_date()),
            billing_period_start_date: date_time(i.period.first_day()),
            billing_period_end_date: date_time(i.period.last_day()),
            currency_code: i.currency.clone(),
            subtotal: i.subtotal.format(),
            tax_total: i.tax_total.format(),
            total_charges: i.total_charges.format(),
            document_type: "invoice".into(),
            invoice_type: "OneTime".into(),
            line_item_count: i.line_count,
            invoice_details: vec![InvoiceDetailDto {
                invoice_line_item_type: BILLING_LINE_ITEMS.into(),
                billing_provider: ONE_TIME.into(),
                links: get_link(format!(
                    "/invoices/{}/lineitems?provider=onetime&invoicelineitemtype=billinglineitems",
                    i.id
                )),
                attributes: Attributes::of("InvoiceDetail"),
            }],
            links: get_link(format!("/invoices/{}", i.id)),
            attributes: Attributes::of("Invoice"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLineDto {
    pub customer_id: Option<String>,
    pub customer_domain_name: Option<String>,
    pub order_id: Option<String>,
    pub line_item_number: Option<u32>,
    pub order_date: Option<String>,
    /// When the charge or credit happened (the partner's clock).
    pub charge_date: String,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub product_name: Option<String>,
    /// `new`, `cancel` or `refund`.
    pub charge_type: String,
    pub unit_price: String,
    /// Positive, credits included.
    pub quantity: i64,
    pub subtotal: String,
    pub tax_total: String,
    pub total_for_customer: String,
    pub currency: String,
    /// Always `billing_line_items`.
    pub invoice_line_item_type: String,
    /// Always `one_time`.
    pub billing_provider: String,
    pub attributes: Attributes,
}

impl From<&InvoiceLine> for InvoiceLineDto {
    fn from(l: &InvoiceLine) -> InvoiceLineDto {
        InvoiceLineDto {
            customer_id: l.customer_id.map(|c| c.to_string()),
            customer_domain_name: l.customer_domain.clone(),
            order_id: l.order_id.map(|o| o.to_string()),
            line_item_number: l.line_number,
            order_date: l.order_date.map(|t| t.to_rfc3339()),
            charge_date: l.at.to_rfc3339(),
            product_id: l.product_id.clone(),
            sku_id: l.sku_id.clone(),
            product_name: l.product_name.clone(),
            charge_type: l.charge_type.as_str().to_string(),
            unit_price: l.unit_price.format(),
            quantity: l.quantity,
            subtotal: l.subtotal.format(),
            tax_total: l.tax_total.format(),
            total_for_customer: l.total.format(),
            currency: l.currency.clone(),
            invoice_line_item_type: BILLING_LINE_ITEMS.into(),
            billing_provider: ONE_TIME.into(),
            attributes: Attributes::of("OneTimeInvoiceLineItem"),
        }
    }
}

const CSV_HEADER: [&str; 16] = [
    "customerId",
    "customerDomainName",
    "orderId",
    "lineItemNumber",
    "orderDate",
    "chargeDate",
    "productId",
    "skuId",
    "productName",
    "chargeType",
    "unitPrice",
    "quantity",
    "subtotal",
    "taxTotal",
    "totalForCustomer",
    "currency",
];

fn csv_row(l: &InvoiceLine) -> Vec<u8> {
    // Text cells are made spreadsheet-safe; amounts stay numbers (a credit's minus sign is not a formula).
    let text = |s: Option<String>| spreadsheet_safe(&s.unwrap_or_default()).into_owned();
    csv_line([
        text(l.customer_id.map(|c| c.to_string())),
        text(l.customer_domain.clone()),
        text(l.order_id.map(|o| o.to_string())),
        l.line_number.map(|n| n.to_string()).unwrap_or_default(),
        l.order_date.map(|t| t.to_rfc3339()).unwrap_or_default(),
        l.at.to_rfc3339(),
        text(l.product_id.clone()),
        text(l.sku_id.clone()),
        text(l.product_name.clone()),
        l.charge_type.as_str().to_string(),
        l.unit_price.format(),
        l.quantity.to_string(),
        l.subtotal.format(),
        l.tax_total.format(),
        l.total.format(),
        l.currency.clone(),
    ])
}

/// An invoice's lines as a CSV document (the API's and the dashboard's download).
pub(crate) fn csv_document(lines: &[InvoiceLine]) -> Vec<u8> {
    let mut body = csv_line(CSV_HEADER.map(String::from));
    for l in lines {
        body.extend(csv_row(l));
    }
    body
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvoiceRunInput {
    /// The month, `YYYY-MM`.
    pub period: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunInvoice {
    pub partner_id: String,
    #[serde(flatten)]
    pub invoice: InvoiceDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRunDto {
    pub period: String,
    pub invoices: Vec<RunInvoice>,
    /// Partners whose clock has not reached the end of the month; run again later for them.
    pub partners_not_due: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LineItemParams {
    /// `onetime` (the only provider here).
    pub provider: Option<String>,
    /// `billinglineitems`.
    pub invoicelineitemtype: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(domain::operator::OperatorAction::Billing, routes!(run_invoices)))
        .routes(operator_requires(domain::operator::OperatorAction::Billing, routes!(verify_ledger)))
        .routes(requires(Action::ReadInvoices, routes!(list_invoices)))
        .routes(requires(Action::ReadInvoices, routes!(get_invoice)))
        .routes(requires(Action::ReadInvoices, routes!(invoice_lines)))
        .routes(requires(Action::ReadInvoices, routes!(invoice_lines_by_path)))
        .routes(requires(Action::ReadInvoices, routes!(invoice_lines_csv)))
        .routes(requires(Action::ReadInvoices, routes!(unbilled_lines)))
}

/// Run the invoices of a month for every partner whose clock has passed its end (idempotent: a second run issues
/// nothing new, and an issued invoice never changes).
#[utoipa::path(post, path = "/v1/publisher/invoiceruns", tag = "publisher", request_body = InvoiceRunInput,
    responses((status = 200, body = InvoiceRunDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn run_invoices(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    body: Bytes,
) -> ApiResult<Json<InvoiceRunDto>> {
    let input: InvoiceRunInput = parse_json(&body)?;
    let run = state.services.run_invoices(&publisher, &input.period).await?;
    Ok(Json(InvoiceRunDto {
        period: run.period.to_string(),
        invoices: run
            .invoices
            .iter()
            .map(|i| RunInvoice { partner_id: i.partner_id.to_string(), invoice: InvoiceDto::from(i) })
            .collect(),
        partners_not_due: run.partners_not_due,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerViolationDto {
    /// `over_credited` (a line, or an order as a whole, credited more than it was charged) or `invoice_mismatch`
    /// (an invoice whose totals differ from its rows, or which holds rows of another partner or currency).
    pub kind: String,
    pub order_id: Option<String>,
    pub line_item_number: Option<u32>,
    pub invoice_id: Option<String>,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerVerificationDto {
    pub valid: bool,
    /// Order lines checked (per order and line: what was charged against what was credited).
    pub lines_checked: usize,
    pub invoices_checked: usize,
    pub violations: Vec<LedgerViolationDto>,
}

impl From<services::invoices::LedgerVerification> for LedgerVerificationDto {
    fn from(v: services::invoices::LedgerVerification) -> Self {
        use domain::ledger::Violation;
        LedgerVerificationDto {
            valid: v.valid(),
            lines_checked: v.lines_checked,
            invoices_checked: v.invoices_checked,
            violations: v
                .violations
                .iter()
                .map(|x| {
                    let (order_id, line_item_number, invoice_id) = match x {
                        Violation::OverCredited { order_id, line, .. } => (Some(order_id.clone()), *line, None),
                        Violation::InvoiceMismatch { invoice_id, .. } => (None, None, Some(invoice_id.clone())),
                    };
                    LedgerViolationDto {
                        kind: x.kind().to_string(),
                        order_id,
                        line_item_number,
                        invoice_id,
                        description: x.to_string(),
                    }
                })
                .collect(),
        }
    }
}

/// Check the whole ledger's invariants (SPEC §8): per order line, cancel credits plus refunds never exceed the
/// charge (net and tax); per invoice, its totals equal the sum of its rows, all of its partner and currency.
/// `partnerhub ledger verify` runs the same check.
#[utoipa::path(get, path = "/v1/publisher/ledger/verification", tag = "publisher",
    responses((status = 200, body = LedgerVerificationDto), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn verify_ledger(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
) -> ApiResult<Json<LedgerVerificationDto>> {
    Ok(Json(state.services.verify_ledger(&publisher).await?.into()))
}

/// The partner's invoices, newest month first, then by currency, paged (billing admin, global admin).
#[utoipa::path(get, path = "/v1/invoices", tag = "billing", params(PageParams),
    responses((status = 200, body = Collection<InvoiceDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_invoices(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<InvoiceDto>>> {
    let page = state.services.list_invoices(&actor, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |x| InvoiceDto::from(x))))
}

/// One invoice.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}", tag = "billing", params(("invoiceId" = String, Path)),
    responses((status = 200, body = InvoiceDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_invoice(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<InvoiceId>,
) -> ApiResult<Json<InvoiceDto>> {
    Ok(Json(InvoiceDto::from(&state.services.get_invoice(&actor, id).await?)))
}

/// Whether a billing provider names ours (`onetime`, `OneTime`, `one_time`).
fn is_one_time(provider: &str) -> bool {
    provider.replace('_', "").eq_ignore_ascii_case("onetime")
}

/// Whether a line item type names ours (`billinglineitems`, `BillingLineItems`, `billing_line_items`).
fn is_billing_line_items(kind: &str) -> bool {
    kind.replace('_', "").eq_ignore_ascii_case("billinglineitems")
}

fn check_line_kind(provider: Option<&str>, kind: Option<&str>) -> Result<(), domain::DomainError> {
    if provider.is_some_and(|p| !is_one_time(p)) {
        return Err(domain::DomainError::invalid("provider", "the only provider is onetime"));
    }
    if kind.is_some_and(|t| !is_billing_line_items(t)) {
        return Err(domain::DomainError::invalid("invoicelineitemtype", "the only type is billinglineitems"));
    }
    Ok(())
}

async fn lines_page(
    state: &AppState,
    actor: &services::Actor,
    id: InvoiceId,
    page: &PageParams,
    headers: &HeaderMap,
    uri: &Uri,
) -> ApiResult<Json<Collection<InvoiceLineDto>>> {
    let page = state.services.invoice_lines(actor, id, page.size()?, page.cursor(headers)?).await?;
    Ok(Json(collection(page, uri, |l| InvoiceLineDto::from(l))))
}

/// An invoice's lines: charges (`new`) and credits (`cancel`, `refund`: positive quantity, negative amounts), paged.
/// Each carries `invoiceLineItemType: billing_line_items` and `billingProvider: one_time`.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}/lineitems", tag = "billing",
    params(("invoiceId" = String, Path), LineItemParams, PageParams),
    responses((status = 200, body = Collection<InvoiceLineDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn invoice_lines(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<InvoiceId>,
    Query(params): Query<LineItemParams>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<InvoiceLineDto>>> {
    check_line_kind(params.provider.as_deref(), params.invoicelineitemtype.as_deref())?;
    lines_page(&state, &actor, id, &page, &headers, &uri).await
}

/// The same lines at Partner Center's other address for them, `…/lineitems/{billingProvider}/{invoiceLineItemType}`
/// (`OneTime`/`BillingLineItems`, any case, with or without underscores), which its SDKs and samples use.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}/lineitems/{billingProvider}/{invoiceLineItemType}",
    tag = "billing",
    params(("invoiceId" = String, Path), ("billingProvider" = String, Path, description = "`OneTime`"),
        ("invoiceLineItemType" = String, Path, description = "`BillingLineItems`"), PageParams),
    responses((status = 200, body = Collection<InvoiceLineDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn invoice_lines_by_path(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((id, provider, kind)): Path<(InvoiceId, String, String)>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<InvoiceLineDto>>> {
    check_line_kind(Some(&provider), Some(&kind))?;
    lines_page(&state, &actor, id, &page, &headers, &uri).await
}

/// The charges and credits not invoiced yet (Partner Center's unbilled reconciliation line items): this month's so
/// far, so a cancellation's credit shows at once, in the same shape as an invoice's lines, paged by date. Rows of
/// every currency; `provider`/`invoicelineitemtype` as for an invoice's lines.
#[utoipa::path(get, path = "/v1/invoices/unbilled/lineitems", tag = "billing",
    params(LineItemParams, PageParams),
    responses((status = 200, body = Collection<InvoiceLineDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn unbilled_lines(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<LineItemParams>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<InvoiceLineDto>>> {
    check_line_kind(params.provider.as_deref(), params.invoicelineitemtype.as_deref())?;
    let page = state.services.unbilled_lines(&actor, page.size()?, page.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |l| InvoiceLineDto::from(l))))
}

/// An invoice's lines as CSV (RFC 4180, the JSON field names as the header).
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}/lineitems.csv", tag = "billing",
    params(("invoiceId" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn invoice_lines_csv(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<InvoiceId>,
) -> ApiResult<Response> {
    let (invoice, lines) = state.services.all_invoice_lines(&actor, id).await?;
    let body = csv_document(&lines);
    let disposition = format!("attachment; filename=\"invoice-{}-{}.csv\"", invoice.period, invoice.currency);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}
