//! Conventions every route shares: authentication, the error body, the OpenAPI document, operations endpoints,
//! correlation ids, the publisher's markets and the sandbox test clock.

use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(
    authentication_is_required_and_token_kinds_do_not_mix,
    errors_use_the_spec_body,
    openapi_lists_every_route,
    health_and_readiness,
    metrics_labels_stay_bounded_whatever_clients_send,
    correlation_ids_are_echoed,
    publisher_edits_markets,
    test_clock_is_for_sandbox_partners_and_moves_forward_only,
    test_clock_dates_are_bounded_and_never_wrap,
    every_list_is_a_paged_collection,
);

async fn authentication_is_required_and_token_kinds_do_not_mix(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    app.request(Method::GET, "/v1/customers", None, None, &[]).await.assert_error(401, "unauthorized");
    app.get("/v1/customers", "ph_not-a-real-token").await.assert_error(401, "unauthorized");
    app.request(Method::GET, "/v1/customers", None, None, &[("authorization", "Basic abc")])
        .await
        .assert_error(401, "unauthorized");
    // The publisher's token does not act as a partner, nor a partner's token as the publisher.
    app.get("/v1/customers", PUBLISHER_TOKEN).await.assert_error(401, "unauthorized");
    app.get("/v1/publisher/partners", p.token(Role::GlobalAdmin)).await.assert_error(401, "unauthorized");
    let me = app.get("/v1/users/me", p.token(Role::HelpdeskAgent)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["roles"], json!(["helpdesk_agent"]));
    assert_eq!(me.body["attributes"]["objectType"], "User");
}

async fn errors_use_the_spec_body(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::GlobalAdmin);
    let e = app.get("/v1/no-such-route", t).await;
    e.assert_error(404, "not_found");
    assert_eq!(e.body["code"], 20000);
    app.request(Method::DELETE, "/v1/customers", Some(t), None, &[]).await.assert_error(405, "method_not_allowed");
    // Malformed JSON, a missing field (named), a mistyped field (named).
    let bad = app.request(Method::POST, "/v1/customers", Some(t), None, &[("content-type", "application/json")]).await;
    bad.assert_error(400, "invalid_request");
    let raw = app.http.post(format!("{}/v1/customers", app.url)).bearer_auth(t).body("{not json").send().await.unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["errorName"], "invalid_request");
    assert_eq!(body["code"], 400000);
    let missing = app.post("/v1/customers", t, &json!({"companyProfile": {"companyName": "X"}})).await;
    missing.assert_error(400, "invalid_request");
    assert!(missing.body["description"].as_str().unwrap().contains("companyProfile"), "{}", missing.text);
    let mistyped = app.post("/v1/testclock/advance", t, &json!({"days": "three"})).await;
    mistyped.assert_error(400, "invalid_request");
    assert!(mistyped.body["description"].as_str().unwrap().contains("days"), "{}", mistyped.text);
    // A body over the limit is refused before it is read.
    let huge = "x".repeat(2 * 1024 * 1024);
    // (A fresh client: the server answers before reading the body and closes that connection.)
    let r = reqwest::Client::new()
        .post(format!("{}/v1/customers", app.url))
        .bearer_auth(t)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errorName"], "payload_too_large");
    // Bad sizes and continuation tokens.
    app.get("/v1/customers?size=0", t).await.assert_error(400, "invalid_request");
    app.get("/v1/customers?size=501", t).await.assert_error(400, "invalid_request");
    app.get("/v1/customers?size=abc", t).await.assert_error(400, "invalid_request");
    app.request(Method::GET, "/v1/customers?seekOperation=Next", Some(t), None, &[("MS-ContinuationToken", "junk")])
        .await
        .assert_error(400, "invalid_request");
    app.get("/v1/customers?seekOperation=Next", t).await.assert_error(400, "invalid_request");
}

