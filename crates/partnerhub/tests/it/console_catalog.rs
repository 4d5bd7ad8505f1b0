//! The console's catalog sections (issue 19) and their publisher API twins: the catalog with an import preview,
//! key stock with low-stock thresholds and the `key_stock_low` operator webhook, files, markets and R1 lists.

use crate::api_catalog::{import, sample_catalog};
use crate::api_downloads::upload;
use crate::api_orders::{buy, item, stock};
use crate::api_webhooks::Receiver;
use crate::harness::*;
use crate::ui_basics::{set_cookie, Page};
use domain::clock::Clock;
use domain::role::Role;
use domain::webhook::verify_signature;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    catalog_page_previews_then_imports,
    catalog_api_twins_and_roles,
    key_stock_thresholds_and_the_operator_webhook,
    key_stock_page_imports_and_sets_thresholds,
    files_api_lists_replaces_and_withdraws,
    files_page_streams_uploads,
    markets_and_availability_from_the_console,
);

pub const OPERATOR_PASSWORD: &str = "operator password 123";

/// An operator user with these roles and [`OPERATOR_PASSWORD`]; returns its email.
pub async fn operator(app: &TestApp, name: &str, roles: &[&str]) -> String {
    let email = format!("{name}@operator.example");
    let r = app
        .post(
            "/v1/publisher/operators",
            PUBLISHER_TOKEN,
            &json!({"email": email, "displayName": name, "roles": roles, "password": OPERATOR_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    email
}

/// An operator API token for a new operator user with these roles.
pub async fn operator_token(app: &TestApp, name: &str, roles: &[&str]) -> String {
    operator(app, name, roles).await;
    let list = app.get("/v1/publisher/operators", PUBLISHER_TOKEN).await;
    let id = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["displayName"] == name)
        .map(|o| o["id"].as_str().unwrap().to_string())
        .unwrap();
    let t = app.post(&format!("/v1/publisher/operators/{id}/tokens"), PUBLISHER_TOKEN, &json!({"name": "t"})).await;
    assert_eq!(t.status, 201, "{}", t.text);
    t.body["token"].as_str().unwrap().to_string()
}

/// A console client: no redirects followed, the operator's session cookie carried by hand.
pub struct Console {
    http: reqwest::Client,
    url: String,
    cookie: String,
    pub csrf: String,
}

impl Console {
    /// Signs in as a browser does (the form's CSRF cookie, then the post) and keeps the session.
    pub async fn sign_in(app: &TestApp, email: &str) -> Console {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = http.get(format!("{}/operator/login", app.url)).send().await.unwrap();
        let login = set_cookie(form.headers(), "ph_operator_login").expect("the sign-in form sets its cookie");
        let csrf = Page { status: 200, headers: Default::default(), html: form.text().await.unwrap() }.csrf();
        let res = http
            .post(format!("{}/operator/login", app.url))
            .header("cookie", format!("ph_operator_login={login}"))
            .header("origin", app.url.clone())
            .form(&[("email", email), ("password", OPERATOR_PASSWORD), ("next", "/operator"), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let cookie = set_cookie(res.headers(), "ph_operator").expect("a console session");
        let mut console = Console { http, url: app.url.clone(), cookie, csrf: String::new() };
        console.csrf = console.get("/operator").await.csrf();
        console
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let res = req.header("cookie", format!("ph_operator={}", self.cookie)).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Page { status, headers, html: res.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.url))).await
    }

    /// A url-encoded form with the session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut form = form.to_vec();
        form.push(("csrf", &self.csrf));
        self.send(self.http.post(format!("{}{path}", self.url)).form(&form)).await
    }

    /// A multipart form with one file field.
    pub async fn upload(&self, path: &str, field: &str, file_name: &str, bytes: Vec<u8>) -> Page {
        self.multipart(path, &[], (field, file_name, bytes)).await
    }

    /// A multipart form: text fields, then one file field.
    pub async fn multipart(&self, path: &str, fields: &[(&str, &str)], file: (&str, &str, Vec<u8>)) -> Page {
        self.multipart_with(path, fields, file, &[]).await
    }

    /// [`Self::multipart`] with more request headers.
    pub async fn multipart_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Vec<u8>),
        headers: &[(&str, &str)],
    ) -> Page {
        let boundary = "partnerhub-console-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .into_bytes(),
            );
        }
        let (field, file_name, bytes) = file;
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// A raw body (what the console's script sends).
    pub async fn send_body(&self, path: &str, body: &str) -> Page {
        self.send(self.http.post(format!("{}{path}", self.url)).body(body.to_string())).await
    }
}

