//! The catalog (SPEC §5, R1, R4) through the API and the CLI.

use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    publisher_imports_and_upserts_the_catalog,
    bad_catalog_documents_name_the_product_and_field,
    catalog_by_country_and_view_with_prices,
    reservations_are_absent_where_unavailable_and_the_lists_are_editable,
    catalog_import_from_the_command_line,
);

/// A small catalog covering every product type and several markets.
pub fn sample_catalog() -> Value {
    json!({"products": [
        {"id": "SQL2019STD", "title": "SQL Server 2019 Standard", "publisherName": "Contoso",
         "productType": "software_subscription", "cancellationPolicy": {"kind": "window", "days": 60},
         "skus": [{"id": "0001", "title": "SQL Server 2019 Standard - 2 Core - 1 year", "termDuration": "P1Y",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "1200.00"},
                              {"country": "AU", "currencyCode": "AUD", "listPrice": "1980.00"},
                              {"country": "JP", "currencyCode": "JPY", "listPrice": "150000"},
                              {"country": "GL", "currencyCode": "DKK", "listPrice": "8000.00"}]},
                  {"id": "0002", "title": "SQL Server 2019 Standard - 2 Core - 3 years", "termDuration": "P3Y",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "3400.00"}]}]},
        {"id": "SQL2019PERP", "title": "SQL Server 2019 Standard (perpetual)", "publisherName": "Contoso",
         "productType": "perpetual_software",
         "skus": [{"id": "0001", "title": "SQL Server 2019 Standard - perpetual",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "3900.00"},
                              {"country": "BH", "currencyCode": "BHD", "listPrice": "1470.125"}]}]},
        {"id": "WIN7ESU", "title": "Windows 7 Extended Security Updates 2020", "publisherName": "Contoso",
         "productType": "extended_security_update",
         "skus": [{"id": "0001", "title": "Windows 7 ESU - 1 year", "termDuration": "P1Y",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "50.00"}]}]},
        {"id": "SLES", "title": "SUSE Linux Enterprise Server", "publisherName": "SUSE",
         "productType": "software_plan",
         "skus": [{"id": "0001", "title": "SLES - 1 year", "termDuration": "P1Y",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "300.00"}]}]},
        {"id": "VMRESERVED", "title": "Reserved VM Instance, D2s v3", "publisherName": "Contoso",
         "productType": "azure_reservation",
         "skus": [{"id": "0001", "title": "D2s v3 - 1 year", "termDuration": "P1Y",
                   "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "700.00"},
                              {"country": "GL", "currencyCode": "DKK", "listPrice": "4900.00"}]}]}
    ]})
}

