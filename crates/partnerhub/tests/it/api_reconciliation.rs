//! Reconciliation and statements (issue 23): an order, a cancellation and a refund reconciled to the cent against
//! the month's invoice, the customer side reversed in proportion, paged JSON and CSV, `partnerhub reconcile`, and a
//! customer's statement with unit cost and unit price per line.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::{run, set_tax};
use crate::api_orders::{buy, item, stock};
use crate::api_pricelists::gold_at_12_percent_off;
use crate::api_support::request_body;
use crate::cli::BIN;
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    an_order_a_cancellation_and_a_refund_reconcile_to_the_cent,
    partial_refunds_over_two_months_give_back_the_whole_customer_price,
);

const DAY: i64 = 86_400_000_000;

/// "1234.56" or "-12.30" in cents.
fn cents(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("{v}"));
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (a, b) = s.split_once('.').unwrap();
    let n: i64 = a.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap();
    if neg {
        -n
    } else {
        n
    }
}

async fn an_order_a_cancellation_and_a_refund_reconcile_to_the_cent(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    stock(&app, "SQL2019STD", "0001", &["K-1", "K-2"]).await;
    let p = app.partner("Alpha", false).await;
    let (agent, billing) = (p.token(Role::AdminAgent), p.token(Role::BillingAdmin));
    let c1 = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let c2 = app.customer(&p, "Contoso", "contoso.example.com", "US").await["id"].as_str().unwrap().to_string();
    gold_at_12_percent_off(&app, &p.id).await;
    let rule = app
        .post("/v1/pricing/markuprules", p.token(Role::GlobalAdmin), &json!({"basis": "cost", "percent": "25"}))
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);

    // Fabrikam: SQL 1 year (cost 1056.00, price 1320.00) and 2 × SLES (cost 264.00, price 330.00); Contoso: 1 × SLES.
    let sql = item(&app, agent, &c1, "SQL2019STD", "0001").await;
    let sles = item(&app, agent, &c1, "SLES", "0001").await;
    let a =
        buy(&app, agent, &c1, json!([{"catalogItemId": sql, "quantity": 1}, {"catalogItemId": sles, "quantity": 2}]))
            .await;
    let a_id = a["id"].as_str().unwrap().to_string();
    buy(&app, agent, &c2, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    // Ten days later the SQL line is cancelled (a prorated credit), and the desk refunds 100.00 on the SLES line.
    app.clock.advance_micros(10 * DAY);
    let cancel = app
        .patch(
            &format!("/v1/customers/{c1}/orders/{a_id}"),
            agent,
            &json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 0}]}),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.text);
    let filed = app.post("/v1/servicerequests/en-US", agent, &request_body(&c1, &a_id)).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let refund = json!({"refund": {"amount": "100.00", "currencyCode": "USD", "orderId": a_id, "lineItemNumber": 1}});
    let desk = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{}", filed.body["id"].as_str().unwrap()),
            Some(PUBLISHER_TOKEN),
            Some(&refund),
            &[],
        )
        .await;
    assert_eq!(desk.status, 200, "{}", desk.text);
    // Before the run: the rows are there, not invoiced yet.
    let early = app.get("/v1/reconciliation?period=2026-01", billing).await;
    assert_eq!(early.status, 200, "{}", early.text);
    assert!(early.body["items"].as_array().unwrap().iter().all(|r| r.get("invoiceId").is_none_or(Value::is_null)));

    app.clock.advance_micros(10 * DAY);
    assert_eq!(run(&app, "2026-01").await.status, 200);
    let invoice = app.get("/v1/invoices", billing).await.body["items"][0].clone();

    // Paged JSON, two rows a page: three charges, a cancel credit, a refund.
    let mut rows: Vec<Value> = Vec::new();
    let mut page = app.get("/v1/reconciliation?period=2026-01&size=2", billing).await;
    loop {
        assert_eq!(page.status, 200, "{}", page.text);
        rows.extend(page.body["items"].as_array().unwrap().iter().cloned());
        let Some(next) = page.body["links"].get("next") else { break };
        let token = next["headers"][0]["value"].as_str().unwrap().to_string();
        page = app
            .request(
                Method::GET,
                "/v1/reconciliation?period=2026-01&size=2&seekOperation=Next",
                Some(billing),
                None,
                &[("MS-ContinuationToken", &token)],
            )
            .await;
    }
    let kinds: Vec<&str> = rows.iter().map(|r| r["chargeType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["new", "new", "new", "cancel", "refund"]);
    // The cost side adds up to the invoice to the cent.
    let sum = |f: &str| rows.iter().map(|r| cents(&r[f])).sum::<i64>();
    assert_eq!(sum("costNet"), cents(&invoice["subtotal"]), "{rows:?}");
    assert_eq!(sum("costTax"), cents(&invoice["taxTotal"]));
    assert_eq!(sum("costGross"), cents(&invoice["totalCharges"]));
    assert!(rows.iter().all(|r| r["invoiceId"] == invoice["id"]));
    // Each side of the charge; the cancel gives back the same share of the customer's price as of the cost.
    let sql_row = &rows[0];
    assert_eq!((sql_row["unitCost"].as_str(), sql_row["unitPrice"].as_str()), (Some("1056.00"), Some("1320.00")));
    assert_eq!((sql_row["customerGross"].as_str(), sql_row["margin"].as_str()), (Some("1415.70"), Some("264.00")));
    let credit = &rows[3];
    let share = cents(&credit["costGross"]) as f64 / cents(&sql_row["costGross"]) as f64;
    let customer_share = cents(&credit["customerGross"]) as f64 / cents(&sql_row["customerGross"]) as f64;
    assert!((share - customer_share).abs() < 0.0001 && share < -0.9, "{share} {customer_share}");
    assert_eq!(rows[4]["costGross"], "-100.00");
    assert_eq!(cents(&rows[4]["customerGross"]), -12500, "{}", rows[4]);

    // The CSV: the JSON's field names, one row each.
    let csv = app
        .http
        .get(format!("{}/v1/reconciliation.csv?period=2026-01", app.url))
        .bearer_auth(billing)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("date,chargeType,customerId,") && lines[0].contains("unitCost,unitPrice"), "{text}");
    assert_eq!(lines.len(), 6);

    // `partnerhub reconcile` agrees.
    let out = tokio::process::Command::new(BIN)
        .args(["reconcile", "--period", "2026-01", "--database-url", &app.db.url])
        .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2026-01: 1 invoices, 0 mismatched") && stdout.starts_with("ok\tAlpha"), "{stdout}");

    // Fabrikam's statement: its four rows, at customer prices, with unit cost and unit price.
    let st = app.get(&format!("/v1/customers/{c1}/statement?period=2026-01"), billing).await;
    assert_eq!(st.status, 200, "{}", st.text);
    let items = st.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|r| r["customerId"] == c1.as_str()));
    let csv = app
        .http
        .get(format!("{}/v1/customers/{c1}/statement.csv?period=2026-01", app.url))
        .bearer_auth(billing)
        .send()
        .await
        .unwrap();
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().nth(1).unwrap().contains(",1056.00,1320.00,"), "{text}");
    // Not for the roles that do not see billing; a bad month is named.
    app.get("/v1/reconciliation?period=2026-01", agent).await.assert_error(403, "forbidden");
    app.get("/v1/reconciliation?period=2026-1", billing).await.assert_error(400, "invalid_request");
    app.assert_ledger_valid().await;
}