/// The value of the hidden field `name` in a page (HTML entities of a JSON document undone).
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap() + marker.len();
    let raw = html[at..].split('"').next().unwrap();
    raw.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn operator_log(app: &TestApp, operation: &str) -> Vec<Value> {
    let r = app.get("/v1/publisher/activity?size=500", PUBLISHER_TOKEN).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().filter(|i| i["operation"] == operation).cloned().collect()
}

/// The sample catalog with one price changed, one SKU left out and a new product.
fn changed_catalog() -> Value {
    let mut doc = sample_catalog();
    let products = doc["products"].as_array_mut().unwrap();
    products[0]["skus"][0]["prices"][0]["listPrice"] = json!("1300.00");
    products[0]["skus"].as_array_mut().unwrap().remove(1);
    products.push(json!({"id": "NEWAPP", "title": "New App", "publisherName": "Contoso",
        "productType": "perpetual_software",
        "skus": [{"id": "0001", "title": "New App", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "99.00"}]}]}));
    doc
}

async fn catalog_page_previews_then_imports(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let manager = operator(&app, "cat", &["catalog_manager"]).await;
    let c = Console::sign_in(&app, &manager).await;

    let page = c.get("/operator/catalog").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("SQL2019STD") && page.html.contains("Reserved VM Instance, D2s v3"));
    // Prices per market, in the market's currency.
    assert!(page.html.contains("$1,200.00") && page.html.contains("BHD 1,470.125"), "{}", page.html);
    assert!(page.html.contains("name=\"document\""));

    // Step one: the upload shows what would change and writes nothing.
    let doc = serde_json::to_vec_pretty(&changed_catalog()).unwrap();
    let imports_before = operator_log(&app, "import_catalog").await.len();
    let preview = c.upload(&format!("/operator/catalog/preview?csrf={}", c.csrf), "document", "c.json", doc).await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(preview.html.contains("change-added") && preview.html.contains("change-withdrawn"));
    assert!(preview.html.contains("USD 1200.00") && preview.html.contains("USD 1300.00"), "{}", preview.html);
    assert!(preview.html.contains("NEWAPP"));
    let stored = app.get("/v1/publisher/catalog", PUBLISHER_TOKEN).await;
    assert_eq!(stored.body["products"].as_array().unwrap().len(), 5, "the preview imported nothing");
    assert_eq!(operator_log(&app, "import_catalog").await.len(), imports_before);

    // Without the CSRF token: refused.
    let forged = c.upload("/operator/catalog/preview", "document", "c.json", b"{}".to_vec()).await;
    assert_eq!(forged.status, 403);
    // A document that would not import says why.
    let bad = c
        .upload(
            &format!("/operator/catalog/preview?csrf={}", c.csrf),
            "document",
            "bad.json",
            b"{\"products\": 1}".to_vec(),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);

    // Step two: the confirmation imports the previewed document.
    let document = hidden(&preview.html, "document");
    let done = c.post("/operator/catalog/import", &[("document", &document)]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location(), "/operator/catalog?imported=6,6,11");
    let after = c.get(done.location()).await;
    assert!(after.html.contains("data-testid=\"imported\""));
    assert!(after.html.contains("NEWAPP") && after.html.contains("$1,300.00"));
    let log = operator_log(&app, "import_catalog").await;
    assert_eq!(log.len(), imports_before + 1);
    assert_eq!(log[0]["principal"], manager);
    // The same document again: nothing changes.
    let again = c
        .upload(
            &format!("/operator/catalog/preview?csrf={}", c.csrf),
            "document",
            "c.json",
            serde_json::to_vec(&changed_catalog()).unwrap(),
        )
        .await;
    assert!(again.html.contains("data-testid=\"no-changes\""), "{}", again.html);

    // A support agent sees the catalog, not the import.
    let agent = operator(&app, "agent", &["support_agent"]).await;
    let a = Console::sign_in(&app, &agent).await;
    let page = a.get("/operator/catalog").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("name=\"document\""));
    let refused = a.post("/operator/catalog/import", &[("document", &document)]).await;
    assert_eq!(refused.status, 403);
}

