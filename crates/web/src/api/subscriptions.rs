//! Partner Center's subscriptions (`/v1/customers/{id}/subscriptions`), any role: the customer's term purchases.

use super::collection::{api_relative, collection, Attributes, Collection, Link, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use domain::ids::TenantId;
use domain::policy::Action;
use domain::subscription::Subscription;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionLinks {
    /// The subscription itself.
    #[serde(rename = "self")]
    pub self_: Link,
}

/// Partner Center's `Subscription`, for a term purchase.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionDto {
    /// Stable for the order line it stands for.
    pub id: String,
    /// `{productId}:{skuId}:{availabilityId}`, as on the order line.
    pub offer_id: String,
    pub offer_name: String,
    pub friendly_name: String,
    pub quantity: i64,
    pub unit_type: String,
    /// The purchase instant.
    pub creation_date: String,
    pub effective_start_date: String,
    /// The last day of the term.
    pub commitment_end_date: String,
    /// `active`, `deleted` (cancelled) or `expired` (past its term).
    pub status: String,
    pub auto_renew_enabled: bool,
    pub is_trial: bool,
    pub billing_type: String,
    pub billing_cycle: String,
    pub term_duration: String,
    pub contract_type: String,
    pub order_id: String,
    /// Partnerhub's numbering of the order line (from 0, as Partner Center's).
    pub line_item_number: u32,
    pub links: SubscriptionLinks,
    pub attributes: Attributes,
}

fn subscription_dto(s: &Subscription, customer_id: TenantId) -> SubscriptionDto {
    let l = &s.line;
    let start = s.purchased_at.to_rfc3339();
    SubscriptionDto {
        id: s.id.clone(),
        offer_id: format!("{}:{}:{}", l.product_id, l.sku_id, l.availability_id),
        offer_name: l.title.clone(),
        friendly_name: l.friendly_name.clone().unwrap_or_else(|| l.title.clone()),
        quantity: l.pricing.quantity,
        unit_type: "Licenses".into(),
        creation_date: start.clone(),
        effective_start_date: start,
        commitment_end_date: format!("{}T00:00:00Z", s.commitment_end),
        status: s.status.as_str().into(),
        auto_renew_enabled: false,
        is_trial: false,
        billing_type: "license".into(),
        billing_cycle: "one_time".into(),
        term_duration: l.term.map(|t| t.as_str().to_string()).unwrap_or_default(),
        contract_type: "subscription".into(),
        order_id: s.order_id.to_string(),
        line_item_number: l.line_number,
        links: SubscriptionLinks {
            self_: Link {
                uri: api_relative(&format!("/v1/customers/{customer_id}/subscriptions/{}", s.id)).to_string(),
                method: "GET".into(),
                headers: vec![],
            },
        },
        attributes: Attributes::of("Subscription"),
    }
}

pub fn routes() -> OpenApiRouter<crate::AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ViewOrders, routes!(list_subscriptions)))
        .routes(requires(Action::ViewOrders, routes!(get_subscription)))
}

/// The customer's subscriptions (software subscriptions and plans, reservations), oldest purchase first, paged
/// (any role). Cancelled ones are `deleted`, those past their term `expired`.
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions", tag = "orders",
    params(("customerId" = String, Path), PageParams),
    responses((status = 200, body = Collection<SubscriptionDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_subscriptions(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<SubscriptionDto>>> {
    let page = state.services.subscriptions(&actor, customer_id, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |s| subscription_dto(s, customer_id))))
}

/// One subscription (any role); another partner's, or an unknown id, is 404.
#[utoipa::path(get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}", tag = "orders",
    params(("customerId" = String, Path), ("subscriptionId" = String, Path)),
    responses((status = 200, body = SubscriptionDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_subscription(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, subscription_id)): Path<(TenantId, String)>,
) -> ApiResult<Json<SubscriptionDto>> {
    let s = state.services.subscription(&actor, customer_id, &subscription_id).await?;
    Ok(Json(subscription_dto(&s, customer_id)))
}