/// Three desk refunds of a third of a line each, two in January and one in February: the customer side of each is
/// its cumulative share (earlier months' credits counted), so together they give back the whole customer price to
/// the cent, as the cost side gives back the whole charge.
async fn partial_refunds_over_two_months_give_back_the_whole_customer_price(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    let p = app.partner("Alpha", false).await;
    let (agent, billing) = (p.token(Role::AdminAgent), p.token(Role::BillingAdmin));
    let c = app.customer(&p, "Contoso", "contoso.example.com", "US").await["id"].as_str().unwrap().to_string();
    gold_at_12_percent_off(&app, &p.id).await;
    let rule = app
        .post("/v1/pricing/markuprules", p.token(Role::GlobalAdmin), &json!({"basis": "cost", "percent": "25"}))
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    // 1 × SLES: cost 264.00 + 19.14 tax = 283.14; the customer pays 330.00 + 23.93 = 353.93.
    let sles = item(&app, agent, &c, "SLES", "0001").await;
    let order = buy(&app, agent, &c, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    let order_id = order["id"].as_str().unwrap().to_string();
    let filed = app.post("/v1/servicerequests/en-US", agent, &request_body(&c, &order_id)).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let desk = format!("/v1/publisher/servicerequests/{}", filed.body["id"].as_str().unwrap());
    let refund_third = || {
        let body =
            json!({"refund": {"amount": "94.38", "currencyCode": "USD", "orderId": order_id, "lineItemNumber": 0}});
        let desk = desk.clone();
        let app = &app;
        async move { app.request(Method::PATCH, &desk, Some(PUBLISHER_TOKEN), Some(&body), &[]).await }
    };
    app.clock.advance_micros(5 * DAY);
    for _ in 0..2 {
        let r = refund_third().await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    app.clock.advance_micros(31 * DAY);
    let r = refund_third().await;
    assert_eq!(r.status, 200, "{}", r.text);

    let refunds = |period: &'static str| {
        let app = &app;
        async move {
            let page = app.get(&format!("/v1/reconciliation?period={period}&size=500"), billing).await;
            assert_eq!(page.status, 200, "{}", page.text);
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["chargeType"] == "refund")
                .cloned()
                .collect::<Vec<_>>()
        }
    };
    let mut rows = refunds("2026-01").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    rows.extend(refunds("2026-02").await);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let total = |field: &str| rows.iter().map(|r| cents(&r[field])).sum::<i64>();
    assert_eq!(total("costGross"), -28314, "{rows:?}");
    assert_eq!(total("customerGross"), -35393, "the whole customer price, to the cent: {rows:?}");
    assert_eq!(total("customerTax"), -2393, "{rows:?}");
}
