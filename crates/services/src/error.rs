//! What a use case can fail with: a rule's refusal (shown to the client) or an internal fault (logged, not shown).

use domain::DomainError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("internal error: {0}")]
    Internal(String),
    /// The database cannot be reached now; nothing was written (503 with `Retry-After`).
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::Domain(DomainError::NotFound),
            StoreError::Conflict(m) => Error::Domain(DomainError::Conflict(m)),
            StoreError::Refused(d) => Error::Domain(d),
            StoreError::Unavailable(e) => Error::Unavailable(e.to_string()),
            StoreError::Stopped(what) => Error::Unavailable(format!("the {what} has stopped")),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    pub fn domain(&self) -> Option<&DomainError> {
        match self {
            Error::Domain(d) => Some(d),
            Error::Internal(_) | Error::Unavailable(_) => None,
        }
    }
}
