//! `/v1/auditrecords` (R8): the activity log, its CSV export and its verification.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Query};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::audit::{AuditRecord, Verification};
use domain::csv::spreadsheet_safe;
use domain::policy::Action;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordDto {
    pub id: String,
    pub partner_id: String,
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub user_principal_name: String,
    pub resource_type: String,
    pub operation_type: String,
    pub operation_date: String,
    pub operation_status: String,
    pub customized_data: Vec<KeyValue>,
    pub attributes: Attributes,
}

impl From<&AuditRecord> for AuditRecordDto {
    fn from(r: &AuditRecord) -> AuditRecordDto {
        AuditRecordDto {
            id: r.id.to_string(),
            partner_id: r.partner_id.to_string(),
            customer_id: r.customer_id.map(|c| c.to_string()),
            customer_name: r.customer_name.clone(),
            user_principal_name: r.user_principal_name.clone(),
            resource_type: r.resource_type.clone(),
            operation_type: r.operation_type.clone(),
            operation_date: r.operation_date.to_rfc3339(),
            operation_status: r.operation_status.clone(),
            customized_data: r
                .customized_data
                .iter()
                .map(|(k, v)| KeyValue { key: k.clone(), value: v.clone() })
                .collect(),
            attributes: Attributes::of("AuditRecord"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationDto {
    pub valid: bool,
    pub record_count: i64,
    pub first_invalid_record_id: Option<String>,
}

impl From<Verification> for VerificationDto {
    fn from(v: Verification) -> VerificationDto {
        VerificationDto {
            valid: v.valid,
            record_count: v.record_count,
            first_invalid_record_id: v.first_invalid_record_id.map(|i| i.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// First day (UTC, inclusive), YYYY-MM-DD; default 30 days before endDate.
    pub start_date: Option<String>,
    /// Last day (UTC, inclusive), YYYY-MM-DD; default today on the partner's clock.
    pub end_date: Option<String>,
    /// URL-encoded JSON `{"Field": "CustomerId"|"CompanyName"|"ResourceType"|"OperationType", "Value": "…", "Operator": "starts_with"|"substring"|"equals"}`.
    pub filter: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of `links.next`.
    pub seek_operation: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ReadActivityLog, routes!(list_audit)))
        .routes(requires(Action::ReadActivityLog, routes!(export_audit)))
        .routes(requires(Action::ReadActivityLog, routes!(verify_audit)))
}

/// Activity records of a date range, oldest first (global, account, referral or marketing content admin).
#[utoipa::path(get, path = "/v1/auditrecords", tag = "activity", params(AuditParams,
        ("MS-ContinuationToken" = Option<String>, Header, description = "With seekOperation=Next")),
    responses((status = 200, body = Collection<AuditRecordDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(p): Query<AuditParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<AuditRecordDto>>> {
    let q = state.services.audit_query(&actor, p.start_date.as_deref(), p.end_date.as_deref(), p.filter.as_deref())?;
    let paging = PageParams { size: p.size, seek_operation: p.seek_operation.clone() };
    let page = state.services.list_audit(&actor, &q, paging.size()?, paging.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |r| AuditRecordDto::from(r))))
}

/// The CSV columns: the JSON field names, in order.
const CSV_HEADER: [&str; 10] = [
    "id",
    "partnerId",
    "customerId",
    "customerName",
    "userPrincipalName",
    "resourceType",
    "operationType",
    "operationDate",
    "operationStatus",
    "customizedData",
];

fn csv_row(r: &AuditRecord) -> Vec<u8> {
    let data = r.customized_data.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let cells = [
        r.id.to_string(),
        r.partner_id.to_string(),
        r.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        r.customer_name.clone().unwrap_or_default(),
        r.user_principal_name.clone(),
        r.resource_type.clone(),
        r.operation_type.clone(),
        r.operation_date.to_rfc3339(),
        r.operation_status.clone(),
        data,
    ];
    csv_line(cells.iter().map(|c| spreadsheet_safe(c).into_owned()))
}

/// One RFC 4180 line (CRLF-terminated).
pub fn csv_line(cells: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(cells.into_iter().collect::<Vec<_>>());
    w.into_inner().unwrap_or_default()
}

/// The same records as CSV, streamed a chunk at a time.
#[utoipa::path(get, path = "/v1/auditrecords/export", tag = "activity",
    params(("startDate" = Option<String>, Query), ("endDate" = Option<String>, Query), ("filter" = Option<String>, Query)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn export_audit(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(p): Query<AuditParams>,
) -> ApiResult<Response> {
    let q = state.services.audit_query(&actor, p.start_date.as_deref(), p.end_date.as_deref(), p.filter.as_deref())?;
    Ok(csv_export(&state, &actor, q)?)
}

/// The activity records of a query as a streamed CSV download (the API's export and the dashboard's).
pub(crate) fn csv_export(
    state: &AppState,
    actor: &services::Actor,
    q: services::audit::AuditQuery,
) -> services::Result<Response> {
    // Named with its range, so exports of different periods do not overwrite each other.
    let name = format!(
        "attachment; filename=\"activity-{}-to-{}.csv\"",
        q.range.from.date(),
        q.range.until.plus_micros(-1).date()
    );
    let records = state.services.export_audit(actor, q)?;
    let header = futures::stream::once(async { Ok::<_, std::io::Error>(csv_line(CSV_HEADER.map(String::from))) });
    let rows = records.map(|r| match r {
        Ok(r) => Ok(csv_row(&r)),
        Err(e) => {
            // Headers are gone by now; ending the body early tells the client the export is incomplete.
            tracing::error!(error = %e, "activity export failed mid-stream");
            Err(std::io::Error::other("export failed"))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)],
        Body::from_stream(header.chain(rows)),
    )
        .into_response())
}

/// Walks the partner's hash chain: is every record as it was written?
#[utoipa::path(get, path = "/v1/auditrecords/verification", tag = "activity",
    responses((status = 200, body = VerificationDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn verify_audit(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
) -> ApiResult<Json<VerificationDto>> {
    Ok(Json(state.services.verify_audit(&actor).await?.into()))
}
