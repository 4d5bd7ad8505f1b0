//! The one SQL implementation of [`Store`], for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Both databases take `$1` placeholders, `ON CONFLICT`, `RETURNING`, and the types used here (BIGINT/INTEGER,
//! TEXT, BOOLEAN/INTEGER, BYTEA/BLOB). Where they differ, [`Backend`] says so at the one place it matters.
//! SQLite gets a writer pool of one connection (a single writer path, so writers never meet `SQLITE_BUSY`)
//! and a reader pool; PostgreSQL uses one pool and row locks.

use crate::migrate::migrations;
use crate::*;
use domain::audit::GENESIS_HASH;
use domain::catalog::reservation_unavailable_markets;
use domain::customer::{fold, Address};
use domain::filter::{like_pattern, AuditField, CustomerField};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;

mod cancellations;
mod downloads;
mod invoices;
mod support;
mod webhooks;

pub struct SqlStore {
    backend: Backend,
    write: AnyPool,
    read: AnyPool,
    /// SQLite: the queue of the task that commits download redemptions in batches (see `downloads::redeem`).
    redeemer: Option<tokio::sync::mpsc::UnboundedSender<downloads::RedeemJob>>,
}

type Tx = Transaction<'static, Any>;

impl SqlStore {
    /// Connects to `sqlite://…` (the file is created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            let url = sqlite_url(url)?;
            let pragmas = sqlite_pragmas;
            let write = AnyPoolOptions::new().max_connections(1).after_connect(writer_pragmas).connect(&url).await?;
            let read = AnyPoolOptions::new().max_connections(8).after_connect(pragmas).connect(&url).await?;
            let (queue, jobs) = tokio::sync::mpsc::unbounded_channel();
            let writer =
                SqlStore { backend: Backend::Sqlite, write: write.clone(), read: read.clone(), redeemer: None };
            // It ends when this store (the queue's only sender) is dropped.
            tokio::spawn(writer.redeem_batches(jobs));
            Ok(SqlStore { backend: Backend::Sqlite, write, read, redeemer: Some(queue) })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // A request waits at most this long for a connection: when the database is down (sqlx retries a refused
            // connection until then) or overloaded, the client hears 503 with Retry-After soon rather than late.
            let pool =
                AnyPoolOptions::new().max_connections(32).acquire_timeout(Duration::from_secs(2)).connect(url).await?;
            Ok(SqlStore { backend: Backend::Postgres, write: pool.clone(), read: pool, redeemer: None })
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in '{}': use sqlite:// or postgres://",
                url.split(':').next().unwrap_or("")
            )))
        }
    }

    /// A customer's order lines matching `which` (SQL over `l`, the line), with their order id and purchase
    /// instant, by (purchase instant, order id, line number). The cursor's id is `{orderId}:{lineNumber}`.
    async fn customer_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        which: &str,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        let cols =
            crate::orders::LINE_COLS.split(", ").map(|c| format!("l.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let mut sql = format!(
            "SELECT {cols}, o.created_at AS purchased_at FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.partner_id = $1 AND o.customer_id = $2 AND {which}"
        );
        // The cursor's id is `{orderId}:{lineNumber}` (the services build it; anything else is a bad token).
        let after = match after {
            Some(c) => {
                let (order, line) = c.id.rsplit_once(':').ok_or_else(bad_cursor)?;
                let line: i64 = line.parse().map_err(|_| bad_cursor())?;
                sql.push_str(
                    " AND (o.created_at > $3 OR (o.created_at = $3 AND (o.id > $4 OR (o.id = $4 \
                     AND l.line_number > $5))))",
                );
                Some((c.at.micros(), order.to_string(), line))
            }
            None => None,
        };
        sql.push_str(&format!(" ORDER BY o.created_at, o.id, l.line_number LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some((at, order, line)) = after {
            q = q.bind(at).bind(order).bind(line);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let (order_id, line) = crate::orders::line_from(row)?;
                let order_id = OrderId::parse(&order_id).ok_or_else(|| corrupt("order_lines.order_id"))?;
                Ok((order_id, Timestamp::from_micros(row.try_get("purchased_at")?), line))
            })
            .collect()
    }

    async fn run_migrations(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<()> {
        sqlx::Executor::execute(
            &mut *conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
             applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        for m in migrations(self.backend) {
            if applied.contains(&m.version) {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::Executor::execute(&mut *tx, m.sql).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(domain::clock::Clock::now(&domain::clock::SystemClock).micros())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
        }
        // Reference data: every market, seeded once; the publisher's edits are never overwritten.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for m in Market::all_defaults() {
            sqlx::query(
                "INSERT INTO markets (country, currency_code, minor_units, tax_rate, tax_inclusive, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (country) DO NOTHING",
            )
            .bind(m.country.as_str())
            .bind(&m.currency_code)
            .bind(m.minor_units as i64)
            .bind(m.tax_rate.to_string())
            .bind(m.tax_inclusive as i64)
            .execute(&mut *tx)
            .await?;
        }
        // R1: Azure reservations are unavailable in the article's markets until the publisher says otherwise.
        let (mode, markets) = MarketRule::UnavailableIn(reservation_unavailable_markets()).to_stored();
        sqlx::query(
            "INSERT INTO type_availability (product_type, mode, markets, updated_at) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (product_type) DO NOTHING",
        )
        .bind(ProductType::AzureReservation.as_str())
        .bind(mode)
        .bind(markets)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.write.begin().await?)
    }

    fn for_update(&self) -> &'static str {
        self.backend.for_update()
    }

    fn chain_lock(&self) -> &'static str {
        self.backend.chain_lock()
    }

    /// Orders of one customer (one, or a keyset page) with their lines, in two queries.
    async fn orders_where(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: Option<OrderId>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>> {
        let mut sql =
            format!("SELECT {} FROM orders WHERE partner_id = $1 AND customer_id = $2", crate::orders::ORDER_COLS);
        let mut next = 3;
        if id.is_some() {
            sql.push_str(&format!(" AND id = ${next}"));
            next += 1;
        }
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", next));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some(id) = id {
            q = q.bind(id.to_string());
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        let rows = q.fetch_all(&self.read).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT {} FROM order_lines WHERE order_id IN ({}) ORDER BY order_id, line_number",
            crate::orders::LINE_COLS,
            crate::orders::placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(id.clone());
        }
        let mut lines: std::collections::HashMap<String, Vec<domain::order::OrderLine>> = Default::default();
        for row in q.fetch_all(&self.read).await? {
            let (order_id, line) = crate::orders::line_from(&row)?;
            lines.entry(order_id).or_default().push(line);
        }
        rows.iter()
            .zip(ids)
            .map(|(row, id)| crate::orders::order_from(row, lines.remove(&id).unwrap_or_default()))
            .collect()
    }

    /// Writes the change's effects into its transaction, then commits it.
    async fn commit_with(&self, mut tx: Tx, partner: PartnerId, effects: Effects) -> StoreResult<()> {
        self.apply_effects(&mut tx, partner, effects).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends the change's activity records to the partner's chain and completes its idempotency record,
    /// inside the change's own transaction.
    async fn apply_effects(&self, tx: &mut Tx, partner: PartnerId, effects: Effects) -> StoreResult<()> {
        if !effects.audit.is_empty() {
            let sql =
                format!("SELECT audit_seq, audit_head, audit_last_at FROM partners WHERE id = $1{}", self.chain_lock());
            let row = sqlx::query(&sql).bind(partner.to_string()).fetch_optional(&mut **tx).await?;
            let row = row.ok_or(StoreError::NotFound)?;
            let mut seq: i64 = row.try_get(0)?;
            let mut head: String = row.try_get(1)?;
            let mut last_at = Timestamp::from_micros(row.try_get::<i64, _>(2)?);
            for mut new in effects.audit {
                seq += 1;
                // Never dated before a record already committed: then (operation_date, seq) follows commit order
                // and activity pages never skip a record that committed late.
                new.operation_date = new.operation_date.max(last_at);
                last_at = new.operation_date;
                let r = AuditRecord::seal(partner, seq, &head, new);
                insert_audit(tx, &r).await?;
                head = r.hash;
            }
            sqlx::query("UPDATE partners SET audit_seq = $1, audit_head = $2, audit_last_at = $3 WHERE id = $4")
                .bind(seq)
                .bind(&head)
                .bind(last_at.micros())
                .bind(partner.to_string())
                .execute(&mut **tx)
                .await?;
        }
        if let Some(done) = effects.idempotency {
            complete_idempotency(tx, done).await?;
        }
        Ok(())
    }
}

