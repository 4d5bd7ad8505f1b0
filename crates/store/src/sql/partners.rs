//! Partners: their rows, keyset pages of them, and a sandbox partner's test clock.

use super::*;
use domain::audit::GENESIS_HASH;
use domain::credit_limit::{CreditLimit, CreditStanding};
use domain::money::Money;

#[async_trait]
impl TestClockStore for SqlStore {
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
}

impl SqlStore {
    /// A partner's credit limit and what counts against it (unbilled ledger rows and unpaid invoices' rows of the
    /// limit's currency, gross), read on `conn`; `lock` is appended to the partner's row read (the chain lock
    /// inside a checkout).
    async fn credit_standing_on(
        conn: &mut sqlx::AnyConnection,
        partner: PartnerId,
        lock: &str,
    ) -> StoreResult<Option<CreditStanding>> {
        let sql = format!(
            "SELECT credit_limit_minor, credit_limit_currency, credit_limit_scale FROM partners WHERE id = $1{lock}"
        );
        let row = sqlx::query(&sql).bind(partner.to_string()).fetch_optional(&mut *conn).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        let (minor, currency, scale): (Option<i64>, Option<String>, Option<i64>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (Some(minor), Some(currency), Some(scale)) = (minor, currency, scale) else { return Ok(None) };
        let scale = u8::try_from(scale).map_err(|_| corrupt("partners.credit_limit_scale"))?;
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(l.gross_minor), 0) AS BIGINT) FROM ledger l \
             LEFT JOIN invoices i ON i.id = l.invoice_id \
             WHERE l.partner_id = $1 AND l.currency_code = $2 AND i.paid_at IS NULL",
        )
        .bind(partner.to_string())
        .bind(&currency)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        Ok(Some(CreditStanding {
            limit: CreditLimit { amount: Money { minor, scale }, currency },
            used: Money { minor: used, scale },
        }))
    }

    /// Inside a checkout, after its charges are written and before its commit: under the partner's chain lock
    /// (PostgreSQL; SQLite's one writer serializes anyway), refuses the order when its gross would take what the
    /// partner owes past its credit limit (issue 23). Every ledger write takes the same lock, so no other charge
    /// can land between this check and the commit.
    pub(super) async fn check_credit_limit(&self, tx: &mut Tx, partner: PartnerId, order: &Order) -> StoreResult<()> {
        let Some(mut standing) = Self::credit_standing_on(tx, partner, self.chain_lock()).await? else {
            return Ok(());
        };
        let gross = order.totals().gross;
        if order.currency == standing.limit.currency {
            // `used` counts this order's own charges already: judge the order against what was used before it.
            standing.used = standing.used.checked_sub(gross).unwrap_or(standing.used);
        }
        standing.admit(gross, &order.currency).map_err(StoreError::Refused)
    }
}

#[async_trait]
impl PartnerStore for SqlStore {
    async fn set_credit_limit(
        &self,
        partner: PartnerId,
        limit: Option<&CreditLimit>,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE partners SET credit_limit_minor = $1, credit_limit_currency = $2, credit_limit_scale = $3 \
             WHERE id = $4",
        )
        .bind(limit.map(|l| l.amount.minor))
        .bind(limit.map(|l| l.currency.clone()))
        .bind(limit.map(|l| i64::from(l.amount.scale)))
        .bind(partner.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_operator(tx, effects).await
    }

    async fn credit_standing(&self, partner: PartnerId) -> StoreResult<Option<CreditStanding>> {
        let mut conn = self.read.acquire().await?;
        Self::credit_standing_on(&mut conn, partner, "").await
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
}
