//! Crash safety and backups: what a 201 acknowledged survives `kill -9`; a backup restores every order.

use crate::cli::{serve_beside, BIN};
use crate::harness::*;
use domain::role::Role;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

crate::on_both_backends!(acknowledged_orders_survive_kill_9_and_no_half_order_exists);

/// A partner with a customer, plenty of key stock and an API token, made in-process; the server under test is the
/// real binary on the same database.
async fn setup(app: &TestApp) -> (TestPartner, String, Vec<Value>) {
    crate::api_catalog::import(app, &crate::api_catalog::sample_catalog()).await;
    let keys: Vec<String> = (0..3000).map(|i| format!("CRASH-KEY-{i:05}")).collect();
    let r = app.post("/v1/publisher/products/SQL2019STD/skus/0001/keys", PUBLISHER_TOKEN, &json!({"keys": keys})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = app.partner("Crash", false).await;
    let t = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let lines = vec![
        json!({"catalogItemId": crate::api_orders::item(app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}),
        json!({"catalogItemId": crate::api_orders::item(app, t, &c, "SLES", "0001").await, "quantity": 2}),
    ];
    (p, c, lines)
}

async fn acknowledged_orders_survive_kill_9_and_no_half_order_exists(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, customer, lines) = setup(&app).await;
    let token = p.token(Role::AdminAgent).to_string();
    let (mut server, url) = serve_beside(&app).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    // Eight clients check out carts as fast as they can until the server dies.
    let load = CheckoutLoad::start(&http, &url, &token, &customer, json!(lines), 8);
    // Let the load run, then kill the server outright: no graceful anything.
    load.wait_for(40, Duration::from_secs(30)).await;
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let (acked, _) = load.stop().await;
    assert!(acked.len() >= 40, "the load ran: {} orders acknowledged", acked.len());

    // Restart on the same database: every acknowledged order is there, whole.
    let (_again, url) = serve_beside(&app).await;
    for id in &acked {
        let r =
            http.get(format!("{url}/v1/customers/{customer}/orders/{id}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200, "order {id} was acknowledged with 201 but is gone");
    }
    let orders = app.scalar("SELECT COUNT(*) FROM orders").await;
    assert!(orders >= acked.len() as i64);
    // No half order: every order has its two lines, their two charges, one software item with one key each
    // (the SUSE plan's item has none), and its activity record; every ordered cart has its order.
    let check = |sql: &'static str| app.scalar(sql);
    assert_eq!(check("SELECT COUNT(*) FROM order_lines").await, 2 * orders);
    assert_eq!(check("SELECT COUNT(*) FROM ledger WHERE kind = 'new'").await, 2 * orders);
    assert_eq!(check("SELECT COUNT(*) FROM software_items").await, 2 * orders);
    assert_eq!(check("SELECT COUNT(*) FROM activation_keys WHERE software_item_id IS NOT NULL").await, orders);
    assert_eq!(check("SELECT COUNT(*) FROM audit_records WHERE operation_type = 'create_order'").await, orders);
    assert_eq!(check("SELECT COUNT(*) FROM carts WHERE status = 'ordered'").await, orders);
    // And the activity log still verifies.
    let v =
        http.get(format!("{url}/v1/auditrecords/verification")).bearer_auth(p.token(Role::GlobalAdmin)).send().await;
    let v: Value = v.unwrap().json().await.unwrap();
    assert_eq!(v["valid"], true, "{v}");
    eprintln!("{} orders acknowledged before kill -9, {orders} in the database after restart", acked.len());
}

/// `partnerhub backup` copies a live SQLite database; the copy opens on its own with every order and a chain
/// that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_every_order() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (p, customer, lines) = setup(&app).await;
    let t = p.token(Role::AdminAgent);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(crate::api_orders::buy(&app, t, &customer, json!(lines)).await["id"].as_str().unwrap().to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let secret = ["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="];
    let out = std::process::Command::new(BIN)
        .args(["backup", "--database-url", &app.db.url, "--output"])
        .arg(&copy)
        .args(secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("secret.key"), "it reminds to keep the key");
    // A second backup to the same file is refused rather than overwriting it.
    let again = std::process::Command::new(BIN)
        .args(["backup", "--database-url", &app.db.url, "--output"])
        .arg(&copy)
        .args(secret)
        .output()
        .unwrap();
    assert!(!again.status.success());
    // Restore = open the copy: every order is there, and the activity log verifies.
    let restored = format!("sqlite://{}", copy.display());
    let verify = std::process::Command::new(BIN)
        .args(["audit", "verify", "--database-url", &restored])
        .args(secret)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&restored).await.unwrap();
    for id in &ids {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM order_lines WHERE order_id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 2, "order {id} in the backup");
    }
    // PostgreSQL is backed up with pg_dump: the command says so instead of pretending.
    let pg = std::env::var("PARTNERHUB_TEST_PG_URL").unwrap_or_default();
    if !pg.is_empty() {
        let db = TestDb::new(Db::Postgres).await;
        let out = std::process::Command::new(BIN)
            .args(["backup", "--database-url", &db.url, "--output"])
            .arg(dir.path().join("pg.db"))
            .args(secret)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    }
}

/// R5, R7, R10, R12 across processes: two servers share one PostgreSQL and nothing else. Checkouts racing for a
/// small key stock never hand one key to two orders; racing cancels of one order credit once; racing invoice runs
/// issue one invoice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_keep_every_limit() {
    use domain::clock::Clock;
    let app = TestApp::spawn(Db::Postgres).await;
    // The servers run on real time; so does this setup, and the partner's test clock starts on 2026-01-15.
    let real = domain::clock::SystemClock.now().micros();
    app.clock.advance_micros(real - app.clock.now().micros());
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    let stock: Vec<String> = (0..5).map(|i| format!("RACE-KEY-{i}")).collect();
    app.post("/v1/publisher/products/SQL2019STD/skus/0001/keys", PUBLISHER_TOKEN, &json!({"keys": stock})).await;
    let p = app
        .post(
            "/v1/publisher/partners",
            PUBLISHER_TOKEN,
            &json!({"name": "Racer", "sandbox": true, "clockStart": "2026-01-15T10:00:00Z"}),
        )
        .await;
    let pid = p.body["id"].as_str().unwrap().to_string();
    let u = app
        .post(
            &format!("/v1/publisher/partners/{pid}/users"),
            PUBLISHER_TOKEN,
            &json!({"email": "racer@race.example", "displayName": "Racer", "roles": ["admin_agent", "global_admin"]}),
        )
        .await;
    let uid = u.body["id"].as_str().unwrap();
    let token =
        app.post(&format!("/v1/publisher/partners/{pid}/users/{uid}/tokens"), PUBLISHER_TOKEN, &json!({})).await.body
            ["token"]
            .as_str()
            .unwrap()
            .to_string();
    let c = app.post("/v1/customers", &token, &customer_body("Fabrikam", "fabrikam.example.com", "US")).await;
    let customer = c.body["id"].as_str().unwrap().to_string();
    let sql = crate::api_orders::item(&app, &token, &customer, "SQL2019STD", "0001").await;
    let (_one, one) = serve_beside(&app).await;
    let (_two, two) = serve_beside(&app).await;
    let servers = [one, two];
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let call = |i: usize, method: reqwest::Method, path: String, body: Value| {
        let (http, token, url) = (http.clone(), token.clone(), servers[i % 2].clone());
        async move {
            let r = http.request(method, format!("{url}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // 20 checkouts for 5 keys, spread over both servers.
    let mut carts = Vec::new();
    for i in 0..20 {
        let (status, cart) = call(
            i,
            reqwest::Method::POST,
            format!("/v1/customers/{customer}/carts"),
            json!({"lineItems": [{"catalogItemId": sql, "quantity": 1}]}),
        )
        .await;
        assert_eq!(status, 201, "{cart}");
        carts.push(cart["id"].as_str().unwrap().to_string());
    }
    let checkouts = futures::future::join_all(carts.iter().enumerate().map(|(i, cart)| {
        call(i, reqwest::Method::POST, format!("/v1/customers/{customer}/carts/{cart}/checkout"), json!({}))
    }))
    .await;
    let placed: Vec<&Value> = checkouts.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
    assert_eq!(placed.len(), 5, "one order per key");
    for (status, body) in checkouts.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, body["errorName"].as_str()), (409, Some("insufficient_key_stock")), "{body}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(DISTINCT software_item_id) FROM activation_keys WHERE software_item_id IS NOT NULL")
            .await,
        5
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM software_items WHERE key_id IS NOT NULL").await, 5);
    assert_eq!(app.scalar("SELECT COUNT(DISTINCT key_id) FROM software_items").await, 5, "no key serves two items");

    // 10 cancels of one order, spread over both servers: one credit.
    let order = placed[0]["orders"][0]["id"].as_str().unwrap().to_string();
    let cancels = futures::future::join_all((0..10).map(|i| {
        call(
            i,
            reqwest::Method::PATCH,
            format!("/v1/customers/{customer}/orders/{order}"),
            json!({"status": "cancelled"}),
        )
    }))
    .await;
    assert_eq!(cancels.iter().filter(|(s, _)| *s == 200).count(), 1);
    assert!(cancels.iter().all(|(s, b)| *s == 200 || (*s == 409 && b["errorName"] == "already_cancelled")));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'cancel'").await, 1);

    // SPEC §8 across processes: 10 desk answers, each through its own support request, each granting the whole
    // gross of one line, spread over both servers: one is granted, nine are over the charge.
    let refunded = placed[1]["orders"][0]["id"].as_str().unwrap().to_string();
    let gross = placed[1]["orders"][0]["lineItems"][0]["pricing"]["gross"].as_str().unwrap().to_string();
    let mut requests = Vec::new();
    for i in 0..11 {
        let body = crate::api_support::request_body(&customer, &refunded);
        let (status, r) = call(i, reqwest::Method::POST, "/v1/servicerequests/en-US".into(), body).await;
        assert_eq!(status, 201, "{r}");
        requests.push(r["id"].as_str().unwrap().to_string());
    }
    let desk = |i: usize, request: &str, body: Value| {
        let (http, url, path) =
            (http.clone(), servers[i % 2].clone(), format!("/v1/publisher/servicerequests/{request}"));
        async move {
            let r = http.patch(format!("{url}{path}")).bearer_auth(PUBLISHER_TOKEN).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let grant = json!({"refund": {"amount": gross, "currencyCode": "USD", "orderId": refunded, "lineItemNumber": 0}});
    let grants =
        futures::future::join_all(requests[..10].iter().enumerate().map(|(i, r)| desk(i, r, grant.clone()))).await;
    assert_eq!(grants.iter().filter(|(s, _)| *s == 200).count(), 1, "{grants:?}");
    assert!(grants.iter().all(|(s, b)| *s == 200 || (*s == 409 && b["errorName"] == "credit_exceeds_charge")));
    // A partner's cancel racing the desk's full refund of another order: together they give back the charge once.
    let raced = placed[2]["orders"][0]["id"].as_str().unwrap().to_string();
    let raced_gross = placed[2]["orders"][0]["lineItems"][0]["pricing"]["gross"].as_str().unwrap().to_string();
    let full = json!({"refund": {"amount": raced_gross, "currencyCode": "USD", "orderId": raced}});
    let (cancelled, granted) = tokio::join!(
        call(
            0,
            reqwest::Method::PATCH,
            format!("/v1/customers/{customer}/orders/{raced}"),
            json!({"status": "cancelled"})
        ),
        desk(1, &requests[10], full)
    );
    // The cancel always goes through (worked out again if the refund landed between its read and its write).
    assert_eq!(cancelled.0, 200, "{cancelled:?}");
    assert!(granted.0 == 200 || granted.1["errorName"] == "credit_exceeds_charge", "{granted:?}");
    for order in [&refunded, &raced] {
        let credited = app
            .scalar(&format!(
                "SELECT CAST(-SUM(gross_minor) AS BIGINT) FROM ledger WHERE order_id = '{order}' AND kind <> 'new'"
            ))
            .await;
        let charged =
            app.scalar(&format!("SELECT gross_minor FROM ledger WHERE order_id = '{order}' AND kind = 'new'")).await;
        assert_eq!(credited, charged, "order {order}: credited exactly its charge, once");
    }
    app.assert_ledger_valid().await;

    // The partner's month ends; 8 invoice runs over both servers: one invoice.
    let (status, _) = call(0, reqwest::Method::POST, "/v1/testclock/advance".into(), json!({"days": 20})).await;
    assert_eq!(status, 200);
    let runs = futures::future::join_all((0..8).map(|i| {
        let (http, url) = (http.clone(), servers[i % 2].clone());
        async move {
            let r = http
                .post(format!("{url}/v1/publisher/invoiceruns"))
                .bearer_auth(PUBLISHER_TOKEN)
                .json(&json!({"period": "2026-01"}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    }))
    .await;
    assert!(runs.iter().all(|s| *s == 200), "{runs:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE invoice_id IS NULL").await, 0);
    app.assert_ledger_valid().await;
}

/// SIGTERM lets a download in flight finish: the server stops taking connections, sends the rest of the file, then
/// exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_a_download_in_flight() {
    use domain::clock::Clock;
    use futures::StreamExt;
    let app = TestApp::spawn(Db::Sqlite).await;
    let real = domain::clock::SystemClock.now().micros();
    app.clock.advance_micros(real - app.clock.now().micros());
    let b = crate::api_downloads::bought(&app, false).await;
    let size = 24 * 1024 * 1024;
    let up = crate::api_downloads::upload(
        &app,
        "SQL2019STD",
        "version=2022&language=en-us&fileType=ISO&fileName=big.iso",
        crate::api_downloads::file_bytes(size, 1),
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.text);
    let r = app.post(&b.path("keysanddownloads"), b.agent(), &json!({"version": "2022"})).await;
    let token = crate::api_downloads::token_of(r.body["downloads"][0]["link"]["uri"].as_str().unwrap()).to_string();
    let (mut server, url) = serve_beside(&app).await;
    let res = reqwest::get(format!("{url}/download/{token}")).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut received = body.next().await.unwrap().unwrap().len();
    // Mid-transfer: ask the server to stop, then keep reading slowly.
    let pid = server.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused while the transfer drains.
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err(), "it stopped accepting");
    while let Some(chunk) = body.next().await {
        received += chunk.unwrap().len();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(received, size, "the whole file arrived after SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Clients checking out one-cart orders at `url` as fast as they can until stopped, each cart then its checkout:
/// the orders acknowledged (201) and how many answers of each other status came back. A request that gets no answer
/// (a server gone) is tried again after a moment.
pub struct CheckoutLoad {
    acknowledged: Arc<Mutex<Vec<String>>>,
    failed: Arc<Mutex<HashMap<u16, usize>>>,
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl CheckoutLoad {
    pub fn start(
        http: &reqwest::Client,
        url: &str,
        token: &str,
        customer: &str,
        lines: Value,
        clients: usize,
    ) -> CheckoutLoad {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..clients)
            .map(|_| {
                let (http, token) = (http.clone(), token.to_string());
                let carts = format!("{url}/v1/customers/{customer}/carts");
                let (acknowledged, failed, stop, lines) =
                    (acknowledged.clone(), failed.clone(), stop.clone(), lines.clone());
                tokio::spawn(async move {
                    let fail = |status: reqwest::StatusCode| {
                        *failed.lock().unwrap().entry(status.as_u16()).or_insert(0) += 1;
                    };
                    while !stop.load(Ordering::SeqCst) {
                        let cart = http.post(&carts).bearer_auth(&token).json(&json!({"lineItems": lines})).send();
                        let Ok(cart) = cart.await else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        if cart.status() != 201 {
                            fail(cart.status());
                            continue;
                        }
                        let Ok(cart) = cart.json::<Value>().await else { continue };
                        let checkout = format!("{carts}/{}/checkout", cart["id"].as_str().unwrap());
                        let Ok(done) = http.post(checkout).bearer_auth(&token).json(&json!({})).send().await else {
                            continue;
                        };
                        if done.status() != 201 {
                            fail(done.status());
                        } else if let Ok(body) = done.json::<Value>().await {
                            acknowledged.lock().unwrap().push(body["orders"][0]["id"].as_str().unwrap().to_string());
                        }
                    }
                })
            })
            .collect();
        CheckoutLoad { acknowledged, failed, stop, clients }
    }

    /// How many orders were acknowledged so far.
    pub fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Waits until at least `n` orders were acknowledged; fails after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) {
        let started = Instant::now();
        while self.count() < n {
            assert!(started.elapsed() < within, "only {} orders acknowledged within {within:?}", self.count());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the clients and returns the acknowledged orders' ids and the count of every other status.
    pub async fn stop(self) -> (Vec<String>, HashMap<u16, usize>) {
        self.stop.store(true, Ordering::SeqCst);
        for c in self.clients {
            c.await.unwrap();
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let failed = self.failed.lock().unwrap().clone();
        (acknowledged, failed)
    }
}
