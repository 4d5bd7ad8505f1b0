//! Monthly invoices (R12): charges and credits to the cent, one per partner and currency, idempotent, immutable.

use crate::api_catalog::{import, sample_catalog};
use crate::api_orders::{buy, item, stock};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    a_months_invoice_holds_its_charges_and_credits_to_the_cent,
    invoices_follow_each_partners_clock_and_concurrent_runs_issue_one,
    each_month_has_its_own_invoice_whatever_the_order_of_runs,
);

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

pub async fn run(app: &TestApp, period: &str) -> Res {
    app.post("/v1/publisher/invoiceruns", PUBLISHER_TOKEN, &json!({"period": period})).await
}

pub async fn set_tax(app: &TestApp, country: &str, currency: &str, rate: &str, inclusive: bool) {
    let body = json!({"currencyCode": currency, "taxRate": rate, "taxInclusive": inclusive});
    let r = app
        .request(Method::PUT, &format!("/v1/publisher/markets/{country}"), Some(PUBLISHER_TOKEN), Some(&body), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn amounts(line: &Value) -> (String, String, String) {
    let s = |k: &str| line[k].as_str().unwrap().to_string();
    (s("subtotal"), s("taxTotal"), s("totalForCustomer"))
}

async fn a_months_invoice_holds_its_charges_and_credits_to_the_cent(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    stock(&app, "SQL2019STD", "0001", &["K1", "K2"]).await;
    stock(&app, "SQL2019PERP", "0001", &["P1"]).await;
    let us = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let au = app.customer(&p, "Wingtip", "wingtip.example.com", "AU").await["id"].as_str().unwrap().to_string();
    // 2026-01-15: a 1-year subscription (1200.00 + 87.00) and perpetual software (3900.00 + 282.75) in the US,
    // and a subscription in Australia (1980.00 including 180.00 GST).
    let order = buy(
        &app,
        t,
        &us,
        json!([{"catalogItemId": item(&app, t, &us, "SQL2019STD", "0001").await, "quantity": 1},
               {"catalogItemId": item(&app, t, &us, "SQL2019PERP", "0001").await, "quantity": 1}]),
    )
    .await;
    buy(&app, t, &au, json!([{"catalogItemId": item(&app, t, &au, "SQL2019STD", "0001").await, "quantity": 1}])).await;
    // Day 10: both US lines cancelled. The subscription gets 355/365 back, the perpetual licence all of it.
    app.clock.advance_micros(10 * DAY);
    let path = format!("/v1/customers/{us}/orders/{}", order["id"].as_str().unwrap());
    assert_eq!(app.patch(&path, t, &json!({"status": "cancelled"})).await.status, 200);

    // Before the invoice, the rows not invoiced yet show the month so far: three charges and two credits, whose
    // totals are what the invoices will say. Partner Center's unbilled query parameters are accepted.
    let unbilled_path = "/v1/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=billinglineitems\
        &currencycode=usd&period=current";
    let unbilled = app.get(unbilled_path, p.token(Role::BillingAdmin)).await;
    assert_eq!(unbilled.status, 200, "{}", unbilled.text);
    let rows = unbilled.body["items"].as_array().unwrap().clone();
    let kinds: Vec<&str> = rows.iter().map(|r| r["chargeType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["new", "new", "new", "cancel", "cancel"], "by date: {}", unbilled.text);
    // In cents: every USD amount has two decimals.
    let usd_cents: i64 = rows
        .iter()
        .filter(|r| r["currency"] == "USD")
        .map(|r| r["totalForCustomer"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(usd_cents, 3526);
    app.get(unbilled_path, t).await.assert_error(403, "forbidden");
    app.get("/v1/invoices/unbilled/lineitems?provider=recurring", p.token(Role::BillingAdmin))
        .await
        .assert_error(400, "invalid_request");
    // Paged two at a time, in the same order.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let headers: Vec<(&str, &str)> = token.iter().map(|t| ("MS-ContinuationToken", t.as_str())).collect();
        let path = if token.is_some() {
            "/v1/invoices/unbilled/lineitems?size=2&seekOperation=Next"
        } else {
            "/v1/invoices/unbilled/lineitems?size=2"
        };
        let page = app.request(Method::GET, path, Some(p.token(Role::GlobalAdmin)), None, &headers).await;
        assert_eq!(page.status, 200, "{}", page.text);
        paged.extend(
            page.body["items"].as_array().unwrap().iter().map(|r| r["chargeType"].as_str().unwrap().to_string()),
        );
        token = page.body["links"]["next"]["headers"][0]["value"].as_str().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, kinds);

    // The month has not ended: nothing to issue yet.
    let early = run(&app, "2026-01").await;
    assert_eq!(early.status, 200, "{}", early.text);
    assert_eq!((early.body["invoices"].as_array().unwrap().len(), early.body["partnersNotDue"].as_u64()), (0, Some(1)));
    // 2026-02-01T00:00:00Z: January has ended.
    app.clock.advance_micros(6 * DAY + 14 * HOUR);
    let issued = run(&app, "2026-01").await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let invoices = issued.body["invoices"].as_array().unwrap().clone();
    assert_eq!(invoices.len(), 2, "one per currency: {}", issued.text);
    let usd = invoices.iter().find(|i| i["currencyCode"] == "USD").unwrap().clone();
    let aud = invoices.iter().find(|i| i["currencyCode"] == "AUD").unwrap().clone();
    // 1200.00 + 3900.00 − 1167.12 − 3900.00; tax 87.00 + 282.75 − 84.62 − 282.75.
    assert_eq!(
        (usd["subtotal"].as_str(), usd["taxTotal"].as_str(), usd["totalCharges"].as_str()),
        (Some("32.88"), Some("2.38"), Some("35.26"))
    );
    assert_eq!(
        (aud["subtotal"].as_str(), aud["taxTotal"].as_str(), aud["totalCharges"].as_str()),
        (Some("1800.00"), Some("180.00"), Some("1980.00"))
    );
    assert_eq!(usd["invoiceDate"], "2026-02-01T00:00:00Z");
    assert_eq!(
        (usd["billingPeriodStartDate"].as_str(), usd["billingPeriodEndDate"].as_str()),
        (Some("2026-01-01T00:00:00Z"), Some("2026-01-31T00:00:00Z"))
    );
    assert_eq!(usd["partnerId"], p.id.as_str());
    // Invoiced: nothing is left unbilled.
    let after = app.get("/v1/invoices/unbilled/lineitems", p.token(Role::BillingAdmin)).await;
    assert_eq!(after.body["totalCount"], 0, "{}", after.text);

    // Billing reads: billing admin and global admin only; another partner sees nothing.
    let billing = p.token(Role::BillingAdmin);
    let list = app.get("/v1/invoices", billing).await;
    assert_eq!(list.body["totalCount"], 2, "{}", list.text);
    app.get("/v1/invoices", t).await.assert_error(403, "forbidden");
    let id = usd["id"].as_str().unwrap();
    let one = app.get(&format!("/v1/invoices/{id}"), p.token(Role::GlobalAdmin)).await;
    assert_eq!((one.status.as_u16(), one.body["totalCharges"].as_str()), (200, Some("35.26")));
    let other = app.partner("Beta", false).await;
    app.get(&format!("/v1/invoices/{id}"), other.token(Role::BillingAdmin)).await.assert_error(404, "not_found");

    let lines = app
        .get(&format!("/v1/invoices/{id}/lineitems?provider=onetime&invoicelineitemtype=billinglineitems"), billing)
        .await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    let items = lines.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    let of = |kind: &str, product: &str| {
        items
            .iter()
            .find(|l| l["chargeType"] == kind && l["productId"] == product)
            .unwrap_or_else(|| panic!("{kind} {product}"))
            .clone()
    };
    assert_eq!(amounts(&of("new", "SQL2019STD")), ("1200.00".into(), "87.00".into(), "1287.00".into()));
    assert_eq!(amounts(&of("new", "SQL2019PERP")), ("3900.00".into(), "282.75".into(), "4182.75".into()));
    let credit = of("cancel", "SQL2019STD");
    assert_eq!(amounts(&credit), ("-1167.12".into(), "-84.62".into(), "-1251.74".into()));
    assert_eq!((credit["quantity"].as_i64(), credit["unitPrice"].as_str()), (Some(1), Some("-1200.00")));
    assert_eq!(amounts(&of("cancel", "SQL2019PERP")), ("-3900.00".into(), "-282.75".into(), "-4182.75".into()));
    assert_eq!(credit["customerDomainName"], "fabrikam.example.com");
    assert_eq!(credit["orderId"], order["id"]);
    assert_eq!(
        (credit["lineItemNumber"].as_u64(), credit["productName"].as_str()),
        (Some(0), Some("SQL Server 2019 Standard - 2 Core - 1 year"))
    );
    assert_eq!(credit["orderDate"], "2026-01-15T10:00:00Z");
    // Paged, two at a time.
    let first = app.get(&format!("/v1/invoices/{id}/lineitems?size=2"), billing).await;
    assert_eq!(first.body["totalCount"], 2);
    let token = first.headers.get("ms-continuationtoken").map(|v| v.to_str().unwrap().to_string());
    let token =
        token.or_else(|| first.body["links"]["next"]["headers"][0]["value"].as_str().map(String::from)).unwrap();
    let second = app
        .request(
            Method::GET,
            &format!("/v1/invoices/{id}/lineitems?size=2&seekOperation=Next"),
            Some(billing),
            None,
            &[("MS-ContinuationToken", &token)],
        )
        .await;
    assert_eq!(second.body["totalCount"], 2, "{}", second.text);
    app.get(&format!("/v1/invoices/{id}/lineitems?provider=recurring"), billing)
        .await
        .assert_error(400, "invalid_request");
    // CSV: a header and four rows; a credit's minus sign stays a number.
    let csv = app.get(&format!("/v1/invoices/{id}/lineitems.csv"), billing).await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let rows: Vec<&str> = csv.text.lines().collect();
    assert_eq!(rows.len(), 5, "{}", csv.text);
    assert!(rows[0].starts_with("customerId,customerDomainName,orderId,lineItemNumber"));
    assert!(csv.text.contains(",-1167.12,-84.62,-1251.74,USD"), "{}", csv.text);

    // A second run issues nothing new; a later event goes on the next month's invoice.
    let again = run(&app, "2026-01").await;
    let ids = |r: &Res| {
        r.body["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&issued));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 2);
    stock(&app, "SQL2019STD", "0001", &["K3"]).await;
    buy(&app, t, &us, json!([{"catalogItemId": item(&app, t, &us, "SQL2019STD", "0001").await, "quantity": 1}])).await;
    run(&app, "2026-01").await;
    let unchanged = app.get(&format!("/v1/invoices/{id}"), billing).await;
    assert_eq!(
        (unchanged.body["totalCharges"].as_str(), unchanged.body["lineItemCount"].as_i64()),
        (Some("35.26"), Some(4))
    );
    app.clock.advance_micros(28 * DAY);
    let february = run(&app, "2026-02").await;
    let feb = february.body["invoices"].as_array().unwrap();
    assert_eq!(feb.len(), 1, "{}", february.text);
    assert_eq!((feb[0]["currencyCode"].as_str(), feb[0]["totalCharges"].as_str()), (Some("USD"), Some("1287.00")));
    // A month with nothing to bill has no invoice; a bad period is a 400.
    assert_eq!(run(&app, "2025-12").await.body["invoices"].as_array().unwrap().len(), 0);
    run(&app, "2026-13").await.assert_error(400, "invalid_request");
    app.post("/v1/publisher/invoiceruns", t, &json!({"period": "2026-01"})).await.assert_error(401, "unauthorized");
    app.assert_ledger_valid().await;
}

async fn invoices_follow_each_partners_clock_and_concurrent_runs_issue_one(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1", "K2"]).await;
    let sandbox = app.partner("Sandbox", true).await;
    let production = app.partner("Production", false).await;
    for p in [&sandbox, &production] {
        let t = p.token(Role::AdminAgent);
        let c = app.customer(p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    }
    // The sandbox partner's clock reaches February; the server's (the production partner's) does not.
    let moved = app.post("/v1/testclock/advance", sandbox.token(Role::AdminAgent), &json!({"days": 17})).await;
    assert_eq!(moved.status, 200);
    let runs = futures::future::join_all((0..6).map(|_| run(&app, "2026-01"))).await;
    for r in &runs {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["invoices"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["invoices"][0]["partnerId"], sandbox.id.as_str());
        assert_eq!(r.body["partnersNotDue"], 1);
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 1, "concurrent runs issue one invoice");
    app.clock.advance_micros(17 * DAY);
    let later = run(&app, "2026-01").await;
    assert_eq!(later.body["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE invoice_id IS NULL").await, 0);
    app.assert_ledger_valid().await;
}

async fn each_month_has_its_own_invoice_whatever_the_order_of_runs(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sles = item(&app, t, &c, "SLES", "0001").await;
    buy(&app, t, &c, json!([{"catalogItemId": sles, "quantity": 1}])).await; // 2026-01-15: 300.00
    app.clock.advance_micros(36 * DAY); // 2026-02-20
    buy(&app, t, &c, json!([{"catalogItemId": sles, "quantity": 2}])).await; // 600.00
    app.clock.advance_micros(10 * DAY); // 2026-03-02
    let total = |r: &Res| r.body["invoices"][0]["totalCharges"].as_str().map(String::from);
    // February first: only February's charge; January's waits for January's own run.
    let feb = run(&app, "2026-02").await;
    assert_eq!(total(&feb).as_deref(), Some("600.00"), "{}", feb.text);
    let jan = run(&app, "2026-01").await;
    assert_eq!(total(&jan).as_deref(), Some("300.00"), "{}", jan.text);
    assert_eq!(total(&run(&app, "2026-02").await).as_deref(), Some("600.00"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 2);
    // A row dated in January that commits after January's run (a late event) goes on the next run's invoice.
    let order =
        app.get(&format!("/v1/customers/{c}/orders"), t).await.body["items"][0]["id"].as_str().unwrap().to_string();
    app.raw_sql(&format!(
        "INSERT INTO ledger (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, quantity, \
         unit_price_minor, net_minor, tax_minor, gross_minor) VALUES ('{}', '{}', 'USD', 2, {}, 'new', '{c}', '{order}', 0, 1, \
         5000, 5000, 0, 5000)",
        uuid::Uuid::now_v7(),
        p.id,
        START + DAY
    ))
    .await;
    assert_eq!(total(&run(&app, "2026-01").await).as_deref(), Some("300.00"), "an issued invoice never changes");
    app.clock.advance_micros(30 * DAY); // 2026-04-01
    let march = run(&app, "2026-03").await;
    assert_eq!(total(&march).as_deref(), Some("50.00"), "{}", march.text);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE invoice_id IS NULL").await, 0);
    app.assert_ledger_valid().await;
}
