//! Customers (R3) through the API: create, find, list, page, validation, uniqueness and idempotent retries.

use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

crate::on_both_backends!(
    create_and_read_a_customer,
    customers_are_found_by_name_domain_or_tenant_id,
    bad_customer_input_names_the_field,
    tenant_id_and_domain_are_unique_per_partner,
    paging_never_skips_or_repeats_while_rows_are_added,
    idempotent_create_returns_the_first_response,
    concurrent_creates_of_one_domain_make_one_customer,
    a_repeat_while_the_first_runs_is_request_in_progress,
);

async fn create_and_read_a_customer(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let tenant = uuid::Uuid::new_v4().to_string();
    let mut body = customer_body("Wingtip Toys", "WingtipToys.onmicrosoft.com", "au");
    body["companyProfile"]["tenantId"] = json!(tenant);
    body["unknownField"] = json!({"ignored": true});
    let created = app.post("/v1/customers", p.token(Role::SalesAgent), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let c = &created.body;
    assert_eq!(c["id"], tenant.as_str());
    assert_eq!(c["companyProfile"]["tenantId"], tenant.as_str());
    assert_eq!(c["companyProfile"]["domain"], "wingtiptoys.onmicrosoft.com");
    assert_eq!(c["market"], "AU");
    assert_eq!(c["billingProfile"]["defaultAddress"]["country"], "AU");
    assert_eq!(c["attributes"]["objectType"], "Customer");
    assert_eq!(c["createdDate"], "2026-01-15T10:00:00Z");
    let got = app.get(&format!("/v1/customers/{tenant}"), p.token(Role::HelpdeskAgent)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, created.body);
    // No tenant id given: one is made.
    let other = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await;
    assert!(uuid::Uuid::parse_str(other["id"].as_str().unwrap()).is_ok());
    app.get("/v1/customers/not-a-guid", p.token(Role::HelpdeskAgent)).await.assert_error(404, "not_found");
    app.get(&format!("/v1/customers/{}", uuid::Uuid::new_v4()), p.token(Role::HelpdeskAgent))
        .await
        .assert_error(404, "not_found");
}

fn filter(field: &str, value: &str, op: &str) -> String {
    let f = json!({"Field": field, "Value": value, "Operator": op}).to_string();
    let encoded: String = url_encode(&f);
    format!("/v1/customers?filter={encoded}")
}

fn names(res: &Res) -> Vec<String> {
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["companyProfile"]["companyName"].as_str().unwrap().to_string())
        .collect()
}

async fn customers_are_found_by_name_domain_or_tenant_id(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::HelpdeskAgent);
    let contoso = app.customer(&p, "Contoso Ltd", "contoso.example.com", "US").await;
    app.customer(&p, "Ärzte Müller GmbH", "aerzte-mueller.example.de", "DE").await;
    app.customer(&p, "50% Off_Shop", "fifty.example.com", "GB").await;
    app.customer(&p, "Northwind Contoso Partners", "northwind.example.com", "US").await;
    assert_eq!(names(&app.get(&filter("CompanyName", "conto", "starts_with"), t).await), ["Contoso Ltd"]);
    assert_eq!(
        names(&app.get(&filter("CompanyName", "CONTOSO", "substring"), t).await),
        ["Contoso Ltd", "Northwind Contoso Partners"]
    );
    // Case folding beyond ASCII, done the same way on both databases.
    assert_eq!(names(&app.get(&filter("CompanyName", "ärzte MÜLLER", "substring"), t).await), ["Ärzte Müller GmbH"]);
    // LIKE wildcards in a value are literal.
    assert_eq!(names(&app.get(&filter("CompanyName", "50%", "starts_with"), t).await), ["50% Off_Shop"]);
    assert!(names(&app.get(&filter("CompanyName", "5_%", "starts_with"), t).await).is_empty());
    assert_eq!(names(&app.get(&filter("Domain", "Contoso.Example.com", "equals"), t).await), ["Contoso Ltd"]);
    let tenant = contoso["id"].as_str().unwrap();
    assert_eq!(names(&app.get(&filter("TenantId", &tenant.to_uppercase(), "equals"), t).await), ["Contoso Ltd"]);
    // (UUIDv7 ids share their leading time digits, so match on the random tail.)
    assert_eq!(names(&app.get(&filter("TenantId", &tenant[24..], "substring"), t).await), ["Contoso Ltd"]);
    for junk in ["not json", r#"{"Field":"Nope","Value":"x"}"#, r#"{"Field":"Domain","Value":"x","Operator":"regex"}"#]
    {
        app.get(&format!("/v1/customers?filter={}", url_encode(junk)), t).await.assert_error(400, "invalid_request");
    }
    // Injection attempts are just values.
    let injection = app.get(&filter("CompanyName", "' OR 1=1 --", "substring"), t).await;
    assert_eq!(injection.status, 200);
    assert!(names(&injection).is_empty());
}

