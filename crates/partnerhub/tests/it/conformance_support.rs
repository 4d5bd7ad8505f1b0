//! Conformance, support requests (R11): requests read in their partner's scope only (the query filters by it), the
//! publisher's desk across partners, and a desk answer (note, file, status, refund, cancel) as one transaction —
//! on both databases.

use crate::conformance::{at, open, record, scope, two_partners_and_a_customer, HOUR};
use crate::conformance_commerce::{cart_of, checkout, shop};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::credit::LineCredit;
use domain::ids::{AttachmentId, NoteId, ServiceRequestId};
use domain::money::Money;
use domain::order::LineStatus;
use domain::partner::Partner;
use domain::support::{topic, Attachment, Contact, Note, RequestStatus, ServiceRequest, Severity, TOPICS};
use domain::DomainError;
use store::{CancelLines, CartClaim, Effects, LedgerLine, RequestChange, Store, StoreError};

crate::on_every_blob_store!(
    requests_are_read_in_their_partners_scope_and_by_the_desk,
    a_desk_answer_is_one_transaction
);

fn request(p: &Partner, title: &str, created_at: i64, customer: Option<domain::ids::TenantId>) -> ServiceRequest {
    ServiceRequest {
        id: ServiceRequestId::new(),
        partner_id: p.id,
        locale: "en-US".into(),
        title: title.into(),
        description: "Please help.".into(),
        severity: Severity::Moderate,
        topic: &TOPICS[1],
        status: RequestStatus::Open,
        contact: Contact::of_user("Ann Example", "ann@contoso.com"),
        customer_id: customer,
        refund: customer.map(|c| serde_json::json!({"customerId": c.to_string()})),
        created_by: "ann@contoso.com".into(),
        created_at: at(created_at),
        updated_at: at(created_at),
        closed_at: None,
        notes: Vec::new(),
        attachments: Vec::new(),
    }
}

async fn requests_are_read_in_their_partners_scope_and_by_the_desk(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (a, b, c) = two_partners_and_a_customer(store).await;
    let first = request(&a, "First", START, None);
    let second = request(&a, "About Fabrikam", START + 1, Some(c.tenant_id));
    let theirs = request(&b, "Theirs", START + 2, None);
    let filed = Effects::audit(record(OperationType::CreateServiceRequest, START));
    store.create_service_request(scope(&a), &first, filed).await.unwrap();
    store.create_service_request(scope(&a), &second, Effects::default()).await.unwrap();
    store.create_service_request(scope(&b), &theirs, Effects::default()).await.unwrap();
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 1);

    // One request, only through its partner's scope; the desk reads any.
    assert_eq!(store.get_service_request(scope(&a), first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get_service_request(scope(&b), first.id).await.unwrap(), None);
    assert_eq!(store.get_service_request(scope(&a), ServiceRequestId::new()).await.unwrap(), None);
    assert_eq!(store.desk_service_request(theirs.id).await.unwrap(), Some(theirs.clone()));
    assert_eq!(topic(first.topic.code).map(|t| t.id), Some(first.topic.id));

    // Lists: the partner's, the customer's, and the desk's across partners (optionally by status).
    let ids = |rs: Vec<ServiceRequest>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_service_requests(scope(&a), 10, None).await.unwrap()), vec![first.id, second.id]);
    let after = domain::paging::Cursor { at: first.created_at, id: first.id.to_string() };
    assert_eq!(ids(store.list_service_requests(scope(&a), 10, Some(&after)).await.unwrap()), vec![second.id]);
    assert_eq!(ids(store.list_service_requests(scope(&b), 10, None).await.unwrap()), vec![theirs.id]);
    let about = store.list_customer_service_requests(scope(&a), c.tenant_id, 10, None).await.unwrap();
    assert_eq!(ids(about), vec![second.id]);
    assert!(store.list_customer_service_requests(scope(&b), c.tenant_id, 10, None).await.unwrap().is_empty());
    let all = ids(store.desk_service_requests(None, 10, None).await.unwrap());
    assert_eq!(all, vec![first.id, second.id, theirs.id]);

    // A change through another partner's scope finds nothing; closing is final.
    let mut change = RequestChange::at(at(START + HOUR));
    change.status = Some(RequestStatus::InProgress);
    let err = store.change_service_request(scope(&b), first.id, &change, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    store.change_service_request(scope(&a), first.id, &change, Effects::default()).await.unwrap();
    let open_ones = store.desk_service_requests(Some(RequestStatus::Open), 10, None).await.unwrap();
    assert_eq!(ids(open_ones), vec![second.id, theirs.id]);
    change.status = Some(RequestStatus::Closed);
    store.change_service_request(scope(&a), first.id, &change, Effects::default()).await.unwrap();
    let closed = store.get_service_request(scope(&a), first.id).await.unwrap().unwrap();
    assert_eq!(
        (closed.status, closed.closed_at, closed.updated_at),
        (RequestStatus::Closed, Some(at(START + HOUR)), at(START + HOUR))
    );
    change.status = Some(RequestStatus::Open);
    let err = store.change_service_request(scope(&a), first.id, &change, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::Conflict(_))), "{err:?}");
}

