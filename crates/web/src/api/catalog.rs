//! The catalog (SPEC §5): by country (`/v1/products`) and by customer (`/v1/customers/{id}/products`), and the
//! publisher's catalog import and R1 availability lists.

use super::catalog_admin::read_document;
use super::collection::{collection, Attributes, Collection, Link, PageParams};
use super::operator_requires;
use super::requires;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{parse_json, PartnerAuth, Path, PublisherAuth, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use domain::catalog::{availability_id, catalog_item_id, MarketRule, Product, Sku};
use domain::ids::TenantId;
use domain::paging::{Cursor, Page};
use domain::policy::Action;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use services::catalog::MarketCatalog;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductTypeDto {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDto {
    /// `window`, `support_request` or `none`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductLinks {
    pub skus: Link,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDto {
    pub id: String,
    pub title: String,
    pub description: String,
    pub publisher_name: String,
    pub product_type: ProductTypeDto,
    pub cancellation_policy: PolicyDto,
    pub links: ProductLinks,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkuDto {
    pub id: String,
    pub product_id: String,
    pub title: String,
    pub description: String,
    /// ISO 8601 duration (`P1Y`); absent for perpetual software.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_duration: Option<String>,
    pub supported_billing_cycles: Vec<String>,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyDto {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceDto {
    /// The published list price, tax-inclusive in AU and BR (R4).
    pub list_price: String,
    pub currency_code: String,
    pub tax_inclusive: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityDto {
    pub id: String,
    pub product_id: String,
    pub sku_id: String,
    /// `{productId}:{skuId}:{availabilityId}`, what a cart line names.
    pub catalog_item_id: String,
    pub default_currency: CurrencyDto,
    pub country: String,
    pub is_purchasable: bool,
    pub price: PriceDto,
    /// What this customer pays per unit (a customer's catalog only): from the partner's markup rules or its explicit
    /// price for the customer, else the list price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_price: Option<String>,
    /// The partner's unit cost from its price list (a customer's catalog, roles that see billing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_cost: Option<String>,
    /// Customer price less partner cost (a customer's catalog, roles that see billing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    pub attributes: Attributes,
}

fn type_name(p: &Product) -> &'static str {
    use domain::catalog::ProductType::*;
    match p.product_type {
        SoftwareSubscription => "Software subscription",
        PerpetualSoftware => "Perpetual software",
        ExtendedSecurityUpdate => "Extended security update",
        SoftwarePlan => "Software plan",
        AzureReservation => "Azure reservation",
    }
}

fn product_dto(p: &Product, base: &str, query: &str) -> ProductDto {
    ProductDto {
        id: p.id.clone(),
        title: p.title.clone(),
        description: String::new(),
        publisher_name: p.publisher_name.clone(),
        product_type: ProductTypeDto { id: p.product_type.as_str().into(), display_name: type_name(p).into() },
        cancellation_policy: PolicyDto { kind: p.policy.kind().into(), days: p.policy.window_days() },
        links: ProductLinks {
            skus: Link { uri: format!("{base}/{}/skus{query}", p.id), method: "GET".into(), headers: vec![] },
        },
        attributes: Attributes::of("Product"),
    }
}

fn sku_dto(p: &Product, s: &Sku) -> SkuDto {
    SkuDto {
        id: s.id.clone(),
        product_id: p.id.clone(),
        title: s.title.clone(),
        description: String::new(),
        term_duration: s.term.map(|t| t.as_str().to_string()),
        supported_billing_cycles: vec!["one_time".into()],
        attributes: Attributes::of("Sku"),
    }
}

fn availabilities(catalog: &MarketCatalog, p: &Product, s: &Sku) -> Vec<AvailabilityDto> {
    let m = &catalog.market;
    s.price_for(m.country)
        .map(|price| {
            let id = availability_id(&p.id, &s.id, m.country);
            AvailabilityDto {
                catalog_item_id: catalog_item_id(&p.id, &s.id, &id),
                id,
                product_id: p.id.clone(),
                sku_id: s.id.clone(),
                default_currency: CurrencyDto { code: price.currency.clone() },
                country: m.country.as_str().into(),
                is_purchasable: true,
                price: PriceDto {
                    list_price: price.list_price.format(),
                    currency_code: price.currency.clone(),
                    tax_inclusive: m.tax_inclusive,
                },
                customer_price: None,
                partner_cost: None,
                margin: None,
                attributes: Attributes::of("Availability"),
            }
        })
        .into_iter()
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CountryParams {
    /// The market: ISO 3166-1 alpha-2 code.
    pub country: String,
    /// `Software`, `SoftwareSubscriptions`, `SoftwarePerpetual`, `SoftwareSUSELinux` or `AzureReservations`;
    /// absent: every product.
    pub target_view: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of `links.next`.
    pub seek_operation: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ViewParams {
    /// `Software`, `SoftwareSubscriptions`, `SoftwarePerpetual`, `SoftwareSUSELinux` or `AzureReservations`;
    /// absent: every product.
    pub target_view: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of `links.next`.
    pub seek_operation: Option<String>,
}

/// Pages the (small, in-memory) product list by id.
fn product_page(
    catalog: &MarketCatalog,
    size: Option<i64>,
    seek: Option<String>,
    headers: &HeaderMap,
) -> Result<Page<Product>, ApiError> {
    let paging = PageParams { size, seek_operation: seek };
    let size = paging.size()?;
    let after = paging.cursor(headers)?;
    let rows: Vec<Product> = catalog
        .products
        .iter()
        .filter(|p| after.as_ref().is_none_or(|c| p.id > c.id))
        .take(size.get() as usize + 1)
        .cloned()
        .collect();
    Ok(Page::from_rows(rows, size, |p| Cursor { at: Timestamp::from_micros(0), id: p.id.clone() }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ViewCatalog, routes!(products_by_country)))
        .routes(requires(Action::ViewCatalog, routes!(product_by_country)))
        .routes(requires(Action::ViewCatalog, routes!(skus_by_country)))
        .routes(requires(Action::ViewCatalog, routes!(availabilities_by_country)))
        .routes(requires(Action::ViewCatalog, routes!(customer_products)))
        .routes(requires(Action::ViewCatalog, routes!(customer_product)))
        .routes(requires(Action::ViewCatalog, routes!(customer_skus)))
        .routes(requires(Action::ViewCatalog, routes!(customer_availabilities)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(import_catalog)))
        .routes(operator_requires(domain::operator::OperatorAction::ViewPlatform, routes!(list_type_availability)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(put_type_availability)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(put_product_availability)))
}

/// Products offered in a market (any role).
#[utoipa::path(get, path = "/v1/products", tag = "catalog", params(CountryParams),
    responses((status = 200, body = Collection<ProductDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn products_by_country(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(q): Query<CountryParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ProductDto>>> {
    let catalog = state.services.country_catalog(&actor, &q.country, q.target_view.as_deref()).await?;
    let page = product_page(&catalog, q.size, q.seek_operation, &headers)?;
    let suffix = format!("?country={}", catalog.market.country);
    Ok(Json(collection(page, &uri, |p| product_dto(p, "/products", &suffix))))
}

/// One product offered in a market.
#[utoipa::path(get, path = "/v1/products/{productId}", tag = "catalog",
    params(("productId" = String, Path), ("country" = String, Query)),
    responses((status = 200, body = ProductDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn product_by_country(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(product_id): Path<String>,
    Query(q): Query<CountryParams>,
) -> ApiResult<Json<ProductDto>> {
    let catalog = state.services.country_catalog(&actor, &q.country, None).await?;
    let suffix = format!("?country={}", catalog.market.country);
    Ok(Json(product_dto(catalog.product(&product_id)?, "/products", &suffix)))
}

/// A product's SKUs offered in a market.
#[utoipa::path(get, path = "/v1/products/{productId}/skus", tag = "catalog",
    params(("productId" = String, Path), ("country" = String, Query)),
    responses((status = 200, body = Collection<SkuDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn skus_by_country(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(product_id): Path<String>,
    Query(q): Query<CountryParams>,
    uri: Uri,
) -> ApiResult<Json<Collection<SkuDto>>> {
    let catalog = state.services.country_catalog(&actor, &q.country, None).await?;
    let p = catalog.product(&product_id)?;
    Ok(Json(super::collection::whole(p.skus.iter().map(|s| sku_dto(p, s)).collect(), &uri)))
}

/// A SKU's availability (price) in a market.
#[utoipa::path(get, path = "/v1/products/{productId}/skus/{skuId}/availabilities", tag = "catalog",
    params(("productId" = String, Path), ("skuId" = String, Path), ("country" = String, Query)),
    responses((status = 200, body = Collection<AvailabilityDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn availabilities_by_country(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((product_id, sku_id)): Path<(String, String)>,
    Query(q): Query<CountryParams>,
    uri: Uri,
) -> ApiResult<Json<Collection<AvailabilityDto>>> {
    let catalog = state.services.country_catalog(&actor, &q.country, None).await?;
    let p = catalog.product(&product_id)?;
    let s = p.sku(&sku_id).ok_or_else(ApiError::not_found)?;
    Ok(Json(super::collection::whole(availabilities(&catalog, p, s), &uri)))
}

/// Products for a customer's market (any role); what is unavailable there is left out (R1).
#[utoipa::path(get, path = "/v1/customers/{customerId}/products", tag = "catalog",
    params(("customerId" = String, Path), ViewParams),
    responses((status = 200, body = Collection<ProductDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn customer_products(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(q): Query<ViewParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ProductDto>>> {
    let (c, catalog) = state.services.customer_catalog(&actor, customer_id, q.target_view.as_deref()).await?;
    let page = product_page(&catalog, q.size, q.seek_operation, &headers)?;
    let base = format!("/customers/{}/products", c.tenant_id);
    Ok(Json(collection(page, &uri, |p| product_dto(p, &base, ""))))
}

/// One product for a customer's market.
#[utoipa::path(get, path = "/v1/customers/{customerId}/products/{productId}", tag = "catalog",
    params(("customerId" = String, Path), ("productId" = String, Path)),
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn customer_product(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, product_id)): Path<(TenantId, String)>,
) -> ApiResult<Json<ProductDto>> {
    let (c, catalog) = state.services.customer_catalog(&actor, customer_id, None).await?;
    let base = format!("/customers/{}/products", c.tenant_id);
    Ok(Json(product_dto(catalog.product(&product_id)?, &base, "")))
}

/// A product's SKUs for a customer's market.
#[utoipa::path(get, path = "/v1/customers/{customerId}/products/{productId}/skus", tag = "catalog",
    params(("customerId" = String, Path), ("productId" = String, Path)),
    responses((status = 200, body = Collection<SkuDto>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn customer_skus(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, product_id)): Path<(TenantId, String)>,
    uri: Uri,
) -> ApiResult<Json<Collection<SkuDto>>> {
    let (_, catalog) = state.services.customer_catalog(&actor, customer_id, None).await?;
    let p = catalog.product(&product_id)?;
    Ok(Json(super::collection::whole(p.skus.iter().map(|s| sku_dto(p, s)).collect(), &uri)))
}

/// A SKU's availability (price) for a customer's market.
#[utoipa::path(get, path = "/v1/customers/{customerId}/products/{productId}/skus/{skuId}/availabilities", tag = "catalog",
    params(("customerId" = String, Path), ("productId" = String, Path), ("skuId" = String, Path)),
    responses((status = 200, body = Collection<AvailabilityDto>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn customer_availabilities(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, product_id, sku_id)): Path<(TenantId, String, String)>,
    uri: Uri,
) -> ApiResult<Json<Collection<AvailabilityDto>>> {
    let (customer, catalog) = state.services.customer_catalog(&actor, customer_id, None).await?;
    let p = catalog.product(&product_id)?;
    let s = p.sku(&sku_id).ok_or_else(ApiError::not_found)?;
    let sheet = state.services.price_sheet(&actor, &customer, &catalog).await?;
    let mut items = availabilities(&catalog, p, s);
    if let Some(line) = sheet.iter().find(|l| l.product_id == p.id && l.sku_id == s.id) {
        for a in &mut items {
            a.customer_price = Some(line.customer.format());
            a.partner_cost = line.cost.map(|c| c.format());
            a.margin = line.margin.map(|m| m.format());
        }
    }
    Ok(Json(super::collection::whole(items, &uri)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportCounts {
    pub products: u64,
    pub skus: u64,
    pub prices: u64,
}

/// Upsert products from a catalog document (publisher). Each product named replaces its stored SKUs and prices.
#[utoipa::path(put, path = "/v1/publisher/catalog", tag = "publisher", request_body = Object,
    responses((status = 200, body = ImportCounts), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn import_catalog(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    body: axum::body::Body,
) -> ApiResult<Json<ImportCounts>> {
    let body = read_document(body).await?;
    let c = state.services.import_catalog(&publisher, &body).await?;
    Ok(Json(ImportCounts { products: c.products, skus: c.skus, prices: c.prices }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_markets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_markets: Option<Vec<String>>,
}

fn rule_dto(t: &str, rule: &MarketRule) -> AvailabilityRule {
    let codes = |v: &[domain::market::MarketCode]| Some(v.iter().map(|m| m.as_str().to_string()).collect());
    match rule {
        MarketRule::UnavailableIn(v) => {
            AvailabilityRule { product_type: Some(t.into()), unavailable_markets: codes(v), available_markets: None }
        }
        MarketRule::AvailableOnlyIn(v) => {
            AvailabilityRule { product_type: Some(t.into()), unavailable_markets: None, available_markets: codes(v) }
        }
    }
}

/// The product types' market lists (R1).
#[utoipa::path(get, path = "/v1/publisher/availability", tag = "publisher",
    responses((status = 200, body = Vec<AvailabilityRule>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_type_availability(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
) -> ApiResult<Json<Vec<AvailabilityRule>>> {
    let rules = state.services.type_availability(&publisher).await?;
    Ok(Json(rules.iter().map(|(t, r)| rule_dto(t.as_str(), r)).collect()))
}

/// Set the markets a product type is unavailable in (or the only ones it is available in).
#[utoipa::path(put, path = "/v1/publisher/availability/{productType}", tag = "publisher", request_body = AvailabilityRule,
    params(("productType" = String, Path)),
    responses((status = 200, body = AvailabilityRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_type_availability(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(product_type): Path<String>,
    body: Bytes,
) -> ApiResult<Json<AvailabilityRule>> {
    let rule: AvailabilityRule = parse_json(&body)?;
    let stored = state
        .services
        .put_type_availability(
            &publisher,
            &product_type,
            rule.available_markets.as_deref(),
            rule.unavailable_markets.as_deref(),
        )
        .await?;
    Ok(Json(rule_dto(&product_type, &stored)))
}

/// A product's own market list (R1); with neither list the product follows its type's.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductAvailability {
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_markets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_markets: Option<Vec<String>>,
}

/// Set a product's own market list, which replaces its type's (`availableMarkets` or `unavailableMarkets`); a body
/// with neither makes the product follow its type's list again.
#[utoipa::path(put, path = "/v1/publisher/products/{productId}/availability", tag = "publisher",
    request_body = ProductAvailability, params(("productId" = String, Path)),
    responses((status = 200, body = ProductAvailability), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_product_availability(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(product_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ProductAvailability>> {
    let v: ProductAvailability = parse_json(&body)?;
    let stored = state
        .services
        .put_product_availability(
            &publisher,
            &product_id,
            v.available_markets.as_deref(),
            v.unavailable_markets.as_deref(),
        )
        .await?;
    let mut out =
        ProductAvailability { product_id: Some(product_id), unavailable_markets: None, available_markets: None };
    if let Some(rule) = stored {
        let dto = rule_dto("", &rule);
        (out.available_markets, out.unavailable_markets) = (dto.available_markets, dto.unavailable_markets);
    }
    Ok(Json(out))
}