async fn bad_customer_input_names_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|b| b["billingProfile"]["defaultAddress"]["country"] = json!("ZZ")),
            "billingProfile.defaultAddress.country",
        ),
        (
            Box::new(|b| b["billingProfile"]["defaultAddress"]["country"] = json!(12)),
            "billingProfile.defaultAddress.country",
        ),
        (Box::new(|b| b["billingProfile"]["email"] = json!("not-an-email")), "billingProfile.email"),
        (Box::new(|b| b["companyProfile"]["domain"] = json!("no spaces allowed.com")), "companyProfile.domain"),
        (Box::new(|b| b["companyProfile"]["tenantId"] = json!("1234")), "companyProfile.tenantId"),
        (Box::new(|b| b["companyProfile"]["companyName"] = json!("")), "companyProfile.companyName"),
        (
            Box::new(|b| {
                b["companyProfile"].as_object_mut().unwrap().remove("domain");
            }),
            "companyProfile",
        ),
        (
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("billingProfile");
            }),
            "billingProfile",
        ),
    ];
    for (mutate, field) in cases {
        let mut body = customer_body("Valid Name", "valid.example.com", "US");
        mutate(&mut body);
        let r = app.post("/v1/customers", t, &body).await;
        r.assert_error(400, "invalid_request");
        assert!(r.body["description"].as_str().unwrap().contains(field), "expected {field} in {}", r.text);
    }
    // NUL characters are refused at the edge (PostgreSQL could not store them), in bodies and in queries.
    let r = app.post("/v1/customers", t, &customer_body("Nul\u{0}Co", "nul.example.com", "US")).await;
    r.assert_error(400, "invalid_request");
    app.get("/v1/customers?filter=%7B%22Field%22%3A%22CompanyName%22%2C%22Value%22%3A%22a%00%22%7D", t)
        .await
        .assert_error(400, "invalid_request");
    // Nothing was written by any of them.
    assert_eq!(app.get("/v1/customers", t).await.body["totalCount"], 0);
}

async fn tenant_id_and_domain_are_unique_per_partner(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let first = app.customer(&p, "Contoso", "contoso.example.com", "US").await;
    let dup_domain = app.post("/v1/customers", t, &customer_body("Other", "CONTOSO.example.com", "US")).await;
    dup_domain.assert_error(409, "duplicate_customer");
    assert_eq!(dup_domain.body["code"], 409001);
    let mut dup_tenant = customer_body("Other", "other.example.com", "US");
    dup_tenant["companyProfile"]["tenantId"] = first["id"].clone();
    app.post("/v1/customers", t, &dup_tenant).await.assert_error(409, "duplicate_customer");
    assert_eq!(app.get("/v1/customers", t).await.body["totalCount"], 1);
}

