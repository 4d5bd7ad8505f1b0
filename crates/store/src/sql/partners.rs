//! Partners: their rows, keyset pages of them, and a sandbox partner's test clock.

use super::*;
use domain::audit::GENESIS_HASH;

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

#[async_trait]
impl PartnerStore for SqlStore {
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
