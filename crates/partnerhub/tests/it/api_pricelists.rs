//! Partner price lists (issue 23): a publisher's effective-dated lists give each partner its cost; checkout charges
//! it (the invoice is at cost), each order line records list, cost and customer price, and changing a list never
//! changes an order already placed.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::{run, set_tax};
use crate::api_orders::{buy, item};
use crate::cli::BIN;
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    a_list_scheduled_for_next_month_applies_from_its_date_only,
    the_default_list_prices_partners_without_one,
    price_lists_refuse_what_they_cannot_charge,
    pricelists_import_from_a_csv,
);

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

pub async fn new_list(app: &TestApp, name: &str, is_default: bool) -> String {
    let r =
        app.post("/v1/publisher/pricelists", PUBLISHER_TOKEN, &json!({"name": name, "isDefault": is_default})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

pub async fn add_version(app: &TestApp, list: &str, body: Value) -> Res {
    app.post(&format!("/v1/publisher/pricelists/{list}/versions"), PUBLISHER_TOKEN, &body).await
}

/// A list "Gold" at 12% off the list price from January 1st, assigned to `partner` (SLES 300.00 → 264.00).
pub async fn gold_at_12_percent_off(app: &TestApp, partner: &str) {
    let gold = new_list(app, "Gold", false).await;
    let v = add_version(app, &gold, json!({"effectiveFrom": "2026-01-01", "discountPercent": "12"})).await;
    assert_eq!(v.status, 201, "{}", v.text);
    assert_eq!(assign(app, partner, &gold).await.status, 200);
}

pub async fn assign(app: &TestApp, partner: &str, list: &str) -> Res {
    let body = json!({"priceListId": list});
    let path = format!("/v1/publisher/partners/{partner}/pricelist");
    app.request(Method::PUT, &path, Some(PUBLISHER_TOKEN), Some(&body), &[]).await
}

/// Buys `quantity` SLES (list price 300.00 in the US) and returns the order's one line.
async fn buy_sles(app: &TestApp, p: &TestPartner, customer: &str, quantity: i64) -> Value {
    let t = p.token(Role::AdminAgent);
    let sles = item(app, t, customer, "SLES", "0001").await;
    let order = buy(app, t, customer, json!([{"catalogItemId": sles, "quantity": quantity}])).await;
    order["lineItems"][0].clone()
}

fn unit(line: &Value) -> (&str, &str, &str) {
    (
        line["pricing"]["unitPrice"].as_str().unwrap(),
        line["listPricing"]["unitPrice"].as_str().unwrap(),
        line["customerPricing"]["unitPrice"].as_str().unwrap(),
    )
}

fn statuses(list: &Value) -> Vec<&str> {
    list["versions"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect()
}

/// Issue 23's first test: a version scheduled for next month changes the partner's cost from its date only, on the
/// test clock; orders placed before keep their cost; the month's invoice is at cost.
async fn a_list_scheduled_for_next_month_applies_from_its_date_only(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let gold = new_list(&app, "Gold", false).await;
    // Version 1: −12% from the start of January (already in effect: the clock says 2026-01-15).
    let v1 = add_version(&app, &gold, json!({"effectiveFrom": "2026-01-01", "discountPercent": "12"})).await;
    assert_eq!((v1.status.as_u16(), statuses(&v1.body)), (201, vec!["active"]), "{}", v1.text);
    // Version 2: an explicit cost from February 1st; version 3: a draft.
    let prices =
        json!([{"productId": "SLES", "skuId": "0001", "country": "US", "currencyCode": "USD", "cost": "250.00"}]);
    let v2 = add_version(&app, &gold, json!({"effectiveFrom": "2026-02-01T00:00:00Z", "prices": prices})).await;
    assert_eq!(v2.status, 201, "{}", v2.text);
    let v3 = add_version(&app, &gold, json!({"discountPercent": "50"})).await;
    assert_eq!(statuses(&v3.body), ["active", "scheduled", "draft"]);
    assert_eq!(v3.body["versions"][1]["prices"][0]["cost"], "250.00");

    // Not assigned yet (and no default list): the list price.
    let before = buy_sles(&app, &p, &c, 2).await;
    assert_eq!(unit(&before), ("300.00", "300.00", "300.00"));
    let a = assign(&app, &p.id, &gold).await;
    assert_eq!((a.status.as_u16(), a.body["priceListName"].as_str()), (200, Some("Gold")), "{}", a.text);
    let january = buy_sles(&app, &p, &c, 2).await;
    assert_eq!(unit(&january), ("264.00", "300.00", "300.00"));
    // R4 on each side: 528.00 + 7.25% at cost, 600.00 + 7.25% at list.
    assert_eq!(
        (january["pricing"]["net"].as_str(), january["pricing"]["tax"].as_str(), january["pricing"]["gross"].as_str()),
        (Some("528.00"), Some("38.28"), Some("566.28"))
    );
    assert_eq!(january["customerPricing"]["gross"], "643.50");

    // One second before February: still version 1; at midnight: version 2.
    let to_february = 16 * DAY + 14 * 3600 * SECOND;
    app.clock.advance_micros(to_february - SECOND);
    assert_eq!(unit(&buy_sles(&app, &p, &c, 1).await).0, "264.00");
    app.clock.advance_micros(SECOND);
    let february = buy_sles(&app, &p, &c, 1).await;
    assert_eq!(unit(&february), ("250.00", "300.00", "300.00"));
    let list = app.get(&format!("/v1/publisher/pricelists/{gold}"), PUBLISHER_TOKEN).await;
    assert_eq!(statuses(&list.body), ["superseded", "active", "draft"]);

    // A version that has taken effect cannot be moved; a draft can be scheduled.
    let path = |n: u32| format!("/v1/publisher/pricelists/{gold}/versions/{n}");
    app.patch(&path(1), PUBLISHER_TOKEN, &json!({"effectiveFrom": "2026-03-01"})).await.assert_error(409, "conflict");
    let s = app.patch(&path(3), PUBLISHER_TOKEN, &json!({"effectiveFrom": "2026-03-01"})).await;
    assert_eq!((s.status.as_u16(), statuses(&s.body)), (200, vec!["superseded", "active", "scheduled"]), "{}", s.text);
    app.patch(&path(9), PUBLISHER_TOKEN, &json!({"effectiveFrom": "2026-03-01"})).await.assert_error(404, "not_found");

    // The orders placed before keep their cost.
    let orders = app.get(&format!("/v1/customers/{c}/orders"), p.token(Role::AdminAgent)).await;
    let units: Vec<&str> =
        orders.body["items"].as_array().unwrap().iter().map(|o| unit(&o["lineItems"][0]).0).collect();
    assert_eq!(units, ["300.00", "264.00", "264.00", "250.00"]);

    // January's invoice is at cost: 600.00 + 528.00 + 264.00 net, 7.25% tax per line.
    assert_eq!(run(&app, "2026-01").await.status, 200);
    let invoices = app.get("/v1/invoices", p.token(Role::BillingAdmin)).await;
    let january = &invoices.body["items"][0];
    assert_eq!(
        (january["subtotal"].as_str(), january["taxTotal"].as_str(), january["totalCharges"].as_str()),
        (Some("1392.00"), Some("100.92"), Some("1492.92")),
        "{}",
        invoices.text
    );
    app.assert_ledger_valid().await;
}

/// A partner without a list follows the default list; a new default list takes over; an assignment wins over it.
async fn the_default_list_prices_partners_without_one(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let q = app.partner("Beta", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let d = app.customer(&q, "Contoso", "contoso.example.com", "US").await["id"].as_str().unwrap().to_string();
    let base = new_list(&app, "Base", true).await;
    assert_eq!(
        add_version(&app, &base, json!({"effectiveFrom": "2026-01-01", "discountPercent": "10"})).await.status,
        201
    );
    let gold = new_list(&app, "Gold", false).await;
    assert_eq!(
        add_version(&app, &gold, json!({"effectiveFrom": "2026-01-01", "discountPercent": "20"})).await.status,
        201
    );
    assert_eq!(assign(&app, &q.id, &gold).await.status, 200);
    assert_eq!(unit(&buy_sles(&app, &p, &c, 1).await).0, "270.00");
    assert_eq!(unit(&buy_sles(&app, &q, &d, 1).await).0, "240.00");
    // A new default list (without versions yet: list prices) takes the default from Base.
    let newer = new_list(&app, "Base 2027", true).await;
    let lists = app.get("/v1/publisher/pricelists", PUBLISHER_TOKEN).await;
    let defaults: Vec<(&str, bool)> = lists.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap(), l["isDefault"].as_bool().unwrap()))
        .collect();
    assert_eq!(defaults, [("Base", false), ("Gold", false), ("Base 2027", true)]);
    assert!(lists.body["items"][0]["versions"][0].get("prices").is_none());
    assert_eq!(unit(&buy_sles(&app, &p, &c, 1).await).0, "300.00");
    assert_eq!(unit(&buy_sles(&app, &q, &d, 1).await).0, "240.00");
    assert_eq!(
        add_version(&app, &newer, json!({"effectiveFrom": "2026-01-15", "discountPercent": "5"})).await.status,
        201
    );
    assert_eq!(unit(&buy_sles(&app, &p, &c, 1).await).0, "285.00");
    app.assert_ledger_valid().await;
}

async fn price_lists_refuse_what_they_cannot_charge(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let gold = new_list(&app, "Gold", false).await;
    let price = |country: &str, currency: &str, cost: &str| json!({"prices": [{"productId": "SLES", "skuId": "0001", "country": country, "currencyCode": currency, "cost": cost}]});
    for (body, field) in [
        (price("US", "EUR", "1.00"), "prices[0].currencyCode"),
        (price("JP", "JPY", "1.5"), "prices[0].cost"),
        (price("ZZ", "USD", "1.00"), "prices[0].country"),
        (json!({"discountPercent": "120"}), "discountPercent"),
        (json!({"effectiveFrom": "next week"}), "effectiveFrom"),
    ] {
        let r = add_version(&app, &gold, body).await;
        assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().contains(field), "{}", r.text);
    }
    let r = app.post("/v1/publisher/pricelists", PUBLISHER_TOKEN, &json!({"name": "Gold"})).await;
    r.assert_error(409, "conflict");
    app.post("/v1/publisher/pricelists", PUBLISHER_TOKEN, &json!({"name": " "}))
        .await
        .assert_error(400, "invalid_request");
    let unknown = uuid::Uuid::new_v4().to_string();
    add_version(&app, &unknown, json!({})).await.assert_error(404, "not_found");
    app.get(&format!("/v1/publisher/pricelists/{unknown}"), PUBLISHER_TOKEN).await.assert_error(404, "not_found");
    assign(&app, &p.id, &unknown).await.assert_error(404, "not_found");
    assign(&app, &unknown, &gold).await.assert_error(404, "not_found");
    assign(&app, &p.id, "gold").await.assert_error(400, "invalid_request");
    // Partners never reach them.
    let r = app.get("/v1/publisher/pricelists", p.token(Role::GlobalAdmin)).await;
    r.assert_error(401, "unauthorized");
    // A create is idempotent under its key.
    let headers = [("MS-RequestId", "c0ffee00-0000-0000-0000-000000000001")];
    let body = json!({"name": "Silver"});
    let first =
        app.request(Method::POST, "/v1/publisher/pricelists", Some(PUBLISHER_TOKEN), Some(&body), &headers).await;
    let again =
        app.request(Method::POST, "/v1/publisher/pricelists", Some(PUBLISHER_TOKEN), Some(&body), &headers).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], again.body["id"]);
}

