//! Invoice runs (R12): each partner's uninvoiced ledger rows become one invoice per currency, in one transaction.

use super::*;
use domain::ids::InvoiceId;
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::money::Money;

const INVOICE_COLS: &str = "id, partner_id, period, currency_code, scale, subtotal_minor, tax_minor, total_minor, \
    line_count, issued_at";

fn invoice_from(row: &AnyRow) -> StoreResult<Invoice> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("invoices.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let period: String = row.try_get("period")?;
    Ok(Invoice {
        id: InvoiceId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        period: Period::parse(&period).map_err(|_| corrupt("invoices.period"))?,
        currency: row.try_get("currency_code")?,
        subtotal: money("subtotal_minor")?,
        tax_total: money("tax_minor")?,
        total_charges: money("total_minor")?,
        line_count: row.try_get("line_count")?,
        issued_at: ts(row, "issued_at")?,
    })
}

fn line_from(row: &AnyRow) -> StoreResult<InvoiceLine> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("ledger.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let opt_uuid = |col: &str| -> StoreResult<Option<uuid::Uuid>> {
        row.try_get::<Option<String>, _>(col)?.map(|s| uuid::Uuid::parse_str(&s).map_err(|_| corrupt(col))).transpose()
    };
    Ok(InvoiceLine {
        id: row.try_get("id")?,
        at: ts(row, "at")?,
        charge_type: row.try_get("kind")?,
        customer_id: opt_uuid("customer_id")?.map(TenantId),
        customer_domain: row.try_get("customer_domain")?,
        order_id: opt_uuid("order_id")?.map(OrderId),
        line_number: row
            .try_get::<Option<i64>, _>("line_number")?
            .map(|n| u32::try_from(n).map_err(|_| corrupt("ledger.line_number")))
            .transpose()?,
        order_date: row.try_get::<Option<i64>, _>("order_date")?.map(Timestamp::from_micros),
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        product_name: row.try_get("title")?,
        unit_price: money("unit_price_minor")?,
        quantity: row.try_get("quantity")?,
        subtotal: money("net_minor")?,
        tax_total: money("tax_minor")?,
        total: money("gross_minor")?,
        currency: row.try_get("currency_code")?,
    })
}

impl SqlStore {
    /// Runs `period` for each partner (at its own `now`) in one transaction: a ledger page shared by several partners'
    /// rows is then written once, not once per partner.
    pub(super) async fn issue_invoices(
        &self,
        partners: &[(PartnerScope, Timestamp)],
        period: Period,
    ) -> StoreResult<Vec<Invoice>> {
        let mut tx = self.begin().await?;
        let mut invoices = Vec::new();
        for (scope, now) in partners {
            invoices.extend(self.issue_in(&mut tx, *scope, period, *now).await?);
        }
        tx.commit().await?;
        Ok(invoices)
    }

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

    pub(super) async fn lines_of_invoice(
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
        let invoice = match of {
            LedgerLines::Invoice(id) => {
                sql.push_str(" AND g.invoice_id = $2");
                Some(id)
            }
            LedgerLines::Unbilled => {
                sql.push_str(" AND g.invoice_id IS NULL");
                None
            }
        };
        if after.is_some() {
            sql.push_str(&keyset("g.at", "g.id", if invoice.is_some() { 3 } else { 2 }));
        }
        sql.push_str(&format!(" ORDER BY g.at, g.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(id) = invoice {
            q = q.bind(id.to_string());
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(line_from).collect()
    }
}

impl SqlStore {
    /// The ledger as `ledger verify` checks it, read from the reader pool (one consistent snapshot per query).
    pub(super) async fn ledger_facts_of(
        &self,
    ) -> StoreResult<(Vec<domain::ledger::LineFacts>, Vec<domain::ledger::InvoiceFacts>)> {
        let rows = sqlx::query(
            "SELECT order_id, line_number, \
             CAST(SUM(CASE WHEN kind = 'new' THEN net_minor ELSE 0 END) AS BIGINT) AS charged_net, \
             CAST(SUM(CASE WHEN kind = 'new' THEN tax_minor ELSE 0 END) AS BIGINT) AS charged_tax, \
             CAST(SUM(CASE WHEN kind = 'new' THEN 0 ELSE -net_minor END) AS BIGINT) AS credited_net, \
             CAST(SUM(CASE WHEN kind = 'new' THEN 0 ELSE -tax_minor END) AS BIGINT) AS credited_tax \
             FROM ledger WHERE order_id IS NOT NULL GROUP BY order_id, line_number ORDER BY order_id, line_number",
        )
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
