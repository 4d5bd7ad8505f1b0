//! The activity log: every change's records appended to the partner's hash chain in the change's transaction.

use super::*;
use domain::audit::NewAuditRecord;
use domain::filter::{like_pattern, AuditField};
use writer::ChainHead;

impl SqlStore {
    /// Writes the change's effects into its transaction, then commits it.
    pub(super) async fn commit_with(&self, mut tx: Tx, partner: PartnerId, effects: Effects) -> StoreResult<()> {
        self.apply_effects(&mut tx, partner, effects).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The head of the partner's activity chain, for appending to it: on SQLite the head as this batch has moved it
    /// (its jobs' appends are written to the partner's row only when the batch commits), else read from the row
    /// (under the chain lock on PostgreSQL, held to the end of the transaction). `NotFound` for no such partner.
    pub(super) async fn chain_head(&self, tx: &mut Tx, partner: PartnerId) -> StoreResult<ChainHead> {
        if let Some(known) = tx.batch().and_then(|b| b.chain(partner).cloned()) {
            return Ok(known);
        }
        read_chain_head(tx, partner, self.chain_lock()).await
    }

    /// Appends the change's activity records to the partner's chain and completes its idempotency record,
    /// inside the change's own transaction.
    pub(super) async fn apply_effects(&self, tx: &mut Tx, partner: PartnerId, effects: Effects) -> StoreResult<()> {
        if !effects.audit.is_empty() {
            let mut chain = self.chain_head(tx, partner).await?;
            let records = chain.seal(partner, effects.audit);
            insert_audits(tx, &records, self.backend == Backend::Sqlite).await?;
            let ChainHead { seq, head, last_at } = chain;
            match tx.batch() {
                // SQLite: the batch writes the head once, before it commits.
                Some(batch) => batch.set_chain(partner, ChainHead { seq, head, last_at }),
                None => {
                    sqlx::query(
                        "UPDATE partners SET audit_seq = $1, audit_head = $2, audit_last_at = $3 WHERE id = $4",
                    )
                    .bind(seq)
                    .bind(&head)
                    .bind(last_at.micros())
                    .bind(partner.to_string())
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        // Last: the operator chain's lock is always the last one a transaction takes.
        self.append_operator_records(tx, effects.operator).await?;
        if let Some(done) = effects.idempotency {
            complete_idempotency(tx, done).await?;
        }
        Ok(())
    }
}

/// The head of `partner`'s chain as its row holds it (`lock`: the chain lock's clause, empty on SQLite).
pub(super) async fn read_chain_head(
    conn: &mut sqlx::AnyConnection,
    partner: PartnerId,
    lock: &str,
) -> StoreResult<ChainHead> {
    let sql = format!("SELECT audit_seq, audit_head, audit_last_at FROM partners WHERE id = $1{lock}");
    let row = sqlx::query(&sql).bind(partner.to_string()).fetch_optional(conn).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    Ok(ChainHead {
        seq: row.try_get(0)?,
        head: row.try_get(1)?,
        last_at: Timestamp::from_micros(row.try_get::<i64, _>(2)?),
    })
}

impl ChainHead {
    /// Seals `records` as the next links of `partner`'s chain, moving this head past them.
    pub(super) fn seal(&mut self, partner: PartnerId, records: Vec<NewAuditRecord>) -> Vec<AuditRecord> {
        records
            .into_iter()
            .map(|mut new| {
                self.seq += 1;
                // Never dated before a record already committed: then (operation_date, seq) follows commit order
                // and activity pages never skip a record that committed late.
                new.operation_date = new.operation_date.max(self.last_at);
                self.last_at = new.operation_date;
                let r = AuditRecord::seal(partner, self.seq, &self.head, new);
                self.head.clone_from(&r.hash);
                r
            })
            .collect()
    }
}

const AUDIT_INSERT: &str = "INSERT INTO audit_records (partner_id, seq, id, customer_id, customer_name, \
    customer_name_folded, user_principal_name, resource_type, operation_type, operation_date, operation_status, \
    customized_data, prev_hash, hash) VALUES ";

/// Inserts sealed records, many rows per statement. The statement of one row is kept prepared; longer ones (a
/// group of downloads) vary in length and are prepared each time rather than crowding out the statement cache.
/// `sqlite` (a SQLite connection): anonymous placeholders (see `anonymous_rows`).
pub(super) async fn insert_audits(
    conn: &mut sqlx::AnyConnection,
    records: &[AuditRecord],
    sqlite: bool,
) -> StoreResult<()> {
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    for chunk in records.chunks(ROWS_PER_INSERT) {
        let rows = if sqlite { anonymous_rows(ROW, chunk.len()) } else { values_rows(ROW, chunk.len()) };
        let sql = format!("{AUDIT_INSERT}{rows}");
        let mut q = sqlx::query(&sql).persistent(chunk.len() == 1);
        for r in chunk {
            q = q
                .bind(r.partner_id.to_string())
                .bind(r.seq)
                .bind(r.id.to_string())
                .bind(r.customer_id.map(|c| c.to_string()))
                .bind(r.customer_name.clone())
                .bind(r.customer_name_folded.clone())
                .bind(r.user_principal_name.clone())
                .bind(r.resource_type.clone())
                .bind(r.operation_type.clone())
                .bind(r.operation_date.micros())
                .bind(r.operation_status.clone())
                .bind(serde_json::to_string(&r.customized_data).map_err(|_| corrupt("customized_data"))?)
                .bind(r.prev_hash.clone())
                .bind(r.hash.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_activity(&self, scope: PartnerScope, effects: Effects) -> StoreResult<()> {
        let tx = self.begin().await?;
        self.commit_with(tx, scope.partner_id(), effects).await
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
}