async fn catalog_api_twins_and_roles(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    // The stored catalog as a document: putting it back changes nothing.
    let stored = app.get("/v1/publisher/catalog", PUBLISHER_TOKEN).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    let sql = &stored.body["products"].as_array().unwrap().iter().find(|p| p["id"] == "SQL2019STD").unwrap().clone();
    assert_eq!(sql["cancellationPolicy"], json!({"kind": "window", "days": 60}));
    assert_eq!(sql["skus"][0]["prices"][2], json!({"country": "JP", "currencyCode": "JPY", "listPrice": "150000"}));
    let same = app.post("/v1/publisher/catalog/preview", PUBLISHER_TOKEN, &stored.body).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body["changes"], json!([]));
    assert_eq!(same.body["products"], json!({"added": 0, "changed": 0, "withdrawn": 0, "unchanged": 5}));

    let preview = app.post("/v1/publisher/catalog/preview", PUBLISHER_TOKEN, &changed_catalog()).await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["products"], json!({"added": 1, "changed": 0, "withdrawn": 0, "unchanged": 5}));
    assert_eq!(preview.body["skus"], json!({"added": 1, "changed": 0, "withdrawn": 1, "unchanged": 5}));
    assert_eq!(preview.body["prices"]["changed"], 1);
    let price = preview.body["changes"].as_array().unwrap().iter().find(|c| c["change"] == "changed").unwrap().clone();
    assert_eq!(
        price,
        json!({"level": "price", "change": "changed", "productId": "SQL2019STD", "skuId": "0001", "country": "US",
               "fields": ["listPrice"], "before": "USD 1200.00", "after": "USD 1300.00"})
    );
    // Nothing was written.
    let again = app.get("/v1/publisher/catalog", PUBLISHER_TOKEN).await;
    assert_eq!(again.body, stored.body);
    // A bad document is refused as the import refuses it.
    let bad = app.post("/v1/publisher/catalog/preview", PUBLISHER_TOKEN, &json!({"products": [{"id": "X"}]})).await;
    bad.assert_error(400, "invalid_request");

    // Any operator reads the catalog; only catalog managers and admins preview.
    let agent = operator_token(&app, "agent", &["support_agent"]).await;
    assert_eq!(app.get("/v1/publisher/catalog", &agent).await.status, 200);
    app.post("/v1/publisher/catalog/preview", &agent, &changed_catalog()).await.assert_error(403, "forbidden");
    let manager = operator_token(&app, "manager", &["catalog_manager"]).await;
    assert_eq!(app.post("/v1/publisher/catalog/preview", &manager, &changed_catalog()).await.status, 200);
    let r = app.request(Method::GET, "/v1/publisher/catalog", None, None, &[]).await;
    assert_eq!(r.status, 401);
}

const HOOK_SECRET: &str = "operator-webhook-secret-0123";

fn stock_row<'a>(list: &'a Res, product: &str, sku: &str) -> &'a Value {
    list.body["items"].as_array().unwrap().iter().find(|r| r["productId"] == product && r["skuId"] == sku).unwrap()
}

