//! `/v1/publisher/pricelists…` and a partner's assignment (issue 23): what partners pay, per SKU and market,
//! effective-dated (publisher token only).

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Path, PublisherAuth, Query};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::ids::{PartnerId, PriceListId};
use domain::operator::OperatorAction;
use domain::pricelist::{CostPriceDraft, PriceList, PriceListVersion};
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use services::pricelists::VersionDraft;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewPriceList {
    pub name: String,
    /// The list of every partner without one of its own (taken from the list that was the default).
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostPriceDto {
    pub product_id: String,
    pub sku_id: String,
    /// ISO 3166-1 alpha-2 market.
    pub country: String,
    /// The market's currency.
    pub currency_code: String,
    /// The partner's unit cost, with the currency's decimals ("1056.00"); tax-inclusive where the market's list
    /// prices are (R4).
    pub cost: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewVersion {
    /// When it takes effect (RFC 3339, or YYYY-MM-DD for midnight UTC; future dates allowed); absent: a draft.
    #[serde(default)]
    pub effective_from: Option<String>,
    /// Percent off the list price for SKUs without an explicit price ("12" for −12%).
    #[serde(default)]
    pub discount_percent: Option<String>,
    /// Explicit partner costs; they win over the rule.
    #[serde(default)]
    pub prices: Vec<CostPriceDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleVersion {
    /// When the version takes effect (RFC 3339 or YYYY-MM-DD); only while it has not yet.
    pub effective_from: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignPriceList {
    pub price_list_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceListVersionDto {
    pub version: u32,
    /// `draft`, `scheduled`, `active` or `superseded`, on the publisher's clock now.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<String>,
    pub price_count: usize,
    /// The explicit prices (only when one list is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<CostPriceDto>>,
    pub created_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceListDto {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub created_date: String,
    pub versions: Vec<PriceListVersionDto>,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceListAssignmentDto {
    pub partner_id: String,
    /// The list the partner follows (its own, else the default); absent: no list applies and it pays list prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_name: Option<String>,
    pub attributes: Attributes,
}

fn assignment_dto(partner: PartnerId, list: Option<&PriceList>) -> PriceListAssignmentDto {
    PriceListAssignmentDto {
        partner_id: partner.to_string(),
        price_list_id: list.map(|l| l.id.to_string()),
        price_list_name: list.map(|l| l.name.clone()),
        attributes: Attributes::of("PriceListAssignment"),
    }
}

fn version_dto(list: &PriceList, v: &PriceListVersion, now: Timestamp, with_prices: bool) -> PriceListVersionDto {
    PriceListVersionDto {
        version: v.number,
        status: list.status_of(v, now).as_str().into(),
        effective_from: v.effective_from.map(Timestamp::to_rfc3339),
        discount_percent: v.discount_percent.map(|d| d.to_string()),
        price_count: v.prices.len(),
        prices: with_prices.then(|| {
            v.prices
                .iter()
                .map(|p| CostPriceDto {
                    product_id: p.product_id.clone(),
                    sku_id: p.sku_id.clone(),
                    country: p.country.as_str().into(),
                    currency_code: p.currency.clone(),
                    cost: p.cost.format(),
                })
                .collect()
        }),
        created_date: v.created_at.to_rfc3339(),
    }
}

/// A list as seen at `now`; `with_prices` for one list read whole.
pub fn price_list_dto(list: &PriceList, now: Timestamp, with_prices: bool) -> PriceListDto {
    PriceListDto {
        id: list.id.to_string(),
        name: list.name.clone(),
        is_default: list.is_default,
        created_date: list.created_at.to_rfc3339(),
        versions: list.versions.iter().map(|v| version_dto(list, v, now, with_prices)).collect(),
        attributes: Attributes::of("PriceList"),
    }
}

impl From<&CostPriceDto> for CostPriceDraft {
    fn from(p: &CostPriceDto) -> CostPriceDraft {
        CostPriceDraft {
            product_id: p.product_id.clone(),
            sku_id: p.sku_id.clone(),
            country: p.country.clone(),
            currency_code: p.currency_code.clone(),
            cost: p.cost.clone(),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(create_price_list)))
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(list_price_lists)))
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(get_price_list)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(add_version)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(schedule_version)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(assign_price_list)))
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(get_assigned_price_list)))
}

/// Create a price list (empty until its first version); `isDefault` makes it the list of every partner without one.
#[utoipa::path(post, path = "/v1/publisher/pricelists", tag = "publisher", request_body = NewPriceList,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = PriceListDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_price_list(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    mut body: IdemJson<NewPriceList>,
) -> ApiResult<Response> {
    let now = state.services.now();
    let reply = body.reply(StatusCode::CREATED, move |l| price_list_dto(l, now, true));
    let v = &body.value;
    let result = state.services.create_price_list(&publisher, &v.name, v.is_default, reply.keep()).await;
    reply.send(result).await
}