/// Per-connection SQLite settings. busy_timeout first: setting WAL needs a moment of exclusive access.
/// `synchronous = FULL` makes every commit durable before the 201 goes out (SPEC §4: survives `kill -9`,
/// and a power cut too).
fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for pragma in [
            "PRAGMA busy_timeout = 10000",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
        ] {
            sqlx::Executor::execute(&mut *conn, pragma).await?;
        }
        Ok(())
    })
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

/// Marks an idempotency key done with its response, inside the change's transaction.
async fn complete_idempotency(tx: &mut Tx, done: IdempotencyCompletion) -> StoreResult<()> {
    let completed = sqlx::query(
        "UPDATE idempotency SET state = 'done', response_status = $1, response_body = $2, encrypted = $3 \
         WHERE scope = $4 AND key = $5 AND state = 'in_progress' AND locked_until = $6",
    )
    .bind(done.status as i64)
    .bind(done.body)
    .bind(done.encrypted as i64)
    .bind(done.scope)
    .bind(done.key)
    .bind(done.lease_until.micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if completed != 1 {
        // The claim is no longer ours (a retry took it over after the lease ran out): roll this change back.
        return Err(StoreError::Refused(domain::DomainError::RequestInProgress));
    }
    Ok(())
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

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn uuid_col(row: &AnyRow, col: &str) -> StoreResult<uuid::Uuid> {
    let s: String = row.try_get(col)?;
    uuid::Uuid::parse_str(&s).map_err(|_| corrupt(col))
}

/// Booleans are stored as 0/1 on both databases.
fn flag(row: &AnyRow, col: &str) -> StoreResult<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn ts(row: &AnyRow, col: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_micros(row.try_get::<i64, _>(col)?))
}

fn partner_from(row: &AnyRow) -> StoreResult<Partner> {
    Ok(Partner {
        id: PartnerId(uuid_col(row, "p_id")?),
        name: row.try_get("p_name")?,
        sandbox: flag(row, "p_sandbox")?,
        clock_offset_micros: row.try_get("p_clock_offset_micros")?,
        created_at: ts(row, "p_created_at")?,
    })
}

const PARTNER_COLS: &str = "p.id AS p_id, p.name AS p_name, p.sandbox AS p_sandbox, \
    p.clock_offset_micros AS p_clock_offset_micros, p.created_at AS p_created_at";

const USER_COLS: &str = "u.id AS u_id, u.partner_id AS u_partner_id, u.email AS u_email, \
    u.display_name AS u_display_name, u.roles AS u_roles, u.disabled AS u_disabled, u.created_at AS u_created_at";

fn user_from(row: &AnyRow) -> StoreResult<User> {
    let roles: String = row.try_get("u_roles")?;
    Ok(User {
        id: UserId(uuid_col(row, "u_id")?),
        partner_id: PartnerId(uuid_col(row, "u_partner_id")?),
        email: row.try_get("u_email")?,
        display_name: row.try_get("u_display_name")?,
        roles: RoleSet::from_stored(&roles).ok_or_else(|| corrupt("users.roles"))?,
        disabled: flag(row, "u_disabled")?,
        created_at: ts(row, "u_created_at")?,
    })
}

fn token_from(row: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: TokenId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        user_id: UserId(uuid_col(row, "user_id")?),
        name: row.try_get("name")?,
        created_at: ts(row, "created_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_micros),
    })
}

fn market_from(row: &AnyRow) -> StoreResult<Market> {
    let country: String = row.try_get("country")?;
    let code = MarketCode::parse(&country).ok_or_else(|| corrupt("markets.country"))?;
    let rate: String = row.try_get("tax_rate")?;
    Ok(Market {
        country: code,
        name: code.info().name,
        currency_code: row.try_get("currency_code")?,
        minor_units: u8::try_from(row.try_get::<i64, _>("minor_units")?).map_err(|_| corrupt("minor_units"))?,
        tax_rate: rust_decimal_parse(&rate)?,
        tax_inclusive: flag(row, "tax_inclusive")?,
    })
}

fn rust_decimal_parse(s: &str) -> StoreResult<domain_decimal::Decimal> {
    domain_decimal::Decimal::from_str(s).map_err(|_| corrupt("markets.tax_rate"))
}

/// The decimal type the domain uses, named once here.
mod domain_decimal {
    pub use rust_decimal::Decimal;
}

const CUSTOMER_COLS: &str = "tenant_id, company_name, domain, billing_email, billing_company_name, address_json, \
    billing_json, profile_version, market, created_at, position";

