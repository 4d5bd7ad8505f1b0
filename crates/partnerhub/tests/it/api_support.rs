//! Support requests (R11): filing with refund fields, notes, attachments, and the publisher's desk — refunds on the
//! next invoice and cancels whatever the policy.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::{run, set_tax};
use crate::api_orders::{buy, item, stock};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_every_blob_store!(
    a_refund_request_is_filed_answered_and_credited_on_the_next_invoice,
    the_desk_cancels_windows_7_esu_through_its_support_request,
);

const DAY: i64 = 86_400_000_000;

static ONE_DOLLAR: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| json!({"refund": {"amount": "1.00", "currencyCode": "USD"}}));
static A_NOTE: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| json!({"newNote": {"text": "Thanks!"}}));

pub fn request_body(customer: &str, order: &str) -> Value {
    json!({
        "title": "Refund a duplicate purchase",
        "description": "The customer was charged twice.\nPlease refund one.",
        "severity": "moderate",
        "supportTopicId": "csp_purchase_refund",
        "primaryContact": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@partner.example", "phoneNumber": "+1 425 555 0100"},
        "refund": {"customerId": customer, "orderId": order, "reason": "Duplicate order", "amountRequested": "107.25", "currencyCode": "USD"}
    })
}

async fn activity_count(app: &TestApp, kind: &str) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM audit_records WHERE operation_type = '{kind}'")).await
}