async fn openapi_lists_every_route(db: Db) {
    let app = TestApp::spawn(db).await;
    let doc = app.request(Method::GET, "/v1/openapi.json", None, None, &[]).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.body["paths"].as_object().unwrap();
    for (method, path) in crate::roles::ROUTES.iter().map(|r| (r.method, r.path)).chain([
        ("post", "/v1/publisher/partners"),
        ("get", "/v1/publisher/partners"),
        ("post", "/v1/publisher/partners/{partnerId}/users"),
        ("post", "/v1/publisher/partners/{partnerId}/users/{userId}/tokens"),
        ("get", "/v1/publisher/markets"),
        ("put", "/v1/publisher/markets/{country}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/v1/openapi.json"),
        ("get", "/metrics"),
        ("put", "/v1/publisher/catalog"),
        ("get", "/v1/publisher/availability"),
        ("put", "/v1/publisher/availability/{productType}"),
        ("post", "/v1/publisher/products/{productId}/skus/{skuId}/keys"),
        ("post", "/v1/publisher/products/{productId}/artifacts"),
        ("get", "/download/{token}"),
        ("post", "/v1/publisher/invoiceruns"),
        ("get", "/v1/publisher/ledger/verification"),
        ("get", "/v1/publisher/servicerequests"),
        ("get", "/v1/publisher/servicerequests/{id}"),
        ("patch", "/v1/publisher/servicerequests/{id}"),
        ("get", "/v1/publisher/servicerequests/{id}/attachments/{attachmentId}"),
        ("post", "/v1/publisher/pricelists"),
        ("get", "/v1/publisher/pricelists"),
        ("get", "/v1/publisher/pricelists/{priceListId}"),
        ("post", "/v1/publisher/pricelists/{priceListId}/versions"),
        ("patch", "/v1/publisher/pricelists/{priceListId}/versions/{version}"),
        ("put", "/v1/publisher/partners/{partnerId}/pricelist"),
        ("get", "/v1/publisher/partners/{partnerId}/creditlimit"),
        ("put", "/v1/publisher/partners/{partnerId}/creditlimit"),
    ]) {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing from the OpenAPI document"));
        assert!(item.get(method).is_some(), "{method} {path} is missing from the OpenAPI document");
        // Rate limits and outages may answer any route but the probes.
        let probe = matches!(path, "/healthz" | "/readyz" | "/metrics");
        for status in ["429", "503"] {
            let documented = item[method]["responses"].get(status).is_some();
            assert!(documented != probe || (status == "503" && path == "/readyz"), "{method} {path}: {status}");
        }
    }
    // And every documented path without parameters is served for its methods (not the unknown-route 404).
    let p = app.partner("Alpha", false).await;
    for (path, item) in paths.iter().filter(|(p, _)| !p.contains('{')) {
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let token = if path.starts_with("/v1/publisher") { PUBLISHER_TOKEN } else { p.token(Role::GlobalAdmin) };
            let r = app.request(m, path, Some(token), None, &[]).await;
            assert!(r.status != 404 && r.status != 405, "{method} {path} is documented but not served: {}", r.text);
        }
    }
}

