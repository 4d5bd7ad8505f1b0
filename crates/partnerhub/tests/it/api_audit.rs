//! The activity log (R8) through the API and the CLI: date ranges, filters, CSV, and tamper detection.

use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(
    customer_creation_is_recorded_and_queried_by_date_range,
    activity_exports_as_csv_that_spreadsheets_cannot_run,
    editing_a_stored_record_fails_verification,
    editing_the_search_fold_fails_verification,
);

const DAY: i64 = 86_400 * 1_000_000;

async fn customer_creation_is_recorded_and_queried_by_date_range(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let reader = p.token(Role::AccountAdmin);
    // Day 0 (2026-01-15), day 1, day 40.
    let c0 = app.customer(&p, "Day Zero", "d0.example.com", "US").await;
    app.clock.advance_micros(DAY);
    app.customer(&p, "Day One", "d1.example.com", "AU").await;
    app.clock.advance_micros(39 * DAY);
    app.customer(&p, "Day Forty", "d40.example.com", "JP").await;
    let of_kind = |from: &str, to: &str| {
        format!(
            "/v1/auditrecords?startDate={from}&endDate={to}&filter={}",
            url_encode(
                &json!({"Field": "OperationType", "Value": "create_customer", "Operator": "equals"}).to_string()
            )
        )
    };
    let names = |r: &Res| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|i| i["customerName"].as_str().unwrap().to_string()).collect()
    };
    // Inclusive whole UTC days.
    assert_eq!(names(&app.get(&of_kind("2026-01-15", "2026-01-15"), reader).await), ["Day Zero"]);
    assert_eq!(names(&app.get(&of_kind("2026-01-15", "2026-01-16"), reader).await), ["Day Zero", "Day One"]);
    assert_eq!(names(&app.get(&of_kind("2026-01-17", "2026-02-24"), reader).await), ["Day Forty"]);
    // Defaults: the 30 days up to today (day 40 is 2026-02-24): only Day Forty.
    let default = app
        .get("/v1/auditrecords?filter=%7B%22Field%22%3A%22ResourceType%22%2C%22Value%22%3A%22customer%22%7D", reader)
        .await;
    assert_eq!(names(&default), ["Day Forty"]);
    // A record's fields.
    let first = app.get(&of_kind("2026-01-15", "2026-01-15"), reader).await;
    let r = &first.body["items"][0];
    assert_eq!(r["customerId"], c0["id"]);
    assert_eq!(r["partnerId"], p.id.as_str());
    assert_eq!(r["resourceType"], "customer");
    assert_eq!(r["operationStatus"], "succeeded");
    assert_eq!(r["operationDate"], "2026-01-15T10:00:00Z");
    assert!(r["userPrincipalName"].as_str().unwrap().starts_with("global.admin@"));
    assert_eq!(r["attributes"]["objectType"], "AuditRecord");
    // Filter by company name, case-insensitive substring.
    let by_name = app
        .get(
            &format!(
                "/v1/auditrecords?startDate=2026-01-01&endDate=2026-03-01&filter={}",
                url_encode(&json!({"Field": "CompanyName", "Value": "FORTY", "Operator": "substring"}).to_string())
            ),
            reader,
        )
        .await;
    assert_eq!(names(&by_name), ["Day Forty"]);
    // Bad ranges and filters.
    app.get("/v1/auditrecords?startDate=2026-02-01&endDate=2026-01-01", reader)
        .await
        .assert_error(400, "invalid_request");
    app.get("/v1/auditrecords?startDate=yesterday", reader).await.assert_error(400, "invalid_request");
    app.get("/v1/auditrecords?filter=%7B%7D", reader).await.assert_error(400, "invalid_request");
    // An admin agent alone may not read it.
    app.get("/v1/auditrecords", p.token(Role::AdminAgent)).await.assert_error(403, "forbidden");
}

