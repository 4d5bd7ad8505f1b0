//! Customer prices (issue 23): a partner's markup rules and per-customer prices, and a customer's price sheet (list
//! price, customer price, and the partner's cost and margin for the roles that see billing).

use super::collection::{collection, page_of_sorted, whole, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::customer_price::{Markup, MarkupRule, MarkupRuleDraft, PriceOverride, PriceOverrideDraft, PriceSource};
use domain::ids::{MarkupRuleId, TenantId};
use domain::paging::Cursor;
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use services::customer_prices::SheetLine;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewMarkupRule {
    /// Only this customer (a tenant id); absent: every customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Only this product type (`software_subscription`, …).
    #[serde(default)]
    pub product_type: Option<String>,
    /// Only this product (not with `productType`).
    #[serde(default)]
    pub product_id: Option<String>,
    /// `cost` (the partner's cost) or `list` (the list price).
    pub basis: String,
    /// A percentage added to the basis ("15" for +15%); or give `amount` and `currencyCode`.
    #[serde(default)]
    pub percent: Option<String>,
    /// A fixed amount added per unit, in `currencyCode` (applies to that currency's markets only).
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    /// From when (RFC 3339 or YYYY-MM-DD); default: now on the partner's clock.
    #[serde(default)]
    pub effective_from: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkupRuleDto {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    pub basis: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    pub effective_from: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&MarkupRule> for MarkupRuleDto {
    fn from(r: &MarkupRule) -> MarkupRuleDto {
        let (percent, amount, currency_code) = match &r.markup {
            Markup::Percent(p) => (Some(p.to_string()), None, None),
            Markup::Fixed { amount, currency } => (None, Some(amount.format()), Some(currency.clone())),
        };
        MarkupRuleDto {
            id: r.id.to_string(),
            customer_id: r.customer_id.map(|c| c.to_string()),
            product_type: r.product_type.map(|t| t.as_str().to_string()),
            product_id: r.product_id.clone(),
            basis: r.basis.as_str().into(),
            percent,
            amount,
            currency_code,
            effective_from: r.effective_from.to_rfc3339(),
            created_date: r.created_at.to_rfc3339(),
            attributes: Attributes::of("MarkupRule"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewPriceOverride {
    pub product_id: String,
    pub sku_id: String,
    /// The customer's unit price, in its market's currency (tax-inclusive where list prices are, R4).
    pub unit_price: String,
    /// From when (RFC 3339 or YYYY-MM-DD); default: now on the partner's clock.
    #[serde(default)]
    pub effective_from: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceOverrideDto {
    pub customer_id: String,
    pub product_id: String,
    pub sku_id: String,
    pub unit_price: String,
    pub currency_code: String,
    pub effective_from: String,
    pub attributes: Attributes,
}

impl From<&PriceOverride> for PriceOverrideDto {
    fn from(o: &PriceOverride) -> PriceOverrideDto {
        PriceOverrideDto {
            customer_id: o.customer_id.to_string(),
            product_id: o.product_id.clone(),
            sku_id: o.sku_id.clone(),
            unit_price: o.unit_price.format(),
            currency_code: o.currency.clone(),
            effective_from: o.effective_from.to_rfc3339(),
            attributes: Attributes::of("CustomerPrice"),
        }
    }
}

/// A SKU as the partner sells it to one customer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SheetLineDto {
    pub product_id: String,
    pub product_title: String,
    pub sku_id: String,
    pub sku_title: String,
    pub currency_code: String,
    pub tax_inclusive: bool,
    pub list_price: String,
    pub customer_price: String,
    /// `list_price`, `rule` or `override`.
    pub customer_price_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markup_rule_id: Option<String>,
    /// The partner's unit cost (roles that see billing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_cost: Option<String>,
    /// Customer price less cost (roles that see billing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    pub attributes: Attributes,
}

pub fn source_name(s: PriceSource) -> (&'static str, Option<String>) {
    match s {
        PriceSource::ListPrice => ("list_price", None),
        PriceSource::Rule(id) => ("rule", Some(id.to_string())),
        PriceSource::Override => ("override", None),
    }
}

impl From<&SheetLine> for SheetLineDto {
    fn from(l: &SheetLine) -> SheetLineDto {
        let (source, rule) = source_name(l.source);
        SheetLineDto {
            product_id: l.product_id.clone(),
            product_title: l.product_title.clone(),
            sku_id: l.sku_id.clone(),
            sku_title: l.sku_title.clone(),
            currency_code: l.currency.clone(),
            tax_inclusive: l.tax_inclusive,
            list_price: l.list.format(),
            customer_price: l.customer.format(),
            customer_price_source: source.into(),
            markup_rule_id: rule,
            partner_cost: l.cost.map(|c| c.format()),
            margin: l.margin.map(|m| m.format()),
            attributes: Attributes::of("PriceSheetLine"),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ManagePrices, routes!(list_markup_rules, create_markup_rule)))
        .routes(requires(Action::ManagePrices, routes!(delete_markup_rule)))
        .routes(requires(Action::ManagePrices, routes!(list_price_overrides, put_price_override)))
        .routes(requires(Action::ViewMargins, routes!(price_sheet)))
}

/// The partner's markup rules (what its customers pay), oldest first.
#[utoipa::path(get, path = "/v1/pricing/markuprules", tag = "pricing", params(PageParams),
    responses((status = 200, body = Collection<MarkupRuleDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_markup_rules(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<MarkupRuleDto>>> {
    let (size, after) = (params.size()?, params.cursor(&headers)?);
    let mut rules = state.services.list_markup_rules(&actor).await?;
    // The cursor's order, whatever the database's collation.
    rules.sort_by_key(|r| (r.created_at, r.id.to_string()));
    let page = page_of_sorted(
        rules,
        size,
        after.as_ref(),
        |r, c| (r.created_at, r.id.to_string()) > (c.at, c.id.clone()),
        |r| Cursor { at: r.created_at, id: r.id.to_string() },
    );
    Ok(Json(collection(page, &uri, |r| MarkupRuleDto::from(r))))
}

/// Add a markup rule: a percentage or a fixed amount on the partner's cost or on the list price, for every product,
/// a product type, a product and/or a customer, from `effectiveFrom`; the most specific rule in effect wins.
#[utoipa::path(post, path = "/v1/pricing/markuprules", tag = "pricing", request_body = NewMarkupRule,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = MarkupRuleDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_markup_rule(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<NewMarkupRule>,
) -> ApiResult<Response> {
    let customer_id =
        match body.value.customer_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(TenantId::parse(c).ok_or_else(|| {
                domain::DomainError::invalid("customerId", "expected a customer's tenant id (a GUID)")
            })?),
            None => None,
        };
    let reply = body.reply(StatusCode::CREATED, |r| MarkupRuleDto::from(r));
    let v = &body.value;
    let draft = MarkupRuleDraft {
        customer_id,
        product_type: v.product_type.clone(),
        product_id: v.product_id.clone(),
        basis: v.basis.clone(),
        percent: v.percent.clone(),
        amount: v.amount.clone(),
        currency_code: v.currency_code.clone(),
        effective_from: v.effective_from.clone(),
    };
    let result = state.services.create_markup_rule(&actor, draft, reply.keep()).await;
    reply.send(result).await
}

/// Delete a markup rule (orders already placed keep their customer price).
#[utoipa::path(delete, path = "/v1/pricing/markuprules/{ruleId}", tag = "pricing", params(("ruleId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_markup_rule(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<MarkupRuleId>,
) -> ApiResult<StatusCode> {
    state.services.delete_markup_rule(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A customer's explicit prices (each overrides every rule from its date).
#[utoipa::path(get, path = "/v1/customers/{customerId}/prices", tag = "pricing",
    params(("customerId" = String, Path), PageParams),
    responses((status = 200, body = Collection<PriceOverrideDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_price_overrides(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<PriceOverrideDto>>> {
    let (size, after) = (params.size()?, params.cursor(&headers)?);
    let mut prices = state.services.list_price_overrides(&actor, customer_id).await?;
    // By product and SKU, then date (the cursor's id is the SKU, its instant the date), whatever the database's
    // collation.
    let sku = |o: &PriceOverride| format!("{}\u{1f}{}", o.product_id, o.sku_id);
    prices.sort_by_key(|o| (sku(o), o.effective_from));
    let page = page_of_sorted(
        prices,
        size,
        after.as_ref(),
        |o, c| (sku(o), o.effective_from) > (c.id.clone(), c.at),
        |o| Cursor { at: o.effective_from, id: sku(o) },
    );
    Ok(Json(collection(page, &uri, |o| PriceOverrideDto::from(o))))
}

/// Set a customer's explicit unit price of a SKU, in its market's currency, from `effectiveFrom` (default now).
#[utoipa::path(post, path = "/v1/customers/{customerId}/prices", tag = "pricing", request_body = NewPriceOverride,
    params(("customerId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = PriceOverrideDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_price_override(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    mut body: IdemJson<NewPriceOverride>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |o| PriceOverrideDto::from(o));
    let v = &body.value;
    let result = state
        .services
        .put_price_override(
            &actor,
            customer_id,
            PriceOverrideDraft {
                product_id: v.product_id.clone(),
                sku_id: v.sku_id.clone(),
                unit_price: v.unit_price.clone(),
                effective_from: v.effective_from.clone(),
            },
            reply.keep(),
        )
        .await;
    reply.send(result).await
}

/// Every SKU of the customer's market with its list price, customer price, the partner's cost and margin (roles
/// that see billing).
#[utoipa::path(get, path = "/v1/customers/{customerId}/pricesheet", tag = "pricing",
    params(("customerId" = String, Path)),
    responses((status = 200, body = Collection<SheetLineDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn price_sheet(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    uri: Uri,
) -> ApiResult<Json<Collection<SheetLineDto>>> {
    let (_, lines, _) = state.services.customer_price_sheet(&actor, customer_id).await?;
    Ok(Json(whole(lines.iter().map(SheetLineDto::from).collect(), &uri)))
}
