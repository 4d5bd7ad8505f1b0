//! Customer prices (issue 23): a partner's markup rules (percent or fixed, on cost or list, per type, product or
//! customer, effective-dated, most specific wins) and explicit per-customer prices; the catalog shows the customer
//! price to every role and cost and margin to the roles that see billing; orders record the customer price.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::set_tax;
use crate::api_orders::{buy, item};
use crate::api_pricelists::gold_at_12_percent_off;
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(a_customer_price_rule_and_an_override);

const DAY: i64 = 86_400_000_000;

async fn availability(app: &TestApp, token: &str, customer: &str, product: &str) -> Value {
    let r = app.get(&format!("/v1/customers/{customer}/products/{product}/skus/0001/availabilities"), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"][0].clone()
}

fn prices(a: &Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    (a["customerPrice"].as_str(), a["partnerCost"].as_str(), a["margin"].as_str())
}

async fn a_customer_price_rule_and_an_override(db: Db) {
    let app = &TestApp::spawn(db).await;
    import(app, &sample_catalog()).await;
    set_tax(app, "US", "USD", "0.0725", false).await;
    let p = app.partner("Alpha", false).await;
    let (admin, billing, agent) = (p.token(Role::GlobalAdmin), p.token(Role::BillingAdmin), p.token(Role::AdminAgent));
    let c1 = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let c2 = app.customer(&p, "Contoso", "contoso.example.com", "US").await["id"].as_str().unwrap().to_string();
    // The partner's cost: 12% off the list price (SLES 300.00 → 264.00; SQL 1200.00 → 1056.00).
    gold_at_12_percent_off(app, &p.id).await;
    // No rule yet: the list price.
    assert_eq!(prices(&availability(app, admin, &c1, "SLES").await), (Some("300.00"), Some("264.00"), Some("36.00")));

    let rule = |body: Value| async move {
        let r = app.post("/v1/pricing/markuprules", admin, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    };
    rule(json!({"basis": "cost", "percent": "25"})).await;
    rule(json!({"basis": "list", "percent": "5", "productType": "software_plan"})).await;
    let mine = rule(json!({"basis": "cost", "amount": "20.00", "currencyCode": "USD", "customerId": c1})).await;
    // Customer beats type beats all.
    assert_eq!(prices(&availability(app, admin, &c1, "SLES").await), (Some("284.00"), Some("264.00"), Some("20.00")));
    assert_eq!(prices(&availability(app, admin, &c2, "SLES").await), (Some("315.00"), Some("264.00"), Some("51.00")));
    assert_eq!(prices(&availability(app, admin, &c2, "SQL2019STD").await).0, Some("1320.00"));
    // Cost and margin only to the roles that see billing.
    assert_eq!(prices(&availability(app, agent, &c1, "SLES").await), (Some("284.00"), None, None));
    let sheet = app.get(&format!("/v1/customers/{c2}/pricesheet"), billing).await;
    assert_eq!(sheet.status, 200, "{}", sheet.text);
    let sles = sheet.body["items"].as_array().unwrap().iter().find(|l| l["productId"] == "SLES").unwrap();
    assert_eq!((sles["customerPriceSource"].as_str(), sles["margin"].as_str()), (Some("rule"), Some("51.00")));
    app.get(&format!("/v1/customers/{c2}/pricesheet"), agent).await.assert_error(403, "forbidden");

    // An explicit price for Contoso overrides every rule.
    let o = app
        .post(
            &format!("/v1/customers/{c2}/prices"),
            admin,
            &json!({"productId": "SLES", "skuId": "0001", "unitPrice": "299.99"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text);
    assert_eq!(prices(&availability(app, admin, &c2, "SLES").await), (Some("299.99"), Some("264.00"), Some("35.99")));
    let listed = app.get(&format!("/v1/customers/{c2}/prices"), admin).await;
    assert_eq!(listed.body["items"][0]["unitPrice"], "299.99");

    // The order records all three, each with R4's tax: 2 × 284.00 = 568.00 + 7.25%.
    let t = p.token(Role::AdminAgent);
    let sles_item = item(app, t, &c1, "SLES", "0001").await;
    let order = buy(app, t, &c1, json!([{"catalogItemId": sles_item, "quantity": 2}])).await;
    let line = &order["lineItems"][0];
    assert_eq!(
        (
            line["customerPricing"]["unitPrice"].as_str(),
            line["customerPricing"]["net"].as_str(),
            line["customerPricing"]["tax"].as_str(),
            line["customerPricing"]["gross"].as_str()
        ),
        (Some("284.00"), Some("568.00"), Some("41.18"), Some("609.18"))
    );
    assert_eq!(
        (line["pricing"]["unitPrice"].as_str(), line["listPricing"]["unitPrice"].as_str()),
        (Some("264.00"), Some("300.00"))
    );

    // Deleting Fabrikam's rule brings the type's back; the order keeps its price. A future explicit price applies
    // from its date.
    let del = app.request(Method::DELETE, &format!("/v1/pricing/markuprules/{mine}"), Some(admin), None, &[]).await;
    assert_eq!(del.status, 204, "{}", del.text);
    app.request(Method::DELETE, &format!("/v1/pricing/markuprules/{mine}"), Some(admin), None, &[])
        .await
        .assert_error(404, "not_found");
    assert_eq!(prices(&availability(app, admin, &c1, "SLES").await).0, Some("315.00"));
    let future = json!({"productId": "SLES", "skuId": "0001", "unitPrice": "250.00", "effectiveFrom": "2026-02-01"});
    assert_eq!(app.post(&format!("/v1/customers/{c1}/prices"), admin, &future).await.status, 201);
    assert_eq!(prices(&availability(app, admin, &c1, "SLES").await).0, Some("315.00"));
    app.clock.advance_micros(17 * DAY);
    assert_eq!(prices(&availability(app, admin, &c1, "SLES").await).0, Some("250.00"));
    let again = app.get(&format!("/v1/customers/{c1}/orders/{}", order["id"].as_str().unwrap()), admin).await;
    assert_eq!(again.body["lineItems"][0]["customerPricing"]["unitPrice"], "284.00");

    // What is refused.
    let bad = |body: Value, field: &'static str| async move {
        let r = app.post("/v1/pricing/markuprules", admin, &body).await;
        assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().contains(field), "{}", r.text);
    };
    bad(json!({"basis": "cost", "percent": "5", "amount": "1.00", "currencyCode": "USD"}), "percent").await;
    bad(json!({"basis": "margin", "percent": "5"}), "basis").await;
    bad(json!({"basis": "cost", "amount": "1.001", "currencyCode": "USD"}), "amount").await;
    let ghost = uuid::Uuid::new_v4();
    app.post("/v1/pricing/markuprules", admin, &json!({"basis": "cost", "percent": "5", "customerId": ghost}))
        .await
        .assert_error(404, "not_found");
    let nope = json!({"productId": "NOPE", "skuId": "0001", "unitPrice": "1.00"});
    app.post(&format!("/v1/customers/{c1}/prices"), admin, &nope).await.assert_error(404, "not_found");
    let decimals = json!({"productId": "SLES", "skuId": "0001", "unitPrice": "1.001"});
    app.post(&format!("/v1/customers/{c1}/prices"), admin, &decimals).await.assert_error(400, "invalid_request");
    app.get("/v1/pricing/markuprules", p.token(Role::SalesAgent)).await.assert_error(403, "forbidden");
    let rules = app.get("/v1/pricing/markuprules", billing).await;
    assert_eq!(rules.body["items"].as_array().unwrap().len(), 2, "{}", rules.text);
    app.assert_ledger_valid().await;
}
