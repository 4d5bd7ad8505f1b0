//! What the console's upload forms share: the CSRF token in the address (the body is a file), and refusals in the
//! console's layout with the status that says why.

use super::{ConsoleError, ConsoleNav};
use crate::i18n::tr;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use services::operators::OperatorSession;

/// `?csrf=…` of a form whose body is a file (multipart) or raw bytes.
#[derive(Deserialize, Default)]
pub struct CsrfQuery {
    #[serde(default)]
    pub csrf: String,
}

/// An error page in the console's layout, with `status` instead of the error's own.
pub fn refused(s: &OperatorSession, e: impl Into<services::Error>, status: StatusCode) -> Response {
    let mut res = ConsoleError(e.into(), Some(Box::new(ConsoleNav::of(s)))).into_response();
    *res.status_mut() = status;
    res
}

/// A form whose CSRF token is missing or stale: 403.
pub fn expired(s: &OperatorSession) -> Response {
    refused(s, domain::DomainError::InvalidRequest(tr!("error-form-expired")), StatusCode::FORBIDDEN)
}

/// A multipart body that could not be read: 413 over `limit`, else 400 with `problem` about `field`.
pub fn upload_refused(s: &OperatorSession, status: StatusCode, limit: usize, field: &str, problem: String) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return refused(s, domain::DomainError::PayloadTooLarge(limit as u64), status);
    }
    refused(s, domain::DomainError::invalid(field, problem), StatusCode::BAD_REQUEST)
}

/// The longest text field of an upload form (a label, an id): the file itself is streamed, so a form whose route
/// lifts the body limit must not let any other field be read whole.
pub const MAX_FORM_FIELD: usize = 4 * 1024;

/// A multipart text field read chunk by chunk, refused (`None`) once it passes [`MAX_FORM_FIELD`] bytes or is not
/// UTF-8: nothing larger is ever held.
pub async fn small_text(mut field: axum::extract::multipart::Field<'_>) -> Option<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.ok()? {
        if bytes.len() + chunk.len() > MAX_FORM_FIELD {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).ok()
}
