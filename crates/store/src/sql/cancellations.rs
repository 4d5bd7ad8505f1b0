//! Cancellation (R10), the ledger rows it and checkout write, and the one place credits are written: checked
//! against the order's balance under the order's lock, in the transaction that writes them (SPEC §8).

use super::*;
use domain::credit::{LineBalance, LineCredit, OrderBalance};
use domain::DomainError;
use std::str::FromStr;

/// Writes one ledger row of the partner.
pub(super) async fn insert_ledger(tx: &mut Tx, partner: PartnerId, l: &LedgerLine) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ledger (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, \
         quantity, unit_price_minor, net_minor, tax_minor, gross_minor, invoice_id, reference) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15)",
    )
    .bind(l.id.to_string())
    .bind(partner.to_string())
    .bind(&l.currency)
    .bind(i64::from(l.scale))
    .bind(l.at.micros())
    .bind(l.kind)
    .bind(l.customer_id.map(|c| c.to_string()))
    .bind(l.order_id.map(|o| o.to_string()))
    .bind(l.line_number.map(i64::from))
    .bind(l.quantity)
    .bind(l.unit_price_minor)
    .bind(l.net_minor)
    .bind(l.tax_minor)
    .bind(l.gross_minor)
    .bind(l.reference.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn cancel_order_lines(
        &self,
        scope: PartnerScope,
        c: &CancelLines,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.cancel_in(&mut tx, scope, c).await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

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

    /// Locks an order's row for the rest of the transaction: every writer of the order's credits or lines takes it
    /// before anything else of the order, so they queue on it (`FOR NO KEY UPDATE` on PostgreSQL, which does not block
    /// the `FOR KEY SHARE` of inserts that reference the order; nothing on SQLite, whose single writer serializes).
    /// `NotFound` when the partner has no such order.
    pub(super) async fn lock_order(&self, tx: &mut Tx, scope: PartnerScope, order: OrderId) -> StoreResult<()> {
        let sql = format!("SELECT id FROM orders WHERE id = $1 AND partner_id = $2{}", self.chain_lock());
        sqlx::query(&sql)
            .bind(order.to_string())
            .bind(scope.partner_id().to_string())
            .fetch_optional(&mut **tx)
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    /// An order's balance: each line's charge and what has been credited on it. In a write transaction (`tx`) the
    /// order row is locked first (`FOR NO KEY UPDATE` on PostgreSQL, which every credit writer takes and which does not
    /// block the `FOR KEY SHARE` of inserts that reference the order; SQLite's single writer serializes anyway), so
    /// the balance read is the one the credits are written against.
    async fn balance(
        &self,
        exec: &mut sqlx::AnyConnection,
        scope: PartnerScope,
        order: OrderId,
        lock: bool,
    ) -> StoreResult<Option<OrderBalance>> {
        let lock = if lock { self.chain_lock() } else { "" };
        let sql = format!("SELECT currency_code FROM orders WHERE id = $1 AND partner_id = $2{lock}");
        let Some(row) = sqlx::query(&sql)
            .bind(order.to_string())
            .bind(scope.partner_id().to_string())
            .fetch_optional(&mut *exec)
            .await?
        else {
            return Ok(None);
        };
        let currency: String = row.try_get("currency_code")?;
        let lines = sqlx::query(
            "SELECT line_number, scale, net_minor, tax_minor, tax_rate FROM order_lines WHERE order_id = $1 \
             ORDER BY line_number",
        )
        .bind(order.to_string())
        .fetch_all(&mut *exec)
        .await?;
        let credited = sqlx::query(
            "SELECT line_number, CAST(SUM(-net_minor) AS BIGINT) AS net, CAST(SUM(-tax_minor) AS BIGINT) AS tax, \
             CAST(SUM(-gross_minor) AS BIGINT) AS gross FROM ledger WHERE partner_id = $1 AND order_id = $2 \
             AND kind IN ('cancel', 'refund') GROUP BY line_number",
        )
        .bind(scope.partner_id().to_string())
        .bind(order.to_string())
        .fetch_all(&mut *exec)
        .await?;
        let mut scale = 0;
        let mut balances = Vec::with_capacity(lines.len());
        for l in &lines {
            scale = u8::try_from(l.try_get::<i64, _>("scale")?).map_err(|_| corrupt("order_lines.scale"))?;
            let rate: String = l.try_get("tax_rate")?;
            balances.push(LineBalance {
                line_number: u32::try_from(l.try_get::<i64, _>("line_number")?)
                    .map_err(|_| corrupt("order_lines.line_number"))?,
                tax_rate: rust_decimal::Decimal::from_str(&rate).map_err(|_| corrupt("order_lines.tax_rate"))?,
                charged_net: l.try_get("net_minor")?,
                charged_tax: l.try_get("tax_minor")?,
                credited_net: 0,
                credited_tax: 0,
            });
        }
        let mut unassigned = 0;
        for c in &credited {
            match c.try_get::<Option<i64>, _>("line_number")? {
                // Written with no tax: their net is their gross.
                None => unassigned += c.try_get::<i64, _>("net")?,
                Some(n) => {
                    if let Some(b) = balances.iter_mut().find(|b| i64::from(b.line_number) == n) {
                        b.credited_net += c.try_get::<i64, _>("net")?;
                        b.credited_tax += c.try_get::<i64, _>("tax")?;
                    }
                }
            }
        }
        Ok(Some(OrderBalance::new(order, &currency, scale, balances, unassigned)))
    }

    pub(super) async fn order_balance_of(
        &self,
        scope: PartnerScope,
        order: OrderId,
    ) -> StoreResult<Option<OrderBalance>> {
        let mut conn = self.read.acquire().await?;
        self.balance(&mut conn, scope, order, false).await
    }

    /// Writes credit rows (cancel or refund). Rows naming an order are admitted against its balance read under the
    /// order's lock in this transaction (`credit_exceeds_charge` when one's gross no longer fits: nothing is written;
    /// a split into net and tax that no longer fits is moved into what is left, see `OrderBalance::admit`);
    /// a row naming no order (a goodwill refund) reverses no charge and is written as it is.
    pub(super) async fn write_credits(
        &self,
        tx: &mut Tx,
        scope: PartnerScope,
        order: OrderId,
        credits: &[LedgerLine],
    ) -> StoreResult<()> {
        let mut planned = Vec::with_capacity(credits.len());
        for c in credits {
            if c.order_id != Some(order) {
                return Err(StoreError::Corrupt("a credit row names another order".into()));
            }
            let line =
                c.line_number.ok_or_else(|| StoreError::Corrupt("a credit on an order must name its line".into()))?;
            planned.push(LineCredit { line_number: line, net: -c.net_minor, tax: -c.tax_minor });
        }
        let mut balance = self.balance(tx, scope, order, true).await?.ok_or(StoreError::NotFound)?;
        balance.admit(&mut planned).map_err(StoreError::Refused)?;
        for (credit, admitted) in credits.iter().zip(&planned) {
            let row = LedgerLine { net_minor: -admitted.net, tax_minor: -admitted.tax, ..credit.clone() };
            insert_ledger(tx, scope.partner_id(), &row).await?;
        }
        Ok(())
    }
}
