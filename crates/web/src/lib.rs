//! HTTP: the JSON API (with its OpenAPI document) over the services. Handlers are thin: extract, call one
//! service, map the result.

pub mod api;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod idempotency;
pub mod metrics;
pub mod ratelimit;
pub mod server;
pub mod ui;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use error::ApiError;
use services::Services;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub openapi: Arc<serde_json::Value>,
    pub metrics: Arc<metrics::Metrics>,
}

/// What the server enforces on its clients: connections and request rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerLimits {
    pub connections: server::ConnectionLimits,
    pub rates: ratelimit::RateLimits,
}

/// The whole HTTP application.
pub fn app(services: Services, rates: ratelimit::RateLimits) -> Router {
    let (api, openapi) = api::router();
    // Not an empty document on failure: the API would be served undocumented and the checks against it would pass.
    #[allow(clippy::expect_used, reason = "utoipa's document is maps, strings and numbers: it always serializes")]
    let openapi = serde_json::to_value(&openapi).expect("the OpenAPI document serializes");
    let request_metrics = Arc::new(metrics::Metrics::default());
    let state = AppState { services, openapi: Arc::new(openapi), metrics: request_metrics.clone() };
    api.merge(ui::router())
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
        .layer(middleware::from_fn(json_errors_for_axum_rejections))
        .layer(middleware::from_fn(move |req, next| metrics::record(request_metrics.clone(), req, next)))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        // Router layers run after routing, so the span can name the matched route.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
            let request_id =
                req.headers().get("ms-correlationid").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            tracing::info_span!("request", method = %req.method(), route, request_id, partner = tracing::field::Empty)
        }))
        // Before routing, authentication and any body is read; inside the correlation ids, so a 429 has them.
        .layer(middleware::from_fn_with_state(ratelimit::Limiter::new(rates), ratelimit::enforce))
        // Outermost, so the span above always has a request id.
        .layer(middleware::from_fn(correlation))
}

static MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
static MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");

/// Echoes `MS-RequestId` and `MS-CorrelationId`; a request without a correlation id gets a fresh one, so every
/// request can be found in the logs.
async fn correlation(mut req: Request, next: Next) -> Response {
    let request_id = req.headers().get(&MS_REQUEST_ID).cloned();
    let correlation = req.headers().get(&MS_CORRELATION_ID).filter(|v| v.len() <= 128).cloned().unwrap_or_else(|| {
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("-"))
    });
    req.headers_mut().insert(MS_CORRELATION_ID.clone(), correlation.clone());
    let mut res = next.run(req).await;
    if let Some(id) = request_id {
        res.headers_mut().insert(MS_REQUEST_ID.clone(), id);
    }
    res.headers_mut().insert(MS_CORRELATION_ID.clone(), correlation);
    res
}

/// Any plain-text error axum produced itself (an extractor we do not wrap) becomes our JSON error body.
async fn json_errors_for_axum_rejections(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // Our own bodies: JSON from the API, HTML from the dashboard.
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    let status = res.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(extract::JSON_LIMIT).into_response(),
        StatusCode::NOT_FOUND => ApiError::not_found().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed().into_response(),
        StatusCode::SERVICE_UNAVAILABLE => res,
        s if s.is_server_error() => ApiError::internal().into_response(),
        s => ApiError::new(s.as_u16(), s.as_u16() as u32 * 1000, "invalid_request", "the request was refused")
            .into_response(),
    }
}

/// Serves the application until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    services: Services,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve_app(listener, app(services, limits.rates), limits.connections, shutdown).await
}