pub async fn import(app: &TestApp, doc: &Value) -> Res {
    let r = app.request(Method::PUT, "/v1/publisher/catalog", Some(PUBLISHER_TOKEN), Some(doc), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn ids(res: &Res) -> Vec<String> {
    res.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn publisher_imports_and_upserts_the_catalog(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let r = import(&app, &sample_catalog()).await;
    assert_eq!(r.body, json!({"products": 5, "skus": 6, "prices": 11}));
    let t = p.token(Role::HelpdeskAgent);
    let before = app.get("/v1/products/SQL2019STD/skus/0001/availabilities?country=US", t).await;
    // Re-importing one product replaces its SKUs and prices; the other products stay.
    let mut doc = json!({"products": [sample_catalog()["products"][0].clone()]});
    doc["products"][0]["skus"][0]["prices"][0]["listPrice"] = json!("1250.00");
    doc["products"][0]["skus"].as_array_mut().unwrap().pop();
    let r = import(&app, &doc).await;
    assert_eq!(r.body, json!({"products": 1, "skus": 1, "prices": 4}));
    let skus = app.get("/v1/products/SQL2019STD/skus?country=US", t).await;
    assert_eq!(ids(&skus), ["0001"]);
    let after = app.get("/v1/products/SQL2019STD/skus/0001/availabilities?country=US", t).await;
    assert_eq!(after.body["items"][0]["price"]["listPrice"], "1250.00");
    // The availability id is stable across imports.
    assert_eq!(after.body["items"][0]["id"], before.body["items"][0]["id"]);
    assert_eq!(ids(&app.get("/v1/products?country=US", t).await).len(), 5);
    // Only the publisher imports.
    app.request(Method::PUT, "/v1/publisher/catalog", Some(p.token(Role::GlobalAdmin)), Some(&doc), &[])
        .await
        .assert_error(401, "unauthorized");
}

async fn bad_catalog_documents_name_the_product_and_field(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|d| d["products"][0]["skus"][0]["prices"][2]["listPrice"] = json!("150000.5")),
            "products[0] (SQL2019STD).skus[0].prices[2].listPrice",
        ),
        (
            Box::new(|d| d["products"][0]["skus"][0]["prices"][0]["currencyCode"] = json!("EUR")),
            "products[0] (SQL2019STD).skus[0].prices[0].currencyCode",
        ),
        (Box::new(|d| d["products"][1]["productType"] = json!("hardware")), "products[1] (SQL2019PERP).productType"),
        (
            Box::new(|d| d["products"][1]["skus"][0]["termDuration"] = json!("P1Y")),
            "products[1] (SQL2019PERP).skus[0].termDuration",
        ),
        (
            Box::new(|d| d["products"][2]["skus"][0]["prices"][0]["country"] = json!("ZZ")),
            "products[2] (WIN7ESU).skus[0].prices[0].country",
        ),
    ];
    for (mutate, field) in cases {
        let mut doc = sample_catalog();
        mutate(&mut doc);
        let r = app.request(Method::PUT, "/v1/publisher/catalog", Some(PUBLISHER_TOKEN), Some(&doc), &[]).await;
        r.assert_error(400, "invalid_request");
        assert!(r.body["description"].as_str().unwrap().starts_with(field), "expected {field}: {}", r.text);
    }
    let r = app
        .http
        .put(format!("{}/v1/publisher/catalog", app.url))
        .bearer_auth(PUBLISHER_TOKEN)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing was written by any refused document.
    assert_eq!(app.get("/v1/products?country=US", p.token(Role::HelpdeskAgent)).await.body["totalCount"], 0);
}

