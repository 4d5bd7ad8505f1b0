//! Idempotency keys (SPEC §5): claims, their completion inside the change's transaction, releases and purges.

use super::*;

/// Marks an idempotency key done with its response, inside the change's transaction.
pub(super) async fn complete_idempotency(tx: &mut Tx, done: IdempotencyCompletion) -> StoreResult<()> {
    let completed = sqlx::query(
        "UPDATE idempotency SET state = 'done', response_status = $1, response_body = $2, encrypted = $3 \
         WHERE scope = $4 AND key = $5 AND state = 'in_progress' AND locked_until = $6",
    )
    .bind(done.status as i64)
    .bind(done.body)
    .bind(done.encrypted as i64)
    .bind(done.scope)
    .bind(done.key)
    .bind(done.lease_until.micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if completed != 1 {
        // The claim is no longer ours (a retry took it over after the lease ran out): roll this change back.
        return Err(StoreError::Refused(domain::DomainError::RequestInProgress));
    }
    Ok(())
}

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn claim_idempotency(&self, c: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        let mut tx = self.begin_single().await?;
        let outcome = claim_in(&mut tx, c).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn release_idempotency(&self, scope: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND state = 'in_progress'")
            .bind(scope)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

/// Claims a key (or finds it claimed or done) in one write.
async fn claim_in(tx: &mut Tx, c: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (scope, key, fingerprint, state, locked_until, created_at) \
         VALUES ($1, $2, $3, 'in_progress', $4, $5) ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(&c.scope)
    .bind(&c.key)
    .bind(&c.fingerprint)
    .bind(c.now.micros() + c.lease_micros)
    .bind(c.now.micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(ClaimOutcome::Claimed);
    }
    let row = sqlx::query(
        "SELECT fingerprint, state, locked_until, response_status, response_body, encrypted, created_at \
         FROM idempotency WHERE scope = $1 AND key = $2",
    )
    .bind(&c.scope)
    .bind(&c.key)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        // Purged between the insert and the read: the caller may simply retry.
        return Ok(ClaimOutcome::InProgress);
    };
    let fingerprint: String = row.try_get("fingerprint")?;
    let state: String = row.try_get("state")?;
    let locked_until: i64 = row.try_get("locked_until")?;
    let created_at: i64 = row.try_get("created_at")?;
    let expired = created_at + c.ttl_micros <= c.now.micros();
    let abandoned = state == "in_progress" && locked_until <= c.now.micros();
    if expired || abandoned {
        // Take the record over, unless another request did so first (compare-and-set on the old values).
        let n = sqlx::query(
            "UPDATE idempotency SET fingerprint = $1, state = 'in_progress', locked_until = $2, created_at = $3, \
             response_status = NULL, response_body = NULL, encrypted = $4 \
             WHERE scope = $5 AND key = $6 AND created_at = $7 AND locked_until = $8 AND state = $9",
        )
        .bind(&c.fingerprint)
        .bind(c.now.micros() + c.lease_micros)
        .bind(c.now.micros())
        .bind(0_i64)
        .bind(&c.scope)
        .bind(&c.key)
        .bind(created_at)
        .bind(locked_until)
        .bind(&state)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        return Ok(if n == 1 { ClaimOutcome::Claimed } else { ClaimOutcome::InProgress });
    }
    if fingerprint != c.fingerprint {
        return Ok(ClaimOutcome::Mismatch);
    }
    if state == "done" {
        let status: i64 = row.try_get("response_status")?;
        return Ok(ClaimOutcome::Replay {
            status: u16::try_from(status).map_err(|_| corrupt("idempotency.response_status"))?,
            body: row.try_get::<Option<Vec<u8>>, _>("response_body")?.unwrap_or_default(),
            encrypted: flag(&row, "encrypted")?,
        });
    }
    Ok(ClaimOutcome::InProgress)
}
