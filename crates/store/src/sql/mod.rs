//! The one SQL implementation of [`Store`], for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Both databases take `$1` placeholders, `ON CONFLICT`, `RETURNING`, and the types used here (BIGINT/INTEGER,
//! TEXT, BOOLEAN/INTEGER, BYTEA/BLOB). Where they differ, [`Backend`] says so at the one place it matters.
//! SQLite gets a writer pool of one connection, used by one writer that commits every write transaction in batches
//! (group commit, see `writer`), and a reader pool; PostgreSQL uses one pool and row locks.

use crate::*;
use futures::future::BoxFuture;
use idempotency::complete_idempotency;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;

mod admin;
mod audit;
mod cancellations;
mod catalog;
mod customer_prices;
mod customers;
mod downloads;
mod housekeeping;
mod idempotency;
mod invoices;
mod keys;
mod ledger;
mod lookups;
mod operators;
mod orders;
mod partners;
mod pricelists;
mod rows;
mod support;
mod users;
mod webhooks;
mod writer;

use rows::*;

pub struct SqlStore {
    backend: Backend,
    write: AnyPool,
    read: AnyPool,
    /// SQLite: the writer that runs every write transaction in a batch committed once (see `writer`), owned by
    /// this store.
    writer: Option<writer::Writer>,
    /// SQLite: the connections of the download's link lookup (see `lookups`).
    lookups: Option<lookups::Lookups>,
}

pub use writer::WriterStats;

/// A write transaction, as every store method holds it: statements run on it through `&mut *tx` (it is a
/// connection), and `commit` ends it. On SQLite it is a turn in the writer's batch (its own savepoint, answered
/// when the batch commits); on PostgreSQL a pooled transaction of its own, or a pooled connection whose statements
/// commit one by one (`begin_single`). Dropped without `commit`, it writes nothing.
pub(super) struct Tx(TxKind);

enum TxKind {
    Own(Transaction<'static, Any>),
    Single(PoolConnection<Any>),
    Turn(writer::Turn),
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match &self.0 {
            TxKind::Own(tx) => tx,
            TxKind::Single(conn) => conn,
            TxKind::Turn(turn) => turn.loan.conn_ref(),
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.0 {
            TxKind::Own(tx) => tx,
            TxKind::Single(conn) => conn,
            TxKind::Turn(turn) => turn.loan.conn(),
        }
    }
}

impl Tx {
    /// Keeps the writes: commits (SQLite: once the batch this turn is part of has committed).
    async fn commit(self) -> StoreResult<()> {
        match self.0 {
            TxKind::Own(tx) => Ok(tx.commit().await?),
            TxKind::Single(_) => Ok(()),
            TxKind::Turn(turn) => turn.commit().await,
        }
    }

    /// Writes nothing and returns `error`; on SQLite only once the batch this turn was part of has committed, so a
    /// caller that reads again on this refusal (to work a credit out anew) sees what the batch's other jobs wrote.
    async fn refused<T>(self, error: StoreError) -> StoreResult<T> {
        if let TxKind::Turn(turn) = self.0 {
            turn.abandon().await;
        }
        Err(error)
    }

    /// SQLite: the batch this turn runs in (what its jobs share).
    fn batch(&mut self) -> Option<&mut writer::Batch> {
        match &mut self.0 {
            TxKind::Turn(turn) => Some(turn.loan.batch()),
            _ => None,
        }
    }
}

impl SqlStore {
    /// Connects to `sqlite://…` (the file is created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            let url = sqlite_url(url)?;
            let write = sqlite_pool(&url, 1, writer_pragmas).await?;
            let read = sqlite_pool(&url, 8, sqlite_pragmas).await?;
            // The writer's task ends when this store is dropped.
            let writer = writer::Writer::start(write.clone());
            let lookups = Some(lookups::Lookups::new(&url));
            Ok(SqlStore { backend: Backend::Sqlite, write, read, writer: Some(writer), lookups })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // A request waits at most this long for a connection: when the database is down (sqlx retries a refused
            // connection until then) or overloaded, the client hears 503 with Retry-After soon rather than late.
            let pool =
                AnyPoolOptions::new().max_connections(32).acquire_timeout(Duration::from_secs(2)).connect(url).await?;
            Ok(SqlStore { backend: Backend::Postgres, write: pool.clone(), read: pool, writer: None, lookups: None })
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in '{}': use sqlite:// or postgres://",
                url.split(':').next().unwrap_or("")
            )))
        }
    }

    /// A write transaction: SQLite, a turn in the writer's next batch; PostgreSQL, a pooled transaction.
    async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx(match &self.writer {
            Some(writer) => TxKind::Turn(writer.begin().await?),
            None => TxKind::Own(self.write.begin().await?),
        }))
    }

    /// A write of single statements that each stand alone (an idempotency claim, a purge): SQLite, a turn in the
    /// writer's next batch like any write; PostgreSQL, a pooled connection where each statement commits at once
    /// (no `BEGIN`/`COMMIT` round trips).
    async fn begin_single(&self) -> StoreResult<Tx> {
        Ok(Tx(match &self.writer {
            Some(writer) => TxKind::Turn(writer.begin().await?),
            None => TxKind::Single(self.write.acquire().await?),
        }))
    }

    /// SQLite: the writer's counters (batches committed, jobs in them), for the benchmarks; `None` on PostgreSQL.
    pub fn writer_stats(&self) -> Option<&WriterStats> {
        self.writer.as_ref().map(|w| &*w.stats)
    }

    fn for_update(&self) -> &'static str {
        self.backend.for_update()
    }

    fn chain_lock(&self) -> &'static str {
        self.backend.chain_lock()
    }
}

