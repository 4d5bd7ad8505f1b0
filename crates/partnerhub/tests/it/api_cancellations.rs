//! Cancelling purchases (R9) and what follows (R10): revoked keys and links, credits, at once.

use crate::api_catalog::{import, sample_catalog};
use crate::api_downloads::{bought, enu_link, fetch};
use crate::api_orders::{buy, item, stock};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    a_cancel_revokes_key_and_links_and_credits_the_unused_days,
    the_window_is_open_on_day_59_and_closed_on_day_60,
    support_request_and_none_policies_refuse_and_a_refusal_changes_nothing,
    concurrent_cancels_of_one_order_give_one_credit,
    a_replayed_cancel_returns_the_first_answer_and_credits_once,
);

const DAY: i64 = 86_400_000_000;

static CANCEL_ALL: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| json!({"status": "cancelled"}));

fn cancel_path(customer: &str, order: &Value) -> String {
    format!("/v1/customers/{customer}/orders/{}", order["id"].as_str().unwrap())
}

/// Minor units of a money string ("1234.50" → 123450).
fn minor(s: &Value) -> i64 {
    s.as_str().unwrap().replace('.', "").parse().unwrap()
}

/// round(amount × remaining / total), half away from zero, for non-negative amounts.
fn prorated(amount: i64, remaining: i64, total: i64) -> i64 {
    (2 * amount * remaining + total) / (2 * total)
}

async fn ledger(app: &TestApp, kind: &str, what: &str) -> i64 {
    app.scalar(&format!("SELECT CAST(COALESCE(SUM({what}), 0) AS BIGINT) FROM ledger WHERE kind = '{kind}'")).await
}

async fn a_cancel_revokes_key_and_links_and_credits_the_unused_days(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, true).await;
    let t = b.agent();
    // A second order with a perpetual licence and a subscription, bought at the same moment.
    stock(&app, "SQL2019PERP", "0001", &["PERP-KEY-1"]).await;
    stock(&app, "SQL2019STD", "0001", &["SQL-KEY-2"]).await;
    let c = &b.customer;
    let order = buy(
        &app,
        t,
        c,
        json!([{"catalogItemId": item(&app, t, c, "SQL2019STD", "0001").await, "quantity": 2},
               {"catalogItemId": item(&app, t, c, "SQL2019PERP", "0001").await, "quantity": 1}]),
    )
    .await;
    let first_order = app.get(&format!("/v1/customers/{c}/orders"), t).await.body["items"][0].clone();
    let link = enu_link(&app, &b).await;
    assert_eq!(fetch(&app.http, Method::GET, &link, &[]).await.status, 200);

    // Day 10 on the partner's test clock: cancel the subscription line of the second order.
    app.post("/v1/testclock/advance", t, &json!({"days": 10})).await;
    let r = app
        .patch(&cancel_path(c, &order), t, &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 0}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "completed", "one line is still active");
    assert_eq!(
        (r.body["lineItems"][0]["status"].as_str(), r.body["lineItems"][0]["quantity"].as_i64()),
        (Some("cancelled"), Some(0))
    );
    assert_eq!(r.body["lineItems"][1]["status"], "active");
    // 1 year from 2026-01-15 is 365 days; 10 used, 355 credited, net and tax each rounded.
    let pricing = &order["lineItems"][0]["pricing"];
    let (net, tax) = (minor(&pricing["net"]), minor(&pricing["tax"]));
    assert_eq!(ledger(&app, "cancel", "net_minor").await, -prorated(net, 355, 365));
    assert_eq!(ledger(&app, "cancel", "tax_minor").await, -prorated(tax, 355, 365));
    assert_eq!(
        app.scalar("SELECT quantity FROM ledger WHERE kind = 'cancel'").await,
        2,
        "credits keep a positive quantity"
    );

    // Then the first order, whole (no lineItems): its key and link are revoked at once.
    let r = app.patch(&cancel_path(c, &first_order), t, &json!({"status": "cancelled"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    let gone = fetch(&app.http, Method::GET, &link, &[]).await;
    assert_eq!(gone.status, 410);
    assert_eq!(serde_json::from_slice::<Value>(&gone.body).unwrap()["errorName"], "link_revoked");
    app.post(&b.path("keysanddownloads"), t, &json!({})).await.assert_error(409, "item_cancelled");
    let software = app.get(&format!("/v1/customers/{c}/software"), t).await;
    let first = software.body["items"].as_array().unwrap().iter().find(|i| i["id"] == b.item.as_str()).unwrap().clone();
    assert_eq!((first["status"].as_str(), first["keyAvailable"].as_bool()), (Some("cancelled"), Some(false)));

    // Perpetual software: 100% back, whatever the day.
    let r = app.patch(&cancel_path(c, &order), t, &json!({"status": "cancelled"})).await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("cancelled")), "{}", r.text);
    let perp_gross = minor(&order["lineItems"][1]["pricing"]["gross"]);
    assert_eq!(
        app.scalar("SELECT gross_minor FROM ledger WHERE kind = 'cancel' AND line_number = 1").await,
        -perp_gross
    );
    // Twice: 409.
    app.patch(&cancel_path(c, &order), t, &json!({"status": "cancelled"})).await.assert_error(409, "already_cancelled");
    // Every cancel is in the activity log, and the order reads back as cancelled at once.
    let got = app.get(&cancel_path(c, &order), b.p.token(Role::HelpdeskAgent)).await;
    assert_eq!(got.body["status"], "cancelled");
    let filter = url_encode(&json!({"Field": "OperationType", "Value": "update_order"}).to_string());
    let log = app.get(&format!("/v1/auditrecords?filter={filter}"), b.p.token(Role::GlobalAdmin)).await;
    assert_eq!(log.body["items"].as_array().unwrap().len(), 3, "{}", log.text);
    app.assert_ledger_valid().await;
}