async fn paging_never_skips_or_repeats_while_rows_are_added(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::HelpdeskAgent);
    let mut expected = HashSet::new();
    for i in 0..7 {
        // Several customers share one instant: the id breaks the tie.
        if i % 3 == 0 {
            app.clock.advance_micros(1);
        }
        expected.insert(
            app.customer(&p, &format!("Customer {i}"), &format!("c{i}.example.com"), "US").await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut page = app.get("/v1/customers?size=3", t).await;
    let mut added = 0;
    loop {
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert_eq!(page.body["totalCount"], items.len());
        assert_eq!(page.body["attributes"]["objectType"], "Collection");
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        // Rows added while paging appear later (they are newer), never shifting earlier pages.
        if added < 2 {
            added += 1;
            app.clock.advance_micros(1);
            expected.insert(
                app.customer(&p, &format!("Late {added}"), &format!("late{added}.example.com"), "US").await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let Some(next) = page.body["links"]["next"].as_object().cloned() else {
            break;
        };
        assert_eq!(next["method"], "GET");
        let uri = next["uri"].as_str().unwrap();
        assert!(uri.contains("seekOperation=Next") && uri.contains("size=3"), "{uri}");
        // Relative to the API root, as in Partner Center: the client's base URL ends in /v1.
        assert!(uri.starts_with("/customers?"), "{uri}");
        let uri = &format!("/v1{uri}");
        let header = &next["headers"][0];
        assert_eq!(header["key"], "MS-ContinuationToken");
        page = app
            .request(Method::GET, uri, Some(t), None, &[("MS-ContinuationToken", header["value"].as_str().unwrap())])
            .await;
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a row was repeated: {seen:?}");
    assert_eq!(unique, expected, "a row was skipped");
}

async fn idempotent_create_returns_the_first_response(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let key = uuid::Uuid::new_v4().to_string();
    let body = customer_body("Once Only", "once.example.com", "US");
    let first = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("MS-RequestId", &key)]).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.headers["ms-requestid"], key.as_str());
    let again = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("MS-RequestId", &key)]).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    // Idempotency-Key is the same header under another name.
    let again = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("Idempotency-Key", &key)]).await;
    assert_eq!(again.body, first.body);
    let other = customer_body("Different", "different.example.com", "US");
    app.request(Method::POST, "/v1/customers", Some(t), Some(&other), &[("MS-RequestId", &key)])
        .await
        .assert_error(409, "idempotency_key_reused");
    assert_eq!(app.get("/v1/customers", t).await.body["totalCount"], 1);
    // Another partner's identical key is its own.
    let q = app.partner("Beta", false).await;
    let theirs = app
        .request(Method::POST, "/v1/customers", Some(q.token(Role::AdminAgent)), Some(&body), &[("MS-RequestId", &key)])
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // A refused request does not consume its key: fixing the body and retrying works.
    let key2 = uuid::Uuid::new_v4().to_string();
    let bad = customer_body("Bad", "bad domain", "US");
    app.request(Method::POST, "/v1/customers", Some(t), Some(&bad), &[("MS-RequestId", &key2)])
        .await
        .assert_error(400, "invalid_request");
    let good = customer_body("Good", "good.example.com", "US");
    let ok = app.request(Method::POST, "/v1/customers", Some(t), Some(&good), &[("MS-RequestId", &key2)]).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // Keys last 24 hours of real time: afterwards the same key is a new request.
    app.clock.advance_micros(25 * 3600 * 1_000_000);
    let late = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("MS-RequestId", &key)]).await;
    late.assert_error(409, "duplicate_customer");
    // Secret-bearing responses are replayed, but kept encrypted at rest.
    let key3 = uuid::Uuid::new_v4().to_string();
    let tok = app
        .request(Method::POST, "/v1/users/me/tokens", Some(t), Some(&json!({"name": "ci"})), &[("MS-RequestId", &key3)])
        .await;
    assert_eq!(tok.status, 201);
    assert_eq!(tok.headers["cache-control"], "no-store");
    let replay = app
        .request(Method::POST, "/v1/users/me/tokens", Some(t), Some(&json!({"name": "ci"})), &[("MS-RequestId", &key3)])
        .await;
    assert_eq!(replay.body["token"], tok.body["token"]);
    // Keys are the partner's (SPEC §5), but a secret is replayed only to its owner: another user of the same partner
    // sending the same key and body is refused, and never gets this token.
    let other = app
        .request(
            Method::POST,
            "/v1/users/me/tokens",
            Some(p.token(Role::GlobalAdmin)),
            Some(&json!({"name": "ci"})),
            &[("MS-RequestId", &key3)],
        )
        .await;
    other.assert_error(409, "idempotency_key_reused");
    assert!(!other.text.contains(tok.body["token"].as_str().unwrap()));
    let secret = tok.body["token"].as_str().unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let row: (Vec<u8>, i64) = sqlx::query_as("SELECT response_body, encrypted FROM idempotency WHERE key = $1")
        .bind(&key3)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.1, 1);
    assert!(!row.0.windows(secret.len()).any(|w| w == secret.as_bytes()), "the token is stored in clear");
}

async fn a_repeat_while_the_first_runs_is_request_in_progress(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let body = customer_body("Slow Co", "slow.example.com", "US");
    let key = uuid::Uuid::new_v4().to_string();
    // The first request holds the key (as a request still running would): claimed with the same fingerprint.
    let fingerprint = services::idempotency::fingerprint("POST", "/v1/customers", &serde_json::to_vec(&body).unwrap());
    let claim = store::IdempotencyClaim {
        scope: format!("partner:{}", p.id),
        key: key.clone(),
        fingerprint,
        now: domain::Timestamp::from_micros(START),
        lease_micros: 60_000_000,
        ttl_micros: 86_400_000_000,
    };
    assert_eq!(app.store.claim_idempotency(&claim).await.unwrap(), store::ClaimOutcome::Claimed);
    let r = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("MS-RequestId", &key)]).await;
    r.assert_error(409, "request_in_progress");
    assert_eq!(r.body["code"], 409003);
    assert_eq!(app.get("/v1/customers", t).await.body["totalCount"], 0);
    // Once the lease has run out (the first request died), a retry runs.
    app.clock.advance_micros(60_000_000);
    let retry = app.request(Method::POST, "/v1/customers", Some(t), Some(&body), &[("MS-RequestId", &key)]).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}

async fn concurrent_creates_of_one_domain_make_one_customer(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent).to_string();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (http, url, t) = (app.http.clone(), app.url.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let body = customer_body(&format!("Racer {i}"), "race.example.com", "US");
            http.post(format!("{url}/v1/customers")).bearer_auth(t).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(app.get("/v1/customers", &t).await.body["totalCount"], 1);
    let v = app.get("/v1/auditrecords/verification", p.token(Role::GlobalAdmin)).await;
    assert_eq!(v.body["valid"], true);
}