async fn key_stock_thresholds_and_the_operator_webhook(db: Db) {
    let receiver = Receiver::start().await;
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(db, move |s| {
        s.allow_insecure_webhooks(true).operator_webhook(&url, HOOK_SECRET).expect("a valid operator webhook")
    })
    .await;
    import(&app, &sample_catalog()).await;
    assert_eq!(stock(&app, "SQL2019PERP", "0001", &["K-1", "K-2", "K-3", "K-4"]).await.status, 200);

    // Key-bearing SKUs only, with their stock.
    let list = app.get("/v1/publisher/keystock", PUBLISHER_TOKEN).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["productId"] != "SLES" && r["productId"] != "VMRESERVED"));
    let perp = stock_row(&list, "SQL2019PERP", "0001");
    assert_eq!(
        (perp["inStock"].as_i64(), perp["threshold"].is_null(), perp["low"].as_bool()),
        (Some(4), true, Some(false))
    );
    assert_eq!(stock_row(&list, "WIN7ESU", "0001")["inStock"], 0);

    // Thresholds: validated, key-bearing SKUs only, catalog managers only.
    let path = "/v1/publisher/products/SQL2019PERP/skus/0001/keythreshold";
    let put = |body: Value, token: String| {
        let app = &app;
        async move { app.request(Method::PUT, path, Some(&token), Some(&body), &[]).await }
    };
    put(json!({"threshold": -1}), PUBLISHER_TOKEN.into()).await.assert_error(400, "invalid_request");
    app.request(
        Method::PUT,
        "/v1/publisher/products/SLES/skus/0001/keythreshold",
        Some(PUBLISHER_TOKEN),
        Some(&json!({"threshold": 1})),
        &[],
    )
    .await
    .assert_error(400, "invalid_request");
    let agent = operator_token(&app, "agent", &["support_agent"]).await;
    put(json!({"threshold": 2}), agent.clone()).await.assert_error(403, "forbidden");
    assert_eq!(app.get("/v1/publisher/keystock", &agent).await.status, 200);
    let manager = operator_token(&app, "manager", &["catalog_manager"]).await;
    let set = put(json!({"threshold": 2}), manager.clone()).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!((set.body["threshold"].as_i64(), set.body["low"].as_bool()), (Some(2), Some(false)));

    // Checkouts: 4 → 3 (nothing), 3 → 2 (the crossing, once), 2 → 1 (still low: nothing more).
    let p = app.partner("Reseller", false).await;
    let c = app.customer(&p, "Contoso US", "contoso-us.example", "US").await;
    let customer = c["id"].as_str().unwrap().to_string();
    let t = p.token(Role::AdminAgent);
    let line = json!([{"catalogItemId": item(&app, t, &customer, "SQL2019PERP", "0001").await, "quantity": 1}]);
    let mut orders = Vec::new();
    orders.push(buy(&app, t, &customer, line.clone()).await);
    assert!(operator_log(&app, "key_stock_low").await.is_empty());
    orders.push(buy(&app, t, &customer, line.clone()).await);
    let low = operator_log(&app, "key_stock_low").await;
    assert_eq!(low.len(), 1, "{low:?}");
    assert_eq!(low[0]["partnerId"], p.id.as_str());
    let data: Vec<(String, String)> = serde_json::from_value(low[0]["data"].clone()).unwrap();
    assert!(data.contains(&("available".into(), "2".into())) && data.contains(&("threshold".into(), "2".into())));
    orders.push(buy(&app, t, &customer, line.clone()).await);
    assert_eq!(operator_log(&app, "key_stock_low").await.len(), 1, "once per crossing");

    // The operator webhook: the record, signed as partner webhooks are, sent once.
    assert_eq!(app.services.dispatch_operator_webhook().await.unwrap(), 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event, "key_stock_low");
    assert_eq!(got[0].delivery, low[0]["id"].as_str().unwrap());
    let now = app.clock.now().micros() / 1_000_000;
    assert!(verify_signature(HOOK_SECRET.as_bytes(), &got[0].signature, got[0].body.as_bytes(), now), "{:?}", got[0]);
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!((body["operation"].as_str(), body["data"]["skuId"].as_str()), (Some("key_stock_low"), Some("0001")));
    assert_eq!(body["data"]["available"], "2");
    assert_eq!(app.services.dispatch_operator_webhook().await.unwrap(), 0);
    assert_eq!(receiver.received().len(), 1);

    // A cancelled item's key counts as revoked.
    let cancel = format!("/v1/customers/{customer}/orders/{}", orders[0]["id"].as_str().unwrap());
    let r = app.patch(&cancel, t, &json!({"status": "cancelled"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = app.get("/v1/publisher/keystock", &manager).await;
    let perp = stock_row(&list, "SQL2019PERP", "0001");
    assert_eq!(
        (perp["inStock"].as_i64(), perp["assigned"].as_i64(), perp["revoked"].as_i64(), perp["low"].as_bool()),
        (Some(1), Some(2), Some(1), Some(true)),
        "{perp}"
    );
    assert!(perp["lowSince"].is_string());

    // The console's front page says so.
    let email = operator(&app, "viewer", &["billing_operator"]).await;
    let home = Console::sign_in(&app, &email).await.get("/operator").await;
    assert!(
        home.html.contains("data-testid=\"low-stock\"") && home.html.contains("SQL2019PERP / 0001"),
        "{}",
        home.html
    );

    // Refilled above the threshold: no longer low; the next crossing (3 → 2) is recorded again.
    assert_eq!(stock(&app, "SQL2019PERP", "0001", &["K-5", "K-6", "K-7", "K-8", "K-9"]).await.status, 200);
    let list = app.get("/v1/publisher/keystock", &manager).await;
    let perp = stock_row(&list, "SQL2019PERP", "0001");
    assert_eq!(
        (perp["inStock"].as_i64(), perp["low"].as_bool(), perp["lowSince"].is_null()),
        (Some(6), Some(false), true)
    );
    for _ in 0..3 {
        buy(&app, t, &customer, line.clone()).await;
    }
    assert_eq!(operator_log(&app, "key_stock_low").await.len(), 1, "3 keys left, above the threshold");
    buy(&app, t, &customer, line.clone()).await;
    assert_eq!(operator_log(&app, "key_stock_low").await.len(), 2);

    // A receiver that fails: tried again on the schedule (not before it is due), then delivered.
    receiver.answer_with(&[500]);
    assert_eq!(app.services.dispatch_operator_webhook().await.unwrap(), 0);
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(app.services.dispatch_operator_webhook().await.unwrap(), 0, "not due yet");
    assert_eq!(receiver.received().len(), 2);
    app.clock.advance_micros(60 * 1_000_000);
    assert_eq!(app.services.dispatch_operator_webhook().await.unwrap(), 1);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].delivery, got[2].delivery, "the same record, again");

    // Setting a threshold the stock is already under records that crossing at once.
    let esu = app
        .request(
            Method::PUT,
            "/v1/publisher/products/WIN7ESU/skus/0001/keythreshold",
            Some(&manager),
            Some(&json!({"threshold": 0})),
            &[],
        )
        .await;
    assert_eq!((esu.status.as_u16(), esu.body["low"].as_bool()), (200, Some(true)), "{}", esu.text);
    assert_eq!(operator_log(&app, "key_stock_low").await.len(), 3);
    assert_eq!(operator_log(&app, "set_key_threshold").await.len(), 2);
    let verified = app.get("/v1/publisher/activity/verification", PUBLISHER_TOKEN).await;
    assert_eq!(verified.body["valid"], true, "{}", verified.text);
}

