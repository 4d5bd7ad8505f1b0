//! `/v1/customers` (R3).

use super::collection::{api_relative, collection, Attributes, Collection, Link, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::customer::{Address, BillingContact, BillingDraft, Customer, CustomerDraft};
use domain::ids::TenantId;
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddressDto {
    /// ISO 3166-1 alpha-2 code of the billing country: the customer's market.
    #[serde(alias = "Country")]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "Region")]
    pub region: Option<String>,
    #[serde(alias = "City")]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "State")]
    pub state: Option<String>,
    #[serde(alias = "AddressLine1")]
    pub address_line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "AddressLine2")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "AddressLine3")]
    pub address_line3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "PostalCode")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "FirstName")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "LastName")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "PhoneNumber")]
    pub phone_number: Option<String>,
}

impl From<AddressDto> for Address {
    fn from(a: AddressDto) -> Address {
        Address {
            country: a.country,
            region: a.region,
            city: a.city,
            state: a.state,
            address_line1: a.address_line1,
            address_line2: a.address_line2,
            address_line3: a.address_line3,
            postal_code: a.postal_code,
            first_name: a.first_name,
            last_name: a.last_name,
            phone_number: a.phone_number,
        }
    }
}

impl From<&Address> for AddressDto {
    fn from(a: &Address) -> AddressDto {
        AddressDto {
            country: a.country.clone(),
            region: a.region.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            address_line1: a.address_line1.clone(),
            address_line2: a.address_line2.clone(),
            address_line3: a.address_line3.clone(),
            postal_code: a.postal_code.clone(),
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            phone_number: a.phone_number.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewCompanyProfile {
    #[serde(alias = "Domain")]
    pub domain: String,
    /// Optional, as in Partner Center (its samples send `null`): the billing profile's company name when absent.
    #[serde(default, alias = "CompanyName")]
    pub company_name: Option<String>,
    /// Optional: the customer's existing tenant id (a GUID); one is made when absent.
    #[serde(default, alias = "TenantId")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewBillingProfile {
    #[serde(alias = "Email")]
    pub email: String,
    #[serde(default, alias = "CompanyName")]
    pub company_name: Option<String>,
    #[serde(default, alias = "FirstName")]
    pub first_name: Option<String>,
    #[serde(default, alias = "LastName")]
    pub last_name: Option<String>,
    /// A culture such as `en-US`.
    #[serde(default, alias = "Culture")]
    pub culture: Option<String>,
    /// A language such as `en`.
    #[serde(default, alias = "Language")]
    pub language: Option<String>,
    #[serde(alias = "DefaultAddress")]
    pub default_address: AddressDto,
    /// Partner Center's resource attributes; `etag` stands in for `If-Match` when that header is absent.
    #[serde(default, alias = "Attributes")]
    pub attributes: Option<EtagAttributes>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EtagAttributes {
    #[serde(default, alias = "Etag")]
    pub etag: Option<String>,
}

impl NewBillingProfile {
    fn draft(&self) -> BillingDraft {
        BillingDraft {
            email: self.email.clone(),
            company_name: self.company_name.clone(),
            contact: BillingContact {
                first_name: self.first_name.clone(),
                last_name: self.last_name.clone(),
                language: self.language.clone(),
                culture: self.culture.clone(),
            },
            address: self.default_address.clone().into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    #[serde(alias = "CompanyProfile")]
    pub company_profile: NewCompanyProfile,
    #[serde(alias = "BillingProfile")]
    pub billing_profile: NewBillingProfile,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    pub tenant_id: String,
    pub domain: String,
    pub company_name: String,
    pub links: SelfLinks,
    pub attributes: Attributes,
}

/// Partner Center's `CustomerBillingProfile`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingProfile {
    /// The customer's tenant id (the profile has no id of its own).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub email: String,
    pub company_name: String,
    /// As sent at creation or last update; `en-US` when none was.
    pub culture: String,
    /// As sent; `en` when none was.
    pub language: String,
    pub default_address: AddressDto,
    pub links: SelfLinks,
    pub attributes: ProfileAttributes,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SelfLinks {
    #[serde(rename = "self")]
    pub self_: Link,
}

/// `objectType`, and for the billing profile the `etag` that `PUT` must send back in `If-Match`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub object_type: String,
}

fn self_link(path: &str) -> SelfLinks {
    SelfLinks { self_: Link { uri: api_relative(path).to_string(), method: "GET".into(), headers: vec![] } }
}

pub fn billing_profile(c: &Customer) -> BillingProfile {
    BillingProfile {
        id: c.tenant_id.to_string(),
        first_name: c.billing.first_name.clone(),
        last_name: c.billing.last_name.clone(),
        email: c.billing_email.clone(),
        company_name: c.billing_company_name.clone(),
        culture: c.billing.culture.clone().unwrap_or_else(|| "en-US".into()),
        language: c.billing.language.clone().unwrap_or_else(|| "en".into()),
        default_address: AddressDto::from(&c.address),
        links: self_link(&format!("/v1/customers/{}/profiles/billing", c.tenant_id)),
        attributes: ProfileAttributes { etag: Some(c.billing_etag()), object_type: "CustomerBillingProfile".into() },
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDto {
    /// The tenant id.
    pub id: String,
    pub company_profile: CompanyProfile,
    pub billing_profile: BillingProfile,
    /// The market (ISO 3166-1 alpha-2 billing country).
    pub market: String,
    pub relationship_to_partner: String,
    pub created_date: String,
    pub attributes: Attributes,
}

pub fn company_profile(c: &Customer) -> CompanyProfile {
    CompanyProfile {
        tenant_id: c.tenant_id.to_string(),
        domain: c.domain.clone(),
        company_name: c.company_name.clone(),
        links: self_link(&format!("/v1/customers/{}/profiles/company", c.tenant_id)),
        attributes: Attributes::of("CustomerCompanyProfile"),
    }
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> CustomerDto {
        CustomerDto {
            id: c.tenant_id.to_string(),
            company_profile: company_profile(c),
            billing_profile: billing_profile(c),
            market: c.market.as_str().to_string(),
            relationship_to_partner: "reseller".into(),
            created_date: c.created_at.to_rfc3339(),
            attributes: Attributes::of("Customer"),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CustomerListParams {
    /// Items per page, 1 to 500 (default 100).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of `links.next`.
    pub seek_operation: Option<String>,
    /// URL-encoded JSON `{"Field": "CompanyName"|"Domain"|"TenantId", "Value": "…", "Operator": "starts_with"|"substring"|"equals"}`.
    pub filter: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::CreateCustomer, routes!(create_customer)))
        .routes(requires(Action::ListCustomers, routes!(list_customers)))
        .routes(requires(Action::ViewCustomer, routes!(get_customer)))
        .routes(requires(Action::ListCustomers, routes!(domain_availability)))
        .routes(requires(Action::ViewCustomer, routes!(get_billing_profile)))
        .routes(requires(Action::UpdateCustomer, routes!(update_billing_profile)))
        .routes(requires(Action::ViewCustomer, routes!(get_company_profile)))
}

/// Create a customer (admin agent, sales agent or global admin).
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = NewCustomer,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = CustomerDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_customer(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<NewCustomer>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |v| CustomerDto::from(v));
    let v = &body.value;
    let draft = CustomerDraft {
        tenant_id: v.company_profile.tenant_id.clone(),
        company_name: v
            .company_profile
            .company_name
            .clone()
            .or_else(|| v.billing_profile.company_name.clone())
            .unwrap_or_default(),
        domain: v.company_profile.domain.clone(),
        billing: v.billing_profile.draft(),
    };
    let result = state.services.create_customer(&actor, draft, reply.keep()).await;
    reply.send(result).await
}

/// List customers, optionally filtered by name, domain or tenant id (any role).
#[utoipa::path(get, path = "/v1/customers", tag = "customers", params(CustomerListParams,
        ("MS-ContinuationToken" = Option<String>, Header, description = "With seekOperation=Next")),
    responses((status = 200, body = Collection<CustomerDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_customers(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<CustomerListParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<CustomerDto>>> {
    let paging = PageParams { size: params.size, seek_operation: params.seek_operation.clone() };
    let size = paging.size()?;
    let after = paging.cursor(&headers)?;
    let page = state.services.list_customers(&actor, params.filter.as_deref(), size, after).await?;
    Ok(Json(collection(page, &uri, |c| CustomerDto::from(c))))
}

/// One customer (any role). Another partner's customer is 404.
#[utoipa::path(get, path = "/v1/customers/{customerId}", tag = "customers",
    params(("customerId" = String, Path, description = "The customer's tenant id")),
    responses((status = 200, body = CustomerDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_customer(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(CustomerDto::from(&state.services.get_customer(&actor, customer_id).await?)))
}

/// Partner Center's "check domain availability": 200 when one of this partner's customers already uses the domain,
/// 404 when it is free (any role). No body, as for any `HEAD`.
#[utoipa::path(head, path = "/v1/domains/{domain}", tag = "customers",
    params(("domain" = String, Path, description = "A domain name, e.g. contoso.com")),
    responses((status = 200, description = "in use by a customer of this partner"), (status = 404, description = "free"),
        (status = 400, description = "not a domain name"), (status = 401, description = "no or a bad token")),
    security(("bearer" = [])))]
async fn domain_availability(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(domain): Path<String>,
) -> ApiResult<StatusCode> {
    Ok(if state.services.domain_in_use(&actor, &domain).await? { StatusCode::OK } else { StatusCode::NOT_FOUND })
}

/// The billing profile with its ETag as a header too.
fn etag(c: &Customer) -> String {
    format!("\"{}\"", c.billing_etag())
}

fn with_etag(c: &Customer) -> ([(axum::http::HeaderName, String); 1], Json<BillingProfile>) {
    ([(axum::http::header::ETAG, etag(c))], Json(billing_profile(c)))
}

/// A customer's billing profile (any role), with the ETag `PUT` needs (`attributes.etag` and the `ETag` header).
#[utoipa::path(get, path = "/v1/customers/{customerId}/profiles/billing", tag = "customers",
    params(("customerId" = String, Path)),
    responses((status = 200, body = BillingProfile), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_billing_profile(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
) -> ApiResult<([(axum::http::HeaderName, String); 1], Json<BillingProfile>)> {
    Ok(with_etag(&state.services.customer_profile(&actor, customer_id).await?))
}

/// Replace a customer's billing profile, as Partner Center does (admin agent, sales agent or global admin): the
/// whole resource, with `If-Match` set to the ETag read (or `attributes.etag` in the body); 412
/// `precondition_failed` when it changed meanwhile, 428 `precondition_required` without one. The country cannot
/// change (it is the customer's market).
#[utoipa::path(put, path = "/v1/customers/{customerId}/profiles/billing", tag = "customers",
    request_body = NewBillingProfile,
    params(("customerId" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag read"),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = BillingProfile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
        (status = 428, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_billing_profile(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
    headers: HeaderMap,
    mut body: IdemJson<NewBillingProfile>,
) -> ApiResult<Response> {
    let if_match = headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| body.value.attributes.as_ref().and_then(|a| a.etag.clone()));
    let reply = body.reply(StatusCode::OK, billing_profile);
    let result = state
        .services
        .update_billing_profile(&actor, customer_id, body.value.draft(), if_match.as_deref(), reply.keep())
        .await;
    let (customer, response) = reply.send_with(result).await?;
    Ok(([(axum::http::header::ETAG, etag(&customer))], response).into_response())
}

/// A customer's company profile (any role), as Partner Center's `CustomerCompanyProfile`.
#[utoipa::path(get, path = "/v1/customers/{customerId}/profiles/company", tag = "customers",
    params(("customerId" = String, Path)),
    responses((status = 200, body = CompanyProfile), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_company_profile(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer_id): Path<TenantId>,
) -> ApiResult<Json<CompanyProfile>> {
    let c = state.services.customer_profile(&actor, customer_id).await?;
    Ok(Json(company_profile(&c)))
}
