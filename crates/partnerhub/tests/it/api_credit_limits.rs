//! Credit limits (issue 23): a checkout that would take what the partner owes (unbilled charges and unpaid
//! invoices, gross) past its limit is refused with 409 `credit_limit_exceeded` saying what is left, and recorded in
//! the activity log; one that reaches the limit exactly is not; concurrent checkouts never pass it together.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::set_tax;
use crate::api_orders::{buy, cart, checkout, item};
use crate::harness::*;
use crate::ui_basics::{user_with_password, Browser, PASSWORD};
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    the_credit_limit_refuses_exactly_past_the_boundary,
    racing_checkouts_never_pass_the_limit_together
);

async fn set_limit(app: &TestApp, partner: &str, body: Value) -> Res {
    let path = format!("/v1/publisher/partners/{partner}/creditlimit");
    app.request(Method::PUT, &path, Some(PUBLISHER_TOKEN), Some(&body), &[]).await
}

/// A partner with US tax at 7.25% and one US customer: one SLES costs 300.00 + 21.75 = 321.75 gross.
async fn shop(app: &TestApp) -> (TestPartner, String, String) {
    import(app, &sample_catalog()).await;
    set_tax(app, "US", "USD", "0.0725", false).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sles = item(app, p.token(Role::AdminAgent), &c, "SLES", "0001").await;
    (p, c, sles)
}

async fn the_credit_limit_refuses_exactly_past_the_boundary(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, c, sles) = shop(&app).await;
    let agent = p.token(Role::AdminAgent);
    let one = json!([{"catalogItemId": sles, "quantity": 1}]);
    // Three orders before any limit: 965.25 owed.
    for _ in 0..3 {
        buy(&app, agent, &c, one.clone()).await;
    }
    // A limit of exactly one more order.
    let set = set_limit(&app, &p.id, json!({"amount": "1287.00", "currencyCode": "USD"})).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!((set.body["used"].as_str(), set.body["available"].as_str()), (Some("965.25"), Some("321.75")));
    buy(&app, agent, &c, one.clone()).await;
    let mine = app.get("/v1/creditlimit", p.token(Role::BillingAdmin)).await;
    assert_eq!((mine.body["limited"].as_bool(), mine.body["available"].as_str()), (Some(true), Some("0.00")));
    app.get("/v1/creditlimit", p.token(Role::HelpdeskAgent)).await.assert_error(403, "forbidden");
    // One cent past: refused, saying what is left, and nothing was ordered.
    let c5 = cart(&app, agent, &c, one.clone()).await;
    let refused = checkout(&app, agent, &c, c5.body["id"].as_str().unwrap()).await;
    let body = refused.assert_error(409, "credit_limit_exceeded");
    assert_eq!(body["code"], 409007);
    assert!(body["description"].as_str().unwrap().contains("0.00 USD is left"), "{}", refused.text);
    assert_eq!(body["data"][0]["charge"], "321.75");
    let orders = app.get(&format!("/v1/customers/{c}/orders"), agent).await;
    assert_eq!(orders.body["items"].as_array().unwrap().len(), 4);
    // Without a cart too.
    let direct = app
        .post(
            &format!("/v1/customers/{c}/orders"),
            agent,
            &json!({"lineItems": [{"offerId": sles, "quantity": 1, "lineItemNumber": 0}], "billingCycle": "one_time"}),
        )
        .await;
    direct.assert_error(409, "credit_limit_exceeded");
    // The refusals are in the activity log.
    let log = app.get("/v1/auditrecords?filter=%7B%22Field%22%3A%22OperationType%22%2C%22Value%22%3A%22create_order%22%2C%22Operator%22%3A%22equals%22%7D", p.token(Role::GlobalAdmin)).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let failed: Vec<&Value> =
        log.body["items"].as_array().unwrap().iter().filter(|r| r["operationStatus"] == "failed").collect();
    assert_eq!(failed.len(), 2, "{}", log.text);
    assert!(failed[0]["customizedData"].to_string().contains("credit_limit_exceeded"), "{}", log.text);
    // The dashboard shows the room left.
    let owner = user_with_password(&app, &p, "owner", &["global_admin"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&owner, PASSWORD).await;
    let billing = b.get("/billing").await;
    assert!(billing.html.contains("data-testid=\"credit-left\">$0.00<"), "{}", billing.html);
    // A higher limit lets the cart through; removing it lifts it.
    assert_eq!(set_limit(&app, &p.id, json!({"amount": "1608.75", "currencyCode": "USD"})).await.status, 200);
    assert_eq!(checkout(&app, agent, &c, c5.body["id"].as_str().unwrap()).await.status, 201);
    let off = set_limit(&app, &p.id, json!({"amount": null})).await;
    assert_eq!((off.status.as_u16(), off.body["limited"].as_bool()), (200, Some(false)));
    buy(&app, agent, &c, one).await;
    // What is refused.
    set_limit(&app, &p.id, json!({"amount": "1.001", "currencyCode": "USD"}))
        .await
        .assert_error(400, "invalid_request");
    set_limit(&app, &p.id, json!({"amount": "1", "currencyCode": "XXX"})).await.assert_error(400, "invalid_request");
    let ghost = uuid::Uuid::new_v4().to_string();
    set_limit(&app, &ghost, json!({"amount": "1", "currencyCode": "USD"})).await.assert_error(404, "not_found");
    app.assert_ledger_valid().await;
}

/// Twelve checkouts race for room for five: exactly five are placed, whichever they are.
async fn racing_checkouts_never_pass_the_limit_together(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, c, sles) = shop(&app).await;
    let agent = p.token(Role::AdminAgent).to_string();
    assert_eq!(set_limit(&app, &p.id, json!({"amount": "1608.75", "currencyCode": "USD"})).await.status, 200);
    let mut carts = Vec::new();
    for _ in 0..12 {
        let c = cart(&app, &agent, &c, json!([{"catalogItemId": sles, "quantity": 1}])).await;
        carts.push(c.body["id"].as_str().unwrap().to_string());
    }
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = carts
        .into_iter()
        .map(|cart| {
            let (app, agent, c) = (app.clone(), agent.clone(), c.clone());
            tokio::spawn(async move { checkout(&app, &agent, &c, &cart).await })
        })
        .collect();
    let (mut placed, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            201 => placed += 1,
            409 => {
                r.assert_error(409, "credit_limit_exceeded");
                refused += 1;
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert_eq!((placed, refused), (5, 7));
    let standing = app.get("/v1/creditlimit", p.token(Role::GlobalAdmin)).await;
    assert_eq!((standing.body["used"].as_str(), standing.body["available"].as_str()), (Some("1608.75"), Some("0.00")));
    app.assert_ledger_valid().await;
}
