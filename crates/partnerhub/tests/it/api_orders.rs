//! Key stock, carts, checkout and orders (R4, R5) through the API.

use crate::api_catalog::{import, sample_catalog};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    checkout_prices_each_line_as_r4_says,
    a_cart_is_ordered_once_and_retries_return_the_first_order,
    a_shortage_of_keys_refuses_the_whole_checkout_and_writes_nothing,
    two_checkouts_racing_for_the_last_key_one_wins,
    only_buyers_buy_and_only_what_the_market_offers,
    the_publisher_stocks_keys_sealed_and_without_duplicates,
    orders_show_cancellation_eligibility_on_the_partners_clock,
    a_market_currency_change_withdraws_its_old_prices,
    the_software_page_and_entitlements_list_what_was_bought,
);

pub async fn stock(app: &TestApp, product: &str, sku: &str, keys: &[&str]) -> Res {
    app.post(&format!("/v1/publisher/products/{product}/skus/{sku}/keys"), PUBLISHER_TOKEN, &json!({"keys": keys}))
        .await
}

/// The catalog item id of a SKU in a customer's market, read from the API.
pub async fn item(app: &TestApp, token: &str, customer: &str, product: &str, sku: &str) -> String {
    let r = app.get(&format!("/v1/customers/{customer}/products/{product}/skus/{sku}/availabilities"), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"][0]["catalogItemId"].as_str().unwrap().to_string()
}

pub async fn cart(app: &TestApp, token: &str, customer: &str, lines: Value) -> Res {
    app.post(&format!("/v1/customers/{customer}/carts"), token, &json!({"lineItems": lines})).await
}

pub async fn checkout(app: &TestApp, token: &str, customer: &str, cart: &str) -> Res {
    app.post(&format!("/v1/customers/{customer}/carts/{cart}/checkout"), token, &json!({})).await
}

/// Buys lines for a customer in one checkout and returns the order.
pub async fn buy(app: &TestApp, token: &str, customer: &str, lines: Value) -> Value {
    let c = cart(app, token, customer, lines).await;
    assert_eq!(c.status, 201, "{}", c.text);
    let o = checkout(app, token, customer, c.body["id"].as_str().unwrap()).await;
    assert_eq!(o.status, 201, "{}", o.text);
    o.body["orders"][0].clone()
}

async fn set_tax(app: &TestApp, country: &str, currency: &str, rate: &str, inclusive: bool) {
    let r = app
        .request(
            Method::PUT,
            &format!("/v1/publisher/markets/{country}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"currencyCode": currency, "taxRate": rate, "taxInclusive": inclusive})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn checkout_prices_each_line_as_r4_says(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K-US-1", "K-AU-1", "K-JP-1"]).await;
    stock(&app, "SQL2019PERP", "0001", &["K-BH-1"]).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    set_tax(&app, "JP", "JPY", "0.10", false).await;
    set_tax(&app, "BH", "BHD", "0.10", false).await;
    // United States: exclusive 7.25% on 1200.00 × 2 = 2400.00 → tax 174.00.
    let us = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sql = item(&app, t, &us, "SQL2019STD", "0001").await;
    let sles = item(&app, t, &us, "SLES", "0001").await;
    let order = buy(
        &app,
        t,
        &us,
        json!([
        {"catalogItemId": sql, "quantity": 2, "billingCycle": "one_time", "friendlyName": "SQL for finance"},
        {"catalogItemId": sles, "quantity": 3, "billingCycle": "one_time"}]),
    )
    .await;
    assert_eq!(order["currencyCode"], "USD");
    assert_eq!(order["status"], "completed");
    assert_eq!(order["referenceCustomerId"], us.as_str());
    assert_eq!(order["attributes"]["objectType"], "Order");
    let l0 = &order["lineItems"][0];
    assert_eq!(
        l0["pricing"],
        json!({"unitPrice": "1200.00", "net": "2400.00", "tax": "174.00", "gross": "2574.00", "currencyCode": "USD", "taxInclusive": false})
    );
    assert_eq!(
        (l0["quantity"].as_i64(), l0["termDuration"].as_str(), l0["friendlyName"].as_str()),
        (Some(2), Some("P1Y"), Some("SQL for finance"))
    );
    // 300.00 × 3 = 900.00 → 65.25.
    assert_eq!(order["lineItems"][1]["pricing"]["tax"], "65.25");
    assert_eq!(order["totals"], json!({"net": "3300.00", "tax": "239.25", "gross": "3539.25"}));
    // Australia: the list price includes 10% GST: 1980.00 → tax 180.00, net 1800.00.
    let au = app.customer(&p, "Wingtip", "wingtip.example.com", "AU").await["id"].as_str().unwrap().to_string();
    let o =
        buy(&app, t, &au, json!([{"catalogItemId": item(&app, t, &au, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    assert_eq!(
        o["lineItems"][0]["pricing"],
        json!({"unitPrice": "1980.00", "net": "1800.00", "tax": "180.00", "gross": "1980.00", "currencyCode": "AUD", "taxInclusive": true})
    );
    // Japan: no minor unit.
    let jp = app.customer(&p, "Tailspin", "tailspin.example.com", "JP").await["id"].as_str().unwrap().to_string();
    let o =
        buy(&app, t, &jp, json!([{"catalogItemId": item(&app, t, &jp, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    assert_eq!(o["lineItems"][0]["pricing"]["tax"], "15000");
    assert_eq!(o["lineItems"][0]["pricing"]["gross"], "165000");
    // Bahrain: three decimals; 1470.125 × 10% = 147.0125 → 147.013 (half away from zero).
    let bh = app.customer(&p, "Manama Trading", "manama.example.com", "BH").await["id"].as_str().unwrap().to_string();
    let o =
        buy(&app, t, &bh, json!([{"catalogItemId": item(&app, t, &bh, "SQL2019PERP", "0001").await, "quantity": 1}]))
            .await;
    assert_eq!(o["lineItems"][0]["pricing"]["tax"], "147.013");
    assert_eq!(o["lineItems"][0]["pricing"]["gross"], "1617.138");
    assert!(o["lineItems"][0]["termDuration"].is_null());
    // Orders list and read back the same; the charges are in the ledger and the activity log.
    let listed = app.get(&format!("/v1/customers/{us}/orders"), p.token(Role::HelpdeskAgent)).await;
    assert_eq!(listed.body["totalCount"], 1);
    assert_eq!(listed.body["items"][0], order);
    let one = app.get(&format!("/v1/customers/{us}/orders/{}", order["id"].as_str().unwrap()), t).await;
    assert_eq!(one.body, order);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let (n, sum): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(gross_minor) AS BIGINT) FROM ledger WHERE order_id = $1 AND kind = 'new'",
    )
    .bind(order["id"].as_str().unwrap())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((n, sum), (2, 353925));
    let log = app
        .get(
            "/v1/auditrecords?filter=%7B%22Field%22%3A%22OperationType%22%2C%22Value%22%3A%22create_order%22%7D",
            p.token(Role::GlobalAdmin),
        )
        .await;
    assert_eq!(log.body["totalCount"], 4);
    assert_eq!(log.body["items"][0]["customerId"], us.as_str());
}

async fn a_cart_is_ordered_once_and_retries_return_the_first_order(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::GlobalAdmin);
    import(&app, &sample_catalog()).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sles = item(&app, t, &c, "SLES", "0001").await;
    let created = cart(&app, t, &c, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    assert_eq!(created.body["status"], "active");
    let cart_id = created.body["id"].as_str().unwrap().to_string();
    // Update, then read back.
    let put = app
        .request(
            Method::PUT,
            &format!("/v1/customers/{c}/carts/{cart_id}"),
            Some(t),
            Some(&json!({"lineItems": [{"catalogItemId": sles, "quantity": 5}]})),
            &[],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(app.get(&format!("/v1/customers/{c}/carts/{cart_id}"), t).await.body["lineItems"][0]["quantity"], 5);
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/v1/customers/{c}/carts/{cart_id}/checkout");
    let first = app.request(Method::POST, &path, Some(t), Some(&json!({})), &[("MS-RequestId", &key)]).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = app.request(Method::POST, &path, Some(t), Some(&json!({})), &[("MS-RequestId", &key)]).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    let again = app.post(&path, t, &json!({})).await;
    again.assert_error(400, "cart_already_ordered");
    assert_eq!(again.body["code"], 800065);
    app.request(
        Method::PUT,
        &format!("/v1/customers/{c}/carts/{cart_id}"),
        Some(t),
        Some(&json!({"lineItems": [{"catalogItemId": sles, "quantity": 1}]})),
        &[],
    )
    .await
    .assert_error(400, "cart_already_ordered");
    let cart_now = app.get(&format!("/v1/customers/{c}/carts/{cart_id}"), t).await;
    assert_eq!(cart_now.body["status"], "ordered");
    assert_eq!(cart_now.body["orderId"], first.body["orders"][0]["id"]);
    assert_eq!(app.get(&format!("/v1/customers/{c}/orders"), t).await.body["totalCount"], 1);
}

async fn a_shortage_of_keys_refuses_the_whole_checkout_and_writes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["ONLY-KEY"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sql = item(&app, t, &c, "SQL2019STD", "0001").await;
    let sles = item(&app, t, &c, "SLES", "0001").await;
    // Three lines: a plan (no key), then two that need a key each, with one key in stock.
    let created = cart(
        &app,
        t,
        &c,
        json!([
        {"catalogItemId": sles, "quantity": 1},
        {"catalogItemId": sql, "quantity": 1},
        {"catalogItemId": sql, "quantity": 1}]),
    )
    .await;
    let cart_id = created.body["id"].as_str().unwrap().to_string();
    let refused = checkout(&app, t, &c, &cart_id).await;
    refused.assert_error(409, "insufficient_key_stock");
    assert_eq!(refused.body["code"], 10003);
    // Nothing was written: no order, no charge, no activity, the cart is still active and the key still in stock.
    assert_eq!(app.get(&format!("/v1/customers/{c}/orders"), t).await.body["totalCount"], 0);
    assert_eq!(app.get(&format!("/v1/customers/{c}/carts/{cart_id}"), t).await.body["status"], "active");
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    for table in ["orders", "order_lines", "software_items", "ledger"] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut conn).await.unwrap();
        assert_eq!(n, 0, "{table} has rows after a refused checkout");
    }
    let (stocked,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM activation_keys WHERE software_item_id IS NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stocked, 1);
    let log = app
        .get(
            "/v1/auditrecords?filter=%7B%22Field%22%3A%22OperationType%22%2C%22Value%22%3A%22create_order%22%7D",
            p.token(Role::GlobalAdmin),
        )
        .await;
    assert_eq!(log.body["totalCount"], 0);
    // With one more key the same cart goes through.
    stock(&app, "SQL2019STD", "0001", &["SECOND-KEY"]).await;
    let ok = checkout(&app, t, &c, &cart_id).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let (assigned,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM software_items WHERE key_id IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(assigned, 2);
}

async fn two_checkouts_racing_for_the_last_key_one_wins(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent).to_string();
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["LAST-KEY"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sql = item(&app, &t, &c, "SQL2019STD", "0001").await;
    let mut carts = Vec::new();
    for _ in 0..6 {
        carts.push(
            cart(&app, &t, &c, json!([{"catalogItemId": sql, "quantity": 1}])).await.body["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let tasks: Vec<_> = carts
        .into_iter()
        .map(|cart_id| {
            let (http, url, t, c) = (app.http.clone(), app.url.clone(), t.clone(), c.clone());
            tokio::spawn(async move {
                http.post(format!("{url}/v1/customers/{c}/carts/{cart_id}/checkout"))
                    .bearer_auth(t)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let (items, keyed): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(key_id) FROM software_items").fetch_one(&mut conn).await.unwrap();
    assert_eq!((items, keyed), (1, 1));
}

async fn only_buyers_buy_and_only_what_the_market_offers(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    import(&app, &sample_catalog()).await;
    let us = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let gl = app.customer(&p, "Nuuk", "nuuk.example.com", "GL").await["id"].as_str().unwrap().to_string();
    let t = p.token(Role::AdminAgent);
    let sles = item(&app, t, &us, "SLES", "0001").await;
    // A sales agent may not buy (R2); the refusal names who may.
    let r = cart(&app, p.token(Role::SalesAgent), &us, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    r.assert_error(403, "forbidden");
    assert!(r.body["description"].as_str().unwrap().contains("admin_agent"));
    // The reservation is unavailable in Greenland (R1), however its id is obtained.
    let vm_us = item(&app, t, &us, "VMRESERVED", "0001").await;
    let gl_price = vm_us.replace(
        &vm_us.rsplit(':').next().unwrap().to_string(),
        &domain::catalog::availability_id("VMRESERVED", "0001", domain::market::MarketCode::parse("GL").unwrap()),
    );
    for catalog_item in [vm_us.clone(), gl_price] {
        let r = cart(&app, t, &gl, json!([{"catalogItemId": catalog_item, "quantity": 1, "provisioningContext": {"subscriptionId": uuid::Uuid::new_v4().to_string()}}])).await;
        r.assert_error(400, "product_unavailable_in_market");
        assert_eq!(r.body["code"], 800070);
    }
    // A reservation in the US needs its subscription; with it, it is bought and has no software item.
    let r = cart(&app, t, &us, json!([{"catalogItemId": vm_us, "quantity": 1}])).await;
    r.assert_error(400, "invalid_request");
    let sub = uuid::Uuid::new_v4().to_string();
    let o = buy(&app, t, &us, json!([{"catalogItemId": vm_us, "quantity": 1, "provisioningContext": {"subscriptionId": sub, "scope": "single"}}])).await;
    assert_eq!(o["lineItems"][0]["provisioningContext"]["subscriptionId"], sub.as_str());
    // Availability can change between cart and checkout: then the checkout is refused.
    let c = cart(
        &app,
        t,
        &us,
        json!([{"catalogItemId": vm_us, "quantity": 1, "provisioningContext": {"subscriptionId": sub}}]),
    )
    .await;
    app.request(
        Method::PUT,
        "/v1/publisher/availability/azure_reservation",
        Some(PUBLISHER_TOKEN),
        Some(&json!({"unavailableMarkets": ["US"]})),
        &[],
    )
    .await;
    checkout(&app, t, &us, c.body["id"].as_str().unwrap()).await.assert_error(400, "product_unavailable_in_market");
    // Bad lines.
    for (line, field) in [
        (json!({"catalogItemId": sles, "quantity": 0}), "quantity"),
        (json!({"catalogItemId": sles, "quantity": 1, "billingCycle": "monthly"}), "billingCycle"),
        (json!({"catalogItemId": sles, "quantity": 1, "termDuration": "P3Y"}), "termDuration"),
        (json!({"catalogItemId": "junk", "quantity": 1}), "catalogItemId"),
        (json!({"catalogItemId": sles, "quantity": "one"}), "quantity"),
    ] {
        let r = cart(&app, t, &us, json!([line])).await;
        r.assert_error(400, "invalid_request");
        assert!(r.body["description"].as_str().unwrap().contains(field), "{field}: {}", r.text);
    }
    cart(&app, t, &us, json!([])).await.assert_error(400, "invalid_request");
    // Another partner's customer, cart and order are not found.
    let q = app.partner("Beta", false).await;
    let qt = q.token(Role::AdminAgent);
    cart(&app, qt, &us, json!([{"catalogItemId": sles, "quantity": 1}])).await.assert_error(404, "not_found");
    app.get(&format!("/v1/customers/{us}/carts/{}", c.body["id"].as_str().unwrap()), qt)
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/customers/{us}/orders/{}", o["id"].as_str().unwrap()), qt)
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/customers/{us}/orders"), qt).await.assert_error(404, "not_found");
    let other_cart = c.body["id"].as_str().unwrap();
    app.request(
        Method::PUT,
        &format!("/v1/customers/{us}/carts/{other_cart}"),
        Some(qt),
        Some(&json!({"lineItems": [{"catalogItemId": sles, "quantity": 1}]})),
        &[],
    )
    .await
    .assert_error(404, "not_found");
    checkout(&app, qt, &us, other_cart).await.assert_error(404, "not_found");
    for path in ["products", "products/SLES", "products/SLES/skus", "products/SLES/skus/0001/availabilities"] {
        app.get(&format!("/v1/customers/{us}/{path}"), qt).await.assert_error(404, "not_found");
    }
}

async fn a_market_currency_change_withdraws_its_old_prices(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    let au = app.customer(&p, "Wingtip", "wingtip.example.com", "AU").await["id"].as_str().unwrap().to_string();
    let sql = item(&app, t, &au, "SQL2019STD", "0001").await;
    let c = cart(&app, t, &au, json!([{"catalogItemId": sql, "quantity": 1}])).await;
    // The publisher moves Australia to US dollars: the AUD prices are no longer offered nor charged.
    set_tax(&app, "AU", "USD", "0.10", true).await;
    assert_eq!(app.get(&format!("/v1/customers/{au}/products"), t).await.body["totalCount"], 0);
    checkout(&app, t, &au, c.body["id"].as_str().unwrap()).await.assert_error(400, "product_unavailable_in_market");
    // Re-importing prices in the new currency offers it again.
    let mut doc = json!({"products": [sample_catalog()["products"][0].clone()]});
    doc["products"][0]["skus"][0]["prices"][1] =
        json!({"country": "AU", "currencyCode": "USD", "listPrice": "1300.00"});
    import(&app, &doc).await;
    stock(&app, "SQL2019STD", "0001", &["AU-KEY"]).await;
    let o =
        buy(&app, t, &au, json!([{"catalogItemId": item(&app, t, &au, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    assert_eq!(
        (o["currencyCode"].as_str(), o["lineItems"][0]["pricing"]["gross"].as_str()),
        (Some("USD"), Some("1300.00"))
    );
}

async fn the_publisher_stocks_keys_sealed_and_without_duplicates(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let r = stock(&app, "SQL2019STD", "0001", &["AAAAA-11111", "BBBBB-22222"]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"added": 2, "available": 2}));
    stock(&app, "SQL2019STD", "0001", &["CCCCC", "BBBBB-22222"]).await.assert_error(409, "conflict");
    stock(&app, "SQL2019STD", "0002", &["AAAAA-11111"]).await.assert_error(409, "conflict");
    stock(&app, "SQL2019STD", "0001", &["X", "X"]).await.assert_error(400, "invalid_request");
    stock(&app, "SQL2019STD", "0001", &[]).await.assert_error(400, "invalid_request");
    stock(&app, "SLES", "0001", &["PLAN-KEY"]).await.assert_error(400, "invalid_request");
    stock(&app, "NOPE", "0001", &["K"]).await.assert_error(404, "not_found");
    let p = app.partner("Alpha", false).await;
    app.post("/v1/publisher/products/SQL2019STD/skus/0001/keys", p.token(Role::GlobalAdmin), &json!({"keys": ["Z"]}))
        .await
        .assert_error(401, "unauthorized");
    // The refused batch added nothing; the keys are sealed at rest.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let rows: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT sealed, fingerprint FROM activation_keys").fetch_all(&mut conn).await.unwrap();
    assert_eq!(rows.len(), 2);
    for (sealed, fingerprint) in rows {
        assert!(!sealed.windows(5).any(|w| w == b"AAAAA" || w == b"BBBBB"), "a key is stored in clear");
        assert!(!fingerprint.contains("AAAAA"));
    }
}

async fn orders_show_cancellation_eligibility_on_the_partners_clock(db: Db) {
    let app = TestApp::spawn(db).await;
    let created =
        app.post("/v1/publisher/partners", PUBLISHER_TOKEN, &json!({"name": "Sandbox", "sandbox": true})).await;
    let pid = created.body["id"].as_str().unwrap().to_string();
    let u = app
        .post(
            &format!("/v1/publisher/partners/{pid}/users"),
            PUBLISHER_TOKEN,
            &json!({"email": "agent@sandbox.example", "displayName": "A", "roles": ["admin_agent", "global_admin"]}),
        )
        .await;
    let tok = app
        .post(
            &format!("/v1/publisher/partners/{pid}/users/{}/tokens", u.body["id"].as_str().unwrap()),
            PUBLISHER_TOKEN,
            &json!({}),
        )
        .await;
    let t = tok.body["token"].as_str().unwrap().to_string();
    let t = t.as_str();
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1"]).await;
    stock(&app, "WIN7ESU", "0001", &["K2"]).await;
    let c = app.post("/v1/customers", t, &customer_body("Fabrikam", "fabrikam.example.com", "US")).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = buy(
        &app,
        t,
        &c,
        json!([
        {"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1},
        {"catalogItemId": item(&app, t, &c, "WIN7ESU", "0001").await, "quantity": 1},
        {"catalogItemId": item(&app, t, &c, "SLES", "0001").await, "quantity": 1}]),
    )
    .await;
    let created_at = o["creationDate"].as_str().unwrap().to_string();
    let window = &o["lineItems"][0]["cancellation"];
    assert_eq!(
        (window["policy"].as_str(), window["eligible"].as_bool(), window["daysRemaining"].as_i64()),
        (Some("window"), Some(true), Some(60))
    );
    let until = domain::Timestamp::parse_rfc3339(window["cancellableUntil"].as_str().unwrap()).unwrap();
    assert_eq!(
        until.micros() - domain::Timestamp::parse_rfc3339(&created_at).unwrap().micros(),
        60 * 86_400 * 1_000_000
    );
    assert_eq!(o["lineItems"][1]["cancellation"]["reason"], "cancellation_requires_support_request");
    assert_eq!(o["lineItems"][2]["cancellation"]["reason"], "not_cancellable");
    let path = format!("/v1/customers/{c}/orders/{}", o["id"].as_str().unwrap());
    // 59 days and a second later: under a day left, shown as 1 (ceiling).
    app.post("/v1/testclock/advance", t, &json!({"days": 59, "seconds": 1})).await;
    let l = app.get(&path, t).await.body["lineItems"][0]["cancellation"].clone();
    assert_eq!((l["eligible"].as_bool(), l["daysRemaining"].as_i64()), (Some(true), Some(1)));
    // At 60 days the window is closed.
    app.post("/v1/testclock/advance", t, &json!({"seconds": 86_399})).await;
    let l = app.get(&path, t).await.body["lineItems"][0]["cancellation"].clone();
    assert_eq!(
        (l["eligible"].as_bool(), l["daysRemaining"].as_i64(), l["reason"].as_str()),
        (Some(false), Some(0), Some("cancellation_window_closed"))
    );
}

async fn the_software_page_and_entitlements_list_what_was_bought(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1"]).await;
    stock(&app, "SQL2019PERP", "0001", &["K2"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let o = buy(
        &app,
        t,
        &c,
        json!([
        {"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 2},
        {"catalogItemId": item(&app, t, &c, "SQL2019PERP", "0001").await, "quantity": 1},
        {"catalogItemId": item(&app, t, &c, "SLES", "0001").await, "quantity": 1},
        {"catalogItemId": item(&app, t, &c, "VMRESERVED", "0001").await, "quantity": 1,
         "provisioningContext": {"subscriptionId": uuid::Uuid::new_v4().to_string()}}]),
    )
    .await;
    let order_id = o["id"].as_str().unwrap();
    // Any role sees the Software page: the software lines, not the reservation.
    let page = app.get(&format!("/v1/customers/{c}/software"), p.token(Role::HelpdeskAgent)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let items = page.body["items"].as_array().unwrap();
    let products: Vec<&str> = items.iter().map(|i| i["productId"].as_str().unwrap()).collect();
    assert_eq!(products, ["SQL2019STD", "SQL2019PERP", "SLES"]);
    let sql = &items[0];
    assert_eq!(
        (sql["orderId"].as_str(), sql["lineItemNumber"].as_i64(), sql["status"].as_str()),
        (Some(order_id), Some(0), Some("active"))
    );
    assert_eq!(sql["title"], "SQL Server 2019 Standard - 2 Core - 1 year");
    assert_eq!(sql["termDuration"], "P1Y");
    assert_eq!(sql["purchaseDate"], "2026-01-15T10:00:00Z");
    assert_eq!(sql["expiryDate"], "2027-01-15T00:00:00Z");
    assert_eq!(sql["attributes"]["objectType"], "SoftwareItem");
    assert!(items[1]["expiryDate"].is_null(), "perpetual software does not expire");
    let keys: Vec<bool> = items.iter().map(|i| i["keyAvailable"].as_bool().unwrap()).collect();
    assert_eq!(keys, [true, true, false], "a SUSE plan has no key");
    // Entitlements in Partner Center's shape, by type, with expiry on request.
    let all = app.get(&format!("/v1/customers/{c}/entitlements"), t).await;
    assert_eq!(all.body["totalCount"], 4);
    let first = &all.body["items"][0];
    assert_eq!(first["referenceOrder"], json!({"id": order_id, "lineItemId": 0}));
    assert_eq!((first["quantity"].as_i64(), first["entitlementType"].as_str()), (Some(2), Some("software")));
    assert!(first["expiryDate"].is_null());
    let ri =
        app.get(&format!("/v1/customers/{c}/entitlements?entitlementType=reservedinstance&showExpiry=true"), t).await;
    assert_eq!(ri.body["totalCount"], 1);
    assert_eq!(ri.body["items"][0]["productId"], "VMRESERVED");
    assert_eq!(ri.body["items"][0]["expiryDate"], "2027-01-15T00:00:00Z");
    assert_eq!(
        app.get(&format!("/v1/customers/{c}/entitlements?entitlementType=software"), t).await.body["totalCount"],
        3
    );
    app.get(&format!("/v1/customers/{c}/entitlements?entitlementType=hardware"), t)
        .await
        .assert_error(400, "invalid_request");
    // Another partner sees none of it.
    let q = app.partner("Beta", false).await;
    for path in ["software", "entitlements"] {
        app.get(&format!("/v1/customers/{c}/{path}"), q.token(Role::GlobalAdmin)).await.assert_error(404, "not_found");
    }
}