/// The price lists, oldest first, paged; each with its versions and their status now (without explicit prices).
#[utoipa::path(get, path = "/v1/publisher/pricelists", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<PriceListDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_price_lists(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<PriceListDto>>> {
    let page = state.services.page_price_lists(&publisher, params.size()?, params.cursor(&headers)?).await?;
    let now = state.services.now();
    Ok(Json(collection(page, &uri, |l| price_list_dto(l, now, false))))
}

/// One price list with every version's explicit prices.
#[utoipa::path(get, path = "/v1/publisher/pricelists/{priceListId}", tag = "publisher",
    params(("priceListId" = String, Path)),
    responses((status = 200, body = PriceListDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_price_list(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<PriceListId>,
) -> ApiResult<Json<PriceListDto>> {
    let list = state.services.get_price_list(&publisher, id).await?;
    Ok(Json(price_list_dto(&list, state.services.now(), true)))
}

/// Add the next version: a rule (`discountPercent` off the list price), explicit prices (which win), or both;
/// a draft without `effectiveFrom`. Orders already placed keep the cost they were charged.
#[utoipa::path(post, path = "/v1/publisher/pricelists/{priceListId}/versions", tag = "publisher",
    request_body = NewVersion,
    params(("priceListId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = PriceListDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_version(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<PriceListId>,
    mut body: IdemJson<NewVersion>,
) -> ApiResult<Response> {
    let now = state.services.now();
    let reply = body.reply(StatusCode::CREATED, move |l| price_list_dto(l, now, true));
    let v = &body.value;
    let draft = VersionDraft {
        effective_from: v.effective_from.clone(),
        discount_percent: v.discount_percent.clone(),
        prices: v.prices.iter().map(CostPriceDraft::from).collect(),
    };
    let result = state.services.add_price_list_version(&publisher, id, draft, reply.keep()).await;
    reply.send(result).await
}

/// Schedule a draft (or move a scheduled version): set when it takes effect; refused with 409 once it has.
#[utoipa::path(patch, path = "/v1/publisher/pricelists/{priceListId}/versions/{version}", tag = "publisher",
    request_body = ScheduleVersion,
    params(("priceListId" = String, Path), ("version" = u32, Path),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = PriceListDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn schedule_version(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((id, version)): Path<(PriceListId, u32)>,
    mut body: IdemJson<ScheduleVersion>,
) -> ApiResult<Response> {
    let now = state.services.now();
    let reply = body.reply(StatusCode::OK, move |l| price_list_dto(l, now, true));
    let at = body.value.effective_from.clone();
    let result = state.services.schedule_price_list_version(&publisher, id, version, &at, reply.keep()).await;
    reply.send(result).await
}

/// Assign a partner its price list (it follows the list's active version from now on; before this, the default list).
#[utoipa::path(put, path = "/v1/publisher/partners/{partnerId}/pricelist", tag = "publisher",
    request_body = AssignPriceList, params(("partnerId" = String, Path)),
    responses((status = 200, body = PriceListAssignmentDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn assign_price_list(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(partner_id): Path<PartnerId>,
    body: IdemJson<AssignPriceList>,
) -> ApiResult<Json<PriceListAssignmentDto>> {
    // A PUT takes no idempotency key.
    let list = PriceListId::parse(body.value.price_list_id.trim())
        .ok_or_else(|| domain::DomainError::invalid("priceListId", "expected the id of a price list (a GUID)"))?;
    let (partner, list) = state.services.assign_price_list(&publisher, partner_id, list).await?;
    Ok(Json(assignment_dto(partner.id, Some(&list))))
}

/// The price list a partner follows now: its own, else the default list; none: it pays list prices.
#[utoipa::path(get, path = "/v1/publisher/partners/{partnerId}/pricelist", tag = "publisher",
    params(("partnerId" = String, Path)),
    responses((status = 200, body = PriceListAssignmentDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_assigned_price_list(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(partner_id): Path<PartnerId>,
) -> ApiResult<Json<PriceListAssignmentDto>> {
    let list = state.services.assigned_price_list(&publisher, partner_id).await?;
    Ok(Json(assignment_dto(partner_id, list.as_ref())))
}
