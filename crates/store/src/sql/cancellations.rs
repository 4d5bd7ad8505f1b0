//! Cancellation (R10): lines and software items cancelled, their links revoked, and their credits written through
//! the ledger's one credit writer (`ledger::write_credits`).

use super::*;
use domain::DomainError;

impl SqlStore {
    /// The writes of a cancellation, inside a caller's transaction (checkout's partner, or a support request's
    /// update by the publisher).
    pub(super) async fn cancel_in(&self, tx: &mut Tx, scope: PartnerScope, c: &CancelLines) -> StoreResult<()> {
        // The order before its lines, on every path (see `lock_order`).
        self.lock_order(tx, scope, c.order_id).await?;
        let order = c.order_id.to_string();
        // Lock the order's lines: a concurrent cancel of the same lines waits here, then finds them cancelled.
        let sql = format!(
            "SELECT line_number, status FROM order_lines WHERE order_id = $1 AND order_id IN \
             (SELECT id FROM orders WHERE partner_id = $2 AND customer_id = $3) ORDER BY line_number{}",
            self.for_update()
        );
        let rows = sqlx::query(&sql)
            .bind(&order)
            .bind(scope.partner_id().to_string())
            .bind(c.customer.to_string())
            .fetch_all(&mut **tx)
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        for line in &c.lines {
            let status = rows
                .iter()
                .find(|r| r.try_get::<i64, _>("line_number").ok() == Some(i64::from(*line)))
                .map(|r| r.try_get::<String, _>("status"))
                .transpose()?;
            match status.as_deref() {
                Some("active") => {}
                Some(_) => {
                    return Err(StoreError::Refused(DomainError::AlreadyCancelled(format!(
                        "line item {line} of order {order} is already cancelled"
                    ))))
                }
                None => return Err(StoreError::Refused(DomainError::LineItemOutOfRange(i64::from(*line)))),
            }
        }
        for line in &c.lines {
            let n = i64::from(*line);
            sqlx::query(
                "UPDATE order_lines SET status = 'cancelled', cancelled_at = $1 WHERE order_id = $2 AND line_number = $3",
            )
            .bind(c.at.micros())
            .bind(&order)
            .bind(n)
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE software_items SET status = 'cancelled' WHERE order_id = $1 AND line_number = $2")
                .bind(&order)
                .bind(n)
                .execute(&mut **tx)
                .await?;
            // Every link of the item stops at once (R10): 410 link_revoked from the next request on.
            sqlx::query(
                "UPDATE download_links SET revoked_at = $1 WHERE revoked_at IS NULL AND software_item_id IN \
                 (SELECT id FROM software_items WHERE order_id = $2 AND line_number = $3)",
            )
            .bind(c.at.micros())
            .bind(&order)
            .bind(n)
            .execute(&mut **tx)
            .await?;
        }
        self.write_credits(tx, scope, c.order_id, &c.credits).await
    }
}

#[async_trait]
impl CancellationStore for SqlStore {
    async fn cancel_lines(&self, scope: PartnerScope, c: &CancelLines, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Err(e) = self.cancel_in(&mut tx, scope, c).await {
            // A credit refused because another landed is worked out again by the caller: after the batch.
            return tx.refused(e).await;
        }
        self.commit_with(tx, scope.partner_id(), effects).await
    }
}