async fn health_and_readiness(db: Db) {
    let app = TestApp::spawn(db).await;
    let h = app.request(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!((h.status.as_u16(), h.text.as_str()), (200, "ok"));
    let r = app.request(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!((r.status.as_u16(), r.text.as_str()), (200, "ready"));
    app.request(Method::GET, "/v1/customers/some-id", Some("nope"), None, &[]).await;
    let m = app.request(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(m.status, 200);
    // Counted by route template, never by raw path (which could hold ids or tokens).
    assert!(
        m.text.contains(r#"partnerhub_http_requests_total{method="GET",route="/readyz",status="200"} 1"#),
        "{}",
        m.text
    );
    assert!(m.text.contains(r#"route="/v1/customers/{customerId}",status="401""#), "{}", m.text);
    assert!(!m.text.contains("some-id"));
    // SQLite's group commit is counted: five customers are at least five writes, in no more commits than writes.
    let p = app.partner("Metered", false).await;
    for i in 0..5 {
        app.customer(&p, &format!("Metered {i}"), &format!("metered{i}.example.com"), "US").await;
    }
    let m = app.request(Method::GET, "/metrics", None, None, &[]).await.text;
    let counter = |name: &str| {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name}: {m}"))
    };
    match db {
        Db::Sqlite => {
            let (batches, writes) =
                (counter("partnerhub_sqlite_write_batches_total "), counter("partnerhub_sqlite_writes_total "));
            assert!(writes >= 5 && (1..=writes).contains(&batches), "{batches} batches, {writes} writes");
        }
        // PostgreSQL's writes commit one by one: there is no such counter.
        Db::Postgres => assert!(!m.contains("partnerhub_sqlite_"), "{m}"),
    }
}

/// Issue 16 item 7: made-up methods and paths must not grow `/metrics` (3,000 methods once made it 12 MiB).
async fn metrics_labels_stay_bounded_whatever_clients_send(db: Db) {
    let app = TestApp::spawn(db).await;
    let scrape = || async { app.request(Method::GET, "/metrics", None, None, &[]).await.text };
    for i in 0..3 {
        let m = Method::from_bytes(format!("WARMUP{i}").as_bytes()).unwrap();
        app.request(m.clone(), "/v1/customers", None, None, &[]).await;
        app.request(m, &format!("/no/such/route/{i}"), None, None, &[]).await;
    }
    let before = scrape().await;
    for i in 0..300 {
        let m = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let r = app.request(m, "/v1/customers", None, None, &[]).await;
        assert!(r.status.is_client_error(), "{}", r.status);
        let m = Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
        app.request(m, &format!("/junk-{i}/{i}"), None, None, &[]).await;
    }
    let after = scrape().await;
    assert!(!after.contains("MADEUP") && !after.contains("junk-"), "{after}");
    assert!(after.contains(r#"method="other",route="/v1/customers""#), "{after}");
    assert!(after.contains(r#"route="unmatched""#), "{after}");
    // The same series, only their counts grew (the /metrics scrape itself adds one series at most).
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(series(&after) <= series(&before) + 15, "{} series before, {} after", series(&before), series(&after));
}

async fn correlation_ids_are_echoed(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = app
        .request(Method::GET, "/healthz", None, None, &[("MS-CorrelationId", "corr-1"), ("MS-RequestId", "req-1")])
        .await;
    assert_eq!(r.headers["ms-correlationid"], "corr-1");
    assert_eq!(r.headers["ms-requestid"], "req-1");
    let fresh = app.request(Method::GET, "/healthz", None, None, &[]).await;
    assert!(uuid::Uuid::parse_str(fresh.headers["ms-correlationid"].to_str().unwrap()).is_ok());
}

async fn publisher_edits_markets(db: Db) {
    let app = TestApp::spawn(db).await;
    let all = app.get("/v1/publisher/markets", PUBLISHER_TOKEN).await;
    let markets = all.body.as_array().unwrap();
    assert_eq!(markets.len(), 250);
    let find = |code: &str| markets.iter().find(|m| m["country"] == code).unwrap().clone();
    assert_eq!(find("AU")["taxInclusive"], true);
    assert_eq!(find("AU")["taxRate"], "0.10");
    assert_eq!(find("BR")["taxInclusive"], true);
    assert_eq!(find("JP")["minorUnits"], 0);
    assert_eq!(find("XK")["currencyCode"], "EUR");
    assert_eq!(find("AQ")["currencyCode"], "USD");
    let put = |body: serde_json::Value, country: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::PUT,
                &format!("/v1/publisher/markets/{country}"),
                Some(PUBLISHER_TOKEN),
                Some(&body),
                &[],
            )
            .await
        }
    };
    let de = put(json!({"currencyCode": "EUR", "taxRate": "0.19", "taxInclusive": false}), "de").await;
    assert_eq!(de.status, 200, "{}", de.text);
    assert_eq!((de.body["country"].as_str(), de.body["taxRate"].as_str()), (Some("DE"), Some("0.19")));
    let again = app.get("/v1/publisher/markets", PUBLISHER_TOKEN).await;
    let de = again.body.as_array().unwrap().iter().find(|m| m["country"] == "DE").unwrap().clone();
    assert_eq!(de["taxRate"], "0.19");
    put(json!({"currencyCode": "EUR", "taxRate": "0.19", "taxInclusive": false}), "ZZ")
        .await
        .assert_error(400, "invalid_request");
    put(json!({"currencyCode": "ABC", "taxRate": "0.19", "taxInclusive": false}), "DE")
        .await
        .assert_error(400, "invalid_request");
    put(json!({"currencyCode": "EUR", "taxRate": "1.5", "taxInclusive": false}), "DE")
        .await
        .assert_error(400, "invalid_request");
    put(json!({"currencyCode": "EUR", "taxRate": "0.2"}), "DE").await.assert_error(400, "invalid_request");
}

async fn test_clock_is_for_sandbox_partners_and_moves_forward_only(db: Db) {
    let app = TestApp::spawn(db).await;
    let prod = app.partner("Production", false).await;
    let t = prod.token(Role::AdminAgent);
    let e = app.get("/v1/testclock", t).await;
    e.assert_error(403, "not_sandbox");
    assert_eq!(e.body["code"], 403001);
    app.post("/v1/testclock/advance", t, &json!({"days": 1})).await.assert_error(403, "not_sandbox");

    // A sandbox partner whose clock starts at a chosen instant.
    let created = app
        .post(
            "/v1/publisher/partners",
            PUBLISHER_TOKEN,
            &json!({"name": "Sandbox", "sandbox": true, "clockStart": "2030-02-28T12:00:00Z"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    app.post(
        "/v1/publisher/partners",
        PUBLISHER_TOKEN,
        &json!({"name": "P", "sandbox": false, "clockStart": "2030-01-01T00:00:00Z"}),
    )
    .await
    .assert_error(400, "invalid_request");
    let t = &sales_agent_token(&app, created.body["id"].as_str().unwrap(), "sales@sandbox.example").await;
    assert_eq!(app.get("/v1/testclock", t).await.body["now"], "2030-02-28T12:00:00Z");
    // The server's own time passing moves the partner's clock too.
    app.clock.advance_micros(30 * 1_000_000);
    assert_eq!(app.get("/v1/testclock", t).await.body["now"], "2030-02-28T12:00:30Z");
    let moved = app.post("/v1/testclock/advance", t, &json!({"days": 1, "seconds": 30})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["now"], "2030-03-01T12:01:00Z");
    app.post("/v1/testclock/advance", t, &json!({"days": -1})).await.assert_error(400, "invalid_request");
    app.post("/v1/testclock/advance", t, &json!({})).await.assert_error(400, "invalid_request");
    // What the partner does is dated by its clock.
    let c = app.post("/v1/customers", t, &customer_body("Dated Ltd", "dated.example.com", "US")).await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert_eq!(c.body["createdDate"], "2030-03-01T12:01:00Z");
}

/// The publisher adds a sales agent to partner `pid` and issues it a token.
async fn sales_agent_token(app: &TestApp, pid: &str, email: &str) -> String {
    let u = app
        .post(
            &format!("/v1/publisher/partners/{pid}/users"),
            PUBLISHER_TOKEN,
            &json!({"email": email, "displayName": "S", "roles": ["sales_agent"]}),
        )
        .await;
    assert_eq!(u.status, 201, "{}", u.text);
    let uid = u.body["id"].as_str().unwrap();
    let tok = app.post(&format!("/v1/publisher/partners/{pid}/users/{uid}/tokens"), PUBLISHER_TOKEN, &json!({})).await;
    tok.body["token"].as_str().unwrap().to_string()
}

/// Issue 16 item 11: `clockStart` was unbounded, and from 9999-12-31 one advance read 1970-01-01.
async fn test_clock_dates_are_bounded_and_never_wrap(db: Db) {
    let app = TestApp::spawn(db).await;
    let sandbox = |start: &str| json!({"name": "Sandbox", "sandbox": true, "clockStart": start});
    for start in ["9999-12-31T00:00:00Z", "3000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"] {
        let e = app.post("/v1/publisher/partners", PUBLISHER_TOKEN, &sandbox(start)).await;
        e.assert_error(400, "invalid_request");
        assert!(e.body["description"].as_str().unwrap().contains("2999-12-31"), "{}", e.text);
    }
    let created = app.post("/v1/publisher/partners", PUBLISHER_TOKEN, &sandbox("2999-12-30T00:00:00Z")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let t = &sales_agent_token(&app, created.body["id"].as_str().unwrap(), "late@sandbox.example").await;
    // A move past the end is refused and changes nothing; one within it works.
    let e = app.post("/v1/testclock/advance", t, &json!({"days": 2})).await;
    e.assert_error(400, "invalid_request");
    assert!(e.body["description"].as_str().unwrap().contains("2999-12-31"), "{}", e.text);
    app.post("/v1/testclock/advance", t, &json!({"days": 3660})).await.assert_error(400, "invalid_request");
    assert_eq!(app.get("/v1/testclock", t).await.body["now"], "2999-12-30T00:00:00Z");
    let moved = app.post("/v1/testclock/advance", t, &json!({"days": 1})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["now"], "2999-12-31T00:00:00Z");
    app.post("/v1/testclock/advance", t, &json!({"seconds": 86_400})).await.assert_error(400, "invalid_request");
    assert_eq!(app.get("/v1/testclock", t).await.body["now"], "2999-12-31T00:00:00Z");
}

/// Walks a list two items at a time through `links.next` (its `MS-ContinuationToken` header resent with
/// `seekOperation=Next`), checking the collection's shape on every page; returns every item in order.
async fn walk_pages(app: &TestApp, path: &str, token: &str) -> Vec<serde_json::Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut page = app.get(&format!("{path}{sep}size=2"), token).await;
    let mut items = Vec::new();
    loop {
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert_eq!(page.body["attributes"]["objectType"], "Collection", "{path}: {}", page.text);
        let got = page.body["items"].as_array().unwrap().clone();
        assert_eq!(page.body["totalCount"], got.len(), "{path}: totalCount is this page's count");
        assert!(got.len() <= 2, "{path}: {}", page.text);
        items.extend(got);
        let Some(next) = page.body["links"].get("next").cloned() else { break };
        assert_eq!(items.len() % 2, 0, "{path}: only a full page says there is more");
        let uri = next["uri"].as_str().unwrap();
        assert!(uri.contains("seekOperation=Next") && uri.contains("size=2"), "{uri}");
        // Relative to the API root, as in Partner Center: the client's base URL ends in /v1.
        assert!(!uri.starts_with("/v1/"), "{uri}");
        let uri = &format!("/v1{uri}");
        let header = &next["headers"][0];
        assert_eq!(header["key"], "MS-ContinuationToken");
        page = app
            .request(
                Method::GET,
                uri,
                Some(token),
                None,
                &[("MS-ContinuationToken", header["value"].as_str().unwrap())],
            )
            .await;
        assert!(items.len() < 100, "{path}: paging does not end");
    }
    items
}

/// Issue 16 item 8: these lists returned everything and took any `size`; `/v1/publisher/partners` was a bare array.
async fn every_list_is_a_paged_collection(db: Db) {
    use crate::api_orders::{buy, item, stock};
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["PK-1", "PK-2", "PK-3"]).await;
    let p = app.partner("Alpha", false).await;
    app.partner("Beta", false).await;
    app.partner("Gamma", false).await;
    let admin = p.token(Role::GlobalAdmin);
    let agent = p.token(Role::AdminAgent);
    // Three tokens of one user, three endpoints.
    for name in ["ci", "laptop"] {
        assert_eq!(app.post("/v1/users/me/tokens", admin, &json!({"name": name})).await.status, 201);
    }
    for i in 0..3 {
        let body = json!({"url": format!("http://127.0.0.1:9/hook{i}"), "operationTypes": ["create_customer"]});
        let r = app.post("/v1/webhooks", admin, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Five entitlements of one customer (four lines of one order, one reservation) and three invoices: January in
    // USD and AUD, February in USD.
    let us = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let au = app.customer(&p, "Wingtip", "wingtip.example.com", "AU").await["id"].as_str().unwrap().to_string();
    let sles = item(&app, agent, &us, "SLES", "0001").await;
    let lines: Vec<_> = (0..4).map(|_| json!({"catalogItemId": sles, "quantity": 1})).collect();
    buy(&app, agent, &us, json!(lines)).await;
    buy(
        &app,
        agent,
        &au,
        json!([{"catalogItemId": item(&app, agent, &au, "SQL2019STD", "0001").await, "quantity": 1}]),
    )
    .await;
    let vm = item(&app, agent, &us, "VMRESERVED", "0001").await;
    let sub = "00000000-0000-0000-0000-000000000001";
    buy(
        &app,
        agent,
        &us,
        json!([{"catalogItemId": vm, "quantity": 1, "provisioningContext": {"subscriptionId": sub}}]),
    )
    .await;
    app.clock.advance_micros(20 * 86_400 * 1_000_000);
    assert_eq!(crate::api_invoices::run(&app, "2026-01").await.status, 200);
    buy(&app, agent, &us, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    app.clock.advance_micros(30 * 86_400 * 1_000_000);
    assert_eq!(crate::api_invoices::run(&app, "2026-02").await.status, 200);

    // Three files of two products; the key stock is one row per SKU of the key-bearing products.
    for (product, name) in [("SQL2019STD", "a.iso"), ("SQL2019STD", "b.iso"), ("SQL2019PERP", "c.iso")] {
        let query = format!("version=1&language=en-us&fileType=ISO&fileName={name}");
        let r = crate::api_downloads::upload(&app, product, &query, b"bytes".to_vec()).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let key_skus = crate::api_catalog::sample_catalog()["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            ["software_subscription", "perpetual_software", "extended_security_update"]
                .contains(&p["productType"].as_str().unwrap())
        })
        .map(|p| p["skus"].as_array().unwrap().len())
        .sum::<usize>();
    assert!(key_skus >= 3, "the sample catalog has {key_skus} key-bearing SKUs");

    // Three markup rules of the partner, three explicit prices of one customer (one SKU, three dates).
    for percent in ["10", "20", "30"] {
        let r = app.post("/v1/pricing/markuprules", admin, &json!({"basis": "cost", "percent": percent})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    for date in ["2026-03-01", "2026-01-01", "2026-02-01"] {
        let body = json!({"productId": "SLES", "skuId": "0001", "unitPrice": "100.00", "effectiveFrom": date});
        let r = app.post(&format!("/v1/customers/{us}/prices"), admin, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let prices = format!("/v1/customers/{us}/prices");

    let entitlements = format!("/v1/customers/{us}/entitlements");
    let lists: [(&str, &str, usize); 9] = [
        ("/v1/users/me/tokens", admin, 3),
        ("/v1/webhooks", admin, 3),
        ("/v1/invoices", admin, 3),
        (&entitlements, agent, 6),
        ("/v1/publisher/partners", PUBLISHER_TOKEN, 3),
        ("/v1/publisher/artifacts", PUBLISHER_TOKEN, 3),
        ("/v1/publisher/keystock", PUBLISHER_TOKEN, key_skus),
        ("/v1/pricing/markuprules", admin, 3),
        (&prices, admin, 3),
    ];
    for (path, token, count) in lists {
        // Bad sizes: 400 with the error body, never everything.
        for size in ["0", "-1", "abc", "501", "1.5", ""] {
            let e = app.get(&format!("{path}?size={size}"), token).await;
            e.assert_error(400, "invalid_request");
            assert_eq!(e.body["code"], 400000, "{path}?size={size}");
        }
        app.request(
            Method::GET,
            &format!("{path}?seekOperation=Next"),
            Some(token),
            None,
            &[("MS-ContinuationToken", "junk")],
        )
        .await
        .assert_error(400, "invalid_request");
        // Pages of two give every item once, in the same order as one page.
        let whole = app.get(path, token).await;
        assert_eq!(whole.status, 200, "{path}: {}", whole.text);
        assert!(whole.body["links"].get("next").is_none(), "{path}: {}", whole.text);
        let all = whole.body["items"].as_array().unwrap().clone();
        assert_eq!(all.len(), count, "{path}: {}", whole.text);
        assert_eq!(walk_pages(&app, path, token).await, all, "{path}");
    }
    // Invoices: newest month first, then by currency; entitlements filtered by type page the same way.
    let invoices = app.get("/v1/invoices", admin).await.body["items"].clone();
    let order: Vec<(String, String)> = invoices
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["billingPeriodStartDate"].as_str().unwrap()[..7].to_string(), i["currencyCode"].to_string()))
        .collect();
    assert_eq!(
        order,
        [("2026-02", "\"USD\""), ("2026-01", "\"AUD\""), ("2026-01", "\"USD\"")]
            .map(|(p, c)| (p.to_string(), c.to_string()))
    );
    let software = walk_pages(&app, &format!("{entitlements}?entitlementType=software"), agent).await;
    assert_eq!(software.len(), 5);
    assert!(software.iter().all(|e| e["entitlementType"] == "software"));
    let reserved = walk_pages(&app, &format!("{entitlements}?entitlementType=reservedinstance"), agent).await;
    assert_eq!(reserved.len(), 1);
    // A token from another list is refused, not misread.
    let other = app.get("/v1/publisher/partners?size=1", PUBLISHER_TOKEN).await;
    let token = other.body["links"]["next"]["headers"][0]["value"].as_str().unwrap().to_string();
    app.request(
        Method::GET,
        &format!("{entitlements}?seekOperation=Next"),
        Some(agent),
        None,
        &[("MS-ContinuationToken", &token)],
    )
    .await
    .assert_error(400, "invalid_request");
}
