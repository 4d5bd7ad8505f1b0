//! Webhooks (SPEC §3): endpoints with their cursor in the activity chain, deliveries, and attempts.

use super::*;
use domain::webhook::{
    Attempt, AttemptOutcome, Delivery, DeliveryStatus, DueDelivery, EndpointHealth, MAX_ENDPOINTS_PER_PARTNER,
};

const CLAIMED_SELECT: &str =
    "SELECT d.id, d.endpoint_id, e.partner_id, e.url, e.secret, d.body, d.operation_type, d.record_id, \
    d.attempts, d.first_attempt_at, d.claimed_until, e.failing_since FROM webhook_deliveries d \
    JOIN webhook_endpoints e ON e.id = d.endpoint_id";

async fn insert_delivery(
    tx: &mut Tx,
    endpoint: WebhookId,
    d: &NewDelivery,
    now: Timestamp,
    claimed_until: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, record_id, operation_type, body, status, attempts, \
         created_at, next_attempt_at, claimed_until) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7) \
         ON CONFLICT (endpoint_id, record_id) DO NOTHING",
    )
    .bind(d.id.to_string())
    .bind(endpoint.to_string())
    .bind(d.record_id.map(|r| r.to_string()))
    .bind(&d.operation_type)
    .bind(&d.body)
    .bind(now.micros())
    .bind(claimed_until.micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn webhooks_of(
        &self,
        scope: PartnerScope,
        id: Option<WebhookId>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<WebhookEndpoint>> {
        let mut sql = format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints e WHERE e.partner_id = $1");
        if id.is_some() {
            sql.push_str(" AND e.id = $2");
        } else if after.is_some() {
            sql.push_str(&super::keyset("e.created_at", "e.id", 2));
        }
        sql.push_str(&format!(" ORDER BY e.created_at, e.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(id) = id {
            q = q.bind(id.to_string());
        } else if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(endpoint_from).collect()
    }
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(
        &self,
        scope: PartnerScope,
        e: &WebhookEndpoint,
        sealed_secret: &[u8],
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let partner = scope.partner_id().to_string();
        // Under the chain lock: the cursor is the head no later record can slip under, and two registrations
        // cannot both pass the limit.
        let head = self.chain_head(&mut tx, scope.partner_id()).await?.seq;
        let existing: i64 = sqlx::query("SELECT COUNT(*) FROM webhook_endpoints WHERE partner_id = $1")
            .bind(&partner)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if existing >= MAX_ENDPOINTS_PER_PARTNER as i64 {
            return Err(StoreError::Refused(domain::DomainError::Conflict(format!(
                "a partner may register at most {MAX_ENDPOINTS_PER_PARTNER} webhook endpoints; delete one first"
            ))));
        }
        let kinds: Vec<&str> = e.operation_types.iter().map(|o| o.as_str()).collect();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, partner_id, url, operation_types, secret, cursor_seq, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.id.to_string())
        .bind(&partner)
        .bind(&e.url)
        .bind(kinds.join(","))
        .bind(sealed_secret.to_vec())
        .bind(head)
        .bind(&e.created_by)
        .bind(e.created_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn delete_webhook(&self, scope: PartnerScope, id: WebhookId, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let endpoint = id.to_string();
        let partner = scope.partner_id().to_string();
        // Children first: SQLite's cascade depends on a pragma, and this says what goes.
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT d.id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.id = $1 AND e.partner_id = $2)",
        )
        .bind(&endpoint)
        .bind(&partner)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE endpoint_id IN (SELECT id FROM webhook_endpoints \
             WHERE id = $1 AND partner_id = $2)",
        )
        .bind(&endpoint)
        .bind(&partner)
        .execute(&mut *tx)
        .await?;
        let gone = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND partner_id = $2")
            .bind(&endpoint)
            .bind(&partner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn add_test_delivery(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        delivery: &NewDelivery,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<ClaimedDelivery> {
        let mut tx = self.begin().await?;
        let mine = sqlx::query("SELECT id FROM webhook_endpoints WHERE id = $1 AND partner_id = $2")
            .bind(endpoint.to_string())
            .bind(scope.partner_id().to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if mine.is_none() {
            return Err(StoreError::NotFound);
        }
        insert_delivery(&mut tx, endpoint, delivery, now, hold_until).await?;
        let row = sqlx::query(&format!("{CLAIMED_SELECT} WHERE d.id = $1"))
            .bind(delivery.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let claimed = claimed_from(&row)?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn list_deliveries(
        &self,
        scope: PartnerScope,
        endpoint: WebhookId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Delivery>> {
        let mut sql = "SELECT d.id, d.endpoint_id, d.record_id, d.operation_type, d.status, d.created_at, \
             d.next_attempt_at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.endpoint_id = $1 AND e.partner_id = $2"
            .to_string();
        if after.is_some() {
            // Newest first: the page after a cursor is older than it.
            sql.push_str(" AND (d.created_at < $3 OR (d.created_at = $3 AND d.id < $4))");
        }
        sql.push_str(&format!(" ORDER BY d.created_at DESC, d.id DESC LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(endpoint.to_string()).bind(scope.partner_id().to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            let status = DeliveryStatus::parse(&status).ok_or_else(|| corrupt("webhook_deliveries.status"))?;
            let record: Option<String> = row.try_get("record_id")?;
            deliveries.push(Delivery {
                id: DeliveryId(uuid_col(row, "id")?),
                webhook_id: WebhookId(uuid_col(row, "endpoint_id")?),
                record_id: record
                    .map(|r| uuid::Uuid::parse_str(&r).map(AuditRecordId).map_err(|_| corrupt("record_id")))
                    .transpose()?,
                operation_type: row.try_get("operation_type")?,
                status,
                created_at: ts(row, "created_at")?,
                next_attempt_at: (status == DeliveryStatus::Pending).then(|| ts(row, "next_attempt_at")).transpose()?,
                attempts: Vec::new(),
            });
        }
        if deliveries.is_empty() {
            return Ok(deliveries);
        }
        let sql = format!(
            "SELECT delivery_id, number, at, status_code, duration_ms, error FROM webhook_attempts \
             WHERE delivery_id IN ({}) ORDER BY delivery_id, number",
            placeholders(1, deliveries.len())
        );
        let mut q = sqlx::query(&sql);
        for d in &deliveries {
            q = q.bind(d.id.to_string());
        }
        let mut attempts: std::collections::HashMap<String, Vec<Attempt>> = Default::default();
        for row in q.fetch_all(&self.read).await? {
            let status: Option<i64> = row.try_get("status_code")?;
            attempts.entry(row.try_get("delivery_id")?).or_default().push(Attempt {
                number: attempt_count(row.try_get("number")?),
                at: ts(&row, "at")?,
                status_code: status.and_then(|s| u16::try_from(s).ok()),
                duration_ms: attempt_count(row.try_get("duration_ms")?),
                error: row.try_get("error")?,
            });
        }
        for d in &mut deliveries {
            d.attempts = attempts.remove(&d.id.to_string()).unwrap_or_default();
        }
        Ok(deliveries)
    }

    async fn list_webhooks(&self, scope: PartnerScope) -> StoreResult<Vec<WebhookEndpoint>> {
        self.webhooks_of(scope, None, domain::webhook::MAX_ENDPOINTS_PER_PARTNER as u32, None).await
    }

    async fn page_webhooks(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<WebhookEndpoint>> {
        self.webhooks_of(scope, None, limit, after).await
    }

    async fn get_webhook(&self, scope: PartnerScope, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        Ok(self.webhooks_of(scope, Some(id), 1, None).await?.pop())
    }
}

#[async_trait]
impl DeliveryQueue for SqlStore {
    async fn webhooks_behind(&self, limit: u32) -> StoreResult<Vec<(WebhookEndpoint, i64)>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLS}, e.cursor_seq FROM webhook_endpoints e JOIN partners p ON p.id = e.partner_id \
             WHERE e.disabled_at IS NULL AND e.cursor_seq < p.audit_seq ORDER BY e.created_at, e.id LIMIT {limit}"
        );
        sqlx::query(&sql)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| Ok((endpoint_from(row)?, row.try_get::<i64, _>("cursor_seq")?)))
            .collect()
    }

    async fn enqueue_deliveries(
        &self,
        endpoint: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // Compare-and-set: of two dispatchers that read the same records, one moves the cursor and writes; the
        // other finds it moved (PostgreSQL re-checks the condition after waiting on the row) and writes nothing.
        let moved = sqlx::query("UPDATE webhook_endpoints SET cursor_seq = $1 WHERE id = $2 AND cursor_seq = $3")
            .bind(to)
            .bind(endpoint.to_string())
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        for d in deliveries {
            // Due now, held by nobody.
            insert_delivery(&mut tx, endpoint, d, now, Timestamp::from_micros(0)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Pending deliveries due at `now` of enabled endpoints held by nobody, oldest due first: at most
    /// `per_endpoint` of any endpoint, none of the full partners and endpoints, `limit` in all. A read: taking them
    /// is [`Self::claim`]'s.
    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_endpoint: u32,
        full_partners: &[PartnerId],
        full_endpoints: &[WebhookId],
    ) -> StoreResult<Vec<DueDelivery>> {
        let mut sql = String::from(
            "SELECT id, endpoint_id, partner_id FROM (SELECT d.id, d.endpoint_id, e.partner_id, d.next_attempt_at, \
             d.created_at, ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.created_at) \
             AS nth FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.claimed_until <= $1 \
             AND e.disabled_at IS NULL",
        );
        let mut next = 2;
        if !full_partners.is_empty() {
            sql += &format!(" AND e.partner_id NOT IN ({})", placeholders(next, full_partners.len()));
            next += full_partners.len();
        }
        if !full_endpoints.is_empty() {
            sql += &format!(" AND d.endpoint_id NOT IN ({})", placeholders(next, full_endpoints.len()));
            next += full_endpoints.len();
        }
        sql += &format!(") due WHERE nth <= ${next} ORDER BY next_attempt_at, created_at LIMIT ${}", next + 1);
        let mut q = sqlx::query(&sql).bind(now.micros());
        for p in full_partners {
            q = q.bind(p.to_string());
        }
        for e in full_endpoints {
            q = q.bind(e.to_string());
        }
        let rows = q.bind(i64::from(per_endpoint)).bind(i64::from(limit)).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: DeliveryId(uuid_col(r, "id")?),
                    endpoint: WebhookId(uuid_col(r, "endpoint_id")?),
                    partner: PartnerId(uuid_col(r, "partner_id")?),
                })
            })
            .collect()
    }

    /// Holds the given deliveries until `hold_until` if they are still pending and held by nobody at `now`, and
    /// returns those held. The conditional update decides: of two dispatchers naming one delivery, one holds it
    /// (PostgreSQL's second `UPDATE` waits for the first's row lock, then finds the hold taken).
    async fn claim_deliveries(
        &self,
        ids: &[DeliveryId],
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let update = format!(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE status = 'pending' AND claimed_until <= $2 \
             AND id IN ({}) RETURNING id",
            placeholders(3, ids.len())
        );
        let mut q = sqlx::query(&update).bind(hold_until.micros()).bind(now.micros());
        for id in ids {
            q = q.bind(id.to_string());
        }
        let held: Vec<String> =
            q.fetch_all(&mut *tx).await?.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let select = format!("{CLAIMED_SELECT} WHERE d.id IN ({})", placeholders(1, held.len()));
        let mut q = sqlx::query(&select);
        for id in &held {
            q = q.bind(id.clone());
        }
        let claimed = q.fetch_all(&mut *tx).await?.iter().map(claimed_from).collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_attempt(&self, f: &FinishedAttempt) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let a = &f.attempt;
        let AttemptOutcome { delivery, retry_at, endpoint } = &f.outcome;
        let still_there = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, first_attempt_at = COALESCE(first_attempt_at, \
             $3), next_attempt_at = $4, claimed_until = 0 WHERE id = $5 AND claimed_until = $6",
        )
        .bind(delivery.as_str())
        .bind(i64::from(a.number))
        .bind(a.at.micros())
        .bind(retry_at.unwrap_or(a.at).micros())
        .bind(f.delivery.to_string())
        .bind(f.held_until.micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if still_there == 0 {
            // Deleted with its endpoint while being sent, or held too long and taken over: nothing to record here.
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, number, at, status_code, duration_ms, error) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id, number) DO NOTHING",
        )
        .bind(f.delivery.to_string())
        .bind(i64::from(a.number))
        .bind(a.at.micros())
        .bind(a.status_code.map(i64::from))
        .bind(i64::from(a.duration_ms))
        .bind(a.error.clone())
        .execute(&mut *tx)
        .await?;
        let id = f.endpoint.to_string();
        match endpoint {
            EndpointHealth::Healthy => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET failing_since = NULL, disabled_at = NULL, disabled_reason = NULL \
                     WHERE id = $1",
                )
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            EndpointHealth::Failing => {
                sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
                    .bind(a.at.micros())
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            EndpointHealth::Disable(reason) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2, \
                     failing_since = COALESCE(failing_since, $1) WHERE id = $3",
                )
                .bind(a.at.micros())
                .bind(reason)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                // What was still waiting will not be sent to a disabled endpoint.
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'failed', claimed_until = 0 \
                     WHERE endpoint_id = $1 AND status = 'pending'",
                )
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_operator_webhook(
        &self,
        now: Timestamp,
        hold_until: Timestamp,
    ) -> StoreResult<Option<OperatorWebhookHold>> {
        let tx = self.begin_single().await?;
        let mut tx = tx;
        let row = sqlx::query(
            "UPDATE operator_webhook SET claimed_until = $1 WHERE id = 1 AND claimed_until <= $2 \
             AND next_attempt_at <= $2 RETURNING cursor_seq, attempts, first_attempt_at",
        )
        .bind(hold_until.micros())
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(OperatorWebhookHold {
            cursor_seq: row.try_get(0)?,
            attempts: u32::try_from(row.try_get::<i64, _>(1)?).unwrap_or(u32::MAX),
            first_attempt_at: row.try_get::<Option<i64>, _>(2)?.map(Timestamp::from_micros),
            held_until: hold_until,
        }))
    }

    async fn finish_operator_webhook(
        &self,
        hold: &OperatorWebhookHold,
        o: &OperatorWebhookOutcome,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_single().await?;
        let done = sqlx::query(
            "UPDATE operator_webhook SET cursor_seq = $1, attempts = $2, first_attempt_at = $3, next_attempt_at = $4, \
             last_error = $5, claimed_until = 0 WHERE id = 1 AND claimed_until = $6",
        )
        .bind(o.cursor_seq)
        .bind(i64::from(o.attempts))
        .bind(o.first_attempt_at.map(|t| t.micros()))
        .bind(o.next_attempt_at.micros())
        .bind(o.last_error.clone())
        .bind(hold.held_until.micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}
