//! `/v1/customers` (R3).

use super::collection::{collection, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{IdemJson, PartnerAuth, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Json;
use domain::customer::{Address, Customer, CustomerDraft};
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddressDto {
    /// ISO 3166-1 alpha-2 code of the billing country: the customer's market.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub city: String,
    pub address_line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

impl From<AddressDto> for Address {
    fn from(a: AddressDto) -> Address {
        Address {
            country: a.country,
            region: a.region,
            city: a.city,
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
    pub domain: String,
    pub company_name: String,
    /// Optional: the customer's existing tenant id (a GUID); one is made when absent.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewBillingProfile {
    pub email: String,
    #[serde(default)]
    pub company_name: Option<String>,
    pub default_address: AddressDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    pub company_profile: NewCompanyProfile,
    pub billing_profile: NewBillingProfile,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    pub tenant_id: String,
    pub domain: String,
    pub company_name: String,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingProfile {
    pub email: String,
    pub company_name: String,
    pub culture: String,
    pub default_address: AddressDto,
    pub attributes: Attributes,
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

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> CustomerDto {
        CustomerDto {
            id: c.tenant_id.to_string(),
            company_profile: CompanyProfile {
                tenant_id: c.tenant_id.to_string(),
                domain: c.domain.clone(),
                company_name: c.company_name.clone(),
                attributes: Attributes::of("CustomerCompanyProfile"),
            },
            billing_profile: BillingProfile {
                email: c.billing_email.clone(),
                company_name: c.billing_company_name.clone(),
                culture: "en-US".into(),
                default_address: AddressDto::from(&c.address),
                attributes: Attributes::of("CustomerBillingProfile"),
            },
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
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(domain_availability))
}

fn render(c: &Customer) -> Vec<u8> {
    serde_json::to_vec(&CustomerDto::from(c)).unwrap_or_default()
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
    body: IdemJson<NewCustomer>,
) -> ApiResult<(StatusCode, Json<CustomerDto>)> {
    let v = &body.value;
    let draft = CustomerDraft {
        tenant_id: v.company_profile.tenant_id.clone(),
        company_name: v.company_profile.company_name.clone(),
        domain: v.company_profile.domain.clone(),
        billing_email: v.billing_profile.email.clone(),
        billing_company_name: v.billing_profile.company_name.clone(),
        address: v.billing_profile.default_address.clone().into(),
    };
    let result = state.services.create_customer(&actor, draft, body.idem(StatusCode::CREATED, &render, false)).await;
    let customer = body.settle(&state, result).await?;
    Ok((StatusCode::CREATED, Json(CustomerDto::from(&customer))))
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
    Path(customer_id): Path<String>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(CustomerDto::from(&state.services.get_customer(&actor, &customer_id).await?)))
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