/// `partnerhub pricelists import --csv` adds a version from a file, checked whole first.
async fn pricelists_import_from_a_csv(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("gold.csv");
    std::fs::write(
        &good,
        "productId,skuId,country,currencyCode,cost\nSLES,0001,US,USD,199.99\nSQL2019STD,0001,JP,JPY,120000\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "productId,skuId,country,currencyCode,cost\nSLES,0001,US,USD,1.00\nSLES,0001,US,EUR,2.00\n")
        .unwrap();
    let import = |file: std::path::PathBuf, extra: &'static [&'static str]| {
        let url = app.db.url.clone();
        async move {
            tokio::process::Command::new(BIN)
                .args(["pricelists", "import", "--csv"])
                .arg(file)
                .args(["--list", "Gold", "--database-url", &url])
                .args(extra)
                .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
                .output()
                .await
                .unwrap()
        }
    };
    let out = import(good, &["--effective-from", "2026-01-01", "--discount-percent", "8"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("version 1 (active) with 2 prices"), "{stdout}");
    let out = import(bad, &[]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("prices[1].currencyCode"));
    let lists = app.get("/v1/publisher/pricelists", PUBLISHER_TOKEN).await;
    assert_eq!(lists.body["items"].as_array().unwrap().len(), 1, "{}", lists.text);
    let id = lists.body["items"][0]["id"].as_str().unwrap();
    let gold = app.get(&format!("/v1/publisher/pricelists/{id}"), PUBLISHER_TOKEN).await;
    assert_eq!(gold.body["versions"].as_array().unwrap().len(), 1, "{}", gold.text);
    assert_eq!(gold.body["versions"][0]["discountPercent"], "8");
    assert_eq!(gold.body["versions"][0]["prices"][0]["cost"], "199.99");
}