async fn catalog_by_country_and_view_with_prices(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    import(&app, &sample_catalog()).await;
    let t = p.token(Role::SalesAgent);
    assert_eq!(
        ids(&app.get("/v1/products?country=US", t).await),
        ["SLES", "SQL2019PERP", "SQL2019STD", "VMRESERVED", "WIN7ESU"]
    );
    assert_eq!(
        ids(&app.get("/v1/products?country=US&targetView=SoftwareSubscriptions", t).await),
        ["SQL2019STD", "WIN7ESU"]
    );
    assert_eq!(ids(&app.get("/v1/products?country=US&targetView=SoftwarePerpetual", t).await), ["SQL2019PERP"]);
    assert_eq!(ids(&app.get("/v1/products?country=US&targetView=SoftwareSUSELinux", t).await), ["SLES"]);
    assert_eq!(ids(&app.get("/v1/products?country=US&targetView=AzureReservations", t).await), ["VMRESERVED"]);
    assert_eq!(ids(&app.get("/v1/products?country=US&targetView=Software", t).await).len(), 4);
    // A SKU is offered only where it has a price.
    assert_eq!(ids(&app.get("/v1/products?country=au", t).await), ["SQL2019STD"]);
    assert_eq!(ids(&app.get("/v1/products/SQL2019STD/skus?country=AU", t).await), ["0001"]);
    app.get("/v1/products/SQL2019PERP?country=AU", t).await.assert_error(404, "not_found");
    let product = app.get("/v1/products/SQL2019STD?country=US", t).await;
    assert_eq!(product.body["productType"]["id"], "software_subscription");
    assert_eq!(product.body["cancellationPolicy"], json!({"kind": "window", "days": 60}));
    assert_eq!(product.body["attributes"]["objectType"], "Product");
    let esu = app.get("/v1/products/WIN7ESU?country=US", t).await;
    assert_eq!(esu.body["cancellationPolicy"]["kind"], "support_request");
    let sku = app.get("/v1/products/SQL2019STD/skus?country=US", t).await;
    assert_eq!(sku.body["items"][0]["termDuration"], "P1Y");
    assert_eq!(sku.body["items"][0]["supportedBillingCycles"], json!(["one_time"]));
    // Prices in the market's currency and decimals, tax-inclusive in AU (R4).
    let au = app.get("/v1/products/SQL2019STD/skus/0001/availabilities?country=AU", t).await;
    let a = &au.body["items"][0];
    assert_eq!(a["price"], json!({"listPrice": "1980.00", "currencyCode": "AUD", "taxInclusive": true}));
    assert_eq!(a["catalogItemId"], format!("SQL2019STD:0001:{}", a["id"].as_str().unwrap()));
    assert_eq!(a["country"], "AU");
    let jp = app.get("/v1/products/SQL2019STD/skus/0001/availabilities?country=JP", t).await;
    assert_eq!(jp.body["items"][0]["price"]["listPrice"], "150000");
    assert_eq!(jp.body["items"][0]["price"]["taxInclusive"], false);
    let bh = app.get("/v1/products/SQL2019PERP/skus/0001/availabilities?country=BH", t).await;
    assert_eq!(bh.body["items"][0]["price"]["listPrice"], "1470.125");
    assert_ne!(jp.body["items"][0]["id"], au.body["items"][0]["id"]);
    // The same through a customer, by its market.
    let c = app.customer(&p, "Wingtip", "wingtip.example.com", "AU").await;
    let cid = c["id"].as_str().unwrap();
    assert_eq!(ids(&app.get(&format!("/v1/customers/{cid}/products"), t).await), ["SQL2019STD"]);
    let ca = app.get(&format!("/v1/customers/{cid}/products/SQL2019STD/skus/0001/availabilities"), t).await;
    // The same, plus what this customer pays (issue 23: the list price without the partner's own prices).
    let mut through_customer = ca.body["items"][0].clone();
    let paid = through_customer.as_object_mut().unwrap().remove("customerPrice");
    assert_eq!(paid, Some(json!("1980.00")));
    assert_eq!(through_customer, au.body["items"][0]);
    // Paging by id.
    let first = app.get("/v1/products?country=US&size=2", t).await;
    assert_eq!(ids(&first), ["SLES", "SQL2019PERP"]);
    let next = &first.body["links"]["next"];
    let more = app
        .request(
            Method::GET,
            // Relative to the API root, as in Partner Center: the client's base URL ends in /v1.
            &format!("/v1{}", next["uri"].as_str().unwrap()),
            Some(t),
            None,
            &[("MS-ContinuationToken", next["headers"][0]["value"].as_str().unwrap())],
        )
        .await;
    assert_eq!(ids(&more), ["SQL2019STD", "VMRESERVED"]);
    // Bad input.
    app.get("/v1/products", t).await.assert_error(400, "invalid_request");
    app.get("/v1/products?country=ZZ", t).await.assert_error(400, "invalid_request");
    app.get("/v1/products?country=US&targetView=Hardware", t).await.assert_error(400, "invalid_request");
    app.get("/v1/products/NOPE?country=US", t).await.assert_error(404, "not_found");
    let q = app.partner("Beta", false).await;
    app.get(&format!("/v1/customers/{cid}/products"), q.token(Role::GlobalAdmin)).await.assert_error(404, "not_found");
}

