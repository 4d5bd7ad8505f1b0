//! Support requests (R11): requests, notes and attachments, and the publisher desk's changes in one transaction.

use super::*;
use domain::ids::{AttachmentId, NoteId, ServiceRequestId};
use domain::DomainError;

async fn insert_note(tx: &mut Tx, request: ServiceRequestId, n: &Note) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO service_request_notes (id, request_id, author, by_publisher, text, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(n.id.to_string())
    .bind(request.to_string())
    .bind(&n.author)
    .bind(n.by_publisher as i64)
    .bind(&n.text)
    .bind(n.created_at.micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_attachment(tx: &mut Tx, request: ServiceRequestId, a: &Attachment) -> StoreResult<()> {
    let size = i64::try_from(a.size).map_err(|_| corrupt("attachment size"))?;
    sqlx::query(
        "INSERT INTO service_request_attachments (id, request_id, file_name, size, sha256, blob_key, uploaded_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id.to_string())
    .bind(request.to_string())
    .bind(&a.file_name)
    .bind(size)
    .bind(&a.sha256)
    .bind(&a.blob_key)
    .bind(&a.uploaded_by)
    .bind(a.created_at.micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqlStore {
    /// Requests matching a condition (`$1`, `$2`, … bind `args`), by (created_at, id), optionally after a cursor.
    async fn requests_where(
        &self,
        condition: &str,
        args: Vec<String>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        let mut sql = format!("SELECT {REQUEST_COLS} FROM service_requests WHERE {condition}");
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", args.len() + 1));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql);
        for a in args {
            q = q.bind(a);
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(request_from).collect()
    }

    /// One request (of one partner, or any for the desk) with its notes and attachments.
    pub(super) async fn service_request(
        &self,
        partner: Option<PartnerScope>,
        id: ServiceRequestId,
    ) -> StoreResult<Option<ServiceRequest>> {
        // A partner's read asks for its own requests in the query; the desk's reads any.
        let mut sql = format!("SELECT {REQUEST_COLS} FROM service_requests WHERE id = $1");
        if partner.is_some() {
            sql.push_str(" AND partner_id = $2");
        }
        let mut q = sqlx::query(&sql).bind(id.to_string());
        if let Some(p) = partner {
            q = q.bind(p.partner_id().to_string());
        }
        let Some(row) = q.fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let mut r = request_from(&row)?;
        let notes = sqlx::query(
            "SELECT id, author, by_publisher, text, created_at FROM service_request_notes WHERE request_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        for n in notes {
            r.notes.push(Note {
                id: NoteId(uuid_col(&n, "id")?),
                author: n.try_get("author")?,
                by_publisher: flag(&n, "by_publisher")?,
                text: n.try_get("text")?,
                created_at: ts(&n, "created_at")?,
            });
        }
        let files = sqlx::query(
            "SELECT id, file_name, size, sha256, blob_key, uploaded_by, created_at FROM service_request_attachments \
             WHERE request_id = $1 ORDER BY created_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        for f in files {
            r.attachments.push(Attachment {
                id: AttachmentId(uuid_col(&f, "id")?),
                file_name: f.try_get("file_name")?,
                size: u64::try_from(f.try_get::<i64, _>("size")?).map_err(|_| corrupt("attachment size"))?,
                sha256: f.try_get("sha256")?,
                blob_key: f.try_get("blob_key")?,
                uploaded_by: f.try_get("uploaded_by")?,
                created_at: ts(&f, "created_at")?,
            });
        }
        Ok(Some(r))
    }
}

#[async_trait]
impl SupportStore for SqlStore {
    async fn create_service_request(
        &self,
        scope: PartnerScope,
        r: &ServiceRequest,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let contact = serde_json::to_string(&r.contact).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO service_requests ({REQUEST_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15)"
        ))
        .bind(r.id.to_string())
        .bind(scope.partner_id().to_string())
        .bind(&r.locale)
        .bind(&r.title)
        .bind(&r.description)
        .bind(r.severity.as_str())
        .bind(r.topic.code)
        .bind(r.status.as_str())
        .bind(contact)
        .bind(r.refund.as_ref().map(|v| v.to_string()))
        .bind(&r.created_by)
        .bind(r.created_at.micros())
        .bind(r.updated_at.micros())
        .bind(r.customer_id.map(|c| c.to_string()))
        .bind(r.closed_at.map(|t| t.micros()))
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn list_service_requests(
        &self,
        scope: PartnerScope,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        self.requests_where("partner_id = $1", vec![scope.partner_id().to_string()], limit, after).await
    }

    async fn list_customer_service_requests(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        let args = vec![scope.partner_id().to_string(), customer.to_string()];
        self.requests_where("partner_id = $1 AND customer_id = $2", args, limit, after).await
    }

    async fn change_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Err(e) = self.change_in(&mut tx, scope, id, change).await {
            // A credit refused because another landed is worked out again by the caller: after the batch.
            return tx.refused(e).await;
        }
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    async fn get_service_request(
        &self,
        scope: PartnerScope,
        id: ServiceRequestId,
    ) -> StoreResult<Option<ServiceRequest>> {
        self.service_request(Some(scope), id).await
    }
}

#[async_trait]
impl DeskStore for SqlStore {
    async fn desk_service_requests(
        &self,
        status: Option<RequestStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ServiceRequest>> {
        match status {
            Some(s) => self.requests_where("status = $1", vec![s.as_str().to_string()], limit, after).await,
            None => self.requests_where("1 = 1", Vec::new(), limit, after).await,
        }
    }

    async fn desk_service_request(&self, id: ServiceRequestId) -> StoreResult<Option<ServiceRequest>> {
        self.service_request(None, id).await
    }
}

impl SqlStore {
    /// A support request's change (notes, files, a cancel, refunds, its status) inside the caller's transaction.
    async fn change_in(
        &self,
        tx: &mut Tx,
        scope: PartnerScope,
        id: ServiceRequestId,
        change: &RequestChange,
    ) -> StoreResult<()> {
        let sql = format!("SELECT status FROM service_requests WHERE id = $1 AND partner_id = $2{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(scope.partner_id().to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let status: String = row.try_get("status")?;
        if status == RequestStatus::Closed.as_str() {
            return Err(StoreError::Refused(DomainError::Conflict("this support request is closed".into())));
        }
        if let Some(note) = &change.note {
            insert_note(tx, id, note).await?;
        }
        if let Some(file) = &change.attachment {
            insert_attachment(tx, id, file).await?;
        }
        // Every order this answer credits is locked first, in id order: two answers touching the same orders (one
        // cancelling A and refunding B, the other the reverse) then wait for each other instead of deadlocking.
        let mut on_orders: Vec<OrderId> = change.refunds.iter().filter_map(|r| r.order_id).collect();
        on_orders.sort();
        on_orders.dedup();
        let mut locked: Vec<OrderId> =
            on_orders.iter().copied().chain(change.cancel.iter().map(|c| c.order_id)).collect();
        locked.sort();
        locked.dedup();
        for order in &locked {
            self.lock_order(tx, scope, *order).await?;
        }
        if let Some(cancel) = &change.cancel {
            self.cancel_in(tx, scope, cancel).await?;
        }
        // Refund rows naming an order are admitted against its balance as the cancel above left it.
        for order in on_orders {
            let rows: Vec<LedgerLine> = change.refunds.iter().filter(|r| r.order_id == Some(order)).cloned().collect();
            self.write_credits(tx, scope, order, &rows).await?;
        }
        for goodwill in change.refunds.iter().filter(|r| r.order_id.is_none()) {
            ledger::insert_ledger(tx, scope.partner_id(), std::slice::from_ref(goodwill)).await?;
        }
        // A closed request refuses every change (above), so closing it is the one time `closed_at` is set.
        let closes = change.status == Some(RequestStatus::Closed);
        sqlx::query("UPDATE service_requests SET status = $1, updated_at = $2, closed_at = $3 WHERE id = $4")
            .bind(change.status.map(|s| s.as_str().to_string()).unwrap_or(status))
            .bind(change.at.micros())
            .bind(closes.then(|| change.at.micros()))
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