async fn key_stock_page_imports_and_sets_thresholds(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let manager = operator(&app, "cat", &["catalog_manager"]).await;
    let c = Console::sign_in(&app, &manager).await;
    let page = c.get("/operator/keys").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("data-testid=\"stock-SQL2019PERP:0001\"") && page.html.contains("data-key-chunks"));

    // Without JavaScript: the whole file in one multipart post.
    let file = b"AAAA-1111\nBBBB-2222\n\nCCCC-3333\n".to_vec();
    let csrf = c.csrf.clone();
    let done = c
        .multipart(
            &format!("/operator/keys/import?csrf={csrf}"),
            &[("sku", "SQL2019PERP:0001")],
            ("file", "keys.txt", file.clone()),
        )
        .await;
    assert_eq!((done.status, done.location()), (303, "/operator/keys?added=3"), "{}", done.html);
    // The same keys again: refused, nothing added.
    let again = c
        .multipart(
            &format!("/operator/keys/import?csrf={csrf}"),
            &[("sku", "SQL2019PERP:0001")],
            ("file", "keys.txt", file),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.html);
    let forged =
        c.multipart("/operator/keys/import", &[("sku", "SQL2019PERP:0001")], ("file", "k.txt", b"X".to_vec())).await;
    assert_eq!(forged.status, 403);

    // The script's chunks: JSON answers the page shows.
    let chunk =
        c.send_body(&format!("/operator/keys/chunk?csrf={csrf}&sku=SQL2019PERP%3A0001"), "DDDD-4444\nEEEE-5555").await;
    assert_eq!(chunk.status, 200, "{}", chunk.html);
    let answer: Value = serde_json::from_str(&chunk.html).unwrap();
    assert_eq!(answer, json!({"added": 2, "available": 5}));
    let dup = c.send_body(&format!("/operator/keys/chunk?csrf={csrf}&sku=SQL2019PERP%3A0001"), "DDDD-4444").await;
    assert_eq!(dup.status, 409);
    assert!(serde_json::from_str::<Value>(&dup.html).unwrap()["message"].is_string());
    assert_eq!(c.send_body("/operator/keys/chunk?sku=SQL2019PERP%3A0001", "FFFF").await.status, 403);

    // A threshold from the form; the stock (5) is above it, then at it.
    let set = c.post("/operator/keys/threshold", &[("sku", "SQL2019PERP:0001"), ("threshold", "4")]).await;
    assert_eq!(set.status, 303, "{}", set.html);
    let page = c.get(set.location()).await;
    assert!(page.html.contains("data-testid=\"keys-notice\""));
    assert!(!c.get("/operator").await.html.contains("data-testid=\"low-stock\""));
    let set = c.post("/operator/keys/threshold", &[("sku", "SQL2019PERP:0001"), ("threshold", "5")]).await;
    assert_eq!(set.status, 303);
    assert!(c.get("/operator").await.html.contains("data-testid=\"low-stock\""));
    let bad = c.post("/operator/keys/threshold", &[("sku", "SQL2019PERP:0001"), ("threshold", "many")]).await;
    assert_eq!(bad.status, 400);
    // Emptied: no threshold.
    assert_eq!(c.post("/operator/keys/threshold", &[("sku", "SQL2019PERP:0001"), ("threshold", "")]).await.status, 303);
    assert!(!c.get("/operator").await.html.contains("data-testid=\"low-stock\""));

    // A support agent sees the stock, not the forms, and cannot post them.
    let agent = operator(&app, "agent", &["support_agent"]).await;
    let a = Console::sign_in(&app, &agent).await;
    let page = a.get("/operator/keys").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("data-key-chunks"));
    assert_eq!(
        a.post("/operator/keys/threshold", &[("sku", "SQL2019PERP:0001"), ("threshold", "1")]).await.status,
        403
    );
}

