//! Invoice runs (R12): each partner's uninvoiced ledger rows become one invoice per currency, in one transaction.

use super::*;
use domain::ids::InvoiceId;
use domain::invoice::{Invoice, InvoiceLine, Period};

impl SqlStore {
    async fn issue_in(
        &self,
        tx: &mut Tx,
        scope: PartnerScope,
        period: Period,
        now: Timestamp,
    ) -> StoreResult<Vec<Invoice>> {
        let tx = &mut **tx;
        let partner = scope.partner_id().to_string();
        let label = period.to_string();
        let (start, end) = (period.start().micros(), period.end().micros());
        // One run per partner at a time, and no ledger write of the partner in between (they take this lock too).
        let sql = format!("SELECT id FROM partners WHERE id = $1{}", self.chain_lock());
        sqlx::query(&sql).bind(&partner).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let run: Vec<String> = sqlx::query("SELECT period FROM invoice_runs WHERE partner_id = $1")
            .bind(&partner)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("period"))
            .collect::<Result<_, _>>()?;
        if !run.contains(&label) {
            // Late rows: dated in a month already run (they committed after its run). Rows of a month not run yet
            // wait for that month's own run.
            let earlier = sqlx::query(
                "SELECT id, at, currency_code FROM ledger WHERE partner_id = $1 AND invoice_id IS NULL AND at < $2",
            )
            .bind(&partner)
            .bind(start)
            .fetch_all(&mut *tx)
            .await?;
            let mut late: Vec<(String, String)> = Vec::new();
            for row in &earlier {
                if run.contains(&Period::of(ts(row, "at")?).to_string()) {
                    late.push((row.try_get("id")?, row.try_get("currency_code")?));
                }
            }
            let mut currencies: Vec<(String, i64)> = sqlx::query(
                "SELECT currency_code, MAX(scale) AS scale FROM ledger WHERE partner_id = $1 AND invoice_id IS NULL \
                 AND at >= $2 AND at < $3 GROUP BY currency_code",
            )
            .bind(&partner)
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("currency_code")?, r.try_get("scale")?)))
            .collect::<StoreResult<_>>()?;
            for (_, currency) in &late {
                if !currencies.iter().any(|(c, _)| c == currency) {
                    let scale: i64 = sqlx::query(
                        "SELECT MAX(scale) AS scale FROM ledger WHERE partner_id = $1 AND currency_code = $2 \
                         AND invoice_id IS NULL",
                    )
                    .bind(&partner)
                    .bind(currency)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("scale")?;
                    currencies.push((currency.clone(), scale));
                }
            }
            currencies.sort();
            for (currency, scale) in currencies {
                let id = InvoiceId::new().to_string();
                sqlx::query(
                    "INSERT INTO invoices (id, partner_id, period, currency_code, scale, subtotal_minor, tax_minor, \
                     total_minor, line_count, issued_at) VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 0, $6)",
                )
                .bind(&id)
                .bind(&partner)
                .bind(&label)
                .bind(&currency)
                .bind(scale)
                .bind(now.micros())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE ledger SET invoice_id = $1 WHERE partner_id = $2 AND currency_code = $3 \
                     AND invoice_id IS NULL AND at >= $4 AND at < $5",
                )
                .bind(&id)
                .bind(&partner)
                .bind(&currency)
                .bind(start)
                .bind(end)
                .execute(&mut *tx)
                .await?;
                for (row, _) in late.iter().filter(|(_, c)| *c == currency) {
                    sqlx::query("UPDATE ledger SET invoice_id = $1 WHERE id = $2 AND invoice_id IS NULL")
                        .bind(&id)
                        .bind(row)
                        .execute(&mut *tx)
                        .await?;
                }
                // The totals are those of exactly the rows this invoice took, summed in one pass.
                let totals = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(net_minor), 0) AS BIGINT) AS net, \
                     CAST(COALESCE(SUM(tax_minor), 0) AS BIGINT) AS tax, \
                     CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) AS gross, COUNT(*) AS n \
                     FROM ledger WHERE invoice_id = $1",
                )
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE invoices SET subtotal_minor = $1, tax_minor = $2, total_minor = $3, line_count = $4 \
                     WHERE id = $5",
                )
                .bind(totals.try_get::<i64, _>("net")?)
                .bind(totals.try_get::<i64, _>("tax")?)
                .bind(totals.try_get::<i64, _>("gross")?)
                .bind(totals.try_get::<i64, _>("n")?)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("INSERT INTO invoice_runs (partner_id, period, run_at) VALUES ($1, $2, $3)")
                .bind(&partner)
                .bind(&label)
                .bind(now.micros())
                .execute(&mut *tx)
                .await?;
        }
        let sql =
            format!("SELECT {INVOICE_COLS} FROM invoices WHERE partner_id = $1 AND period = $2 ORDER BY currency_code");
        let rows = sqlx::query(&sql).bind(&partner).bind(&label).fetch_all(&mut *tx).await?;
        rows.iter().map(invoice_from).collect()
    }

    /// Newest month first, then by currency: the cursor names the last invoice's period (by its first instant) and
    /// currency, unique per partner.
    pub(super) async fn invoices_where(
        &self,
        scope: PartnerScope,
        id: Option<InvoiceId>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Invoice>> {
        let mut sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE partner_id = $1");
        if id.is_some() {
            sql.push_str(" AND id = $2");
        } else if after.is_some() {
            sql.push_str(" AND (period < $2 OR (period = $2 AND currency_code > $3))");
        }
        sql.push_str(&format!(" ORDER BY period DESC, currency_code LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(id) = id {
            q = q.bind(id.to_string());
        } else if let Some(c) = after {
            q = q.bind(Period::of(c.at).to_string()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(invoice_from).collect()
    }
}

#[async_trait]
impl InvoiceStore for SqlStore {
    async fn invoice_lines(
        &self,
        scope: PartnerScope,
        of: LedgerLines,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<InvoiceLine>> {
        let mut sql = String::from(
            "SELECT g.id AS id, g.at AS at, g.kind AS kind, g.customer_id AS customer_id, g.order_id AS order_id, \
             g.line_number AS line_number, g.quantity AS quantity, g.unit_price_minor AS unit_price_minor, \
             g.net_minor AS net_minor, g.tax_minor AS tax_minor, g.gross_minor AS gross_minor, \
             g.currency_code AS currency_code, g.scale AS scale, c.domain AS customer_domain, \
             o.created_at AS order_date, l.product_id AS product_id, l.sku_id AS sku_id, l.title AS title \
             FROM ledger g \
             LEFT JOIN customers c ON c.partner_id = g.partner_id AND c.tenant_id = g.customer_id \
             LEFT JOIN orders o ON o.id = g.order_id \
             LEFT JOIN order_lines l ON l.order_id = g.order_id AND l.line_number = g.line_number \
             WHERE g.partner_id = $1",
        );
        let param = match of {
            LedgerLines::Invoice(id) => {
                sql.push_str(" AND g.invoice_id = $2");
                Some(id.to_string())
            }
            LedgerLines::Unbilled => {
                sql.push_str(" AND g.invoice_id IS NULL");
                None
            }
            LedgerLines::Order(id) => {
                sql.push_str(" AND g.order_id = $2");
                Some(id.to_string())
            }
        };
        if after.is_some() {
            sql.push_str(&keyset("g.at", "g.id", if param.is_some() { 3 } else { 2 }));
        }
        sql.push_str(&format!(" ORDER BY g.at, g.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(p) = param {
            q = q.bind(p);
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(invoice_line_from).collect()
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
}

#[async_trait]
impl InvoiceRunStore for SqlStore {
    /// Runs `period` for each partner (at its own `now`) in one transaction: a ledger page shared by several partners'
    /// rows is then written once, not once per partner.
    async fn run_invoices(&self, partners: &[(PartnerScope, Timestamp)], period: Period) -> StoreResult<Vec<Invoice>> {
        let mut tx = self.begin().await?;
        let mut invoices = Vec::new();
        for (scope, now) in partners {
            invoices.extend(self.issue_in(&mut tx, *scope, period, *now).await?);
        }
        tx.commit().await?;
        Ok(invoices)
    }

    async fn invoices_of_period(&self, period: Period) -> StoreResult<Vec<Invoice>> {
        let sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE period = $1 ORDER BY partner_id, currency_code");
        let rows = sqlx::query(&sql).bind(period.to_string()).fetch_all(&self.read).await?;
        rows.iter().map(invoice_from).collect()
    }
}