async fn a_refund_request_is_filed_answered_and_credited_on_the_next_invoice(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let helpdesk = p.token(Role::HelpdeskAgent);
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    stock(&app, "SQL2019STD", "0001", &["K1"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let order =
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    let order_id = order["id"].as_str().unwrap().to_string();

    let topics = app.get("/v1/servicerequests/supporttopics", helpdesk).await;
    assert!(
        topics.body["items"].as_array().unwrap().iter().any(|t| t["id"] == 1
            && t["code"] == "csp_purchase_refund"
            && t["name"] == "CSP Purchase/Refund on behalf of customers"),
        "{}",
        topics.text
    );

    // Validation names the field.
    let mut bad = request_body(&c, &order_id);
    bad["title"] = json!("");
    app.post("/v1/servicerequests/en-US", helpdesk, &bad).await.assert_error(400, "invalid_request");
    let mut bad = request_body(&c, &order_id);
    bad["primaryContact"]["email"] = json!("not-an-email");
    let r = app.post("/v1/servicerequests/en-US", helpdesk, &bad).await;
    assert!(r.assert_error(400, "invalid_request")["description"]
        .as_str()
        .unwrap()
        .starts_with("primaryContact.email"));
    let mut bad = request_body(&c, &order_id);
    bad["refund"]["reason"] = json!("");
    let r = app.post("/v1/servicerequests/en-US", helpdesk, &bad).await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("refund.reason"));
    let mut bad = request_body(&uuid::Uuid::new_v4().to_string(), &order_id);
    let r = app.post("/v1/servicerequests/en-US", helpdesk, &bad).await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("refund.customerId"));
    bad = request_body(&c, &order_id);
    app.post("/v1/servicerequests/not_a_locale", helpdesk, &bad).await.assert_error(400, "invalid_request");

    // Filed by any role, open, in the log.
    let filed = app.post("/v1/servicerequests/en-US", helpdesk, &request_body(&c, &order_id)).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    assert_eq!(filed.body["status"], "open");
    assert_eq!(filed.body["refund"]["orderId"], order_id.as_str());
    assert_eq!(filed.body["refund"]["amountRequested"], "107.25");
    let id = filed.body["id"].as_str().unwrap().to_string();
    assert_eq!(activity_count(&app, "create_service_request").await, 1);

    // A note and a file; the file comes back byte for byte, to the partner and to the publisher.
    let noted =
        app.patch(&format!("/v1/servicerequests/{id}"), t, &json!({"newNote": {"text": "Invoice attached."}})).await;
    assert_eq!(noted.status, 200, "{}", noted.text);
    assert_eq!(noted.body["notes"][0]["text"], "Invoice attached.");
    let file: Vec<u8> = (0..2048u32).map(|i| (i % 251) as u8).collect();
    let up = app
        .http
        .post(format!("{}/v1/servicerequests/{id}/attachments?fileName=..%2Finvoice.pdf", app.url))
        .bearer_auth(t)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    let up = Res::of(up).await;
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!((up.body["fileName"].as_str(), up.body["size"].as_u64()), (Some("invoice.pdf"), Some(2048)));
    let att = up.body["id"].as_str().unwrap().to_string();
    for (path, token) in [
        (format!("/v1/servicerequests/{id}/attachments/{att}"), helpdesk),
        (format!("/v1/publisher/servicerequests/{id}/attachments/{att}"), PUBLISHER_TOKEN),
    ] {
        let got = app.http.get(format!("{}{path}", app.url)).bearer_auth(token).send().await.unwrap();
        assert_eq!(got.status(), 200, "{path}");
        assert!(got.bytes().await.unwrap().to_vec() == file, "{path}");
    }
    // Over 10 MiB by its Content-Length: answered 413 before a byte of the body is sent.
    let answer =
        app.head_only(&format!("/v1/servicerequests/{id}/attachments?fileName=big.bin"), t, 10 * 1024 * 1024 + 1).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("payload_too_large"), "{answer}");
    // Another partner sees none of it.
    let q = app.partner("Beta", false).await;
    app.get(&format!("/v1/servicerequests/{id}"), q.token(Role::GlobalAdmin)).await.assert_error(404, "not_found");
    app.get(&format!("/v1/servicerequests/{id}/attachments/{att}"), q.token(Role::GlobalAdmin))
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.get("/v1/servicerequests", q.token(Role::GlobalAdmin)).await.body["totalCount"], 0);

    // The desk sees it among the open requests, resolves it with a note and grants 107.25 against line 0:
    // its tax is split at the line's 7.25% (100.00 + 7.25).
    let desk = app.get("/v1/publisher/servicerequests?status=open", PUBLISHER_TOKEN).await;
    assert!(desk.body["items"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "{}", desk.text);
    let answered = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"status": "resolved", "newNote": {"text": "Refund granted."},
                         "refund": {"amount": "107.25", "currencyCode": "USD", "orderId": order_id, "lineItemNumber": 0}})),
            &[],
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(answered.body["status"], "resolved");
    assert_eq!(answered.body["notes"][1]["fromPublisher"], true);
    assert_eq!(app.scalar("SELECT net_minor FROM ledger WHERE kind = 'refund'").await, -10_000);
    assert_eq!(app.scalar("SELECT tax_minor FROM ledger WHERE kind = 'refund'").await, -725);
    // The partner sees the answer at once.
    let seen = app.get(&format!("/v1/servicerequests/{id}"), helpdesk).await;
    assert_eq!((seen.body["status"].as_str(), seen.body["notes"].as_array().unwrap().len()), (Some("resolved"), 2));

    // The next invoice carries the refund: 1200.00 + 87.00 charged, 100.00 + 7.25 credited.
    app.clock.advance_micros(17 * DAY);
    let issued = run(&app, "2026-01").await;
    let invoice = &issued.body["invoices"][0];
    assert_eq!(
        (invoice["subtotal"].as_str(), invoice["taxTotal"].as_str(), invoice["totalCharges"].as_str()),
        (Some("1100.00"), Some("79.75"), Some("1179.75")),
        "{}",
        issued.text
    );
    let lines = app
        .get(&format!("/v1/invoices/{}/lineitems", invoice["id"].as_str().unwrap()), p.token(Role::BillingAdmin))
        .await;
    let refund = lines.body["items"].as_array().unwrap().iter().find(|l| l["chargeType"] == "refund").unwrap().clone();
    assert_eq!((refund["quantity"].as_i64(), refund["totalForCustomer"].as_str()), (Some(1), Some("-107.25")));
    assert_eq!(refund["orderId"], order_id.as_str());

    // Never more back than was charged: 1179.75 of line 0 is left, so 1179.76 is refused; a cancel now (day 17)
    // would give back 348/365 of the line, but only 1100.00 + 79.75 is left after the refund.
    let over = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"refund": {"amount": "1179.76", "currencyCode": "USD", "orderId": order_id, "lineItemNumber": 0}})),
            &[],
        )
        .await;
    assert!(
        over.assert_error(409, "credit_exceeds_charge")["description"].as_str().unwrap().contains("1179.75"),
        "{}",
        over.text
    );
    let cancelled =
        app.patch(&format!("/v1/customers/{c}/orders/{order_id}"), t, &json!({"status": "cancelled"})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(app.scalar("SELECT net_minor FROM ledger WHERE kind = 'cancel'").await, -110_000);
    assert_eq!(app.scalar("SELECT tax_minor FROM ledger WHERE kind = 'cancel'").await, -7_975);
    // A refund not tied to a line has no tax; it lands on February's invoice.
    let desk = |body: Value| {
        let path = format!("/v1/publisher/servicerequests/{id}");
        let app = &app;
        async move { app.request(Method::PATCH, &path, Some(PUBLISHER_TOKEN), Some(&body), &[]).await }
    };
    assert_eq!(desk(json!({"refund": {"amount": "10.00", "currencyCode": "USD"}})).await.status, 200);
    assert_eq!(app.scalar("SELECT tax_minor FROM ledger WHERE kind = 'refund' AND order_id IS NULL").await, 0);
    // A retried answer under the same MS-RequestId replays the first: one refund, not two.
    let desk_path = format!("/v1/publisher/servicerequests/{id}");
    let partner_path = format!("/v1/servicerequests/{id}");
    let keyed = || {
        app.request(
            Method::PATCH,
            &desk_path,
            Some(PUBLISHER_TOKEN),
            Some(&*ONE_DOLLAR),
            &[("MS-RequestId", "desk-refund-0001")],
        )
    };
    let first = keyed().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(keyed().await.body, first.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND order_id IS NULL").await, 2);
    let noted = || app.request(Method::PATCH, &partner_path, Some(t), Some(&*A_NOTE), &[("MS-RequestId", "note-0001")]);
    let note = noted().await;
    assert_eq!(note.status, 200, "{}", note.text);
    assert_eq!(noted().await.body, note.body);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM service_request_notes WHERE request_id = '{id}'")).await, 3);
    desk(json!({"refund": {"amount": "-1", "currencyCode": "USD"}})).await.assert_error(400, "invalid_request");
    desk(json!({"refund": {"amount": "5", "currencyCode": "AUD", "orderId": order_id}}))
        .await
        .assert_error(400, "invalid_request");
    desk(json!({"status": "archived"})).await.assert_error(400, "invalid_request");
    // Closed is final, for both sides.
    assert_eq!(desk(json!({"status": "closed"})).await.status, 200);
    desk(json!({"status": "open"})).await.assert_error(409, "conflict");
    app.patch(&format!("/v1/servicerequests/{id}"), t, &json!({"newNote": {"text": "One more thing"}}))
        .await
        .assert_error(409, "conflict");
    // Every step is in the partner's activity log, once: two partner notes, the file, resolve, the desk's note,
    // three refunds, and the close.
    assert_eq!(activity_count(&app, "update_service_request").await, 9);
    let verify = app.get("/v1/auditrecords/verification", p.token(Role::GlobalAdmin)).await;
    assert_eq!(verify.body["valid"], true, "{}", verify.text);
    app.assert_ledger_valid().await;
}

async fn the_desk_cancels_windows_7_esu_through_its_support_request(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "WIN7ESU", "0001", &["ESU-KEY-1"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let order =
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "WIN7ESU", "0001").await, "quantity": 1}])).await;
    let order_id = order["id"].as_str().unwrap().to_string();
    let item_id =
        app.get(&format!("/v1/customers/{c}/software"), t).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let keys = format!("/v1/customers/{c}/software/{item_id}/keysanddownloads");
    assert_eq!(app.post(&keys, t, &json!({})).await.body["activationKey"], "ESU-KEY-1");
    // Self-service cancel is refused with a request pre-filled from the order.
    let refused = app.patch(&format!("/v1/customers/{c}/orders/{order_id}"), t, &json!({"status": "cancelled"})).await;
    let prefill = refused.assert_error(400, "cancellation_requires_support_request")["data"][0].clone();
    assert_eq!(prefill["refund"]["orderId"], order_id.as_str());
    // The partner files the request; the publisher cancels the order through it, whatever the policy.
    app.clock.advance_micros(3 * DAY);
    let filed = app.post("/v1/servicerequests/en-US", t, &request_body(&c, &order_id)).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let id = filed.body["id"].as_str().unwrap();
    let answered = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"status": "resolved", "cancel": {"customerId": c, "orderId": order_id}})),
            &[],
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    // Every effect of R10: the order is cancelled, the key withdrawn, the credit written, the cancel recorded.
    let o = app.get(&format!("/v1/customers/{c}/orders/{order_id}"), t).await;
    assert_eq!((o.body["status"].as_str(), o.body["lineItems"][0]["quantity"].as_i64()), (Some("cancelled"), Some(0)));
    app.post(&keys, t, &json!({})).await.assert_error(409, "item_cancelled");
    // 50.00 for 1 year, cancelled on day 3: 362/365 of it back.
    assert_eq!(app.scalar("SELECT net_minor FROM ledger WHERE kind = 'cancel'").await, -(5000 * 362 * 2 + 365) / 730);
    let by = app.scalar("SELECT COUNT(*) FROM audit_records WHERE operation_type = 'update_order' AND user_principal_name = 'publisher'").await;
    assert_eq!(by, 1);
    // A second cancel through the desk: already cancelled, and nothing else of that change happens.
    let again = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"newNote": {"text": "again"}, "cancel": {"customerId": c, "orderId": order_id}})),
            &[],
        )
        .await;
    again.assert_error(409, "already_cancelled");
    let seen = app.get(&format!("/v1/servicerequests/{id}"), t).await;
    assert_eq!(seen.body["notes"].as_array().unwrap().len(), 0, "the refused change wrote nothing");
    app.assert_ledger_valid().await;
}