const ENU: &str = "version=2019&language=en-us&fileType=ISO&fileName=SQLServer2019-x64-ENU.iso";

fn file_names(list: &Res) -> Vec<String> {
    list.body["items"].as_array().unwrap().iter().map(|a| a["fileName"].as_str().unwrap().to_string()).collect()
}

async fn files_api_lists_replaces_and_withdraws(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let first = upload(&app, "SQL2019STD", ENU, b"first".to_vec()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.body["id"].as_str().unwrap().to_string();
    let agent = operator_token(&app, "agent", &["support_agent"]).await;
    let manager = operator_token(&app, "manager", &["catalog_manager"]).await;
    assert_eq!(file_names(&app.get("/v1/publisher/artifacts", &agent).await), ["SQLServer2019-x64-ENU.iso"]);

    // A support agent may list, not change.
    let path = format!("/v1/publisher/products/SQL2019STD/artifacts/{id}");
    app.request(Method::DELETE, &path, Some(&agent), None, &[]).await.assert_error(403, "forbidden");
    let put = |token: String, query: &'static str, body: &'static [u8]| {
        let url = format!("{}{path}{query}", app.url);
        let http = app.http.clone();
        async move { Res::of(http.put(url).bearer_auth(token).body(body).send().await.unwrap()).await }
    };
    put(agent.clone(), "", b"second").await.assert_error(403, "forbidden");

    // A replacement keeps the old labels unless given, and takes the old file's place.
    let second = put(manager.clone(), "?fileName=SQLServer2019-x64-ENU-CU1.iso", b"second").await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!((second.body["version"].as_str(), second.body["language"].as_str()), (Some("2019"), Some("en-us")));
    assert_eq!(file_names(&app.get("/v1/publisher/artifacts", &manager).await), ["SQLServer2019-x64-ENU-CU1.iso"]);
    // The old one is gone: replacing or withdrawing it again is 404.
    put(manager.clone(), "", b"third").await.assert_error(404, "not_found");
    app.request(Method::DELETE, &path, Some(&manager), None, &[]).await.assert_error(404, "not_found");
    app.request(Method::DELETE, "/v1/publisher/products/SQL2019STD/artifacts/nope", Some(&manager), None, &[])
        .await
        .assert_error(404, "not_found");

    let new_path = format!("/v1/publisher/products/SQL2019STD/artifacts/{}", second.body["id"].as_str().unwrap());
    // Another product's path does not reach it.
    let elsewhere = new_path.replace("SQL2019STD", "SQL2019PERP");
    app.request(Method::DELETE, &elsewhere, Some(&manager), None, &[]).await.assert_error(404, "not_found");
    let gone = app.request(Method::DELETE, &new_path, Some(&manager), None, &[]).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert!(file_names(&app.get("/v1/publisher/artifacts", &manager).await).is_empty());
    assert_eq!(operator_log(&app, "upload_file").await.len(), 2);
    let withdrawn = operator_log(&app, "withdraw_file").await;
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["principal"], "manager@operator.example");
    // Bytes of a failed replacement are not kept; the chain verifies.
    let verified = app.get("/v1/publisher/activity/verification", PUBLISHER_TOKEN).await;
    assert_eq!(verified.body["valid"], true, "{}", verified.text);
}

