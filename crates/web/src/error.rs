//! The one error response of SPEC §5: `{"code", "description", "data", "source", "errorName"}` with its status.
//! Internal causes are logged once here and never sent to the client.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: u32,
    pub description: String,
    pub data: Vec<serde_json::Value>,
    pub source: &'static str,
    pub error_name: &'static str,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `Retry-After` of a 503: a database restart or failover usually takes seconds.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 5;

impl ApiError {
    pub fn new(status: u16, code: u32, name: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body: ErrorBody {
                code,
                description: description.into(),
                data: Vec::new(),
                source: "partnerhub",
                error_name: name,
            },
            retry_after: None,
        }
    }

    pub fn invalid(description: impl Into<String>) -> ApiError {
        ApiError::from(DomainError::InvalidRequest(description.into()))
    }

    pub fn not_found() -> ApiError {
        ApiError::from(DomainError::NotFound)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::from(DomainError::PayloadTooLarge(limit as u64))
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(405, 405000, "method_not_allowed", "this route does not take that method")
    }

    /// 503 `service_unavailable`: the database (or blob store) cannot be reached; try again after `Retry-After`.
    pub fn unavailable() -> ApiError {
        let mut e = ApiError::new(
            503,
            503000,
            "service_unavailable",
            "the service cannot reach its database right now; nothing was changed, try again shortly",
        );
        e.retry_after = Some(RETRY_AFTER_UNAVAILABLE_SECS);
        e
    }

    pub fn internal() -> ApiError {
        ApiError::new(500, 500000, "internal_error", "an internal error occurred; it has been logged")
    }
}

/// The HTTP status of each refusal (SPEC §5's table of errors): the one place a rule's error becomes a status, for
/// the API's error body and the dashboard's pages alike. Exhaustive: a new error does not compile without one.
pub fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::InvalidRequest(_)
        | DomainError::ProductUnavailableInMarket(_)
        | DomainError::CartAlreadyOrdered(_)
        | DomainError::CancellationWindowClosed { .. }
        | DomainError::CancellationRequiresSupportRequest { .. }
        | DomainError::NotCancellable { .. }
        | DomainError::LineItemOutOfRange(_) => StatusCode::BAD_REQUEST,
        DomainError::Unauthorized => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden { .. } | DomainError::NotSandbox => StatusCode::FORBIDDEN,
        DomainError::NotFound => StatusCode::NOT_FOUND,
        DomainError::DuplicateCustomer(_)
        | DomainError::Conflict(_)
        | DomainError::IdempotencyKeyReused
        | DomainError::RequestInProgress
        | DomainError::InsufficientKeyStock(_)
        | DomainError::ItemCancelled
        | DomainError::AlreadyCancelled(_)
        | DomainError::CreditExceedsCharge { .. }
        | DomainError::CreditLimitExceeded { .. } => StatusCode::CONFLICT,
        DomainError::LinkExpired | DomainError::LinkRevoked => StatusCode::GONE,
        DomainError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        DomainError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        DomainError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        DomainError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let description = match &e {
            DomainError::NotFound => "no such route or object".to_string(),
            other => other.to_string(),
        };
        let mut error = ApiError::new(status_of(&e).as_u16(), e.code(), e.error_name(), description);
        error.body.data = e.data();
        if let DomainError::RateLimited { retry_after_secs } = e {
            error.retry_after = Some(retry_after_secs);
        }
        error
    }
}

impl From<services::Error> for ApiError {
    fn from(e: services::Error) -> ApiError {
        match e {
            services::Error::Domain(d) => d.into(),
            services::Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ApiError::internal()
            }
            services::Error::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(&self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert("retry-after", HeaderValue::from(secs));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §5's table: every error's name, status and code, as the API answers them.
    #[test]
    fn every_error_has_the_status_and_code_of_the_spec() {
        let s = |s: &str| s.to_string();
        let cases = [
            (DomainError::InvalidRequest(s("x")), 400, 400000),
            (DomainError::Unauthorized, 401, 401000),
            (DomainError::Forbidden { allowed: vec!["admin_agent", "global_admin"] }, 403, 900150),
            (DomainError::NotSandbox, 403, 403001),
            (DomainError::NotFound, 404, 20000),
            (DomainError::DuplicateCustomer(s("x")), 409, 409001),
            (DomainError::Conflict(s("x")), 409, 409000),
            (DomainError::IdempotencyKeyReused, 409, 409002),
            (DomainError::RequestInProgress, 409, 409003),
            (DomainError::ProductUnavailableInMarket(s("x")), 400, 800070),
            (DomainError::InsufficientKeyStock(s("x")), 409, 10003),
            (DomainError::CartAlreadyOrdered(s("x")), 400, 800065),
            (DomainError::ItemCancelled, 409, 409005),
            (DomainError::LinkExpired, 410, 410001),
            (DomainError::LinkRevoked, 410, 410002),
            (DomainError::PayloadTooLarge(1), 413, 413000),
            (DomainError::CancellationWindowClosed { line: 0, closed_at: s("x") }, 400, 900117),
            (
                DomainError::CancellationRequiresSupportRequest {
                    line: 0,
                    product: s("p"),
                    customer_id: s("c"),
                    order_id: s("o"),
                },
                400,
                800061,
            ),
            (DomainError::NotCancellable { line: 0, product: s("p") }, 400, 800061),
            (DomainError::LineItemOutOfRange(9), 400, 800071),
            (DomainError::AlreadyCancelled(s("x")), 409, 409004),
            (
                DomainError::CreditExceedsCharge { order_id: s("o"), line: None, left: s("0.00"), currency: s("USD") },
                409,
                409006,
            ),
            (DomainError::CreditLimitExceeded { charge: s("1.00"), left: s("0.00"), currency: s("USD") }, 409, 409007),
            (DomainError::RateLimited { retry_after_secs: 1 }, 429, 429000),
            (DomainError::PreconditionFailed, 412, 412000),
            (DomainError::PreconditionRequired, 428, 428000),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(e.clone());
            assert_eq!(
                (api.status.as_u16(), api.body.code, api.body.error_name),
                (status, code, e.error_name()),
                "{e:?}"
            );
        }
    }
}
