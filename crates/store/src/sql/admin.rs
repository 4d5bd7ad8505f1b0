//! The database itself: migrations and reference data, settings, readiness and backups.

use super::*;
use crate::migrate::migrations;
use domain::catalog::reservation_unavailable_markets;

impl SqlStore {
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
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn write_batches(&self) -> Option<(u64, u64)> {
        self.writer_stats().map(WriterStats::snapshot)
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
        let mut tx = self.begin_single().await?;
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        let row =
            sqlx::query("SELECT value FROM server_settings WHERE name = $1").bind(name).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row.try_get(0)?)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn backup_to(&self, path: &str) -> StoreResult<()> {
        let statement = self
            .backend
            .online_backup()
            .map_err(|why| StoreError::Refused(domain::DomainError::invalid("backup", why)))?;
        sqlx::query(statement).bind(path).execute(&self.read).await?;
        Ok(())
    }
}
