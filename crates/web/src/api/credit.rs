//! Credit limits (issue 23): the publisher sets a partner's (`/v1/publisher/partners/{id}/creditlimit`); the
//! partner's billing roles read theirs and the room left (`/v1/creditlimit`). Checkout past it: 409
//! `credit_limit_exceeded`.

use super::collection::Attributes;
use super::operator_requires;
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, PublisherAuth};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use domain::credit_limit::CreditStanding;
use domain::ids::PartnerId;
use domain::operator::OperatorAction;
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditLimitUpdate {
    /// The most the partner may owe (unbilled charges and unpaid invoices, gross) in `currencyCode`; null or absent
    /// removes the limit.
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditLimitDto {
    pub partner_id: String,
    /// Whether the partner has a limit; without one the other amounts are absent.
    pub limited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// Unbilled charges less credits plus unpaid invoices, gross.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<String>,
    /// The room left before the limit (negative when above it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<String>,
    pub attributes: Attributes,
}

fn dto(partner: PartnerId, s: Option<&CreditStanding>) -> CreditLimitDto {
    CreditLimitDto {
        partner_id: partner.to_string(),
        limited: s.is_some(),
        credit_limit: s.map(|s| s.limit.amount.format()),
        currency_code: s.map(|s| s.limit.currency.clone()),
        used: s.map(|s| s.used.format()),
        available: s.map(|s| s.available().format()),
        attributes: Attributes::of("CreditLimit"),
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(get_partner_credit_limit)))
        .routes(operator_requires(OperatorAction::Billing, routes!(put_partner_credit_limit)))
        .routes(requires(Action::ReadInvoices, routes!(my_credit_limit)))
}

/// A partner's credit limit and what counts against it now.
#[utoipa::path(get, path = "/v1/publisher/partners/{partnerId}/creditlimit", tag = "publisher",
    params(("partnerId" = String, Path)),
    responses((status = 200, body = CreditLimitDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_partner_credit_limit(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(partner): Path<PartnerId>,
) -> ApiResult<Json<CreditLimitDto>> {
    let standing = state.services.partner_credit_standing(&publisher, partner).await?;
    Ok(Json(dto(partner, standing.as_ref())))
}

/// Set (or remove) a partner's credit limit; a checkout that would take it past the limit is refused with 409
/// `credit_limit_exceeded`.
#[utoipa::path(put, path = "/v1/publisher/partners/{partnerId}/creditlimit", tag = "publisher",
    request_body = CreditLimitUpdate, params(("partnerId" = String, Path)),
    responses((status = 200, body = CreditLimitDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_partner_credit_limit(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(partner): Path<PartnerId>,
    body: IdemJson<CreditLimitUpdate>,
) -> ApiResult<Json<CreditLimitDto>> {
    // A PUT takes no idempotency key.
    let v = &body.value;
    let standing =
        state.services.set_credit_limit(&publisher, partner, v.amount.as_deref(), v.currency_code.as_deref()).await?;
    Ok(Json(dto(partner, standing.as_ref())))
}

/// The partner's credit limit and the room left (global_admin, billing_admin).
#[utoipa::path(get, path = "/v1/creditlimit", tag = "billing",
    responses((status = 200, body = CreditLimitDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn my_credit_limit(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
) -> ApiResult<Json<CreditLimitDto>> {
    let standing = state.services.credit_standing(&actor).await?;
    Ok(Json(dto(actor.partner.id, standing.as_ref())))
}