type AfterConnect = for<'c> fn(
    &'c mut sqlx::AnyConnection,
    sqlx::pool::PoolConnectionMetadata,
) -> BoxFuture<'c, Result<(), sqlx::Error>>;

/// A pool of `max` SQLite connections set up by `pragmas`. No ping before lending a connection (sqlx's default): a
/// connection to a local file does not hang up, and each ping is a round trip to the connection's worker thread, on
/// every read.
async fn sqlite_pool(url: &str, max: u32, pragmas: AfterConnect) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new().max_connections(max).test_before_acquire(false).after_connect(pragmas).connect(url).await
}

/// Per-connection SQLite settings. busy_timeout first: setting WAL needs a moment of exclusive access.
/// `synchronous = FULL` makes every commit durable before the 201 goes out (SPEC §4: survives `kill -9`,
/// and a power cut too).
fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(set_sqlite_pragmas(conn))
}

async fn set_sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in [
        "PRAGMA busy_timeout = 10000",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
    ] {
        sqlx::Executor::execute(&mut *conn, pragma).await?;
    }
    Ok(())
}

/// The one writer connection also gets a 64 MiB page cache (SQLite's default is 2 MiB): large writes such as an
/// invoice run revisit the same index pages, and the cache saves re-reading them. Readers keep the default, so
/// eight of them never hold 512 MiB.
fn writer_pragmas(
    conn: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        sqlite_pragmas(conn, meta).await?;
        sqlx::Executor::execute(&mut *conn, "PRAGMA cache_size = -65536").await?;
        Ok(())
    })
}

/// `sqlite://path` with `mode=rwc` (create when missing) and the parent folder made.
fn sqlite_url(url: &str) -> StoreResult<String> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Config("a SQLite URL needs a file path: sqlite://./data/partnerhub.db".into()));
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    Ok(if rest.contains("mode=") {
        format!("sqlite://{rest}")
    } else if rest.contains('?') {
        format!("sqlite://{rest}&mode=rwc")
    } else {
        format!("sqlite://{rest}?mode=rwc")
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// A write whose unique index refused it becomes `refused`, for the client; any other failure stays internal.
fn unless_unique<T>(result: Result<T, sqlx::Error>, refused: impl FnOnce() -> StoreError) -> StoreResult<T> {
    match result {
        Err(e) if is_unique_violation(&e) => Err(refused()),
        r => Ok(r?),
    }
}

/// `AND (at, id) > (cursor)` written so both databases use the keyset index.
/// A continuation token this server did not issue for the list it is used with.
fn bad_cursor() -> StoreError {
    StoreError::Refused(domain::DomainError::invalid("MS-ContinuationToken", "is not a token this server issued"))
}

/// Rows one multi-row `INSERT` writes at most (well under SQLite's 32,766 and PostgreSQL's 65,535 parameters).
const ROWS_PER_INSERT: usize = 500;

/// `rows` copies of `template` (one row of a `VALUES` list, each `?` a parameter), joined by commas, the `?` numbered
/// `$1, $2, …` in order: `values_rows("(?, ?, NULL)", 2)` is `($1, $2, NULL), ($3, $4, NULL)`.
fn values_rows(template: &str, rows: usize) -> String {
    let mut out = String::with_capacity((template.len() + 8) * rows);
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        for c in template.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// `rows` copies of `template` joined by commas, its `?` left as they are: SQLite's anonymous parameters, bound by
/// position. For SQLite's long statements only: SQLite looks each `$N` up by name in a list as long as the
/// statement's parameters, at prepare and at every bind, which grows with the square of the rows.
fn anonymous_rows(template: &str, rows: usize) -> String {
    vec![template; rows].join(", ")
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn keyset(at_col: &str, id_col: &str, first_param: usize) -> String {
    format!(" AND ({at_col} > ${a} OR ({at_col} = ${a} AND {id_col} > ${b}))", a = first_param, b = first_param + 1)
}
