//! Every difference between SQLite and PostgreSQL that the SQL itself depends on, in one place. The rest of the
//! store writes one SQL for both (sqlx's `Any` driver, `$N` placeholders, `ON CONFLICT`, `RETURNING`).
//!
//! SQLite has one writer connection, so a write transaction is already alone: row locks are no-ops there.
//! PostgreSQL runs writers in parallel, so the same statements take row locks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Backend {
    /// ` FOR UPDATE` on PostgreSQL: the row is read to be changed in this transaction.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// The lock that serializes appends to one partner's activity chain (and every credit on one order). `FOR NO
    /// KEY UPDATE`, not `FOR UPDATE`: the change has usually inserted rows referencing the row already (a foreign
    /// key takes `FOR KEY SHARE` on it), and two such transactions upgrading to `FOR UPDATE` would deadlock.
    pub(crate) fn chain_lock(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR NO KEY UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// ` FOR UPDATE SKIP LOCKED` on PostgreSQL: take any free row of a pool (an activation key) without waiting for
    /// one another checkout is taking.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// Migrations under PostgreSQL's advisory lock (several servers may start at once); SQLite's writer is alone.
    pub(crate) fn migration_lock(self) -> Option<(&'static str, &'static str)> {
        match self {
            Backend::Postgres => Some(("SELECT pg_advisory_lock(7242001)", "SELECT pg_advisory_unlock(7242001)")),
            Backend::Sqlite => None,
        }
    }

    /// Partners invoiced per transaction: enough that a ledger page shared by many partners is written a few
    /// times rather than once per partner; on PostgreSQL, where each partner's chain lock is held until the batch
    /// commits, few enough that no partner's writes wait long.
    pub fn invoice_batch(self) -> usize {
        match self {
            Backend::Postgres => 10,
            Backend::Sqlite => 100,
        }
    }

    /// The statement that writes a consistent copy of the live database to the file `$1`, or why there is none. SQLite:
    /// `VACUUM INTO` (a read transaction's snapshot, written out as a compact file while the server keeps serving);
    /// PostgreSQL is backed up with its own tools.
    pub(crate) fn online_backup(self) -> Result<&'static str, &'static str> {
        match self {
            Backend::Sqlite => Ok("VACUUM INTO $1"),
            Backend::Postgres => {
                Err("PostgreSQL is backed up with its own tools: pg_dump --format=custom (see README)")
            }
        }
    }
}
