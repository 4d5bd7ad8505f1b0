//! The console's catalog sections (issue 19) and their publisher API twins: the catalog with an import preview,
//! key stock with low-stock thresholds and the `key_stock_low` operator webhook, files, markets and R1 lists.

use crate::api_catalog::{import, sample_catalog};
use crate::harness::*;
use crate::ui_basics::{set_cookie, Page};
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(catalog_page_previews_then_imports, catalog_api_twins_and_roles,);

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
        let boundary = "partnerhub-console-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(req).await
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
