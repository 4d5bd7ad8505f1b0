//! Webhooks (SPEC §3): registration, signed deliveries of every kind of activity record, retries on the injectable
//! clock, disabling, and at-least-once delivery across a `kill -9` and across two server processes.

use crate::api_downloads::{bought, enu_link};
use crate::cli::serve_beside_with;
use crate::harness::*;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use domain::audit::OperationType;
use domain::clock::Clock;
use domain::role::Role;
use domain::webhook::verify_signature;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub delivery: String,
    pub signature: String,
    pub event: String,
    pub body: String,
}

#[derive(Default)]
struct Inbox {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer with, in turn; 200 once they run out.
    answers: Mutex<VecDeque<u16>>,
    /// While set, requests are recorded and then never answered (a receiver that hangs).
    hang: std::sync::atomic::AtomicBool,
    /// How long each answer takes.
    delay: Mutex<Duration>,
}

/// An HTTP receiver on loopback that records every delivery.
pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inbox = Arc::new(Inbox::default());
        let state = inbox.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let inbox = state.clone();
                async move {
                    let header =
                        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    inbox.got.lock().unwrap().push(Received {
                        delivery: header("partnerhub-delivery"),
                        signature: header("partnerhub-signature"),
                        event: header("partnerhub-event"),
                        body,
                    });
                    if inbox.hang.load(std::sync::atomic::Ordering::SeqCst) {
                        std::future::pending::<()>().await;
                    }
                    let delay = *inbox.delay.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    let status = inbox.answers.lock().unwrap().pop_front().unwrap_or(200);
                    AxumStatus::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inbox }
    }

    pub fn answer_with(&self, statuses: &[u16]) {
        self.inbox.answers.lock().unwrap().extend(statuses);
    }

    pub fn answer_after(&self, delay: Duration) {
        *self.inbox.delay.lock().unwrap() = delay;
    }

    pub fn hang(&self, hang: bool) {
        self.inbox.hang.store(hang, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// Waits (polling) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < within, "only {} of {n} deliveries arrived within {within:?}", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A TCP listener on loopback that counts the connections it accepts and closes each at once (it speaks no TLS,
/// so an `https://` delivery to it fails after connecting).
async fn counting_listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    (port, count)
}

/// A port on loopback where nothing listens.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Registers an endpoint as the partner's global admin; returns (id, secret).
async fn register(app: &TestApp, p: &TestPartner, url: &str, kinds: &[&str]) -> (String, String) {
    let r = app.post("/v1/webhooks", p.token(Role::GlobalAdmin), &json!({"url": url, "operationTypes": kinds})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["id"].as_str().unwrap().to_string(), r.body["secret"].as_str().unwrap().to_string())
}

async fn deliveries(app: &TestApp, p: &TestPartner, webhook: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/webhooks/{webhook}/deliveries?size=500"), p.token(Role::GlobalAdmin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

async fn endpoint(app: &TestApp, p: &TestPartner, webhook: &str) -> Value {
    let r = app.get("/v1/webhooks", p.token(Role::GlobalAdmin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().find(|e| e["id"] == webhook).cloned().unwrap_or(Value::Null)
}

/// The partner's activity records, oldest first.
async fn activity(app: &TestApp, p: &TestPartner) -> Vec<Value> {
    let r =
        app.get("/v1/auditrecords?startDate=2025-01-01&endDate=2028-12-31&size=500", p.token(Role::GlobalAdmin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn unix_now(app: &TestApp) -> i64 {
    app.clock.now().micros() / 1_000_000
}

/// Issue 16.1: the address checked is the address connected to. A host name that resolves to this machine (or a
/// private network) passes registration, but the delivery's resolver refuses it, so nothing connects; the partner
/// reads one generic error whether a port is open, closed or refused, and the detail stays in the server's log.
async fn deliveries_never_reach_internal_addresses_through_a_host_name(db: Db) {
    let hosts = HashMap::from([
        ("hooks.internal.test".to_string(), vec!["127.0.0.1".parse().unwrap()]),
        ("metadata.internal.test".to_string(), vec!["169.254.169.254".parse().unwrap(), "10.0.0.7".parse().unwrap()]),
    ]);
    let app = TestApp::spawn_with(db, |s| s.webhook_hosts(hosts.clone())).await;
    let p = app.partner("Contoso", false).await;
    let admin = p.token(Role::GlobalAdmin);
    let (port, connections) = counting_listener().await;
    for url in [format!("https://hooks.internal.test:{port}/hook"), "https://metadata.internal.test/latest".into()] {
        let (id, _) = register(&app, &p, &url, &["create_customer"]).await;
        let test = app.post(&format!("/v1/webhooks/{id}/test"), admin, &json!({})).await;
        assert_eq!(test.status, 200, "{}", test.text);
        assert_eq!(test.body["status"], "failed");
        assert_eq!(test.body["attempts"][0]["error"], services::webhooks::NOT_DELIVERED, "{}", test.text);
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "no connection reached loopback");
    // Literals that embed or alias an internal IPv4 address are refused at registration.
    for literal in ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "198.18.0.1", "224.0.0.1"] {
        let r = app
            .post(
                "/v1/webhooks",
                admin,
                &json!({"url": format!("https://{literal}/h"), "operationTypes": ["create_order"]}),
            )
            .await;
        r.assert_error(400, "invalid_request");
    }

    // The same name with --allow-insecure-webhooks (local development) does connect: the refusal above was the
    // resolver's, not a name that failed to resolve. An open port and a closed one read the same to the partner.
    let dev = TestApp::spawn_with(db, |s| s.allow_insecure_webhooks(true).webhook_hosts(hosts.clone())).await;
    let p = dev.partner("Fabrikam", false).await;
    let closed = closed_port().await;
    let mut errors = HashSet::new();
    for url in
        [format!("https://hooks.internal.test:{port}/hook"), format!("https://hooks.internal.test:{closed}/hook")]
    {
        let (id, _) = register(&dev, &p, &url, &["create_customer"]).await;
        let test = dev.post(&format!("/v1/webhooks/{id}/test"), p.token(Role::GlobalAdmin), &json!({})).await;
        assert_eq!(test.body["status"], "failed", "{}", test.text);
        errors.insert(test.body["attempts"][0]["error"].as_str().unwrap().to_string());
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1, "the open port was reached once");
    assert_eq!(errors, HashSet::from([services::webhooks::NOT_DELIVERED.to_string()]), "no port-scan oracle");
}

crate::on_both_backends!(
    endpoints_are_registered_validated_listed_and_deleted,
    every_kind_of_record_arrives_once_signed_and_as_the_api_shows_it,
    a_receiver_that_fails_twice_gets_the_delivery_on_the_third_attempt,
    an_endpoint_failing_for_three_days_is_disabled_and_a_good_test_enables_it_again,
    deliveries_never_reach_internal_addresses_through_a_host_name,
    a_partner_whose_endpoints_hang_does_not_delay_another_partners_delivery,
);

/// Issue 16.2: eight endpoints of one partner that never answer hold eight sending slots for ten seconds each; the
/// dispatcher neither gives them every slot nor waits for them, so another partner's delivery goes out at the
/// next poll.
async fn a_partner_whose_endpoints_hang_does_not_delay_another_partners_delivery(db: Db) {
    let app = TestApp::spawn(db).await;
    let hog = app.partner("Hog", false).await;
    let hanging = Receiver::start().await;
    hanging.hang(true);
    for _ in 0..8 {
        register(&app, &hog, &hanging.url, &["create_customer"]).await;
    }
    for i in 0..3 {
        app.customer(&hog, &format!("Hog customer {i}"), &format!("hog{i}.example"), "US").await;
    }
    let other = app.partner("Other", false).await;
    let quick = Receiver::start().await;
    register(&app, &other, &quick.url, &["create_customer"]).await;
    tokio::spawn(app.services.clone().run_webhook_dispatcher());
    // Every slot the hog may hold is hanging (24 of its deliveries are due).
    hanging.wait_for(8, Duration::from_secs(10)).await;
    let created = Instant::now();
    app.customer(&other, "Patient Co", "patient.example", "US").await;
    quick.wait_for(1, Duration::from_secs(15)).await;
    let waited = created.elapsed();
    eprintln!("the other partner's delivery arrived {waited:?} after its record");
    assert!(waited < Duration::from_secs(1), "delayed {waited:?} by another partner's hanging endpoints");
    assert_eq!(hanging.received().len(), 8, "the hog holds no more than its eight slots");
}

async fn endpoints_are_registered_validated_listed_and_deleted(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let admin = p.token(Role::GlobalAdmin);
    for (body, field) in [
        (json!({"url": "http://hooks.example.com/", "operationTypes": ["create_order"]}), "url"),
        (json!({"url": "ftp://hooks.example.com/", "operationTypes": ["create_order"]}), "url"),
        (json!({"url": "https://u:p@hooks.example.com/", "operationTypes": ["create_order"]}), "url"),
        (json!({"url": "https://hooks.example.com/", "operationTypes": []}), "operationTypes"),
        (json!({"url": "https://hooks.example.com/", "operationTypes": ["create_order", "buy"]}), "operationTypes[1]"),
    ] {
        let r = app.post("/v1/webhooks", admin, &body).await;
        let e = r.assert_error(400, "invalid_request");
        assert!(e["description"].as_str().unwrap().starts_with(&format!("{field}: ")), "{}", r.text);
    }
    app.post("/v1/webhooks", admin, &json!({"url": "https://hooks.example.com/"}))
        .await
        .assert_error(400, "invalid_request");

    // The secret is shown once, never stored in the clear, and a retry under the same key gets the same one.
    let key = [("MS-RequestId", "register-1")];
    let body = json!({"url": "https://hooks.example.com/partnerhub", "operationTypes": ["create_order", "create_order", "download_software"]});
    let first = app.request(Method::POST, "/v1/webhooks", Some(admin), Some(&body), &key).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.headers["cache-control"], "no-store");
    let secret = first.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    assert_eq!(first.body["operationTypes"], json!(["create_order", "download_software"]));
    assert_eq!(first.body["status"], "enabled");
    let again = app.request(Method::POST, "/v1/webhooks", Some(admin), Some(&body), &key).await;
    assert_eq!((again.status.as_u16(), &again.body), (201, &first.body));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhook_endpoints").await, 1);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let sealed: Vec<u8> =
        sqlx::Row::get(&sqlx::query("SELECT secret FROM webhook_endpoints").fetch_one(&mut conn).await.unwrap(), 0);
    assert!(sealed.len() > secret.len(), "sealed: nonce, ciphertext and tag");
    assert!(!sealed.windows(16).any(|w| secret.as_bytes().windows(16).any(|s| s == w)), "never in the clear");
    let list = app.get("/v1/webhooks", admin).await;
    assert_eq!(list.body["totalCount"], 1);
    assert!(!list.text.contains(secret) && list.body["items"][0].get("secret").is_none(), "{}", list.text);

    // A test event to an address that refuses: the attempt says why, and a test is not retried.
    let id = first.body["id"].as_str().unwrap();
    let (down, _) = register(&app, &p, "http://127.0.0.1:9/hook", &["create_customer"]).await;
    let test = app.post(&format!("/v1/webhooks/{down}/test"), admin, &json!({})).await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert_eq!(test.body["status"], "failed");
    assert_eq!(test.body["operationType"], "webhook_test");
    assert_eq!(test.body["attempts"][0]["error"], services::webhooks::NOT_DELIVERED, "{}", test.text);
    assert!(test.body["attempts"][0]["statusCode"].is_null());
    assert_eq!(deliveries(&app, &p, &down).await[0]["id"], test.body["id"]);

    // At most ten endpoints.
    for i in 2..10 {
        register(&app, &p, &format!("https://hooks{i}.example.com/"), &["create_order"]).await;
    }
    let eleventh = app
        .post("/v1/webhooks", admin, &json!({"url": "https://more.example.com/", "operationTypes": ["create_order"]}))
        .await;
    eleventh.assert_error(409, "conflict");

    // Deleting takes its deliveries with it; another partner sees nothing of it.
    let other = app.partner("Beta", false).await;
    let theirs = other.token(Role::GlobalAdmin);
    assert_eq!(app.get("/v1/webhooks", theirs).await.body["totalCount"], 0);
    app.request(Method::DELETE, &format!("/v1/webhooks/{down}"), Some(theirs), None, &[])
        .await
        .assert_error(404, "not_found");
    let gone = app.request(Method::DELETE, &format!("/v1/webhooks/{down}"), Some(admin), None, &[]).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhook_deliveries").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhook_attempts").await, 0);
    app.request(Method::DELETE, &format!("/v1/webhooks/{down}"), Some(admin), None, &[])
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/webhooks/{down}/deliveries"), admin).await.assert_error(404, "not_found");
    app.get("/v1/webhooks/not-an-id/deliveries", admin).await.assert_error(404, "not_found");
    // Only global admins manage endpoints.
    app.get("/v1/webhooks", p.token(Role::AdminAgent)).await.assert_error(403, "forbidden");
    // Registrations and deletions are in the activity log.
    let records = activity(&app, &p).await;
    let kinds: Vec<&str> = records.iter().map(|r| r["operationType"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "create_webhook").count(), 10);
    assert_eq!(kinds.iter().filter(|k| **k == "delete_webhook").count(), 1);
    let created = records.iter().find(|r| r["operationType"] == "create_webhook").unwrap();
    assert_eq!(created["resourceType"], "webhook");
    assert!(created.to_string().contains(id) && !created.to_string().contains(secret));
}

async fn every_kind_of_record_arrives_once_signed_and_as_the_api_shows_it(db: Db) {
    let app = TestApp::spawn(db).await;
    tokio::spawn(app.services.clone().run_webhook_dispatcher());
    let b = bought(&app, true).await;
    let p = &b.p;
    let admin = p.token(Role::GlobalAdmin);
    let agent = b.agent();
    let all = Receiver::start().await;
    let some = Receiver::start().await;
    let every: Vec<&str> = OperationType::ALL.iter().map(|o| o.as_str()).collect();
    let (all_id, all_secret) = register(&app, p, &all.url, &every).await;
    let (some_id, _) = register(&app, p, &some.url, &["download_software", "get_software_key"]).await;

    // One of every kind of activity record, from here on.
    let first_customer = Instant::now();
    app.customer(p, "Webhook Co", "webhook.example.com", "US").await;
    // The two registrations and the customer; deliveries go out in parallel, so in any order.
    let got = all.wait_for(3, Duration::from_secs(10)).await;
    eprintln!("three records arrived {:?} after the customer was created", first_customer.elapsed());
    assert!(got.iter().any(|g| g.event == "create_customer"), "{got:?}");
    let user = app
        .post(
            "/v1/users",
            admin,
            &json!({"email": "hooked@alpha.example", "displayName": "Hooked", "roles": ["helpdesk_agent"]}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.text);
    let uid = user.body["id"].as_str().unwrap();
    assert_eq!(app.patch(&format!("/v1/users/{uid}"), admin, &json!({"displayName": "Hooked Too"})).await.status, 200);
    let token = app.post("/v1/users/me/tokens", agent, &json!({"name": "hooks"})).await;
    let tid = token.body["id"].as_str().unwrap();
    let revoked = app.request(Method::DELETE, &format!("/v1/users/me/tokens/{tid}"), Some(agent), None, &[]).await;
    assert_eq!(revoked.status, 204);
    let link = enu_link(&app, &b).await;
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 200);
    let links = app.get(&b.path("downloadlinks"), agent).await;
    let link_id = links.body["items"][0]["id"].as_str().unwrap();
    let link_path = b.path(&format!("downloadlinks/{link_id}"));
    assert_eq!(app.request(Method::DELETE, &link_path, Some(agent), None, &[]).await.status, 204);
    let sles = crate::api_orders::item(&app, agent, &b.customer, "SLES", "0001").await;
    crate::api_orders::buy(&app, agent, &b.customer, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    let orders = app.get(&format!("/v1/customers/{}/orders", b.customer), agent).await;
    let sql_order = orders.body["items"][0]["id"].as_str().unwrap();
    let cancel = app
        .patch(&format!("/v1/customers/{}/orders/{sql_order}", b.customer), agent, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.text);
    let profile = json!({"email": "accounts@webhook.example.com", "firstName": "Hook",
        "defaultAddress": {"country": "US", "city": "Springfield", "addressLine1": "2 Main Street"}});
    let updated = app
        .request(
            Method::PUT,
            &format!("/v1/customers/{}/profiles/billing", b.customer),
            Some(agent),
            Some(&profile),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let filed = app
        .post(
            "/v1/servicerequests/en-US",
            agent,
            &json!({"title": "Hooks", "description": "A request the webhook hears of.", "severity": "minimal",
                "supportTopicId": "technical",
                "primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.example", "phoneNumber": "+1 555 0100"}}),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let rid = filed.body["id"].as_str().unwrap();
    assert_eq!(
        app.patch(&format!("/v1/servicerequests/{rid}"), agent, &json!({"newNote": {"text": "more"}})).await.status,
        200
    );
    assert_eq!(app.post("/v1/testclock/advance", agent, &json!({"seconds": 60})).await.status, 200);
    let (third, _) = register(&app, p, "https://hooks.example.com/third", &["create_order"]).await;
    let deleted = app.request(Method::DELETE, &format!("/v1/webhooks/{third}"), Some(admin), None, &[]).await;
    assert_eq!(deleted.status, 204);

    // Every record since the endpoint's own registration, exactly once, in the order they were written.
    let records = activity(&app, p).await;
    let start = records.iter().position(|r| r["operationType"] == "create_webhook").unwrap();
    let expected: Vec<&Value> = records[start..].iter().collect();
    let got = all.wait_for(expected.len(), Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // two more rounds: nothing else may arrive
    let got_now = all.received();
    assert_eq!(got_now.len(), expected.len(), "no record is delivered twice");
    let kinds: HashSet<&str> = expected.iter().map(|r| r["operationType"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), OperationType::ALL.len(), "every kind of record: {kinds:?}");
    let ids: HashSet<&str> = got.iter().map(|g| g.delivery.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "one delivery id per delivery");
    let by_record: HashMap<String, &Received> = got
        .iter()
        .map(|g| (serde_json::from_str::<Value>(&g.body).unwrap()["id"].as_str().unwrap().to_string(), g))
        .collect();
    for record in &expected {
        let g = by_record.get(record["id"].as_str().unwrap()).unwrap_or_else(|| panic!("missing {record}"));
        assert!(verify_signature(all_secret.as_bytes(), &g.signature, g.body.as_bytes(), unix_now(&app)), "{g:?}");
        assert!(!verify_signature(b"whsec_wrong", &g.signature, g.body.as_bytes(), unix_now(&app)));
        assert_eq!(
            &serde_json::from_str::<Value>(&g.body).unwrap(),
            *record,
            "the body is the record as the API shows it"
        );
        assert_eq!(g.event, record["operationType"].as_str().unwrap());
    }
    // The second endpoint hears only what it asked for.
    let wanted: Vec<&Value> = expected
        .iter()
        .copied()
        .filter(|r| r["operationType"] == "download_software" || r["operationType"] == "get_software_key")
        .collect();
    assert_eq!(wanted.len(), 2);
    let theirs = some.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(theirs.len(), 2);
    // The partner sees each delivery and its one successful attempt.
    let listed = deliveries(&app, p, &all_id).await;
    assert_eq!(listed.len(), expected.len());
    assert!(
        listed.iter().all(|d| d["status"] == "succeeded"
            && d["attempts"].as_array().unwrap().len() == 1
            && d["attempts"][0]["statusCode"] == 200
            && d["nextAttemptDate"].is_null()),
        "{listed:?}"
    );
    assert_eq!(deliveries(&app, p, &some_id).await.len(), 2);
}

async fn a_receiver_that_fails_twice_gets_the_delivery_on_the_third_attempt(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let r = Receiver::start().await;
    r.answer_with(&[500, 503]);
    let (id, secret) = register(&app, &p, &r.url, &["create_customer"]).await;
    app.customer(&p, "Retry Co", "retry.example.com", "US").await;
    let s = 1_000_000;

    // The dispatcher's rounds are run by hand here, on the test's clock.
    let round = app.services.dispatch_webhooks().await.unwrap();
    assert_eq!((round.enqueued, round.attempted), (1, 1));
    let listed = deliveries(&app, &p, &id).await;
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["attempts"][0]["statusCode"], 500);
    assert_eq!(listed[0]["attempts"][0]["error"], "the endpoint answered 500");
    let next = domain::Timestamp::parse_rfc3339(listed[0]["nextAttemptDate"].as_str().unwrap()).unwrap();
    let wait = next.micros() - app.clock.now().micros();
    assert!((24 * s..=36 * s).contains(&wait), "30 s ± 20%: {wait}");
    assert!(endpoint(&app, &p, &id).await["failingSince"].is_string());
    // Not due yet: nothing is sent.
    assert_eq!(app.services.dispatch_webhooks().await.unwrap().attempted, 0);
    app.clock.advance_micros(wait - 1);
    assert_eq!(app.services.dispatch_webhooks().await.unwrap().attempted, 0);
    app.clock.advance_micros(1);
    assert_eq!(app.services.dispatch_webhooks().await.unwrap().attempted, 1);
    // Second failure: about a minute.
    app.clock.advance_micros(60 * s * 6 / 5);
    assert_eq!(app.services.dispatch_webhooks().await.unwrap().attempted, 1);
    assert_eq!(app.services.dispatch_webhooks().await.unwrap().attempted, 0);

    let got = r.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|g| g.delivery == got[0].delivery && g.body == got[0].body), "the same delivery each time");
    let last = &got[2];
    assert!(verify_signature(secret.as_bytes(), &last.signature, last.body.as_bytes(), unix_now(&app)));
    let listed = deliveries(&app, &p, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], got[0].delivery.as_str());
    assert_eq!(listed[0]["status"], "succeeded");
    let statuses: Vec<&Value> = listed[0]["attempts"].as_array().unwrap().iter().map(|a| &a["statusCode"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
    let numbers: Vec<&Value> = listed[0]["attempts"].as_array().unwrap().iter().map(|a| &a["number"]).collect();
    assert_eq!(numbers, [&json!(1), &json!(2), &json!(3)]);
    assert!(endpoint(&app, &p, &id).await["failingSince"].is_null(), "a success ends the failing");
    // Housekeeping keeps finished deliveries for 30 days, then forgets them with their attempts.
    app.clock.advance_micros(29 * 86_400 * s);
    assert_eq!(app.services.purge_deliveries().await.unwrap(), 0);
    app.clock.advance_micros(2 * 86_400 * s);
    assert_eq!(app.services.purge_deliveries().await.unwrap(), 1);
    assert!(deliveries(&app, &p, &id).await.is_empty());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhook_attempts").await, 0);
}

async fn an_endpoint_failing_for_three_days_is_disabled_and_a_good_test_enables_it_again(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let r = Receiver::start().await;
    r.answer_with(&[500; 64]);
    let (id, _) = register(&app, &p, &r.url, &["create_customer"]).await;
    app.customer(&p, "Down Co", "down.example.com", "US").await;
    let hour = 3_600_000_000i64;
    let mut rounds = 0;
    // 8-hour steps: longer than the longest retry delay (6 hours + 20%), so every round makes one attempt.
    while endpoint(&app, &p, &id).await["status"] == "enabled" {
        app.services.dispatch_webhooks().await.unwrap();
        app.clock.advance_micros(8 * hour);
        rounds += 1;
        assert!(rounds < 30, "never disabled");
    }
    let e = endpoint(&app, &p, &id).await;
    let reason = e["disabledReason"].as_str().unwrap();
    assert!(reason.contains("no delivery succeeded since") && reason.contains("answered 500"), "{reason}");
    assert!(e["disabledDate"].is_string());
    // The 10th attempt, 72 hours after the first, finds the endpoint failing for three days.
    assert_eq!(rounds, 10);
    assert_eq!(r.received().len(), 10);
    let listed = deliveries(&app, &p, &id).await;
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["attempts"].as_array().unwrap().len(), 10);
    // Disabled: what happens now waits, and nothing is sent.
    app.customer(&p, "Later Co", "later.example.com", "US").await;
    let round = app.services.dispatch_webhooks().await.unwrap();
    assert_eq!((round.enqueued, round.attempted), (0, 0));
    assert_eq!(r.received().len(), 10);
    // The receiver is fixed; a good test enables the endpoint, and it resumes where it stopped.
    r.inbox.answers.lock().unwrap().clear();
    let test = app.post(&format!("/v1/webhooks/{id}/test"), p.token(Role::GlobalAdmin), &json!({})).await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert_eq!(test.body["status"], "succeeded");
    assert_eq!(test.body["attempts"][0]["statusCode"], 200);
    let e = endpoint(&app, &p, &id).await;
    assert_eq!(e["status"], "enabled");
    assert!(e["disabledReason"].is_null() && e["failingSince"].is_null());
    let round = app.services.dispatch_webhooks().await.unwrap();
    assert_eq!((round.enqueued, round.attempted), (1, 1));
    let got = r.received();
    assert_eq!(got.len(), 12, "10 failures, the test, and the record made while disabled");
    assert!(got[11].body.contains("Later Co"));
}

/// At least once across a crash: the server is killed while the receiver holds a delivery; after a restart the
/// same delivery (same `Partnerhub-Delivery` id and body) is sent again, once its hold has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_cut_off_by_kill_9_is_sent_again_after_a_restart() {
    let app = TestApp::spawn(Db::Sqlite).await;
    // The server runs on real time.
    app.clock.advance_micros(domain::clock::SystemClock.now().micros() - app.clock.now().micros());
    let p = app.partner("Alpha", false).await;
    let r = Receiver::start().await;
    r.hang(true);
    let (id, secret) = register(&app, &p, &r.url, &["create_customer"]).await;
    let (mut server, url) = serve_beside_with(&app, &["--allow-insecure-webhooks"]).await;
    let created = app
        .http
        .post(format!("{url}/v1/customers"))
        .bearer_auth(p.token(Role::AdminAgent))
        .json(&customer_body("Crash Co", "crash.example.com", "US"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let first = r.wait_for(1, Duration::from_secs(10)).await[0].clone();
    server.start_kill().unwrap(); // SIGKILL, mid-delivery
    server.wait().await.unwrap();
    r.hang(false);
    let killed_at = Instant::now();
    let (_server, _) = serve_beside_with(&app, &["--allow-insecure-webhooks"]).await;
    let got = r.wait_for(2, Duration::from_secs(40)).await;
    eprintln!("sent again {:?} after the restart", killed_at.elapsed());
    assert_eq!(got[1].delivery, first.delivery, "the same delivery id");
    assert_eq!(got[1].body, first.body);
    let now = domain::clock::SystemClock.now().micros() / 1_000_000;
    assert!(verify_signature(secret.as_bytes(), &got[1].signature, got[1].body.as_bytes(), now));
    // Recorded once it was answered: one delivery, succeeded; the cut-off attempt left no trace but the resend.
    let started = Instant::now();
    loop {
        let listed = deliveries(&app, &p, &id).await;
        if listed[0]["status"] == "succeeded" {
            assert_eq!(listed.len(), 1);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(r.received().len(), 2, "nothing more");
}

/// Two server processes on one PostgreSQL: each record reaches the endpoint once, not once per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_deliver_each_record_once() {
    let app = TestApp::spawn(Db::Postgres).await;
    app.clock.advance_micros(domain::clock::SystemClock.now().micros() - app.clock.now().micros());
    let p = app.partner("Alpha", false).await;
    let r = Receiver::start().await;
    // Slower than a dispatcher round: while one process sends, the other looks for due deliveries several times.
    r.answer_after(Duration::from_millis(600));
    let (id, _) = register(&app, &p, &r.url, &["create_customer"]).await;
    let (_one, one) = serve_beside_with(&app, &["--allow-insecure-webhooks"]).await;
    let (_two, two) = serve_beside_with(&app, &["--allow-insecure-webhooks"]).await;
    let n = 40;
    let created = futures::future::join_all((0..n).map(|i| {
        let url = format!("{}/v1/customers", if i % 2 == 0 { &one } else { &two });
        let req = app.http.post(url).bearer_auth(p.token(Role::AdminAgent)).json(&customer_body(
            &format!("Twin {i}"),
            &format!("twin{i}.example.com"),
            "US",
        ));
        async move { req.send().await.unwrap().status().as_u16() }
    }))
    .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let got = r.wait_for(n, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // several more rounds of both dispatchers
    let got_now = r.received();
    let deliveries: HashSet<&str> = got_now.iter().map(|g| g.delivery.as_str()).collect();
    assert_eq!(got_now.len(), n, "each record once ({} requests for {} deliveries)", got_now.len(), deliveries.len());
    assert_eq!(deliveries.len(), n);
    assert_eq!(got.len(), n);
    let succeeded = app
        .scalar(&format!("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = '{id}' AND status = 'succeeded' AND attempts = 1"))
        .await;
    assert_eq!(succeeded, n as i64);
}

/// The README's verification snippet, run by Python against a real delivery: it accepts it, and refuses another
/// body, another secret and a timestamp over 5 minutes old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_python_snippet_verifies_real_deliveries() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme.find("```python\n").expect("a Python block in the README") + 10;
    let snippet = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(snippet.contains("def verify("), "{snippet}");
    let app = TestApp::spawn(Db::Sqlite).await;
    let p = app.partner("Alpha", false).await;
    let r = Receiver::start().await;
    let (id, secret) = register(&app, &p, &r.url, &["create_customer"]).await;
    let test = app.post(&format!("/v1/webhooks/{id}/test"), p.token(Role::GlobalAdmin), &json!({})).await;
    assert_eq!(test.body["status"], "succeeded", "{}", test.text);
    let got = r.received().pop().unwrap();
    let now = unix_now(&app);
    let cases = json!([
        [secret, got.signature, got.body, now, true],
        [secret, got.signature, got.body, now + 300, true],
        [secret, got.signature, got.body, now + 301, false],
        [secret, got.signature, format!("{} ", got.body), now, false],
        ["whsec_other", got.signature, got.body, now, false],
        [secret, "v1=00", got.body, now, false],
    ]);
    let program = format!(
        "{snippet}\nimport json, sys\nfor secret, header, body, now, _ in json.load(sys.stdin):\n    \
         print(verify(secret, header, body.encode(), now=now))\n"
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &program])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(cases.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    let expected: Vec<&str> =
        cases.as_array().unwrap().iter().map(|c| if c[4] == true { "True" } else { "False" }).collect();
    assert_eq!(answers, expected);
}
