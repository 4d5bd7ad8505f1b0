//! The Software page (R6) and entitlements, any role.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use domain::ids::TenantId;
use domain::policy::Action;
use domain::software::SoftwareItem;
use serde::{Deserialize, Serialize};
use services::software::Entitlement;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

fn date_time(d: time::Date) -> String {
    format!("{d}T00:00:00Z")
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareItemDto {
    pub id: String,
    pub product_id: String,
    pub sku_id: String,
    pub title: String,
    pub order_id: String,
    pub line_item_number: u32,
    /// `active` or `cancelled`.
    pub status: String,
    pub purchase_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    /// The end of the term (none for perpetual software).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    /// Whether "Get keys and downloads" can show a key (an admin agent's action).
    pub key_available: bool,
    pub attributes: Attributes,
}

impl From<&SoftwareItem> for SoftwareItemDto {
    fn from(i: &SoftwareItem) -> SoftwareItemDto {
        SoftwareItemDto {
            id: i.id.to_string(),
            product_id: i.product_id.clone(),
            sku_id: i.sku_id.clone(),
            title: i.title.clone(),
            order_id: i.order_id.to_string(),
            line_item_number: i.line_number,
            status: i.status.as_str().into(),
            purchase_date: i.purchased_at.to_rfc3339(),
            term_duration: i.term.map(|t| t.as_str().to_string()),
            expiry_date: i.expiry_date().map(date_time),
            key_available: i.key_available(),
            attributes: Attributes::of("SoftwareItem"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceOrder {
    pub id: String,
    pub line_item_id: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementDto {
    pub reference_order: ReferenceOrder,
    pub product_id: String,
    pub sku_id: String,
    pub quantity: i64,
    /// `software` or `reservedinstance`.
    pub entitlement_type: String,
    pub fulfillment_state: String,
    /// With `showExpiry=true`, for entitlements with a term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    pub attributes: Attributes,
}

fn entitlement_dto(e: &Entitlement, show_expiry: bool) -> EntitlementDto {
    EntitlementDto {
        reference_order: ReferenceOrder { id: e.order_id.to_string(), line_item_id: e.line.line_number },
        product_id: e.line.product_id.clone(),
        sku_id: e.line.sku_id.clone(),
        quantity: e.line.pricing.quantity,
        entitlement_type: e.kind.as_str().into(),
        fulfillment_state: "fulfilled".into(),
        expiry_date: if show_expiry { e.expiry_date().map(date_time) } else { None },
        attributes: Attributes::of("Entitlement"),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EntitlementParams {
    /// `software` or `reservedinstance`; absent: both.
    pub entitlement_type: Option<String>,
    /// Include `expiryDate`.
    pub show_expiry: Option<bool>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ViewSoftware, routes!(list_software)))
        .routes(requires(Action::ViewSoftware, routes!(list_entitlements)))
}

/// Every software item ever bought for the customer, with its status (the Software page).
#[utoipa::path(get, path = "/v1/customers/{customerId}/software", tag = "software",
    params(("customerId" = String, Path), PageParams),
    responses((status = 200, body = Collection<SoftwareItemDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_software(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<SoftwareItemDto>>> {
    let page = state.services.list_software(&actor, customer_id, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |i| SoftwareItemDto::from(i))))
}

/// The customer's entitlements (active order lines), in Partner Center's shape, in purchase order, paged.
#[utoipa::path(get, path = "/v1/customers/{customerId}/entitlements", tag = "software",
    params(("customerId" = String, Path), EntitlementParams, PageParams),
    responses((status = 200, body = Collection<EntitlementDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_entitlements(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(params): Query<EntitlementParams>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<EntitlementDto>>> {
    let kind = params.entitlement_type.as_deref();
    let page = state.services.entitlements(&actor, customer_id, kind, page.size()?, page.cursor(&headers)?).await?;
    let show = params.show_expiry.unwrap_or(false);
    Ok(Json(collection(page, &uri, |e| entitlement_dto(e, show))))
}
