//! Support requests (R11): partners file and follow them; the publisher's desk answers, resolves, grants refunds
//! and cancels what a request names whatever its policy. Every step is in the partner's activity log.

use crate::auth::Publisher;
use crate::blobs::ByteStream;
use crate::cancellations::{credited_meanwhile, prepare_cancellation, Canceling, CREDIT_RETRIES};
use crate::idempotency::{completion, Keep};
use crate::{Actor, Error, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::cancellation::{plan_cancellation, Canceller};
use domain::credit::OrderBalance;
use domain::customer::fold;
use domain::download::sanitize_file_name;
use domain::filter::{CustomerField, CustomerFilter, FilterOperator};
use domain::ids::{OrderId, ServiceRequestId, TenantId};
use domain::market_data::currency_minor_units;
use domain::money::Money;
use domain::operator::{NewOperatorRecord, OperatorAction, OperatorOperation};
use domain::paging::{Cursor, Page, PageSize};
use domain::partner::Partner;
use domain::policy::Action;
use domain::support::{
    validate_locale, validate_note, validate_request, Attachment, AttachmentId, Contact, CustomerRef, Note, NoteId,
    OrderRef, RequestStatus, ServiceRequest, ServiceRequestDraft, MAX_ATTACHMENT_BYTES,
};
use domain::{DomainError, Timestamp};
use store::{CancelLines, Effects, LedgerLine, PartnerScope, RequestChange};

/// The principal the activity log names for the publisher's steps.
pub const PUBLISHER_PRINCIPAL: &str = "publisher";

/// What the publisher's desk changes on a request (`PATCH /v1/publisher/servicerequests/{id}`).
#[derive(Debug, Clone, Default)]
pub struct DeskChange {
    pub status: Option<String>,
    pub note: Option<String>,
    pub refund: Option<RefundGrant>,
    pub cancel: Option<DeskCancel>,
}

/// A refund granted: a gross amount, optionally against an order line (then its tax is split at the line's rate).
#[derive(Debug, Clone)]
pub struct RefundGrant {
    pub amount: String,
    pub currency_code: String,
    pub order_id: Option<String>,
    pub line_item_number: Option<i64>,
}

/// Lines the publisher cancels through the request, whatever their policy.
#[derive(Debug, Clone)]
pub struct DeskCancel {
    pub customer_id: String,
    pub order_id: String,
    pub line_items: Option<Vec<i64>>,
}

fn step(op: OperationType, by: &str, at: Timestamp, r: &ServiceRequest) -> NewAuditRecord {
    NewAuditRecord::succeeded(op, by, at)
        .data("serviceRequestId", r.id.to_string())
        .data("title", r.title.clone())
        .data("supportTopicId", r.topic.code)
}

/// Who reads a request's attachment: a partner user (of the request's partner) or the publisher's desk.
#[derive(Debug, Clone, Copy)]
pub enum AttachmentReader<'a> {
    Partner(&'a Actor),
    Desk(&'a Publisher),
}

impl Services {
    /// Files a request (any role).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_service_request(
        &self,
        actor: &Actor,
        locale: &str,
        draft: ServiceRequestDraft,
        keep: Option<&dyn Keep<ServiceRequest>>,
    ) -> Result<ServiceRequest> {
        let scope = actor.authorize(Action::SupportRequests)?;
        let locale = validate_locale(locale)?;
        let filer = Contact::of_user(&actor.user.display_name, &actor.user.email);
        let new = validate_request(draft, &currency_minor_units, filer)?;
        // The customer the request is about, when its refund block names one of the partner's customers.
        let mut customer_id = None;
        let refund = match &new.refund {
            None => None,
            Some(r) => {
                // A customer named by id must be this partner's; a domain is kept as written (it may be a customer
                // the partner no longer serves).
                let mut json = serde_json::Map::new();
                match &r.customer {
                    CustomerRef::TenantId(t) => {
                        let known = self.get_customer(actor, *t).await;
                        if matches!(&known, Err(Error::Domain(DomainError::NotFound))) {
                            return Err(DomainError::invalid("refund.customerId", "no such customer").into());
                        }
                        known?;
                        customer_id = Some(*t);
                        json.insert("customerId".into(), t.to_string().into());
                    }
                    CustomerRef::Domain(d) => {
                        customer_id = self.customer_with_domain(scope, d).await?;
                        json.insert("customerDomain".into(), d.clone().into());
                    }
                }
                match &r.order {
                    OrderRef::OrderId(o) => {
                        if self.store.find_order(scope, *o).await?.is_none() {
                            return Err(DomainError::invalid("refund.orderId", "no such order").into());
                        }
                        json.insert("orderId".into(), o.to_string().into());
                    }
                    OrderRef::SubscriptionId(s) => {
                        json.insert("subscriptionId".into(), s.clone().into());
                    }
                }
                json.insert("reason".into(), r.reason.clone().into());
                if let Some(a) = r.amount_requested {
                    json.insert("amountRequested".into(), a.format().into());
                }
                if let Some(c) = &r.currency_code {
                    json.insert("currencyCode".into(), c.clone().into());
                }
                Some(serde_json::Value::Object(json))
            }
        };
        let now = self.partner_now(&actor.partner);
        let request = ServiceRequest {
            id: ServiceRequestId::new(),
            partner_id: actor.partner.id,
            locale,
            title: new.title,
            description: new.description,
            severity: new.severity,
            topic: new.topic,
            status: RequestStatus::Open,
            contact: new.contact,
            customer_id,
            refund,
            created_by: actor.principal().to_string(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            notes: Vec::new(),
            attachments: Vec::new(),
        };
        let audit = step(OperationType::CreateServiceRequest, actor.principal(), now, &request)
            .data("severity", request.severity.as_str());
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &request)?, ..Effects::default() };
        self.store.create_service_request(scope, &request, effects).await?;
        Ok(request)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_service_requests(
        &self,
        actor: &Actor,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<ServiceRequest>> {
        let scope = actor.authorize(Action::SupportRequests)?;
        let rows = self.store.list_service_requests(scope, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |r| Cursor { at: r.created_at, id: r.id.to_string() }))
    }

    /// The requests about one of the partner's customers (`GET /v1/customers/{customerId}/servicerequests`): those
    /// whose refund block names it. Another partner's customer, or none, is 404.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_customer_service_requests(
        &self,
        actor: &Actor,
        tenant: TenantId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<ServiceRequest>> {
        let scope = actor.authorize(Action::SupportRequests)?;
        self.store.get_customer(scope, tenant).await?.ok_or(DomainError::NotFound)?;
        let rows = self.store.list_customer_service_requests(scope, tenant, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |r| Cursor { at: r.created_at, id: r.id.to_string() }))
    }

    /// The partner's customer whose domain this is, if any (compared case-insensitively).
    async fn customer_with_domain(&self, scope: PartnerScope, domain: &str) -> Result<Option<TenantId>> {
        let filter =
            CustomerFilter { field: CustomerField::Domain, operator: FilterOperator::Equals, value: fold(domain) };
        Ok(self.store.list_customers(scope, Some(&filter), 1, None).await?.first().map(|c| c.tenant_id))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_service_request(&self, actor: &Actor, id: ServiceRequestId) -> Result<ServiceRequest> {
        let scope = actor.authorize(Action::SupportRequests)?;
        self.store.get_service_request(scope, id).await?.ok_or_else(|| DomainError::NotFound.into())
    }

    /// The partner adds a note (`PATCH /v1/servicerequests/{id}` with `newNote`).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn add_partner_note(
        &self,
        actor: &Actor,
        id: ServiceRequestId,
        text: &str,
        keep: Option<&dyn Keep<ServiceRequest>>,
    ) -> Result<ServiceRequest> {
        let scope = actor.authorize(Action::SupportRequests)?;
        let mut request = self.get_service_request(actor, id).await?;
        let now = self.partner_now(&actor.partner);
        let note = Note {
            id: NoteId::new(),
            author: actor.principal().to_string(),
            by_publisher: false,
            text: validate_note(text)?,
            created_at: now,
        };
        let audit = step(OperationType::UpdateServiceRequest, actor.principal(), now, &request).data("change", "note");
        let change = RequestChange { note: Some(note.clone()), ..RequestChange::at(now) };
        // The answer is the request as this change leaves it, built before commit so a retry replays it.
        request.notes.push(note);
        request.updated_at = now;
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &request)?, ..Effects::default() };
        self.store.change_service_request(scope, request.id, &change, effects).await?;
        Ok(request)
    }

    /// The partner attaches a file (at most 10 MiB, streamed to blob storage).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn attach_file(
        &self,
        actor: &Actor,
        id: ServiceRequestId,
        file_name: &str,
        body: ByteStream,
    ) -> Result<Attachment> {
        let scope = actor.authorize(Action::SupportRequests)?;
        let request = self.get_service_request(actor, id).await?;
        let file_name = sanitize_file_name(file_name)?;
        let now = self.partner_now(&actor.partner);
        let attachment_id = AttachmentId::new();
        let blob_key = format!("attachments/{attachment_id}");
        let stored =
            self.blobs.put(&blob_key, body, MAX_ATTACHMENT_BYTES).await.map_err(crate::downloads::blob_error)?;
        let attachment = Attachment {
            id: attachment_id,
            file_name,
            size: stored.size,
            sha256: stored.sha256,
            blob_key,
            uploaded_by: actor.principal().to_string(),
            created_at: now,
        };
        let audit = step(OperationType::UpdateServiceRequest, actor.principal(), now, &request)
            .data("change", "attachment")
            .data("fileName", attachment.file_name.clone())
            .data("size", attachment.size.to_string());
        let change = RequestChange { attachment: Some(attachment.clone()), ..RequestChange::at(now) };
        if let Err(e) = self.store.change_service_request(scope, request.id, &change, Effects::audit(audit)).await {
            let _ = self.blobs.delete(&attachment.blob_key).await;
            return Err(e.into());
        }
        Ok(attachment)
    }

    /// An attachment's bytes, for the partner (its own requests) or the publisher (`actor` none).
    #[tracing::instrument(skip_all)]
    pub async fn open_attachment(
        &self,
        reader: AttachmentReader<'_>,
        id: ServiceRequestId,
        attachment: AttachmentId,
    ) -> Result<(Attachment, ByteStream)> {
        let request = match reader {
            AttachmentReader::Partner(a) => self.get_service_request(a, id).await?,
            AttachmentReader::Desk(publisher) => self.desk_request(publisher, id).await?.1,
        };
        let found = request.attachments.into_iter().find(|a| a.id == attachment).ok_or(DomainError::NotFound)?;
        let body = self.blobs.get(&found.blob_key, None).await.map_err(crate::downloads::blob_error)?;
        Ok((found, body))
    }

    /// The desk: every partner's requests, optionally of one status.
    #[tracing::instrument(skip_all)]
    pub async fn desk_service_requests(
        &self,
        publisher: &Publisher,
        status: Option<&str>,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<ServiceRequest>> {
        publisher.authorize(OperatorAction::ViewDesk)?;
        let status = status
            .map(|s| {
                RequestStatus::parse(s)
                    .ok_or_else(|| DomainError::invalid("status", "one of open, in_progress, resolved, closed"))
            })
            .transpose()?;
        let rows = self.store.desk_service_requests(status, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |r| Cursor { at: r.created_at, id: r.id.to_string() }))
    }

    /// One request for the desk, with its partner.
    #[tracing::instrument(skip_all)]
    pub async fn desk_request(&self, publisher: &Publisher, id: ServiceRequestId) -> Result<(Partner, ServiceRequest)> {
        publisher.authorize(OperatorAction::ViewDesk)?;
        let request = self.store.desk_service_request(id).await?.ok_or(DomainError::NotFound)?;
        let partner = self.store.get_partner(request.partner_id).await?.ok_or(DomainError::NotFound)?;
        Ok((partner, request))
    }

    /// The desk answers a request: a status, a note, a refund granted (a `refund` credit on the partner's next
    /// invoice) and lines cancelled whatever their policy (every effect of R10), all in one transaction, dated by
    /// the partner's clock.
    #[tracing::instrument(skip_all)]
    pub async fn desk_update(
        &self,
        publisher: &Publisher,
        id: ServiceRequestId,
        change: DeskChange,
        keep: Option<&dyn Keep<ServiceRequest>>,
    ) -> Result<ServiceRequest> {
        // Money leaving the publisher needs billing_operator; a note or a status, the desk's own role.
        if change.refund.is_some() || change.cancel.is_some() {
            publisher.authorize(OperatorAction::GrantCredits)?;
        }
        if change.status.is_some() || change.note.is_some() {
            publisher.authorize(OperatorAction::AnswerDesk)?;
        }
        let (partner, request) = self.desk_request(publisher, id).await?;
        let scope = PartnerScope::authenticated(partner.id);
        let now = self.partner_now(&partner);
        let mut audit = Vec::new();
        let status = change
            .status
            .as_deref()
            .map(|s| {
                RequestStatus::parse(s)
                    .ok_or_else(|| DomainError::invalid("status", "one of open, in_progress, resolved, closed"))
            })
            .transpose()?;
        if let Some(to) = status {
            if !request.status.can_move_to(to) {
                return Err(DomainError::Conflict("this support request is closed".into()).into());
            }
            audit.push(
                step(OperationType::UpdateServiceRequest, PUBLISHER_PRINCIPAL, now, &request)
                    .data("status", to.as_str()),
            );
        }
        let note = match change.note.as_deref() {
            None => None,
            Some(text) => {
                audit.push(
                    step(OperationType::UpdateServiceRequest, PUBLISHER_PRINCIPAL, now, &request)
                        .data("change", "note"),
                );
                Some(Note {
                    id: NoteId::new(),
                    author: PUBLISHER_PRINCIPAL.into(),
                    by_publisher: true,
                    text: validate_note(text)?,
                    created_at: now,
                })
            }
        };
        // The answer is the request as this change leaves it, built before commit so a retry replays it.
        let mut answer = request.clone();
        if let Some(s) = status {
            answer.status = s;
            if s == RequestStatus::Closed && request.status != RequestStatus::Closed {
                answer.closed_at = Some(now);
            }
        }
        answer.notes.extend(note.clone());
        answer.updated_at = now;
        let mut attempt = 0;
        loop {
            let (cancel, refunds, credit_records) = self.plan_desk_credits(scope, &request, &change, now).await?;
            let mut records = audit.clone();
            records.extend(credit_records);
            let operator = desk_records(publisher, &partner, &request, &change, now);
            let effects = Effects { audit: records, idempotency: completion(keep, &answer)?, operator };
            let write = RequestChange { status, note: note.clone(), attachment: None, refunds, cancel, at: now };
            match self.store.change_service_request(scope, request.id, &write, effects).await {
                Ok(()) => return Ok(answer),
                Err(e) if attempt < CREDIT_RETRIES && credited_meanwhile(&e) => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A desk answer's credits as one decision: the cancel's are worked out first, and the refund's cap sees them
    /// (on the same order, through the same balance). The store admits both again under the orders' locks.
    async fn plan_desk_credits(
        &self,
        scope: PartnerScope,
        request: &ServiceRequest,
        change: &DeskChange,
        now: Timestamp,
    ) -> Result<(Option<CancelLines>, Vec<LedgerLine>, Vec<NewAuditRecord>)> {
        let mut audit = Vec::new();
        let mut balance: Option<OrderBalance> = None;
        let cancel = match &change.cancel {
            None => None,
            Some(c) => {
                let customer = self.customer_in(scope, &c.customer_id).await?;
                let order_id = OrderId::parse(&c.order_id)
                    .ok_or_else(|| DomainError::invalid("cancel.orderId", "no such order"))?;
                let order = self
                    .store
                    .get_order(scope, customer.tenant_id, order_id)
                    .await?
                    .ok_or_else(|| DomainError::invalid("cancel.orderId", "no such order for this customer"))?;
                let chosen = plan_cancellation(&order, c.line_items.as_deref(), now, Canceller::Publisher)?;
                let who = Canceling { customer: &customer, by: PUBLISHER_PRINCIPAL, at: now };
                let mut b = self.store.order_balance(scope, order.id).await?.ok_or(DomainError::NotFound)?;
                let (_, lines, record) = prepare_cancellation(&who, order, &chosen, &mut b)?;
                balance = Some(b);
                audit.push(record.data("serviceRequestId", request.id.to_string()));
                Some(lines)
            }
        };
        let refunds = match &change.refund {
            None => Vec::new(),
            Some(g) => self.refund_rows(scope, request, g, now, &mut balance).await?,
        };
        if let Some(first) = refunds.first() {
            let gross = Money { minor: -refunds.iter().map(|r| r.gross_minor).sum::<i64>(), scale: first.scale };
            let mut record = step(OperationType::UpdateServiceRequest, PUBLISHER_PRINCIPAL, now, request)
                .data("change", "refund")
                .data("amount", gross.format())
                .data("currency", first.currency.clone());
            if let Some(order) = first.order_id {
                let lines: Vec<String> = refunds
                    .iter()
                    .map(|r| {
                        let share = Money { minor: -r.gross_minor, scale: r.scale };
                        format!("{}: {}", r.line_number.unwrap_or_default(), share.format())
                    })
                    .collect();
                record = record.data("orderId", order.to_string()).data("lineItems", lines.join("; "));
            }
            audit.push(record);
        }
        Ok((cancel, refunds, audit))
    }

    async fn customer_in(&self, scope: PartnerScope, id: &str) -> Result<domain::customer::Customer> {
        let tenant = domain::ids::TenantId::parse(id)
            .ok_or_else(|| DomainError::invalid("cancel.customerId", "no such customer"))?;
        self.store
            .get_customer(scope, tenant)
            .await?
            .ok_or_else(|| DomainError::invalid("cancel.customerId", "no such customer").into())
    }

    /// R12 and SPEC §8: a refund is a gross amount. Against an order line, one row with its tax split at that
    /// line's rate; against a whole order, one row per line, apportioned pro rata to what each line has left; naming
    /// no order, one row with no tax (a goodwill credit, which reverses no charge). Never more than is left: 409
    /// `credit_exceeds_charge`. `balance` is the order's balance when a cancel of this answer already worked on it.
    async fn refund_rows(
        &self,
        scope: PartnerScope,
        request: &ServiceRequest,
        g: &RefundGrant,
        now: Timestamp,
        balance: &mut Option<OrderBalance>,
    ) -> Result<Vec<LedgerLine>> {
        let currency = g.currency_code.trim().to_ascii_uppercase();
        let scale = currency_minor_units(&currency)
            .ok_or_else(|| DomainError::invalid("refund.currencyCode", "not a known currency"))?;
        let gross = Money::parse(g.amount.trim(), scale).map_err(|e| DomainError::invalid("refund.amount", e))?;
        if gross.minor <= 0 {
            return Err(DomainError::invalid("refund.amount", "must be more than 0").into());
        }
        let reference = format!("servicerequest:{}", request.id);
        let Some(o) = &g.order_id else {
            if g.line_item_number.is_some() {
                return Err(DomainError::invalid("refund.orderId", "a line item needs its order").into());
            }
            let customer =
                request.refund.as_ref().and_then(|r| r["customerId"].as_str()).and_then(domain::ids::TenantId::parse);
            return Ok(vec![LedgerLine::goodwill_refund(gross, currency, customer, now, reference)]);
        };
        let id = OrderId::parse(o).ok_or_else(|| DomainError::invalid("refund.orderId", "no such order"))?;
        let order = self
            .store
            .find_order(scope, id)
            .await?
            .ok_or_else(|| DomainError::invalid("refund.orderId", "no such order"))?;
        if order.currency != currency {
            return Err(
                DomainError::invalid("refund.currencyCode", format!("the order is in {}", order.currency)).into()
            );
        }
        if balance.as_ref().is_none_or(|b| b.order_id != order.id) {
            *balance = Some(self.store.order_balance(scope, order.id).await?.ok_or(DomainError::NotFound)?);
        }
        let b = balance.as_mut().ok_or(DomainError::NotFound)?;
        let credits = match g.line_item_number {
            Some(n) => {
                let line = u32::try_from(n).map_err(|_| DomainError::LineItemOutOfRange(n))?;
                vec![b.refund_line(line, gross.minor)?]
            }
            None => b.refund_order(gross.minor)?,
        };
        Ok(credits.iter().map(|c| LedgerLine::refund_credit(&order, c, now, reference.clone())).collect())
    }
}

/// What the operator log says about a desk answer: the answer (status, note), the refund, the cancel.
fn desk_records(
    publisher: &Publisher,
    partner: &Partner,
    request: &ServiceRequest,
    change: &DeskChange,
    now: Timestamp,
) -> Vec<NewOperatorRecord> {
    let base = |op| publisher.record(op, now).partner(partner.id).data("serviceRequestId", request.id.to_string());
    let mut records = Vec::new();
    if change.status.is_some() || change.note.is_some() {
        let mut r = base(OperatorOperation::AnswerServiceRequest);
        if let Some(s) = &change.status {
            r = r.data("status", s.clone());
        }
        if change.note.is_some() {
            r = r.data("change", "note");
        }
        records.push(r);
    }
    if let Some(g) = &change.refund {
        let mut r = base(OperatorOperation::GrantRefund)
            .data("amount", g.amount.clone())
            .data("currency", g.currency_code.clone());
        if let Some(o) = &g.order_id {
            r = r.data("orderId", o.clone());
        }
        records.push(r);
    }
    if let Some(c) = &change.cancel {
        records.push(base(OperatorOperation::CancelFromDesk).data("orderId", c.order_id.clone()));
    }
    records
}