async fn a_desk_answer_is_one_transaction(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 5).await;
    let cart = cart_of(&c, &market, &["PERP", "SUB"], START);
    let order = checkout(store, scope(&p), &c, &market, &cart, CartClaim::Direct(&cart), START).await.unwrap();
    let req = request(&p, "Refund please", START, Some(c.tenant_id));
    store.create_service_request(scope(&p), &req, Effects::default()).await.unwrap();
    let head = store.audit_head(scope(&p)).await.unwrap().0;

    let now = at(START + HOUR);
    let note = Note {
        id: NoteId::new(),
        author: "publisher".into(),
        by_publisher: true,
        text: "Done.".into(),
        created_at: now,
    };
    let file = Attachment {
        id: AttachmentId::new(),
        file_name: "receipt.pdf".into(),
        size: 10,
        sha256: "cd".repeat(32),
        blob_key: "attachments/x".into(),
        uploaded_by: "publisher".into(),
        created_at: now,
    };
    let (l1, l2) = (&order.lines[0], &order.lines[1]);
    let cancel = CancelLines {
        customer: c.tenant_id,
        order_id: order.id,
        lines: vec![l1.line_number],
        at: now,
        credits: vec![LedgerLine::cancel_credit(
            &order,
            l1,
            &LineCredit { line_number: l1.line_number, net: l1.pricing.net.minor, tax: l1.pricing.tax.minor },
            now,
        )],
    };
    let refund = LedgerLine::refund_credit(
        &order,
        &LineCredit { line_number: l2.line_number, net: 100, tax: 0 },
        now,
        format!("servicerequest:{}", req.id),
    );
    let goodwill = LedgerLine::goodwill_refund(
        Money { minor: 500, scale: 2 },
        "USD".into(),
        Some(c.tenant_id),
        now,
        "servicerequest:x".into(),
    );
    let mut change = RequestChange::at(now);
    change.status = Some(RequestStatus::Resolved);
    change.note = Some(note.clone());
    change.attachment = Some(file.clone());
    change.refunds = vec![refund, goodwill];
    change.cancel = Some(cancel.clone());

    // A refund over what is left of its line refuses the whole answer: no note, no cancel, no status.
    let mut greedy = change.clone();
    let over = l2.pricing.net.minor + l2.pricing.tax.minor + 1;
    greedy.refunds = vec![LedgerLine::refund_credit(
        &order,
        &LineCredit { line_number: l2.line_number, net: over, tax: 0 },
        now,
        "r".into(),
    )];
    let err = store.change_service_request(scope(&p), req.id, &greedy, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::CreditExceedsCharge { .. })), "{err:?}");
    let unchanged = store.get_service_request(scope(&p), req.id).await.unwrap().unwrap();
    assert_eq!(unchanged, req);
    let still = store.get_order(scope(&p), c.tenant_id, order.id).await.unwrap().unwrap();
    assert_eq!(still.lines[0].status, LineStatus::Active);

    // The answer as a whole.
    let answered = Effects::audit(record(OperationType::UpdateServiceRequest, START + HOUR));
    store.change_service_request(scope(&p), req.id, &change, answered).await.unwrap();
    let after = store.get_service_request(scope(&p), req.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.notes, after.attachments), (RequestStatus::Resolved, vec![note], vec![file]));
    let ordered = store.get_order(scope(&p), c.tenant_id, order.id).await.unwrap().unwrap();
    assert_eq!(ordered.lines[0].status, LineStatus::Cancelled);
    let balance = store.order_balance(scope(&p), order.id).await.unwrap().unwrap();
    assert_eq!(balance.lines[1].credited_net + balance.lines[1].credited_tax, 100);
    assert_eq!(balance.lines[0].left_gross(), 0);
    assert_eq!(store.audit_head(scope(&p)).await.unwrap().0, head + 1);
    let (facts, invoices) = store.ledger_facts().await.unwrap();
    assert!(domain::ledger::verify(&facts, &invoices).is_empty());
}
