//! Conformance, webhooks (SPEC §3): endpoints in their partner's scope, deliveries enqueued from the activity chain
//! by compare-and-set, held by one dispatcher at a time, finished only under their hold, and purged — on both
//! databases.

use crate::conformance::{at, open, partner, record, scope, HOUR};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::ids::{DeliveryId, WebhookId};
use domain::paging::Cursor;
use domain::partner::Partner;
use domain::webhook::{after_attempt, Attempt, DeliveryStatus, DueDelivery, WebhookEndpoint};
use store::{Effects, FinishedAttempt, NewDelivery, Store, StoreError};

crate::on_both_backends!(endpoints_deliveries_attempts_and_purges);

const SECOND: i64 = 1_000_000;

fn endpoint(p: &Partner, url: &str, created_at: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookId::new(),
        partner_id: p.id,
        url: url.into(),
        operation_types: vec![OperationType::CreateCustomer, OperationType::UpdateOrder],
        created_by: "ann@contoso.com".into(),
        created_at: at(created_at),
        failing_since: None,
        disabled_at: None,
        disabled_reason: None,
    }
}

async fn endpoints_deliveries_attempts_and_purges(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    store.record_activity(scope(&a), Effects::audit(record(OperationType::UpdateOrder, START))).await.unwrap();
    let (e1, e2) = (endpoint(&a, "https://a.example/one", START), endpoint(&a, "https://a.example/two", START + 1));
    store.create_webhook(scope(&a), &e1, b"sealed-1", Effects::default()).await.unwrap();
    store.create_webhook(scope(&a), &e2, b"sealed-2", Effects::default()).await.unwrap();

    // Endpoints are the partner's own, oldest first.
    assert_eq!(store.list_webhooks(scope(&a)).await.unwrap(), vec![e1.clone(), e2.clone()]);
    assert!(store.list_webhooks(scope(&b)).await.unwrap().is_empty());
    assert_eq!(store.page_webhooks(scope(&a), 1, None).await.unwrap(), vec![e1.clone()]);
    let after = Cursor { at: e1.created_at, id: e1.id.to_string() };
    assert_eq!(store.page_webhooks(scope(&a), 1, Some(&after)).await.unwrap(), vec![e2.clone()]);
    assert_eq!(store.get_webhook(scope(&a), e1.id).await.unwrap(), Some(e1.clone()));
    assert_eq!(store.get_webhook(scope(&b), e1.id).await.unwrap(), None);

    // Registered at the chain head (the record before them): nothing behind yet.
    let head = store.audit_head(scope(&a)).await.unwrap().0;
    assert_eq!(head, 1);
    assert!(store.webhooks_behind(10).await.unwrap().is_empty());
    store.record_activity(scope(&a), Effects::audit(record(OperationType::CreateCustomer, START + 2))).await.unwrap();
    let behind = store.webhooks_behind(10).await.unwrap();
    assert_eq!(behind, vec![(e1.clone(), head), (e2.clone(), head)]);

    // Enqueueing moves the cursor by compare-and-set: a second dispatcher from the same cursor does nothing.
    let rec = store.audit_chain(scope(&a), head, 10).await.unwrap().remove(0);
    let now = at(START + HOUR);
    let d = NewDelivery {
        id: DeliveryId::new(),
        record_id: Some(rec.id),
        operation_type: rec.operation_type.clone(),
        body: "{\"n\":1}".into(),
    };
    assert!(store.enqueue_deliveries(e1.id, head, head + 1, std::slice::from_ref(&d), now).await.unwrap());
    let twice = NewDelivery { id: DeliveryId::new(), ..d.clone() };
    assert!(!store.enqueue_deliveries(e1.id, head, head + 1, &[twice], now).await.unwrap());
    assert_eq!(store.webhooks_behind(10).await.unwrap(), vec![(e2.clone(), head)]);

    // Due deliveries, unless their partner or endpoint is full; one dispatcher holds a delivery at a time.
    let due = store.due_deliveries(now, 10, 4, &[], &[]).await.unwrap();
    assert_eq!(due, vec![DueDelivery { id: d.id, endpoint: e1.id, partner: a.id }]);
    assert!(store.due_deliveries(now, 10, 4, &[a.id], &[]).await.unwrap().is_empty());
    assert!(store.due_deliveries(now, 10, 4, &[], &[e1.id]).await.unwrap().is_empty());
    let hold = at(START + HOUR + 15 * SECOND);
    let held = store.claim_deliveries(&[d.id], now, hold).await.unwrap();
    assert_eq!(held.len(), 1);
    let claimed = &held[0];
    assert_eq!((claimed.endpoint_id, claimed.partner_id, claimed.url.as_str()), (e1.id, a.id, e1.url.as_str()));
    assert_eq!((claimed.sealed_secret.as_slice(), claimed.body.as_str()), (&b"sealed-1"[..], d.body.as_str()));
    assert_eq!((claimed.is_test, claimed.attempts, claimed.held_until), (false, 0, hold));
    assert!(store.claim_deliveries(&[d.id], now, hold).await.unwrap().is_empty(), "held by the first");
    assert!(store.due_deliveries(now, 10, 4, &[], &[]).await.unwrap().is_empty());

    // An attempt is recorded only under the hold it was taken with.
    let attempt = Attempt { number: 1, at: now, status_code: Some(200), duration_ms: 7, error: None };
    let outcome = after_attempt(&attempt, now, None, false, 0);
    let stale = FinishedAttempt {
        delivery: d.id,
        held_until: now,
        endpoint: e1.id,
        attempt: attempt.clone(),
        outcome: outcome.clone(),
    };
    store.finish_attempt(&stale).await.unwrap();
    let listed = store.list_deliveries(scope(&a), e1.id, 10, None).await.unwrap();
    assert_eq!((listed.len(), listed[0].status, listed[0].attempts.len()), (1, DeliveryStatus::Pending, 0));
    let done = FinishedAttempt { held_until: hold, ..stale };
    store.finish_attempt(&done).await.unwrap();
    let listed = store.list_deliveries(scope(&a), e1.id, 10, None).await.unwrap();
    assert_eq!((listed[0].id, listed[0].record_id, listed[0].status), (d.id, Some(rec.id), DeliveryStatus::Succeeded));
    assert_eq!(listed[0].attempts, vec![attempt]);
    assert!(store.list_deliveries(scope(&b), e1.id, 10, None).await.unwrap().is_empty());

    // A test delivery is written held, for the caller to send; not for another partner's endpoint.
    let test = NewDelivery { id: DeliveryId::new(), record_id: None, operation_type: "test".into(), body: "{}".into() };
    let err = store.add_test_delivery(scope(&b), e2.id, &test, now, hold).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let sent = store.add_test_delivery(scope(&a), e2.id, &test, now, hold).await.unwrap();
    assert_eq!((sent.id, sent.is_test, sent.held_until, sent.endpoint_id), (test.id, true, hold, e2.id));

    // Purging takes finished deliveries created before the cut (the pending test stays).
    assert_eq!(store.purge_deliveries(now).await.unwrap(), 0, "created at the cut, not before");
    assert_eq!(store.purge_deliveries(at(START + 2 * HOUR)).await.unwrap(), 1);
    assert!(store.list_deliveries(scope(&a), e1.id, 10, None).await.unwrap().is_empty());
    assert_eq!(store.list_deliveries(scope(&a), e2.id, 10, None).await.unwrap().len(), 1);

    // Deleting: only the owner's, with its deliveries.
    assert!(matches!(store.delete_webhook(scope(&b), e2.id, Effects::default()).await, Err(StoreError::NotFound)));
    store
        .delete_webhook(scope(&a), e2.id, Effects::audit(record(OperationType::DeleteWebhook, START + HOUR)))
        .await
        .unwrap();
    assert_eq!(store.get_webhook(scope(&a), e2.id).await.unwrap(), None);
    assert_eq!(store.list_webhooks(scope(&a)).await.unwrap(), vec![e1]);
}
