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

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let description = match &e {
            DomainError::NotFound => "no such route or object".to_string(),
            other => other.to_string(),
        };
        let mut error = ApiError::new(e.http_status(), e.code(), e.error_name(), description);
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
