//! The REST API: Partner Center's conventions (SPEC §5), documented by the OpenAPI document it serves.

pub mod audit;
pub mod catalog;
pub mod catalog_admin;
pub mod collection;
pub mod credit;
pub mod customers;
pub mod downloads;
pub mod invoices;
pub mod keystock;
pub mod operators;
pub mod orders;
pub mod pricelists;
pub mod prices;
pub mod publisher;
pub mod reconciliation;
pub mod software;
pub mod subscriptions;
pub mod support;
pub mod testclock;
pub mod users;
pub mod webhooks;

use crate::error::ErrorBody;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "Partnerhub API", description = "Sell software subscriptions, reservations and perpetual software \
        on behalf of customers. Follows Partner Center's REST API v1 conventions."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags((name = "customers"), (name = "catalog"), (name = "orders"), (name = "software"), (name = "billing"), (name = "support"), (name = "users"), (name = "activity"), (name = "webhooks"), (name = "testclock"), (name = "pricing"), (name = "publisher"),
        (name = "operations"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The action a partner route's caller must be allowed (R2), declared next to the route. [`PartnerAuth`] checks it
/// right after authentication, so a caller without the role hears 403 before the body is read, parsed or
/// validated, and before an idempotent replay; the service checks its action again.
///
/// [`PartnerAuth`]: crate::extract::PartnerAuth
#[derive(Debug, Clone, Copy)]
pub struct Requires(pub domain::policy::Action);

/// Declares the action every handler of `route` requires, for the server (checked at authentication) and in the
/// OpenAPI document: each operation carries `x-partnerhub-action` and `x-partnerhub-roles` (the roles R2 allows),
/// from which the tests build the role × route matrix.
pub(crate) fn requires<S: Clone + Send + Sync + 'static>(
    action: domain::policy::Action,
    (schemas, mut paths, router): utoipa_axum::router::UtoipaMethodRouter<S>,
) -> utoipa_axum::router::UtoipaMethodRouter<S> {
    let roles: Vec<&str> = match domain::policy::allowed(action) {
        domain::policy::Allowed::AnyRole => vec!["any"],
        domain::policy::Allowed::Roles(rs) => rs.iter().map(|r| r.as_str()).collect(),
    };
    for item in paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            let declared = utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-partnerhub-action", format!("{action:?}"))
                .add("x-partnerhub-roles", roles.clone())
                .build();
            operation.extensions.get_or_insert_with(Default::default).merge(declared);
        }
    }
    (schemas, paths, router.route_layer(axum::Extension(Requires(action))))
}

/// The operator action a publisher route's caller must be allowed, declared next to the route. [`PublisherAuth`]
/// checks it right after authentication (403 before the body is read); the service checks it again.
///
/// [`PublisherAuth`]: crate::extract::PublisherAuth
#[derive(Debug, Clone, Copy)]
pub struct RequiresOperator(pub domain::operator::OperatorAction);

/// Declares the operator action every handler of `route` requires, for the server and in the OpenAPI document
/// (`x-partnerhub-operator-action`, `x-partnerhub-operator-roles`), from which the tests build the operator role ×
/// route matrix.
pub(crate) fn operator_requires<S: Clone + Send + Sync + 'static>(
    action: domain::operator::OperatorAction,
    (schemas, mut paths, router): utoipa_axum::router::UtoipaMethodRouter<S>,
) -> utoipa_axum::router::UtoipaMethodRouter<S> {
    let roles: Vec<&str> = domain::operator::allowed(action).iter().map(|r| r.as_str()).collect();
    for item in paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            let declared = utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-partnerhub-operator-action", format!("{action:?}"))
                .add("x-partnerhub-operator-roles", roles.clone())
                .build();
            operation.extensions.get_or_insert_with(Default::default).merge(declared);
        }
    }
    (schemas, paths, router.route_layer(axum::Extension(RequiresOperator(action))))
}

/// Every documented route, and the OpenAPI document built from them.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(customers::routes())
        .merge(catalog::routes())
        .merge(catalog_admin::routes())
        .merge(keystock::routes())
        .merge(orders::routes())
        .merge(software::routes())
        .merge(subscriptions::routes())
        .merge(downloads::routes())
        .merge(invoices::routes())
        .merge(support::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(webhooks::routes())
        .merge(testclock::routes())
        .merge(publisher::routes())
        .merge(operators::routes())
        .merge(pricelists::routes())
        .merge(prices::routes())
        .merge(credit::routes())
        .merge(reconciliation::routes())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(metrics));
    let (router, mut openapi) = router.split_for_parts();
    document_common_errors(&mut openapi);
    (router, openapi)
}

/// Every operation but the probes may answer 429 (rate limits, checked before the route) and 503 (the database
/// cannot be reached): documented once here rather than on each handler.
fn document_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .header("Retry-After", utoipa::openapi::HeaderBuilder::new().description(Some("seconds")).build())
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses.entry("429".into()).or_insert_with(|| error("rate_limited: too many requests").into());
            responses
                .entry("503".into())
                .or_insert_with(|| error("service_unavailable: the database cannot be reached").into());
        }
    }
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database and its blob storage answer, each within [`READY_WITHIN`].
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String), (status = 503, body = String)))]
async fn readyz(State(state): State<AppState>) -> Response {
    let (database, blobs) = tokio::join!(
        tokio::time::timeout(READY_WITHIN, state.services.ping()),
        tokio::time::timeout(READY_WITHIN, state.services.blobs_ready()),
    );
    for (what, answer) in [("database", database), ("blob storage", blobs)] {
        match answer {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "not ready: {what}");
                return (StatusCode::SERVICE_UNAVAILABLE, format!("{what} unavailable")).into_response();
            }
            Err(_) => {
                tracing::warn!("not ready: the {what} did not answer within {READY_WITHIN:?}");
                return (StatusCode::SERVICE_UNAVAILABLE, format!("{what} unavailable")).into_response();
            }
        }
    }
    (StatusCode::OK, "ready").into_response()
}

/// A load balancer's probe gets its answer within this (a database that does not answer is not ready).
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
async fn openapi_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.openapi.as_ref().clone())
}

/// Prometheus metrics of this process.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state.metrics.render();
    if let Some((batches, writes)) = state.services.write_batches() {
        body.push_str(&crate::metrics::render_write_batches(batches, writes));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
