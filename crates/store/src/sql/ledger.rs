//! The ledger (R12, SPEC §8): the one place its rows are written, credits admitted against the order's balance under
//! the order's lock in the transaction that writes them, the balance a cancel or refund is worked out from, and the
//! whole ledger as `ledger verify` reads it.

use super::*;
use domain::credit::{LineBalance, LineCredit, OrderBalance};

/// Writes ledger rows of the partner, in one statement per [`ROWS_PER_INSERT`] rows.
pub(super) async fn insert_ledger(tx: &mut Tx, partner: PartnerId, rows: &[LedgerLine]) -> StoreResult<()> {
    let partner = partner.to_string();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO ledger (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, \
             quantity, unit_price_minor, net_minor, tax_minor, gross_minor, invoice_id, reference) VALUES {}",
            values_rows("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)", chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for l in chunk {
            q = q
                .bind(l.id.to_string())
                .bind(&partner)
                .bind(&l.currency)
                .bind(i64::from(l.scale))
                .bind(l.at.micros())
                .bind(l.kind.as_str())
                .bind(l.customer_id.map(|c| c.to_string()))
                .bind(l.order_id.map(|o| o.to_string()))
                .bind(l.line_number.map(i64::from))
                .bind(l.quantity)
                .bind(l.unit_price_minor)
                .bind(l.net_minor)
                .bind(l.tax_minor)
                .bind(l.gross_minor)
                .bind(l.reference.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl SqlStore {
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
             AND kind <> $3 GROUP BY line_number",
        )
        .bind(scope.partner_id().to_string())
        .bind(order.to_string())
        // Every kind but a charge is a credit (`LedgerKind::is_credit`).
        .bind(LedgerKind::New.as_str())
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
                tax_rate: rate_from(&rate, "order_lines.tax_rate")?,
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
        let rows: Vec<LedgerLine> =
            credits.iter().zip(&planned).map(|(credit, admitted)| credit.admitted_as(admitted)).collect();
        insert_ledger(tx, scope.partner_id(), &rows).await
    }
}

#[async_trait]
impl BalanceStore for SqlStore {
    async fn order_balance(&self, scope: PartnerScope, order: OrderId) -> StoreResult<Option<OrderBalance>> {
        let mut conn = self.read.acquire().await?;
        self.balance(&mut conn, scope, order, false).await
    }
}

#[async_trait]
impl LedgerAuditStore for SqlStore {
    /// The ledger as `ledger verify` checks it, read from the reader pool (one consistent snapshot per query).
    async fn ledger_facts(&self) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)> {
        let rows = sqlx::query(
            "SELECT order_id, line_number, \
             CAST(SUM(CASE WHEN kind = $1 THEN net_minor ELSE 0 END) AS BIGINT) AS charged_net, \
             CAST(SUM(CASE WHEN kind = $1 THEN tax_minor ELSE 0 END) AS BIGINT) AS charged_tax, \
             CAST(SUM(CASE WHEN kind = $1 THEN 0 ELSE -net_minor END) AS BIGINT) AS credited_net, \
             CAST(SUM(CASE WHEN kind = $1 THEN 0 ELSE -tax_minor END) AS BIGINT) AS credited_tax \
             FROM ledger WHERE order_id IS NOT NULL GROUP BY order_id, line_number ORDER BY order_id, line_number",
        )
        .bind(LedgerKind::New.as_str())
        .fetch_all(&self.read)
        .await?;
        let mut lines = Vec::with_capacity(rows.len());
        for r in &rows {
            lines.push(domain::ledger::LineFacts {
                order_id: r.try_get("order_id")?,
                line: r
                    .try_get::<Option<i64>, _>("line_number")?
                    .map(|n| u32::try_from(n).map_err(|_| corrupt("ledger.line_number")))
                    .transpose()?,
                charged_net: r.try_get("charged_net")?,
                charged_tax: r.try_get("charged_tax")?,
                credited_net: r.try_get("credited_net")?,
                credited_tax: r.try_get("credited_tax")?,
            });
        }
        let rows = sqlx::query(
            "SELECT i.id, i.subtotal_minor, i.tax_minor, i.total_minor, i.line_count, \
             CAST(COALESCE(SUM(l.net_minor), 0) AS BIGINT) AS net, CAST(COALESCE(SUM(l.tax_minor), 0) AS BIGINT) AS tax, \
             CAST(COALESCE(SUM(l.gross_minor), 0) AS BIGINT) AS gross, CAST(COUNT(l.id) AS BIGINT) AS n, \
             CAST(COALESCE(SUM(CASE WHEN l.partner_id <> i.partner_id OR l.currency_code <> i.currency_code \
             THEN 1 ELSE 0 END), 0) AS BIGINT) AS foreign_rows \
             FROM invoices i LEFT JOIN ledger l ON l.invoice_id = i.id \
             GROUP BY i.id, i.subtotal_minor, i.tax_minor, i.total_minor, i.line_count ORDER BY i.id",
        )
        .fetch_all(&self.read)
        .await?;
        let mut invoices = Vec::with_capacity(rows.len());
        for r in &rows {
            invoices.push(domain::ledger::InvoiceFacts {
                invoice_id: r.try_get("id")?,
                stated: (
                    r.try_get("subtotal_minor")?,
                    r.try_get("tax_minor")?,
                    r.try_get("total_minor")?,
                    r.try_get("line_count")?,
                ),
                summed: (r.try_get("net")?, r.try_get("tax")?, r.try_get("gross")?, r.try_get("n")?),
                foreign_rows: r.try_get("foreign_rows")?,
            });
        }
        Ok((lines, invoices))
    }
}