async fn files_page_streams_uploads(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let manager = operator(&app, "cat", &["catalog_manager"]).await;
    let c = Console::sign_in(&app, &manager).await;
    let page = c.get("/operator/files").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("data-upload-progress"));
    let csrf = c.csrf.clone();
    let labels = [("product", "SQL2019STD"), ("version", "2019"), ("language", "en-us"), ("file_type", "ISO")];

    // Without JavaScript: a multipart post, the file streamed to storage, then the list.
    let big = vec![7u8; 3 * 1024 * 1024 + 17];
    let done = c.multipart(&format!("/operator/files/upload?csrf={csrf}"), &labels, ("file", "Setup.iso", big)).await;
    assert_eq!((done.status, done.location()), (303, "/operator/files?uploaded=Setup.iso"), "{}", done.html);
    let page = c.get(done.location()).await;
    assert!(page.html.contains("data-testid=\"file-Setup.iso\"") && page.html.contains("3,145,745"), "{}", page.html);
    let listed = app.get("/v1/publisher/artifacts", PUBLISHER_TOKEN).await;
    assert_eq!(listed.body["items"][0]["size"], 3 * 1024 * 1024 + 17);
    let old = listed.body["items"][0]["id"].as_str().unwrap().to_string();

    // The page's script: the same form by XHR, answered with JSON; here a replacement of that file.
    // (The product chosen in the form does not matter: a replacement is the replaced file's product's.)
    let mut fields = vec![("product", "SQL2019PERP"), ("version", ""), ("language", ""), ("file_type", "")];
    fields.push(("replaces", &old));
    let xhr = [("x-requested-with", "XMLHttpRequest")];
    let url = format!("/operator/files/upload?csrf={csrf}");
    let replaced = c.multipart_with(&url, &fields, ("file", "Setup-2.iso", b"v2".to_vec()), &xhr).await;
    assert_eq!(replaced.status, 200, "{}", replaced.html);
    let answer: Value = serde_json::from_str(&replaced.html).unwrap();
    assert_eq!(answer["next"], "/operator/files?uploaded=Setup-2.iso");
    let listed = app.get("/v1/publisher/artifacts", PUBLISHER_TOKEN).await;
    assert_eq!(file_names(&listed), ["Setup-2.iso"]);
    let labels_kept = (listed.body["items"][0]["productId"].as_str(), listed.body["items"][0]["version"].as_str());
    assert_eq!(labels_kept, (Some("SQL2019STD"), Some("2019")), "the old file's product and labels");
    // Refusals: JSON with a message for the script, a page otherwise; nothing stored.
    let again = c.multipart_with(&url, &fields, ("file", "Setup-3.iso", b"v3".to_vec()), &xhr).await;
    assert_eq!(again.status, 404);
    assert!(serde_json::from_str::<Value>(&again.html).unwrap()["message"].is_string());
    let no_files = [("product", "SLES"), ("version", "1"), ("language", "en"), ("file_type", "ISO")];
    assert_eq!(c.multipart(&url, &no_files, ("file", "a.iso", b"x".to_vec())).await.status, 400);
    assert_eq!(c.multipart(&url, &labels, ("file", "", Vec::new())).await.status, 400);
    // The route streams files of any size, but no other field is read whole: a 5 KiB field the form does not even
    // have is refused (before, any field was read to its end and an unknown one ignored), and nothing is stored.
    let long = "v".repeat(5 * 1024);
    let mut padded = labels.to_vec();
    padded.insert(0, ("note", long.as_str()));
    assert_eq!(c.multipart(&url, &padded, ("file", "c.iso", b"x".to_vec())).await.status, 400);
    let forged = c.multipart("/operator/files/upload", &labels, ("file", "b.iso", b"x".to_vec())).await;
    assert_eq!(forged.status, 403);
    assert_eq!(file_names(&app.get("/v1/publisher/artifacts", PUBLISHER_TOKEN).await), ["Setup-2.iso"]);
    assert_eq!(
        app.blob_leftovers().await.len(),
        2,
        "the withdrawn file and its replacement: {:?}",
        app.blob_leftovers().await
    );

    // Withdrawn from the list.
    let id =
        app.get("/v1/publisher/artifacts", PUBLISHER_TOKEN).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let w = c
        .post("/operator/files/withdraw", &[("product", "SQL2019STD"), ("artifact", &id), ("file_name", "Setup-2.iso")])
        .await;
    assert_eq!((w.status, w.location()), (303, "/operator/files?withdrawn=Setup-2.iso"), "{}", w.html);
    assert!(!c.get("/operator/files").await.html.contains("data-testid=\"file-Setup-2.iso\""));

    // A support agent sees the page without its forms, and may not upload.
    let agent = operator(&app, "agent", &["support_agent"]).await;
    let a = Console::sign_in(&app, &agent).await;
    let page = a.get("/operator/files").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("data-upload-progress"));
    let url = format!("/operator/files/upload?csrf={}", a.csrf);
    assert_eq!(a.multipart(&url, &labels, ("file", "c.iso", b"x".to_vec())).await.status, 403);
}

