//! What a use case can fail with: a rule's refusal (shown to the client) or an internal fault (logged, not shown).

use domain::DomainError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
    /// The database cannot be reached now; nothing was written (503 with `Retry-After`).
    #[error("service unavailable: {0}")]
    Unavailable(#[source] Cause),
}

/// What went wrong inside, for the log: a message and, when an error of a lower layer caused it (the store, the
/// blob store, serde), that error as the `source`, so its chain is kept rather than flattened into text.
#[derive(Debug)]
pub struct Cause {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// A fault the services detect themselves (nothing caused it below).
    pub fn new(message: impl Into<String>) -> Cause {
        Cause { message: message.into(), source: None }
    }

    /// A fault caused by `source`, described by `context`.
    pub fn caused(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause { message: format!("{}: {source}", context.into()), source: Some(Box::new(source)) }
    }

    /// A lower layer's error as it is (its text, and itself as the source).
    pub fn of(source: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause { message: source.to_string(), source: Some(Box::new(source)) }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Cause {
        Cause::new(message)
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Cause {
        Cause::new(message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::Domain(DomainError::NotFound),
            StoreError::Conflict(m) => Error::Domain(DomainError::Conflict(m)),
            StoreError::Refused(d) => Error::Domain(d),
            e @ (StoreError::Unavailable(_) | StoreError::Stopped(_)) => Error::Unavailable(Cause::of(e)),
            other => Error::Internal(Cause::of(other)),
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
