//! Key stock (issue 19): per SKU the keys in stock, assigned and revoked, and the low-stock threshold that sends
//! the `key_stock_low` operator webhook.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{parse_json, Path, PublisherAuth, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use domain::operator::OperatorAction;
use serde::{Deserialize, Serialize};
use services::keystock::KeyStockRow;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyStockDto {
    pub product_id: String,
    pub product_title: String,
    pub sku_id: String,
    pub sku_title: String,
    /// Keys not handed out yet.
    pub in_stock: i64,
    /// Keys handed out to active software items.
    pub assigned: i64,
    /// Keys of cancelled items (revoked with them; never handed out again).
    pub revoked: i64,
    /// At or below this many keys in stock the SKU is low; `null`: no threshold.
    pub threshold: Option<i64>,
    pub low: bool,
    /// When the stock last went to or below the threshold (RFC 3339), while it stays low.
    pub low_since: Option<String>,
    pub attributes: Attributes,
}

impl From<&KeyStockRow> for KeyStockDto {
    fn from(r: &KeyStockRow) -> KeyStockDto {
        let s = &r.stock;
        KeyStockDto {
            product_id: s.product_id.clone(),
            product_title: r.product_title.clone(),
            sku_id: s.sku_id.clone(),
            sku_title: r.sku_title.clone(),
            in_stock: s.in_stock,
            assigned: s.assigned,
            revoked: s.revoked,
            threshold: s.threshold,
            low: s.is_low(),
            low_since: s.low_since.map(|t| t.to_rfc3339()),
            attributes: Attributes::of("KeyStock"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeyThreshold {
    /// 0 to 1,000,000 keys; `null` removes the threshold.
    pub threshold: Option<i64>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(list_key_stock)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(put_key_threshold)))
}

/// Every SKU of the key-bearing products with its key stock and threshold, by product and SKU id, paged.
#[utoipa::path(get, path = "/v1/publisher/keystock", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<KeyStockDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_key_stock(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<KeyStockDto>>> {
    let page = state.services.page_key_stock(&publisher, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |r| KeyStockDto::from(r))))
}

/// Set a SKU's low-stock threshold: when its stock goes to or below it (a checkout, or setting it above the
/// stock), a `key_stock_low` record is written to the operator log once and sent to the operator webhook; adding
/// keys above it ends the low state.
#[utoipa::path(put, path = "/v1/publisher/products/{productId}/skus/{skuId}/keythreshold", tag = "publisher",
    request_body = KeyThreshold, params(("productId" = String, Path), ("skuId" = String, Path)),
    responses((status = 200, body = KeyStockDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_key_threshold(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((product_id, sku_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<KeyStockDto>> {
    let v: KeyThreshold = parse_json(&body)?;
    let row = state.services.set_key_threshold(&publisher, &product_id, &sku_id, v.threshold).await?;
    Ok(Json(KeyStockDto::from(&row)))
}
