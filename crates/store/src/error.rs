//! What a store call can fail with, and how sqlx errors map to it (an unreachable database is `Unavailable`).

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; the text says which, for the client.
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database cannot be reached (connection refused or lost, no connection free in time): nothing was
    /// written; the client may try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Stored data that breaks an invariant the code relies on (only that: not a bad setting, not an outage).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A setting the store cannot work with (a database URL it does not understand).
    #[error("{0}")]
    Config(String),
    /// A component of this store (the SQLite writer) has stopped: writes through it cannot be done.
    #[error("the {0} has stopped")]
    Stopped(&'static str),
    /// A batch this write was part of failed to commit: nothing of it was written.
    #[error("not committed: {0}")]
    NotCommitted(String),
    /// A rule refused the change inside its transaction (no key left, cart already ordered…); nothing was written.
    #[error("{0}")]
    Refused(domain::DomainError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let unreachable = match &e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: class 08 (connection exception), and 57P01–57P03 (shut down, cannot connect now).
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
            }
            _ => false,
        };
        if unreachable {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}