fn customer_from(row: &AnyRow) -> StoreResult<Customer> {
    let address: String = row.try_get("address_json")?;
    let address: Address = serde_json::from_str(&address).map_err(|_| corrupt("customers.address_json"))?;
    let billing: String = row.try_get("billing_json")?;
    let billing = serde_json::from_str(&billing).map_err(|_| corrupt("customers.billing_json"))?;
    let market: String = row.try_get("market")?;
    Ok(Customer {
        tenant_id: TenantId(uuid_col(row, "tenant_id")?),
        company_name: row.try_get("company_name")?,
        domain: row.try_get("domain")?,
        billing_email: row.try_get("billing_email")?,
        billing_company_name: row.try_get("billing_company_name")?,
        address,
        billing,
        profile_version: row.try_get("profile_version")?,
        market: MarketCode::parse(&market).ok_or_else(|| corrupt("customers.market"))?,
        created_at: ts(row, "created_at")?,
        position: row.try_get("position")?,
    })
}

const AUDIT_COLS: &str = "id, partner_id, seq, customer_id, customer_name, customer_name_folded, \
    user_principal_name, resource_type, operation_type, operation_date, operation_status, customized_data, prev_hash, \
    hash";

fn audit_from(row: &AnyRow) -> StoreResult<AuditRecord> {
    let customer_id: Option<String> = row.try_get("customer_id")?;
    let data: String = row.try_get("customized_data")?;
    Ok(AuditRecord {
        id: domain::ids::AuditRecordId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        seq: row.try_get("seq")?,
        customer_id: match customer_id {
            Some(s) => Some(TenantId::parse(&s).ok_or_else(|| corrupt("audit_records.customer_id"))?),
            None => None,
        },
        customer_name: row.try_get("customer_name")?,
        customer_name_folded: row.try_get("customer_name_folded")?,
        user_principal_name: row.try_get("user_principal_name")?,
        resource_type: row.try_get("resource_type")?,
        operation_type: row.try_get("operation_type")?,
        operation_date: ts(row, "operation_date")?,
        operation_status: row.try_get("operation_status")?,
        customized_data: serde_json::from_str(&data).map_err(|_| corrupt("audit_records.customized_data"))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn insert_audit(tx: &mut Tx, r: &AuditRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_records (partner_id, seq, id, customer_id, customer_name, customer_name_folded, \
         user_principal_name, resource_type, operation_type, operation_date, operation_status, customized_data, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(r.partner_id.to_string())
    .bind(r.seq)
    .bind(r.id.to_string())
    .bind(r.customer_id.map(|c| c.to_string()))
    .bind(r.customer_name.clone())
    .bind(r.customer_name_folded.clone())
    .bind(&r.user_principal_name)
    .bind(&r.resource_type)
    .bind(&r.operation_type)
    .bind(r.operation_date.micros())
    .bind(&r.operation_status)
    .bind(serde_json::to_string(&r.customized_data).map_err(|_| corrupt("customized_data"))?)
    .bind(&r.prev_hash)
    .bind(&r.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `AND (at, id) > (cursor)` written so both databases use the keyset index.
/// A continuation token this server did not issue for the list it is used with.
fn bad_cursor() -> StoreError {
    StoreError::Refused(domain::DomainError::invalid("MS-ContinuationToken", "is not a token this server issued"))
}

fn keyset(at_col: &str, id_col: &str, first_param: usize) -> String {
    format!(" AND ({at_col} > ${a} OR ({at_col} = ${a} AND {id_col} > ${b}))", a = first_param, b = first_param + 1)
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        // Several servers may start at once against one database: one migrates, the others wait.
        let lock = self.backend.migration_lock();
        if let Some((take, _)) = lock {
            sqlx::query(take).execute(&mut *conn).await?;
        }
        let result = self.run_migrations(&mut conn).await;
        if let Some((_, release)) = lock {
            sqlx::query(release).execute(&mut *conn).await?;
        }
        result
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&self.write)
            .await?;
        let row =
            sqlx::query("SELECT value FROM server_settings WHERE name = $1").bind(name).fetch_one(&self.write).await?;
        Ok(row.try_get(0)?)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn backup_to(&self, path: &str) -> StoreResult<()> {
        match self.backend {
            // A read transaction's snapshot, written out as a compact database file while the server keeps serving.
            Backend::Sqlite => {
                sqlx::query("VACUUM INTO $1").bind(path).execute(&self.read).await?;
                Ok(())
            }
            Backend::Postgres => Err(StoreError::Refused(domain::DomainError::invalid(
                "backup",
                "PostgreSQL is backed up with its own tools: pg_dump --format=custom (see README)",
            ))),
        }
    }

    async fn create_partner(&self, p: &Partner, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO partners (id, name, sandbox, clock_offset_micros, created_at, audit_seq, audit_head) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(p.id.to_string())
        .bind(&p.name)
        .bind(p.sandbox as i64)
        .bind(p.clock_offset_micros)
        .bind(p.created_at.micros())
        .bind(GENESIS_HASH)
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, p.id, effects).await?;
        Ok(())
    }

    async fn get_partner(&self, id: PartnerId) -> StoreResult<Option<Partner>> {
        let sql = format!("SELECT {PARTNER_COLS} FROM partners p WHERE p.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(partner_from).transpose()
    }

    async fn list_partners(&self) -> StoreResult<Vec<Partner>> {
        let sql = format!("SELECT {PARTNER_COLS} FROM partners p ORDER BY p.created_at, p.id");
        sqlx::query(&sql).fetch_all(&self.read).await?.iter().map(partner_from).collect()
    }

    async fn page_partners(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Partner>> {
        let mut sql = format!("SELECT {PARTNER_COLS} FROM partners p WHERE 1 = 1");
        if after.is_some() {
            sql.push_str(&keyset("p.created_at", "p.id", 1));
        }
        sql.push_str(&format!(" ORDER BY p.created_at, p.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql);
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(partner_from).collect()
    }

    async fn advance_clock(
        &self,
        scope: PartnerScope,
        micros: i64,
        max_offset: i64,
        effects: Effects,
    ) -> StoreResult<Partner> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE partners SET clock_offset_micros = clock_offset_micros + $1 WHERE id = $2 AND sandbox = $3 \
             AND clock_offset_micros <= $4 - $1",
        )
        .bind(micros)
        .bind(scope.partner_id().to_string())
        .bind(1_i64)
        .bind(max_offset)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply_effects(&mut tx, scope.partner_id(), effects).await?;
        let sql = format!("SELECT {PARTNER_COLS} FROM partners p WHERE p.id = $1");
        let row = sqlx::query(&sql).bind(scope.partner_id().to_string()).fetch_one(&mut *tx).await?;
        let partner = partner_from(&row)?;
        tx.commit().await?;
        Ok(partner)
    }

    async fn create_user(&self, user: &User, password_hash: Option<&str>, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let result = sqlx::query(
            "INSERT INTO users (id, partner_id, email, email_folded, display_name, roles, password_hash, disabled, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.id.to_string())
        .bind(user.partner_id.to_string())
        .bind(&user.email)
        .bind(user.email_folded())
        .bind(&user.display_name)
        .bind(user.roles.to_stored())
        .bind(password_hash.map(str::to_string))
        .bind(user.disabled as i64)
        .bind(user.created_at.micros())
        .execute(&mut *tx)
        .await;
        unless_unique(result, || StoreError::Conflict("a user with this email already exists".into()))?;
        self.commit_with(tx, user.partner_id, effects).await?;
        Ok(())
    }

    async fn get_user(&self, scope: PartnerScope, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1 AND u.id = $2");
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self, scope: PartnerScope, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<User>> {
        let mut sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1");
        if after.is_some() {
            sql.push_str(&keyset("u.created_at", "u.id", 2));
        }
        sql.push_str(&format!(" ORDER BY u.created_at, u.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(user_from).collect()
    }

    async fn update_user(
        &self,
        scope: PartnerScope,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1 AND u.id = $2{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut user = user_from(&row)?;
        if let Some(n) = &patch.display_name {
            user.display_name = n.clone();
        }
        if let Some(r) = &patch.roles {
            user.roles = r.clone();
        }
        if let Some(d) = patch.disabled {
            user.disabled = d;
        }
        sqlx::query("UPDATE users SET display_name = $1, roles = $2, disabled = $3 WHERE id = $4")
            .bind(&user.display_name)
            .bind(user.roles.to_stored())
            .bind(user.disabled as i64)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if patch.disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.to_string()).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE partner_id = $2 AND user_id = $3 AND revoked_at IS NULL",
            )
            .bind(now.micros())
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(user)
    }

    async fn credentials_by_email(&self, email_folded: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLS}, {PARTNER_COLS}, u.password_hash AS u_password_hash \
             FROM users u JOIN partners p ON p.id = u.partner_id WHERE u.email_folded = $1"
        );
        let row = sqlx::query(&sql).bind(email_folded).fetch_optional(&self.read).await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(Credentials {
                user: user_from(&row)?,
                partner: partner_from(&row)?,
                password_hash: row.try_get("u_password_hash")?,
            })),
        }
    }

    async fn create_token(&self, t: &ApiToken, token_hash: &str, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, partner_id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.id.to_string())
        .bind(t.partner_id.to_string())
        .bind(t.user_id.to_string())
        .bind(&t.name)
        .bind(token_hash)
        .bind(t.created_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, t.partner_id, effects).await?;
        Ok(())
    }

    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(TokenId, User, Partner)>> {
        let sql = format!(
            "SELECT t.id AS t_id, {USER_COLS}, {PARTNER_COLS} FROM api_tokens t \
             JOIN users u ON u.id = t.user_id JOIN partners p ON p.id = t.partner_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = $2"
        );
        let row = sqlx::query(&sql).bind(token_hash).bind(0_i64).fetch_optional(&self.read).await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((TokenId(uuid_col(&row, "t_id")?), user_from(&row)?, partner_from(&row)?))),
        }
    }

    async fn list_tokens(
        &self,
        scope: PartnerScope,
        user: UserId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ApiToken>> {
        let mut sql = String::from(
            "SELECT id, partner_id, user_id, name, created_at, revoked_at FROM api_tokens \
             WHERE partner_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        );
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", 3));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(user.to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(token_from).collect()
    }

    async fn revoke_token(
        &self,
        scope: PartnerScope,
        user: UserId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE partner_id = $2 AND user_id = $3 AND id = $4 \
             AND revoked_at IS NULL",
        )
        .bind(now.micros())
        .bind(scope.partner_id().to_string())
        .bind(user.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn list_markets(&self) -> StoreResult<Vec<Market>> {
        sqlx::query("SELECT country, currency_code, minor_units, tax_rate, tax_inclusive FROM markets ORDER BY country")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(market_from)
            .collect()
    }

    async fn get_market(&self, code: MarketCode) -> StoreResult<Option<Market>> {
        let row = sqlx::query(
            "SELECT country, currency_code, minor_units, tax_rate, tax_inclusive FROM markets WHERE country = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(market_from).transpose()
    }

    async fn put_market(&self, code: MarketCode, u: &MarketUpdate, now: Timestamp) -> StoreResult<Market> {
        let row = sqlx::query(
            "INSERT INTO markets (country, currency_code, minor_units, tax_rate, tax_inclusive, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (country) DO UPDATE SET currency_code = $2, \
             minor_units = $3, tax_rate = $4, tax_inclusive = $5, updated_at = $6 \
             RETURNING country, currency_code, minor_units, tax_rate, tax_inclusive",
        )
        .bind(code.as_str())
        .bind(&u.currency_code)
        .bind(u.minor_units as i64)
        .bind(u.tax_rate.to_string())
        .bind(u.tax_inclusive as i64)
        .bind(now.micros())
        .fetch_one(&self.write)
        .await?;
        market_from(&row)
    }

    async fn put_catalog(&self, products: &[Product], now: Timestamp) -> StoreResult<CatalogCounts> {
        let mut tx = self.begin().await?;
        let counts = crate::catalog_rows::put_catalog(&mut tx, products, now).await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        // One snapshot of the three tables, so a concurrent import is seen whole or not at all.
        let mut tx = self.read.begin().await?;
        let products = sqlx::query(
            "SELECT id, title, publisher_name, product_type, policy_kind, policy_days, available_markets, \
             unavailable_markets FROM products ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let skus = sqlx::query("SELECT product_id, id, title, term FROM skus ORDER BY product_id, position")
            .fetch_all(&mut *tx)
            .await?;
        let prices =
            sqlx::query("SELECT product_id, sku_id, country, currency_code, scale, list_price_minor FROM prices")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        crate::catalog_rows::assemble(products, skus, prices)
    }

    async fn put_type_availability(
        &self,
        product_type: ProductType,
        rule: &MarketRule,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (mode, markets) = rule.to_stored();
        sqlx::query(
            "INSERT INTO type_availability (product_type, mode, markets, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (product_type) DO UPDATE SET mode = $2, markets = $3, updated_at = $4",
        )
        .bind(product_type.as_str())
        .bind(mode)
        .bind(markets)
        .bind(now.micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn type_availability(&self) -> StoreResult<Vec<(ProductType, MarketRule)>> {
        sqlx::query("SELECT product_type, mode, markets FROM type_availability ORDER BY product_type")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(crate::catalog_rows::rule_from)
            .collect()
    }

    async fn add_keys(
        &self,
        product_id: &str,
        sku_id: &str,
        keys: &[NewKey],
        now: Timestamp,
        idempotency: Option<IdempotencyCompletion>,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        for (i, k) in keys.iter().enumerate() {
            let known = sqlx::query("SELECT 1 FROM activation_keys WHERE fingerprint = $1")
                .bind(&k.fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_some() {
                return Err(StoreError::Refused(domain::DomainError::Conflict(format!(
                    "keys[{i}] is already in stock or sold; nothing was added"
                ))));
            }
            let inserted = sqlx::query(
                "INSERT INTO activation_keys (id, product_id, sku_id, fingerprint, sealed, software_item_id, added_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(k.id.to_string())
            .bind(product_id)
            .bind(sku_id)
            .bind(&k.fingerprint)
            .bind(k.sealed.clone())
            .bind(now.micros())
            .execute(&mut *tx)
            .await;
            // A concurrent import may commit the same key between the check and the insert.
            unless_unique(inserted, || {
                StoreError::Refused(domain::DomainError::Conflict(format!(
                    "keys[{i}] is already in stock or sold; nothing was added"
                )))
            })?;
        }
        let row = sqlx::query(
            "SELECT COUNT(*) FROM activation_keys WHERE product_id = $1 AND sku_id = $2 AND software_item_id IS NULL",
        )
        .bind(product_id)
        .bind(sku_id)
        .fetch_one(&mut *tx)
        .await?;
        let available: i64 = row.try_get(0)?;
        if let Some(done) = idempotency {
            complete_idempotency(&mut tx, done).await?;
        }
        tx.commit().await?;
        Ok(available)
    }

    async fn key_stock(&self, product_id: &str, sku_id: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM activation_keys WHERE product_id = $1 AND sku_id = $2 AND software_item_id IS NULL",
        )
        .bind(product_id)
        .bind(sku_id)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn create_cart(&self, scope: PartnerScope, cart: &Cart, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO carts (id, partner_id, customer_id, status, line_items, order_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
        )
        .bind(cart.id.to_string())
        .bind(scope.partner_id().to_string())
        .bind(cart.customer_id.to_string())
        .bind(cart.status.as_str())
        .bind(crate::orders::lines_json(&cart.lines)?)
        .bind(cart.created_at.micros())
        .bind(cart.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_cart(&self, scope: PartnerScope, customer: TenantId, id: CartId) -> StoreResult<Option<Cart>> {
        let sql = format!(
            "SELECT {} FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3",
            crate::orders::CART_COLS
        );
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(crate::orders::cart_from).transpose()
    }

    async fn update_cart(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: CartId,
        lines: &[CartLine],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Cart> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE carts SET line_items = $1, updated_at = $2 WHERE partner_id = $3 AND customer_id = $4 AND id = $5 \
             AND status = 'active'",
        )
        .bind(crate::orders::lines_json(lines)?)
        .bind(now.micros())
        .bind(scope.partner_id().to_string())
        .bind(customer.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sql = format!(
            "SELECT {} FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3",
            crate::orders::CART_COLS
        );
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let cart = crate::orders::cart_from(&row)?;
        if n != 1 {
            let order = cart.order_id.map(|o| o.to_string()).unwrap_or_default();
            return Err(StoreError::Refused(domain::DomainError::CartAlreadyOrdered(order)));
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(cart)
    }

    async fn place_order(
        &self,
        scope: PartnerScope,
        order: &Order,
        cart: CartClaim<'_>,
        items: &[NewSoftwareItem],
        effects: Effects,
    ) -> StoreResult<()> {
        let partner = scope.partner_id().to_string();
        let customer = order.customer_id.to_string();
        let order_id = order.id.to_string();
        let mut tx = self.begin().await?;
        match cart {
            CartClaim::Direct(cart) => {
                // A new cart, written already ordered: nothing else can claim it.
                sqlx::query(
                    "INSERT INTO carts (id, partner_id, customer_id, status, line_items, order_id, created_at, \
                     updated_at) VALUES ($1, $2, $3, 'ordered', $4, $5, $6, $6)",
                )
                .bind(cart.id.to_string())
                .bind(&partner)
                .bind(&customer)
                .bind(crate::orders::lines_json(&cart.lines)?)
                .bind(&order_id)
                .bind(order.created_at.micros())
                .execute(&mut *tx)
                .await?;
            }
            CartClaim::Stored { version } => {
                // Claiming the cart first: a second checkout (or a racing one) finds it ordered and stops here.
                let claimed = sqlx::query(
                    "UPDATE carts SET status = 'ordered', order_id = $1, updated_at = $2 WHERE partner_id = $3 \
                     AND customer_id = $4 AND id = $5 AND status = 'active' AND updated_at = $6",
                )
                .bind(&order_id)
                .bind(order.created_at.micros())
                .bind(&partner)
                .bind(&customer)
                .bind(order.cart_id.to_string())
                .bind(version.micros())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed != 1 {
                    let row = sqlx::query(
                        "SELECT order_id FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3",
                    )
                    .bind(&partner)
                    .bind(&customer)
                    .bind(order.cart_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let existing: Option<String> = row.try_get(0)?;
                    return Err(StoreError::Refused(match existing {
                        Some(order) => domain::DomainError::CartAlreadyOrdered(order),
                        // Still active but changed since it was priced: the caller must price it again.
                        None => {
                            domain::DomainError::Conflict("the cart changed during checkout; check it out again".into())
                        }
                    }));
                }
            }
        }
        sqlx::query(
            "INSERT INTO orders (id, partner_id, customer_id, cart_id, currency_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&order_id)
        .bind(&partner)
        .bind(&customer)
        .bind(order.cart_id.to_string())
        .bind(&order.currency)
        .bind(order.created_at.micros())
        .execute(&mut *tx)
        .await?;
        for l in &order.lines {
            let p = &l.pricing;
            sqlx::query(
                "INSERT INTO order_lines (order_id, line_number, product_id, sku_id, availability_id, product_type, \
                 title, friendly_name, term, quantity, scale, unit_price_minor, net_minor, tax_minor, gross_minor, \
                 tax_inclusive, tax_rate, policy_kind, policy_days, status, cancelled_at, provisioning_context) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 NULL, $21)",
            )
            .bind(&order_id)
            .bind(l.line_number as i64)
            .bind(&l.product_id)
            .bind(&l.sku_id)
            .bind(&l.availability_id)
            .bind(l.product_type.as_str())
            .bind(&l.title)
            .bind(l.friendly_name.clone())
            .bind(l.term.map(|t| t.as_str().to_string()))
            .bind(p.quantity)
            .bind(p.net.scale as i64)
            .bind(p.unit_price.minor)
            .bind(p.net.minor)
            .bind(p.tax.minor)
            .bind(p.gross.minor)
            .bind(p.tax_inclusive as i64)
            .bind(l.tax_rate.to_string())
            .bind(l.policy.kind())
            .bind(l.policy.window_days().map(i64::from))
            .bind(l.status.as_str())
            .bind(l.provisioning_context.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()))
            .execute(&mut *tx)
            .await?;
            let charge = LedgerLine {
                id: domain::ids::LedgerEntryId::new(),
                kind: "new",
                currency: order.currency.clone(),
                scale: p.net.scale,
                at: order.created_at,
                customer_id: Some(order.customer_id),
                order_id: Some(order.id),
                line_number: Some(l.line_number),
                reference: None,
                quantity: p.quantity,
                unit_price_minor: p.unit_price.minor,
                net_minor: p.net.minor,
                tax_minor: p.tax.minor,
                gross_minor: p.gross.minor,
            };
            cancellations::insert_ledger(&mut tx, scope.partner_id(), &charge).await?;
        }
        let skip_locked = self.backend.skip_locked();
        for item in items {
            let line = order
                .lines
                .iter()
                .find(|l| l.line_number == item.line_number)
                .ok_or_else(|| StoreError::Corrupt("software item for a missing line".into()))?;
            let key_id: Option<String> = if item.needs_key {
                // Oldest key first; on PostgreSQL a key another checkout holds is skipped, never shared.
                let sql = format!(
                    "UPDATE activation_keys SET software_item_id = $1 WHERE id = (SELECT id FROM activation_keys \
                     WHERE product_id = $2 AND sku_id = $3 AND software_item_id IS NULL ORDER BY added_at, id \
                     LIMIT 1{skip_locked}) AND software_item_id IS NULL RETURNING id"
                );
                let row = sqlx::query(&sql)
                    .bind(item.id.to_string())
                    .bind(&line.product_id)
                    .bind(&line.sku_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                match row {
                    Some(r) => Some(r.try_get(0)?),
                    None => {
                        return Err(StoreError::Refused(domain::DomainError::InsufficientKeyStock(format!(
                            "no activation key left for {}:{} (line {}); nothing was ordered",
                            line.product_id, line.sku_id, line.line_number
                        ))))
                    }
                }
            } else {
                None
            };
            sqlx::query(
                "INSERT INTO software_items (id, partner_id, customer_id, order_id, line_number, product_id, sku_id, \
                 key_id, status, purchased_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)",
            )
            .bind(item.id.to_string())
            .bind(&partner)
            .bind(&customer)
            .bind(&order_id)
            .bind(item.line_number as i64)
            .bind(&line.product_id)
            .bind(&line.sku_id)
            .bind(key_id)
            .bind(order.created_at.micros())
            .execute(&mut *tx)
            .await?;
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn cancel_lines(&self, scope: PartnerScope, cancel: &CancelLines, effects: Effects) -> StoreResult<()> {
        self.cancel_order_lines(scope, cancel, effects).await
    }

    async fn get_order(&self, scope: PartnerScope, customer: TenantId, id: OrderId) -> StoreResult<Option<Order>> {
        let mut orders = self.orders_where(scope, customer, Some(id), 1, None).await?;
        Ok(orders.pop())
    }

    async fn list_orders(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>> {
        self.orders_where(scope, customer, None, limit, after).await
    }

    async fn list_software(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<SoftwareItem>> {
        let mut sql = format!(
            "SELECT {} FROM software_items s JOIN order_lines l ON l.order_id = s.order_id \
             AND l.line_number = s.line_number WHERE s.partner_id = $1 AND s.customer_id = $2",
            crate::orders::SOFTWARE_COLS
        );
        if after.is_some() {
            sql.push_str(&keyset("s.purchased_at", "s.id", 3));
        }
        sql.push_str(&format!(" ORDER BY s.purchased_at, s.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(crate::orders::software_from).collect()
    }

    async fn active_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        reservations: Option<bool>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        let reservation = ProductType::AzureReservation.as_str();
        let which = match reservations {
            Some(true) => format!("l.status = 'active' AND l.product_type = '{reservation}'"),
            Some(false) => format!("l.status = 'active' AND l.product_type <> '{reservation}'"),
            None => "l.status = 'active'".to_string(),
        };
        self.customer_order_lines(scope, customer, &which, limit, after).await
    }

    async fn term_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        self.customer_order_lines(scope, customer, "l.term IS NOT NULL", limit, after).await
    }

    async fn get_software_item(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: SoftwareItemId,
    ) -> StoreResult<Option<SoftwareItemWithKey>> {
        self.software_item_with_key(scope, customer, id).await
    }

    async fn add_artifact(&self, artifact: &Artifact) -> StoreResult<()> {
        self.insert_artifact(artifact).await
    }

    async fn list_artifacts(&self, product_id: &str) -> StoreResult<Vec<Artifact>> {
        self.artifacts_of(product_id).await
    }

    async fn issue_links(
        &self,
        scope: PartnerScope,
        item: SoftwareItemId,
        links: &[NewDownloadLink],
        effects: Effects,
    ) -> StoreResult<()> {
        self.insert_links(scope, item, links, effects).await
    }

    async fn find_link(&self, token_hash: &str) -> StoreResult<Option<LinkForDownload>> {
        self.link_by_token_hash(token_hash).await
    }

    async fn redeem_link(
        &self,
        link: DownloadLinkId,
        partner: PartnerId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState> {
        self.redeem(link, partner, now, transfer, effects).await
    }

    async fn list_item_links(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
    ) -> StoreResult<Vec<ItemLink>> {
        self.list_item_links(scope, customer, item).await
    }

    async fn revoke_link(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
        link: DownloadLinkId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool> {
        self.revoke_link(scope, customer, item, link, now, effects).await
    }

    async fn record_activity(&self, scope: PartnerScope, effects: Effects) -> StoreResult<()> {
        let tx = self.begin().await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn run_invoices(&self, partners: &[(PartnerScope, Timestamp)], period: Period) -> StoreResult<Vec<Invoice>> {
        self.issue_invoices(partners, period).await
    }

    async fn list_invoices(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Invoice>> {
        self.invoices_where(scope, None, limit, after).await
    }

    async fn get_invoice(&self, scope: PartnerScope, id: InvoiceId) -> StoreResult<Option<Invoice>> {
        Ok(self.invoices_where(scope, Some(id), 1, None).await?.pop())
    }

    async fn invoice_lines(
        &self,
        scope: PartnerScope,
        of: LedgerLines,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<InvoiceLine>> {
        self.lines_of_invoice(scope, of, limit, after).await
    }

    async fn create_service_request(
        &self,
        scope: PartnerScope,
        request: &ServiceRequest,
        effects: Effects,
    ) -> StoreResult<()> {
        self.insert_service_request(scope, request, effects).await
    }

    async fn get_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
    ) -> StoreResult<Option<ServiceRequest>> {
        self.service_request(Some(scope.partner_id()), id).await
    }

    async fn list_service_requests(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        self.service_requests_of(scope, limit, after).await
    }

    async fn list_customer_service_requests(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        self.service_requests_of_customer(scope, customer, limit, after).await
    }

    async fn desk_service_requests(
        &self,
        status: Option<RequestStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        self.desk_requests(status, limit, after).await
    }

    async fn desk_service_request(&self, id: ServiceRequestId) -> StoreResult<Option<ServiceRequest>> {
        self.service_request(None, id).await
    }

    async fn change_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
        effects: Effects,
    ) -> StoreResult<()> {
        self.apply_request_change(scope, id, change, effects).await
    }

    async fn order_balance(&self, scope: PartnerScope, order: OrderId) -> StoreResult<Option<OrderBalance>> {
        self.order_balance_of(scope, order).await
    }

    async fn find_order(&self, scope: PartnerScope, id: OrderId) -> StoreResult<Option<Order>> {
        self.order_by_id(scope, id).await
    }

    async fn ledger_facts(&self) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)> {
        self.ledger_facts_of().await
    }

    async fn create_session(&self, token_hash: &str, user: UserId, csrf: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(csrf)
        .bind(now.micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<(User, Partner, String, Timestamp)>> {
        let sql = format!(
            "SELECT {USER_COLS}, {PARTNER_COLS}, s.csrf AS s_csrf, s.last_seen_at AS s_last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id JOIN partners p ON p.id = u.partner_id \
             WHERE s.token_hash = $1 AND u.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(|r| Ok((user_from(&r)?, partner_from(&r)?, r.try_get("s_csrf")?, ts(&r, "s_last_seen_at")?)))
            .transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now.micros())
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.write).await?;
        Ok(())
    }

    async fn record_sign_in_failure(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        // A window that has passed starts again at one; otherwise the count grows. One statement, so concurrent
        // failures are all counted.
        let row = sqlx::query(
            "INSERT INTO sign_in_failures (key, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN sign_in_failures.window_start <= $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
             window_start = CASE WHEN sign_in_failures.window_start <= $3 THEN $2 ELSE sign_in_failures.window_start END \
             RETURNING failures",
        )
        .bind(key)
        .bind(now.micros())
        .bind(now.micros() - window_micros)
        .fetch_one(&self.write)
        .await?;
        Ok(row.try_get("failures")?)
    }

    async fn sign_in_failures(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT failures FROM sign_in_failures WHERE key = $1 AND window_start > $2")
            .bind(key)
            .bind(now.micros() - window_micros)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?.unwrap_or(0))
    }

    async fn purge_sessions(&self, idle_before: Timestamp, window_before: Timestamp) -> StoreResult<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1")
            .bind(idle_before.micros())
            .execute(&self.write)
            .await?
            .rows_affected();
        let failures = sqlx::query("DELETE FROM sign_in_failures WHERE window_start < $1")
            .bind(window_before.micros())
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(sessions + failures)
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1").bind(key).execute(&self.write).await?;
        Ok(())
    }

    async fn create_customer(&self, scope: PartnerScope, c: &Customer, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Say which of the two unique keys is taken; the unique indexes stay the guard under races.
        let taken = sqlx::query(
            "SELECT tenant_id, domain FROM customers WHERE partner_id = $1 AND (tenant_id = $2 OR domain = $3)",
        )
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(&c.domain)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = taken {
            let tenant: String = row.try_get(0)?;
            return Err(StoreError::Conflict(if tenant == c.tenant_id.to_string() {
                format!("a customer with tenant id {} already exists", c.tenant_id)
            } else {
                format!("a customer with domain {} already exists", c.domain)
            }));
        }
        // Numbered under the partner row's lock, so positions follow commit order.
        let position: i64 = sqlx::query(
            "UPDATE partners SET customer_count = customer_count + 1 WHERE id = $1 RETURNING customer_count",
        )
        .bind(scope.partner_id().to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let result = sqlx::query(
            "INSERT INTO customers (partner_id, tenant_id, company_name, company_name_folded, domain, billing_email, \
             billing_company_name, address_json, market, created_at, position, billing_json, profile_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(&c.company_name)
        .bind(fold(&c.company_name))
        .bind(&c.domain)
        .bind(&c.billing_email)
        .bind(&c.billing_company_name)
        .bind(serde_json::to_string(&c.address).map_err(|_| corrupt("address"))?)
        .bind(c.market.as_str())
        .bind(c.created_at.micros())
        .bind(position)
        .bind(serde_json::to_string(&c.billing).map_err(|_| corrupt("billing"))?)
        .bind(c.profile_version)
        .execute(&mut *tx)
        .await;
        unless_unique(result, || {
            StoreError::Conflict("a customer with this tenant id or domain already exists".into())
        })?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn update_customer_billing(
        &self,
        scope: PartnerScope,
        c: &Customer,
        expected_version: i64,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Compare-and-set on the version: of two writers that read the same profile, the second is refused.
        let changed = sqlx::query(
            "UPDATE customers SET billing_email = $1, billing_company_name = $2, address_json = $3, billing_json = $4, \
             profile_version = $5 WHERE partner_id = $6 AND tenant_id = $7 AND profile_version = $8",
        )
        .bind(&c.billing_email)
        .bind(&c.billing_company_name)
        .bind(serde_json::to_string(&c.address).map_err(|_| corrupt("address"))?)
        .bind(serde_json::to_string(&c.billing).map_err(|_| corrupt("billing"))?)
        .bind(c.profile_version)
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            let exists = sqlx::query("SELECT 1 FROM customers WHERE partner_id = $1 AND tenant_id = $2")
                .bind(scope.partner_id().to_string())
                .bind(c.tenant_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                StoreError::Refused(domain::DomainError::PreconditionFailed)
            } else {
                StoreError::NotFound
            });
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_customer(&self, scope: PartnerScope, id: TenantId) -> StoreResult<Option<Customer>> {
        let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE partner_id = $1 AND tenant_id = $2");
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(customer_from).transpose()
    }

    async fn list_customers(
        &self,
        scope: PartnerScope,
        filter: Option<&CustomerFilter>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Customer>> {
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE partner_id = $1");
        let mut next = 2;
        if let Some(f) = filter {
            let col = match f.field {
                CustomerField::CompanyName => "company_name_folded",
                CustomerField::Domain => "domain",
                CustomerField::TenantId => "tenant_id",
            };
            sql.push_str(&format!(" AND {col} LIKE ${next} ESCAPE '\\'"));
            next += 1;
        }
        if after.is_some() {
            sql.push_str(&format!(" AND position > ${next}"));
        }
        sql.push_str(&format!(" ORDER BY position LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(f) = filter {
            q = q.bind(like_pattern(f.operator, &f.value));
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros());
        }
        q.fetch_all(&self.read).await?.iter().map(customer_from).collect()
    }

    async fn list_audit(
        &self,
        scope: PartnerScope,
        range: DateRange,
        filter: Option<&AuditFilter>,
        limit: u32,
        after: Option<&Cursor>,
        order: AuditOrder,
    ) -> StoreResult<Vec<AuditRecord>> {
        let (past, direction) = match order {
            AuditOrder::OldestFirst => (">", ""),
            AuditOrder::NewestFirst => ("<", " DESC"),
        };
        let mut sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_records WHERE partner_id = $1 AND operation_date >= $2 \
             AND operation_date < $3"
        );
        let mut next = 4;
        if let Some(f) = filter {
            let col = match f.field {
                AuditField::CustomerId => "customer_id",
                AuditField::CompanyName => "customer_name_folded",
                AuditField::ResourceType => "resource_type",
                AuditField::OperationType => "operation_type",
            };
            sql.push_str(&format!(" AND {col} LIKE ${next} ESCAPE '\\'"));
            next += 1;
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (operation_date {past} ${a} OR (operation_date = ${a} AND seq {past} ${b}))",
                a = next,
                b = next + 1
            ));
        }
        sql.push_str(&format!(" ORDER BY operation_date{direction}, seq{direction} LIMIT {limit}"));
        let mut q =
            sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(range.from.micros()).bind(range.until.micros());
        if let Some(f) = filter {
            q = q.bind(like_pattern(f.operator, &f.value));
        }
        if let Some(c) = after {
            let seq: i64 = c.id.parse().map_err(|_| StoreError::Corrupt("activity cursor".into()))?;
            q = q.bind(c.at.micros()).bind(seq);
        }
        q.fetch_all(&self.read).await?.iter().map(audit_from).collect()
    }

    async fn audit_chain(&self, scope: PartnerScope, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_records WHERE partner_id = $1 AND seq > $2 ORDER BY seq LIMIT {limit}"
        );
        sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(after_seq)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(audit_from)
            .collect()
    }

    async fn audit_head(&self, scope: PartnerScope) -> StoreResult<(i64, String)> {
        let row = sqlx::query("SELECT audit_seq, audit_head FROM partners WHERE id = $1")
            .bind(scope.partner_id().to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    async fn claim_idempotency(&self, c: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, state, locked_until, created_at) \
             VALUES ($1, $2, $3, 'in_progress', $4, $5) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&c.scope)
        .bind(&c.key)
        .bind(&c.fingerprint)
        .bind(c.now.micros() + c.lease_micros)
        .bind(c.now.micros())
        .execute(&self.write)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(ClaimOutcome::Claimed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, state, locked_until, response_status, response_body, encrypted, created_at \
             FROM idempotency WHERE scope = $1 AND key = $2",
        )
        .bind(&c.scope)
        .bind(&c.key)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else {
            // Purged between the insert and the read: the caller may simply retry.
            return Ok(ClaimOutcome::InProgress);
        };
        let fingerprint: String = row.try_get("fingerprint")?;
        let state: String = row.try_get("state")?;
        let locked_until: i64 = row.try_get("locked_until")?;
        let created_at: i64 = row.try_get("created_at")?;
        let expired = created_at + c.ttl_micros <= c.now.micros();
        let abandoned = state == "in_progress" && locked_until <= c.now.micros();
        if expired || abandoned {
            // Take the record over, unless another request did so first (compare-and-set on the old values).
            let n = sqlx::query(
                "UPDATE idempotency SET fingerprint = $1, state = 'in_progress', locked_until = $2, created_at = $3, \
                 response_status = NULL, response_body = NULL, encrypted = $4 \
                 WHERE scope = $5 AND key = $6 AND created_at = $7 AND locked_until = $8 AND state = $9",
            )
            .bind(&c.fingerprint)
            .bind(c.now.micros() + c.lease_micros)
            .bind(c.now.micros())
            .bind(0_i64)
            .bind(&c.scope)
            .bind(&c.key)
            .bind(created_at)
            .bind(locked_until)
            .bind(&state)
            .execute(&self.write)
            .await?
            .rows_affected();
            return Ok(if n == 1 { ClaimOutcome::Claimed } else { ClaimOutcome::InProgress });
        }
        if fingerprint != c.fingerprint {
            return Ok(ClaimOutcome::Mismatch);
        }
        if state == "done" {
            let status: i64 = row.try_get("response_status")?;
            return Ok(ClaimOutcome::Replay {
                status: u16::try_from(status).map_err(|_| corrupt("idempotency.response_status"))?,
                body: row.try_get::<Option<Vec<u8>>, _>("response_body")?.unwrap_or_default(),
                encrypted: flag(&row, "encrypted")?,
            });
        }
        Ok(ClaimOutcome::InProgress)
    }

    async fn create_webhook(
        &self,
        scope: PartnerScope,
        endpoint: &WebhookEndpoint,
        sealed_secret: &[u8],
        effects: Effects,
    ) -> StoreResult<()> {
        self.insert_webhook(scope, endpoint, sealed_secret, effects).await
    }

    async fn list_webhooks(&self, scope: PartnerScope) -> StoreResult<Vec<WebhookEndpoint>> {
        self.webhooks_of(scope, None, domain::webhook::MAX_ENDPOINTS_PER_PARTNER as u32, None).await
    }

    async fn page_webhooks(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<WebhookEndpoint>> {
        self.webhooks_of(scope, None, limit, after).await
    }

    async fn get_webhook(&self, scope: PartnerScope, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        Ok(self.webhooks_of(scope, Some(id), 1, None).await?.pop())
    }

    async fn delete_webhook(&self, scope: PartnerScope, id: WebhookId, effects: Effects) -> StoreResult<()> {
        self.remove_webhook(scope, id, effects).await
    }

    async fn webhooks_behind(&self, limit: u32) -> StoreResult<Vec<(WebhookEndpoint, i64)>> {
        self.endpoints_behind(limit).await
    }

    async fn enqueue_deliveries(
        &self,
        endpoint: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.enqueue(endpoint, from, to, deliveries, now).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_endpoint: u32,
        full_partners: &[PartnerId],
        full_endpoints: &[WebhookId],
    ) -> StoreResult<Vec<DueDelivery>> {
        self.due(now, limit, per_endpoint, full_partners, full_endpoints).await
    }

    async fn claim_deliveries(
        &self,
        ids: &[DeliveryId],
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.claim(ids, now, hold_until).await
    }

    async fn add_test_delivery(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        delivery: &NewDelivery,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<ClaimedDelivery> {
        self.insert_test_delivery(scope, endpoint, delivery, now, hold_until).await
    }

    async fn finish_attempt(&self, finished: &FinishedAttempt) -> StoreResult<()> {
        self.record_attempt(finished).await
    }

    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        self.forget_deliveries(before).await
    }

    async fn list_deliveries(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Delivery>> {
        self.deliveries_of(scope, endpoint, limit, after).await
    }

    async fn release_idempotency(&self, scope: &str, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND state = 'in_progress'")
            .bind(scope)
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn purge_idempotency(&self, older_than: Timestamp) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
            .bind(older_than.micros())
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}
