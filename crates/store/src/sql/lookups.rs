//! SQLite connections kept for the one read every download makes (the link lookup), outside sqlx's pool.
//!
//! sqlx's pool pings a connection each time it is given back: on SQLite a round trip to the connection's worker
//! thread, in a task spawned for it, for every read. A download's lookup is the hottest read of the server, so it
//! borrows one of at most [`LOOKUP_CONNECTIONS`] connections held here instead, given back without a ping; when all
//! are busy it uses the reader pool. A connection whose read failed or was cancelled midway is closed, not given
//! back (what the ping guards against).

use super::*;
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Connections opened for lookups at most (besides the reader pool's).
const LOOKUP_CONNECTIONS: usize = 4;

pub(super) struct Lookups {
    url: String,
    idle: Mutex<Vec<sqlx::AnyConnection>>,
    /// Connections open (idle or lent).
    open: AtomicUsize,
}

/// A lent connection: dropped without [`Lookups::give_back`], it is closed and no longer counted.
struct Lent<'a> {
    conn: Option<sqlx::AnyConnection>,
    lookups: &'a Lookups,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.lookups.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Lookups {
    pub(super) fn new(url: &str) -> Lookups {
        Lookups { url: url.to_string(), idle: Mutex::new(Vec::new()), open: AtomicUsize::new(0) }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<sqlx::AnyConnection>> {
        // A panic while holding the lock leaves a plain Vec behind: still usable.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection, a new one while fewer than the limit are open, or `None` (use the pool).
    async fn lend(&self) -> Option<Lent<'_>> {
        if let Some(conn) = self.idle().pop() {
            return Some(Lent { conn: Some(conn), lookups: self });
        }
        if self.open.fetch_add(1, Ordering::Relaxed) >= LOOKUP_CONNECTIONS {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let mut conn = match sqlx::AnyConnection::connect(&self.url).await {
            Ok(conn) => conn,
            Err(e) => {
                self.open.fetch_sub(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "cannot open a SQLite connection for lookups; using the reader pool");
                return None;
            }
        };
        if let Err(e) = set_sqlite_pragmas(&mut conn).await {
            self.open.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "cannot set up a SQLite connection for lookups; using the reader pool");
            return None;
        }
        Some(Lent { conn: Some(conn), lookups: self })
    }

    fn give_back(&self, mut lent: Lent<'_>) {
        if let Some(conn) = lent.conn.take() {
            self.idle().push(conn);
        }
    }

    /// `sql` with one text parameter, at most one row: on a lookup connection, or on `pool` when none is free.
    pub(super) async fn fetch_optional(&self, sql: &str, param: &str, pool: &AnyPool) -> StoreResult<Option<AnyRow>> {
        let query = sqlx::query(sql).bind(param.to_string());
        let Some(mut lent) = self.lend().await else {
            return Ok(query.fetch_optional(pool).await?);
        };
        let conn = lent.conn.as_mut().ok_or_else(|| corrupt("a lent lookup connection"))?;
        let row = query.fetch_optional(conn).await?;
        self.give_back(lent);
        Ok(row)
    }
}
