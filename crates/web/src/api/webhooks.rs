//! `/v1/webhooks` (SPEC §3, §5): endpoints that receive the partner's activity records, signed, and their
//! deliveries. Global admins only.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::idempotency::{no_store, IdemJson};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::ids::WebhookId;
use domain::policy::Action;
use domain::webhook::{Attempt, Delivery, WebhookEndpoint};
use serde::{Deserialize, Serialize};
use services::webhooks::CreatedWebhook;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    /// `https://…` (`http://` to loopback only when the server runs with `--allow-insecure-webhooks`).
    pub url: String,
    /// The activity records to receive, by `operationType` (e.g. `create_order`, `download_software`).
    pub operation_types: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub operation_types: Vec<String>,
    /// `enabled`, or `disabled` after three days without a successful delivery (`disabledReason` says why).
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_date: Option<String>,
    /// The first failed attempt since the last success, while the endpoint is failing.
    pub failing_since: Option<String>,
    pub created_by: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&WebhookEndpoint> for WebhookDto {
    fn from(e: &WebhookEndpoint) -> WebhookDto {
        WebhookDto {
            id: e.id.to_string(),
            url: e.url.clone(),
            operation_types: e.operation_types.iter().map(|o| o.as_str().to_string()).collect(),
            status: if e.disabled_at.is_some() { "disabled" } else { "enabled" }.into(),
            disabled_reason: e.disabled_reason.clone(),
            disabled_date: e.disabled_at.map(|t| t.to_rfc3339()),
            failing_since: e.failing_since.map(|t| t.to_rfc3339()),
            created_by: e.created_by.clone(),
            created_date: e.created_at.to_rfc3339(),
            attributes: Attributes::of("Webhook"),
        }
    }
}

/// A new endpoint: `secret` signs its deliveries and is shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    pub secret: String,
}

impl From<&CreatedWebhook> for CreatedWebhookDto {
    fn from(c: &CreatedWebhook) -> CreatedWebhookDto {
        CreatedWebhookDto { webhook: WebhookDto::from(&c.endpoint), secret: c.secret.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptDto {
    pub number: u32,
    pub date: String,
    /// The endpoint's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub duration_ms: u32,
    pub error: Option<String>,
}

impl From<&Attempt> for AttemptDto {
    fn from(a: &Attempt) -> AttemptDto {
        AttemptDto {
            number: a.number,
            date: a.at.to_rfc3339(),
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            error: a.error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    /// Sent as `Partnerhub-Delivery`; the same on every attempt.
    pub id: String,
    pub webhook_id: String,
    /// The activity record delivered (absent for a test event).
    pub record_id: Option<String>,
    pub operation_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub created_date: String,
    pub next_attempt_date: Option<String>,
    pub attempts: Vec<AttemptDto>,
    pub attributes: Attributes,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> DeliveryDto {
        DeliveryDto {
            id: d.id.to_string(),
            webhook_id: d.webhook_id.to_string(),
            record_id: d.record_id.map(|r| r.to_string()),
            operation_type: d.operation_type.clone(),
            status: d.status.as_str().into(),
            created_date: d.created_at.to_rfc3339(),
            next_attempt_date: d.next_attempt_at.map(|t| t.to_rfc3339()),
            attempts: d.attempts.iter().map(AttemptDto::from).collect(),
            attributes: Attributes::of("WebhookDelivery"),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ManageWebhooks, routes!(list_webhooks, create_webhook)))
        .routes(requires(Action::ManageWebhooks, routes!(delete_webhook)))
        .routes(requires(Action::ManageWebhooks, routes!(list_deliveries)))
        .routes(requires(Action::ManageWebhooks, routes!(test_webhook)))
}

/// The partner's webhook endpoints (never their secrets), oldest first, paged.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = Collection<WebhookDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_webhooks(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<WebhookDto>>> {
    let page = state.services.page_webhooks(&actor, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |x| WebhookDto::from(x))))
}

/// Register an endpoint for kinds of activity records; the signing secret is shown once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = CreatedWebhookDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<NewWebhook>,
) -> ApiResult<Response> {
    let reply = body.sealed_reply(StatusCode::CREATED, |v| CreatedWebhookDto::from(v));
    let result =
        state.services.create_webhook(&actor, &body.value.url, &body.value.operation_types, reply.keep()).await;
    Ok(no_store(reply.send(result).await?))
}

/// Delete an endpoint; deliveries still waiting for it are not sent.
#[utoipa::path(delete, path = "/v1/webhooks/{webhookId}", tag = "webhooks", params(("webhookId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<WebhookId>,
) -> ApiResult<StatusCode> {
    state.services.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries with every attempt (time, status, duration, error), newest first (paged).
#[utoipa::path(get, path = "/v1/webhooks/{webhookId}/deliveries", tag = "webhooks", params(("webhookId" = String, Path), PageParams),
    responses((status = 200, body = Collection<DeliveryDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<WebhookId>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<DeliveryDto>>> {
    let page = state.services.webhook_deliveries(&actor, id, page.size()?, page.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |d| DeliveryDto::from(d))))
}

/// Send a test event (`operationType` `webhook_test`) now, once, and return its delivery with the attempt. A
/// disabled endpoint that answers 2xx is enabled again.
#[utoipa::path(post, path = "/v1/webhooks/{webhookId}/test", tag = "webhooks", params(("webhookId" = String, Path)),
    responses((status = 200, body = DeliveryDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn test_webhook(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<WebhookId>,
) -> ApiResult<Json<DeliveryDto>> {
    Ok(Json(DeliveryDto::from(&state.services.test_webhook(&actor, id).await?)))
}
