//! Housekeeping: purges of what has served its time (idle sessions and old sign-in failures, idempotency keys past
//! their day, finished webhook deliveries), run by the server's hourly housekeeping task.

use super::*;

#[async_trait]
impl Housekeeping for SqlStore {
    async fn purge_sessions(&self, idle_before: Timestamp, window_before: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin_single().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1")
            .bind(idle_before.micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let operator_sessions = sqlx::query("DELETE FROM operator_sessions WHERE last_seen_at <= $1")
            .bind(idle_before.micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let failures = sqlx::query("DELETE FROM sign_in_failures WHERE window_start < $1")
            .bind(window_before.micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(sessions + operator_sessions + failures)
    }

    async fn purge_idempotency(&self, older_than: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin_single().await?;
        let n = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
            .bind(older_than.micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// A thousand at a time, each batch its own short transaction: SQLite's one writer is never held for long.
    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        let old = "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1 LIMIT 1000";
        let mut gone = 0;
        loop {
            let mut tx = self.begin().await?;
            sqlx::query(&format!("DELETE FROM webhook_attempts WHERE delivery_id IN ({old})"))
                .bind(before.micros())
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(&format!("DELETE FROM webhook_deliveries WHERE id IN ({old})"))
                .bind(before.micros())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            gone += n;
            if n < 1000 {
                return Ok(gone);
            }
        }
    }
}