async fn the_window_is_open_on_day_59_and_closed_on_day_60(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1", "K2"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let line = json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]);
    let early = buy(&app, t, &c, line.clone()).await;
    let late = buy(&app, t, &c, line).await;
    app.clock.advance_micros(59 * DAY);
    let shown = app.get(&cancel_path(&c, &early), t).await;
    assert_eq!(shown.body["lineItems"][0]["cancellation"]["daysRemaining"], 1);
    let r = app.patch(&cancel_path(&c, &early), t, &json!({"status": "cancelled"})).await;
    assert_eq!(r.status, 200, "day 59: {}", r.text);
    app.clock.advance_micros(DAY);
    let refused = app.patch(&cancel_path(&c, &late), t, &json!({"status": "cancelled"})).await;
    let body = refused.assert_error(400, "cancellation_window_closed");
    assert_eq!(body["code"], 900117);
    assert_eq!(app.get(&cancel_path(&c, &late), t).await.body["lineItems"][0]["status"], "active");
    app.assert_ledger_valid().await;
}

async fn support_request_and_none_policies_refuse_and_a_refusal_changes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1"]).await;
    stock(&app, "WIN7ESU", "0001", &["E1"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let esu =
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "WIN7ESU", "0001").await, "quantity": 1}])).await;
    let r = app.patch(&cancel_path(&c, &esu), t, &json!({"status": "cancelled"})).await;
    let body = r.assert_error(400, "cancellation_requires_support_request");
    assert_eq!(body["code"], 800061);
    let link = body["data"][0]["supportRequestLink"].as_str().unwrap();
    assert!(
        link.contains(esu["id"].as_str().unwrap()) && link.contains(&c) && link.contains("csp_purchase_refund"),
        "{link}"
    );
    assert_eq!(body["data"][0]["supportTopicId"], "csp_purchase_refund");

    // SQL (cancellable) and SUSE (not) in one order: all or nothing.
    let mixed = buy(
        &app,
        t,
        &c,
        json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1},
               {"catalogItemId": item(&app, t, &c, "SLES", "0001").await, "quantity": 1}]),
    )
    .await;
    let path = cancel_path(&c, &mixed);
    let refused = app.patch(&path, t, &json!({"status": "cancelled"})).await;
    assert_eq!(refused.assert_error(400, "not_cancellable")["code"], 800061);
    let refused = app
        .patch(&path, t, &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 1}, {"lineItemNumber": 0}]}))
        .await;
    refused.assert_error(400, "not_cancellable");
    app.patch(&path, t, &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 7}]}))
        .await
        .assert_error(400, "line_item_out_of_range");
    let out = app.patch(&path, t, &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": -1}]})).await;
    assert_eq!(out.assert_error(400, "line_item_out_of_range")["code"], 800071);
    app.patch(&path, t, &json!({"status": "active"})).await.assert_error(400, "invalid_request");
    app.patch(&path, t, &json!({"status": "cancelled", "lineItems": []})).await.assert_error(400, "invalid_request");
    // Roles and partners: a global admin is not an admin agent; another partner's order does not exist.
    app.patch(&path, p.token(Role::GlobalAdmin), &json!({"status": "cancelled"})).await.assert_error(403, "forbidden");
    let q = app.partner("Beta", false).await;
    app.patch(&path, q.token(Role::AdminAgent), &json!({"status": "cancelled"})).await.assert_error(404, "not_found");
    // Nothing changed: both lines active, no credit, no update_order record.
    let order = app.get(&path, t).await;
    assert!(order.body["lineItems"].as_array().unwrap().iter().all(|l| l["status"] == "active"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'cancel'").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_records WHERE operation_type = 'update_order'").await, 0);
    // The SQL line alone may go.
    let r = app
        .patch(&path, t, &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 0}, {"lineItemNumber": 0}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'cancel'").await, 1, "repeats are ignored");
    app.assert_ledger_valid().await;
}

async fn concurrent_cancels_of_one_order_give_one_credit(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let order = app.get(&format!("/v1/customers/{}/orders", b.customer), b.agent()).await.body["items"][0].clone();
    let path = cancel_path(&b.customer, &order);
    let answers = futures::future::join_all((0..12).map(|_| app.patch(&path, b.agent(), &CANCEL_ALL))).await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{:?}", answers.iter().map(|r| r.text.clone()).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status != 200) {
        r.assert_error(409, "already_cancelled");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'cancel'").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_records WHERE operation_type = 'update_order'").await, 1);
    app.assert_ledger_valid().await;
}

async fn a_replayed_cancel_returns_the_first_answer_and_credits_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let order = app.get(&format!("/v1/customers/{}/orders", b.customer), b.agent()).await.body["items"][0].clone();
    let path = cancel_path(&b.customer, &order);
    let send =
        || app.request(Method::PATCH, &path, Some(b.agent()), Some(&CANCEL_ALL), &[("MS-RequestId", "cancel-0001")]);
    let first = send().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = send().await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'cancel'").await, 1);
    app.assert_ledger_valid().await;
}