async fn activity_exports_as_csv_that_spreadsheets_cannot_run(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    app.customer(&p, "=HYPERLINK(\"http://evil\")", "evil.example.com", "US").await;
    app.customer(&p, "Comma, \"Quoted\" Ltd", "quoted.example.com", "US").await;
    let res = app
        .http
        .get(format!("{}/v1/auditrecords/export?startDate=2026-01-01&endDate=2026-01-31", app.url))
        .bearer_auth(p.token(Role::ReferralAdmin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "partnerId",
            "customerId",
            "customerName",
            "userPrincipalName",
            "resourceType",
            "operationType",
            "operationDate",
            "operationStatus",
            "customizedData"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let names: Vec<&str> = rows.iter().map(|r| &r[3]).filter(|n| !n.is_empty()).collect();
    assert_eq!(names, ["'=HYPERLINK(\"http://evil\")", "Comma, \"Quoted\" Ltd"]);
    // The export holds the same records as the JSON list.
    let json = app
        .get("/v1/auditrecords?startDate=2026-01-01&endDate=2026-01-31&size=500", p.token(Role::ReferralAdmin))
        .await;
    assert_eq!(rows.len(), json.body["items"].as_array().unwrap().len());
    assert!(text.contains("\r\n"), "RFC 4180 lines end with CRLF");
    app.request(Method::GET, "/v1/auditrecords/export", Some(p.token(Role::SalesAgent)), None, &[])
        .await
        .assert_error(403, "forbidden");
}

async fn editing_a_stored_record_fails_verification(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let q = app.partner("Beta", false).await;
    for i in 0..3 {
        app.customer(&p, &format!("Customer {i}"), &format!("c{i}.example.com"), "US").await;
    }
    app.customer(&q, "Beta Customer", "beta.example.com", "US").await;
    let reader = p.token(Role::GlobalAdmin);
    let ok = app.get("/v1/auditrecords/verification", reader).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["valid"], true);
    let count = ok.body["recordCount"].as_i64().unwrap();
    assert!(count >= 3 + 8 * 2, "users, tokens and customers are all recorded: {count}");
    assert!(ok.body["firstInvalidRecordId"].is_null());
    let cli = |url: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerhub"))
            .args([
                "audit",
                "verify",
                "--database-url",
                &url,
                "--secret-key",
                "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
            ])
            .output()
            .await
            .unwrap()
    };
    let out = cli(app.db.url.clone()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // The operator log and both partners' logs.
    assert_eq!(stdout.matches(": valid").count(), 3, "{stdout}");
    assert!(stdout.contains("operator log: valid"), "{stdout}");
    // The log is append-only: the database refuses edits while its triggers stand.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    assert!(sqlx::Executor::execute(&mut conn, "UPDATE audit_records SET customer_name = 'x'").await.is_err());
    // Someone with database access drops the triggers and rewrites a record of partner Alpha.
    let victim = app
        .get(
            "/v1/auditrecords?filter=%7B%22Field%22%3A%22OperationType%22%2C%22Value%22%3A%22create_customer%22%7D",
            reader,
        )
        .await;
    let victim_id = victim.body["items"][1]["id"].as_str().unwrap().to_string();
    let drop = match db {
        Db::Sqlite => "DROP TRIGGER audit_records_no_update",
        Db::Postgres => "DROP TRIGGER audit_records_no_update ON audit_records",
    };
    app.raw_sql(drop).await;
    app.raw_sql(&format!("UPDATE audit_records SET customer_name = 'Someone Else' WHERE id = '{victim_id}'")).await;
    let bad = app.get("/v1/auditrecords/verification", reader).await;
    assert_eq!(bad.body["valid"], false);
    assert_eq!(bad.body["firstInvalidRecordId"], victim_id.as_str());
    // The other partner's chain is untouched.
    assert_eq!(app.get("/v1/auditrecords/verification", q.token(Role::GlobalAdmin)).await.body["valid"], true);
    let out = cli(app.db.url.clone()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("INVALID at record {victim_id}")));
}

/// Issue 16 item 12: `customer_name_folded` (what CompanyName searches read) is not hashed; editing it to hide a
/// record from searches must fail verification, since the verifier recomputes it from the hashed name.
async fn editing_the_search_fold_fails_verification(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    app.customer(&p, "Contoso Ltd", "contoso.example.com", "US").await;
    app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await;
    let reader = p.token(Role::GlobalAdmin);
    let search = format!(
        "/v1/auditrecords?filter={}",
        url_encode(r#"{"Field": "CompanyName", "Value": "contoso", "Operator": "starts_with"}"#)
    );
    let found = app.get(&search, reader).await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.body["totalCount"], 1, "{}", found.text);
    let victim_id = found.body["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.get("/v1/auditrecords/verification", reader).await.body["valid"], true);
    let drop = match db {
        Db::Sqlite => "DROP TRIGGER audit_records_no_update",
        Db::Postgres => "DROP TRIGGER audit_records_no_update ON audit_records",
    };
    app.raw_sql(drop).await;
    app.raw_sql(&format!("UPDATE audit_records SET customer_name_folded = 'zzz' WHERE id = '{victim_id}'")).await;
    // The edit hides the record from the search…
    assert_eq!(app.get(&search, reader).await.body["totalCount"], 0);
    // …and verification names it.
    let bad = app.get("/v1/auditrecords/verification", reader).await;
    assert_eq!(bad.body["valid"], false, "{}", bad.text);
    assert_eq!(bad.body["firstInvalidRecordId"], victim_id.as_str());
}
