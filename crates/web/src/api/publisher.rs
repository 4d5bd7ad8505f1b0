//! `/v1/publisher/…`: the operator's side (publisher token only).

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use super::users::{IssuedTokenDto, NewUser, UserDto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Path, PublisherAuth, Query};
use crate::idempotency::{no_store, IdemJson};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::ids::{PartnerId, UserId};
use domain::market::Market;
use domain::operator::OperatorAction;
use domain::partner::Partner;
use serde::{Deserialize, Serialize};
use services::users::UserDraft;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewPartner {
    pub name: String,
    /// A sandbox partner has its own test clock.
    #[serde(default)]
    pub sandbox: bool,
    /// Where a sandbox partner's clock starts (RFC 3339); default: now.
    #[serde(default)]
    pub clock_start: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerDto {
    pub id: String,
    pub name: String,
    pub sandbox: bool,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&Partner> for PartnerDto {
    fn from(p: &Partner) -> PartnerDto {
        PartnerDto {
            id: p.id.to_string(),
            name: p.name.clone(),
            sandbox: p.sandbox,
            created_date: p.created_at.to_rfc3339(),
            attributes: Attributes::of("Partner"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPublisherToken {
    /// A label for the token (default "api").
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketUpdate {
    /// ISO 4217 code of the market's currency.
    pub currency_code: String,
    /// A decimal string, "0.10" for 10%.
    pub tax_rate: String,
    /// Whether list prices include tax (AU and BR by default).
    pub tax_inclusive: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketDto {
    pub country: String,
    pub name: String,
    pub currency_code: String,
    /// Decimals of the currency (0 for JPY, 3 for BHD).
    pub minor_units: u8,
    pub tax_rate: String,
    pub tax_inclusive: bool,
    pub attributes: Attributes,
}

impl From<&Market> for MarketDto {
    fn from(m: &Market) -> MarketDto {
        MarketDto {
            country: m.country.as_str().to_string(),
            name: m.name.to_string(),
            currency_code: m.currency_code.clone(),
            minor_units: m.minor_units,
            tax_rate: m.tax_rate.to_string(),
            tax_inclusive: m.tax_inclusive,
            attributes: Attributes::of("Market"),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::ManagePartners, routes!(create_partner)))
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(list_partners)))
        .routes(operator_requires(OperatorAction::ManagePartners, routes!(create_partner_user)))
        .routes(operator_requires(OperatorAction::ManagePartners, routes!(create_partner_token)))
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(list_markets)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(put_market)))
}

/// Create a partner (a reseller tenant), optionally a sandbox with its own clock.
#[utoipa::path(post, path = "/v1/publisher/partners", tag = "publisher", request_body = NewPartner,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = PartnerDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_partner(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    mut body: IdemJson<NewPartner>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |v| PartnerDto::from(v));
    let v = &body.value;
    let result =
        state.services.create_partner(&publisher, &v.name, v.sandbox, v.clock_start.as_deref(), reply.keep()).await;
    reply.send(result).await
}

/// The partners on this server, oldest first, paged.
#[utoipa::path(get, path = "/v1/publisher/partners", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<PartnerDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_partners(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<PartnerDto>>> {
    let page = state.services.page_partners(&publisher, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |x| PartnerDto::from(x))))
}

/// Add a user to a partner.
#[utoipa::path(post, path = "/v1/publisher/partners/{partnerId}/users", tag = "publisher", request_body = NewUser,
    params(("partnerId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = UserDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_partner_user(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(partner_id): Path<PartnerId>,
    mut body: IdemJson<NewUser>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |v| UserDto::from(v));
    let result =
        state.services.publisher_create_user(&publisher, partner_id, UserDraft::from(&body.value), reply.keep()).await;
    reply.send(result).await
}

/// Issue an API token for a partner's user; shown once, stored hashed.
#[utoipa::path(post, path = "/v1/publisher/partners/{partnerId}/users/{userId}/tokens", tag = "publisher",
    request_body(content = Option<NewPublisherToken>),
    params(("partnerId" = String, Path), ("userId" = String, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = IssuedTokenDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_partner_token(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((partner_id, user_id)): Path<(PartnerId, UserId)>,
    mut body: IdemJson<NewPublisherToken>,
) -> ApiResult<Response> {
    let name = body.value.name.clone().unwrap_or_else(|| "api".into());
    let reply = body.sealed_reply(StatusCode::CREATED, |v| IssuedTokenDto::from(v));
    let result = state.services.publisher_create_token(&publisher, partner_id, user_id, &name, reply.keep()).await;
    Ok(no_store(reply.send(result).await?))
}

/// The market table: currency and tax rule per country.
#[utoipa::path(get, path = "/v1/publisher/markets", tag = "publisher",
    responses((status = 200, body = Vec<MarketDto>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_markets(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
) -> ApiResult<Json<Vec<MarketDto>>> {
    Ok(Json(state.services.list_markets(&publisher).await?.iter().map(MarketDto::from).collect()))
}

/// Set a market's currency, tax rate and whether prices include tax.
#[utoipa::path(put, path = "/v1/publisher/markets/{country}", tag = "publisher", request_body = MarketUpdate,
    params(("country" = String, Path, description = "ISO 3166-1 alpha-2 code")),
    responses((status = 200, body = MarketDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_market(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(country): Path<String>,
    body: IdemJson<MarketUpdate>,
) -> ApiResult<Json<MarketDto>> {
    // A PUT takes no idempotency key.
    let v = &body.value;
    let market =
        state.services.put_market(&publisher, &country, &v.currency_code, &v.tax_rate, v.tax_inclusive).await?;
    Ok(Json(MarketDto::from(&market)))
}
