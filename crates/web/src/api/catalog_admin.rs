//! The publisher's view of its catalog (`GET /v1/publisher/catalog`, the stored catalog as a catalog document) and
//! the preview of an import (`POST /v1/publisher/catalog/preview`): what the console's catalog page shows.

use super::operator_requires;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::PublisherAuth;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use domain::catalog::{Product, Sku};
use domain::catalog_diff::{CatalogChange, CatalogDiff, Tally};
use domain::operator::OperatorAction;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The largest catalog document accepted (as `PUT /v1/publisher/catalog`).
pub const CATALOG_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPolicy {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPrice {
    pub country: String,
    pub currency_code: String,
    pub list_price: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSku {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    pub prices: Vec<DocumentPrice>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentProduct {
    pub id: String,
    pub title: String,
    pub publisher_name: String,
    pub product_type: String,
    pub cancellation_policy: DocumentPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_markets: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_markets: Option<Vec<String>>,
    pub skus: Vec<DocumentSku>,
}

/// The stored catalog in the form `PUT /v1/publisher/catalog` takes: putting it back changes nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogDocument {
    pub products: Vec<DocumentProduct>,
}

fn codes(v: &Option<Vec<domain::market::MarketCode>>) -> Option<Vec<String>> {
    v.as_ref().map(|v| v.iter().map(|m| m.as_str().to_string()).collect())
}

fn document_sku(s: &Sku) -> DocumentSku {
    DocumentSku {
        id: s.id.clone(),
        title: s.title.clone(),
        term_duration: s.term.map(|t| t.as_str().to_string()),
        prices: s
            .prices
            .iter()
            .map(|p| DocumentPrice {
                country: p.country.as_str().to_string(),
                currency_code: p.currency.clone(),
                list_price: p.list_price.to_string(),
            })
            .collect(),
    }
}

pub fn document_product(p: &Product) -> DocumentProduct {
    DocumentProduct {
        id: p.id.clone(),
        title: p.title.clone(),
        publisher_name: p.publisher_name.clone(),
        product_type: p.product_type.as_str().to_string(),
        cancellation_policy: DocumentPolicy { kind: p.policy.kind().to_string(), days: p.policy.window_days() },
        available_markets: codes(&p.available_markets),
        unavailable_markets: codes(&p.unavailable_markets),
        skus: p.skus.iter().map(document_sku).collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TallyDto {
    pub added: usize,
    pub changed: usize,
    pub withdrawn: usize,
    pub unchanged: usize,
}

impl From<Tally> for TallyDto {
    fn from(t: Tally) -> TallyDto {
        TallyDto { added: t.added, changed: t.changed, withdrawn: t.withdrawn, unchanged: t.unchanged }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogChangeDto {
    /// `product`, `sku` or `price`.
    pub level: String,
    /// `added`, `changed` or `withdrawn`.
    pub change: String,
    pub product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// For a change: the fields that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A price as `USD 1200.00`, a product's or SKU's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl From<&CatalogChange> for CatalogChangeDto {
    fn from(c: &CatalogChange) -> CatalogChangeDto {
        CatalogChangeDto {
            level: c.level.as_str().to_string(),
            change: c.kind.as_str().to_string(),
            product_id: c.product_id.clone(),
            sku_id: c.sku_id.clone(),
            country: c.country.map(|m| m.as_str().to_string()),
            fields: c.fields.iter().map(|f| f.to_string()).collect(),
            before: c.before.clone(),
            after: c.after.clone(),
        }
    }
}

/// What importing a document would change. Products the document does not name are kept (`unchanged`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogPreviewDto {
    pub products: TallyDto,
    pub skus: TallyDto,
    pub prices: TallyDto,
    pub changes: Vec<CatalogChangeDto>,
}

impl From<&CatalogDiff> for CatalogPreviewDto {
    fn from(d: &CatalogDiff) -> CatalogPreviewDto {
        CatalogPreviewDto {
            products: d.products.into(),
            skus: d.skus.into(),
            prices: d.prices.into(),
            changes: d.changes.iter().map(CatalogChangeDto::from).collect(),
        }
    }
}

/// A catalog document from a request's body: at most [`CATALOG_LIMIT`] bytes, no NUL characters.
pub async fn read_document(body: axum::body::Body) -> ApiResult<axum::body::Bytes> {
    let body =
        axum::body::to_bytes(body, CATALOG_LIMIT).await.map_err(|_| ApiError::payload_too_large(CATALOG_LIMIT))?;
    crate::extract::refuse_nul(&body)?;
    Ok(body)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::ViewPlatform, routes!(get_catalog)))
        .routes(operator_requires(OperatorAction::ManageCatalog, routes!(preview_catalog)))
}

/// The stored catalog, every product with its SKUs and prices in every market, as a catalog document.
#[utoipa::path(get, path = "/v1/publisher/catalog", tag = "publisher",
    responses((status = 200, body = CatalogDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_catalog(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
) -> ApiResult<Json<CatalogDocument>> {
    let (products, _) = state.services.publisher_catalog(&publisher).await?;
    Ok(Json(CatalogDocument { products: products.iter().map(document_product).collect() }))
}

/// What `PUT /v1/publisher/catalog` with this document would change (products, SKUs and prices added, changed,
/// withdrawn); nothing is written. A document that would not import is refused the same way.
#[utoipa::path(post, path = "/v1/publisher/catalog/preview", tag = "publisher", request_body = Object,
    responses((status = 200, body = CatalogPreviewDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn preview_catalog(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    body: axum::body::Body,
) -> ApiResult<Json<CatalogPreviewDto>> {
    let body = read_document(body).await?;
    let diff = state.services.preview_catalog(&publisher, &body).await?;
    Ok(Json(CatalogPreviewDto::from(&diff)))
}