async fn markets_and_availability_from_the_console(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let manager = operator(&app, "cat", &["catalog_manager"]).await;
    let c = Console::sign_in(&app, &manager).await;
    let page = c.get("/operator/markets").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("data-testid=\"market-DE\""));

    let saved =
        c.post("/operator/markets/market", &[("country", "DE"), ("currency", "EUR"), ("tax_rate", "0.19")]).await;
    assert_eq!((saved.status, saved.location()), (303, "/operator/markets?market=DE"), "{}", saved.html);
    let markets = app.get("/v1/publisher/markets", PUBLISHER_TOKEN).await;
    let de = markets.body.as_array().unwrap().iter().find(|m| m["country"] == "DE").unwrap().clone();
    assert_eq!((de["taxRate"].as_str(), de["taxInclusive"].as_bool()), (Some("0.19"), Some(false)), "{de}");
    let bad = c.post("/operator/markets/market", &[("country", "DE"), ("currency", "EUR"), ("tax_rate", "19%")]).await;
    assert_eq!(bad.status, 400);
    let bad = c.post("/operator/markets/market", &[("country", "ZZ"), ("currency", "EUR"), ("tax_rate", "0")]).await;
    assert_eq!(bad.status, 400);

    let saved = c
        .post(
            "/operator/markets/availability",
            &[("product_type", "azure_reservation"), ("mode", "available"), ("markets", "US, ca")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let list = app.get("/v1/publisher/availability", PUBLISHER_TOKEN).await;
    let rule = list.body.as_array().unwrap().iter().find(|r| r["productType"] == "azure_reservation").unwrap().clone();
    assert_eq!(rule["availableMarkets"], json!(["CA", "US"]), "{rule}");
    let bad = c
        .post(
            "/operator/markets/availability",
            &[("product_type", "azure_reservation"), ("mode", "unavailable"), ("markets", "QQ")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(c.get("/operator/markets").await.html.contains("CA US"));

    // A product's own list replaces its type's: the reservation only in Greenland, then its type's again.
    let p = app.partner("Reseller", false).await;
    let t = p.token(Role::AdminAgent);
    let reservations = |country: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/v1/products?country={country}&targetView=AzureReservations"), t).await;
            r.body["items"].as_array().unwrap().len()
        }
    };
    assert_eq!((reservations("US").await, reservations("GL").await), (1, 0));
    let own = c
        .post("/operator/markets/product", &[("product", "VMRESERVED"), ("mode", "available"), ("markets", "gl")])
        .await;
    assert_eq!((own.status, own.location()), (303, "/operator/markets?product=VMRESERVED"), "{}", own.html);
    assert_eq!((reservations("US").await, reservations("GL").await), (0, 1));
    assert!(c.get("/operator/markets").await.html.contains("<code>GL</code>"));
    let back = c.post("/operator/markets/product", &[("product", "VMRESERVED"), ("mode", "type")]).await;
    assert_eq!(back.status, 303);
    assert_eq!((reservations("US").await, reservations("GL").await), (1, 0));
    let unknown = c.post("/operator/markets/product", &[("product", "NOPE"), ("mode", "type")]).await;
    assert_eq!(unknown.status, 404);
    // A mode the form does not offer is refused, not read as a rule (nothing changes).
    for path in ["/operator/markets/product", "/operator/markets/availability"] {
        let fields = [("product", "VMRESERVED"), ("product_type", "azure_reservation"), ("mode", "everywhere")];
        let bad = c.post(path, &fields).await;
        assert_eq!(bad.status, 400, "{path}: {}", bad.html);
        assert!(bad.html.contains("available or the unavailable"), "{}", bad.html);
    }
    assert_eq!((reservations("US").await, reservations("GL").await), (1, 0));
    // The API twin.
    let manager_token = operator_token(&app, "apimanager", &["catalog_manager"]).await;
    let path = "/v1/publisher/products/VMRESERVED/availability";
    let put = |body: Value, token: String| {
        let app = &app;
        async move { app.request(Method::PUT, path, Some(&token), Some(&body), &[]).await }
    };
    let r = put(json!({"unavailableMarkets": ["US", "CA", "US"]}), manager_token.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"productId": "VMRESERVED", "unavailableMarkets": ["CA", "US"]}));
    assert_eq!(reservations("US").await, 0);
    put(json!({"unavailableMarkets": ["QQ"]}), manager_token.clone()).await.assert_error(400, "invalid_request");
    let none = app
        .request(Method::PUT, "/v1/publisher/products/NOPE/availability", Some(&manager_token), Some(&json!({})), &[])
        .await;
    none.assert_error(404, "not_found");
    let agent_token = operator_token(&app, "apiagent", &["support_agent"]).await;
    put(json!({}), agent_token).await.assert_error(403, "forbidden");
    assert_eq!(operator_log(&app, "update_market").await.len(), 1);
    assert_eq!(operator_log(&app, "update_availability").await.len(), 4);

    let agent = operator(&app, "agent", &["support_agent"]).await;
    let a = Console::sign_in(&app, &agent).await;
    assert!(!a.get("/operator/markets").await.html.contains("action=\"/operator/markets/market\""));
    let refused =
        a.post("/operator/markets/market", &[("country", "DE"), ("currency", "EUR"), ("tax_rate", "0")]).await;
    assert_eq!(refused.status, 403);
}