async fn reservations_are_absent_where_unavailable_and_the_lists_are_editable(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    import(&app, &sample_catalog()).await;
    let t = p.token(Role::AdminAgent);
    let gl = app.customer(&p, "Nuuk Fisheries", "nuuk.example.com", "GL").await;
    let gl = gl["id"].as_str().unwrap().to_string();
    // Greenland is in the article's list: the reservation is left out, the software is not.
    assert_eq!(ids(&app.get(&format!("/v1/customers/{gl}/products"), t).await), ["SQL2019STD"]);
    assert_eq!(ids(&app.get("/v1/products?country=GL", t).await), ["SQL2019STD"]);
    app.get(&format!("/v1/customers/{gl}/products/VMRESERVED"), t).await.assert_error(404, "not_found");
    let list = app.get("/v1/publisher/availability", PUBLISHER_TOKEN).await;
    let reservations =
        list.body.as_array().unwrap().iter().find(|r| r["productType"] == "azure_reservation").unwrap().clone();
    let denied: Vec<&str> =
        reservations["unavailableMarkets"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(denied.len(), 106);
    assert!(denied.contains(&"BQ") && denied.contains(&"SJ") && denied.contains(&"XK") && !denied.contains(&"US"));
    // The publisher edits the type's list: Greenland now gets reservations, the US does not.
    let put = app
        .request(
            Method::PUT,
            "/v1/publisher/availability/azure_reservation",
            Some(PUBLISHER_TOKEN),
            Some(&json!({"unavailableMarkets": ["US"]})),
            &[],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(ids(&app.get("/v1/products?country=GL&targetView=AzureReservations", t).await), ["VMRESERVED"]);
    assert!(ids(&app.get("/v1/products?country=US&targetView=AzureReservations", t).await).is_empty());
    // A product's own list replaces its type's.
    let mut doc = json!({"products": [sample_catalog()["products"][4].clone()]});
    doc["products"][0]["availableMarkets"] = json!(["US"]);
    import(&app, &doc).await;
    assert_eq!(ids(&app.get("/v1/products?country=US&targetView=AzureReservations", t).await), ["VMRESERVED"]);
    assert!(ids(&app.get("/v1/products?country=GL&targetView=AzureReservations", t).await).is_empty());
    // An allow-list at type level.
    app.request(
        Method::PUT,
        "/v1/publisher/availability/software_plan",
        Some(PUBLISHER_TOKEN),
        Some(&json!({"availableMarkets": ["DE"]})),
        &[],
    )
    .await;
    assert!(ids(&app.get("/v1/products?country=US&targetView=SoftwareSUSELinux", t).await).is_empty());
    // The article's boundary markets: shared codes (BQ for Bonaire, Saba and Sint Eustatius; SJ for Svalbard and
    // Jan Mayen) and Kosovo (XK) are unavailable; Norway, next to SJ, is not.
    app.request(Method::PUT, "/v1/publisher/availability/azure_reservation", Some(PUBLISHER_TOKEN),
        Some(&json!({"unavailableMarkets": domain::catalog::reservation_unavailable_markets().iter().map(|m| m.as_str()).collect::<Vec<_>>()})), &[])
        .await;
    let prices: Vec<Value> = [
        ("US", "USD", "700.00"),
        ("BQ", "USD", "700.00"),
        ("SJ", "NOK", "7000.00"),
        ("XK", "EUR", "650.00"),
        ("NO", "NOK", "7000.00"),
    ]
    .iter()
    .map(|(c, cur, p)| json!({"country": c, "currencyCode": cur, "listPrice": p}))
    .collect();
    import(&app, &json!({"products": [{"id": "VMBOUNDARY", "title": "Reserved VM, boundary", "publisherName": "Contoso",
        "productType": "azure_reservation", "skus": [{"id": "0001", "title": "1 year", "termDuration": "P1Y", "prices": prices}]}]})).await;
    for (country, offered) in [("US", true), ("NO", true), ("BQ", false), ("SJ", false), ("XK", false)] {
        let listed = ids(&app.get(&format!("/v1/products?country={country}&targetView=AzureReservations"), t).await);
        assert_eq!(listed.contains(&"VMBOUNDARY".to_string()), offered, "{country}");
    }
    // Bad edits.
    for (path, body) in [
        ("/v1/publisher/availability/hardware", json!({"unavailableMarkets": []})),
        ("/v1/publisher/availability/azure_reservation", json!({"unavailableMarkets": ["ZZ"]})),
        ("/v1/publisher/availability/azure_reservation", json!({})),
        ("/v1/publisher/availability/azure_reservation", json!({"unavailableMarkets": [], "availableMarkets": []})),
    ] {
        app.request(Method::PUT, path, Some(PUBLISHER_TOKEN), Some(&body), &[])
            .await
            .assert_error(400, "invalid_request");
    }
}

async fn catalog_import_from_the_command_line(db: Db) {
    let app = TestApp::spawn(db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.json");
    std::fs::write(&file, sample_catalog().to_string()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerhub"))
        .args(["catalog", "import"])
        .arg(&file)
        .args(["--database-url", &app.db.url, "--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 5 products, 6 SKUs, 11 prices"));
    let p = app.partner("Alpha", false).await;
    assert_eq!(app.get("/v1/products?country=US", p.token(Role::SalesAgent)).await.body["totalCount"], 5);
    std::fs::write(&file, "{\"products\": [{\"id\": \"X\"}]}").unwrap();
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerhub"))
        .args(["catalog", "import"])
        .arg(&file)
        .args(["--database-url", &app.db.url, "--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("products[0] (X)"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
