//! Crash safety and backups: what a 201 acknowledged survives `kill -9`; a backup restores every order.

use crate::cli::{serve_beside, BIN};
use crate::harness::*;
use domain::role::Role;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    // Eight clients check out carts as fast as they can until the server dies.
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, token, customer) = (http.clone(), url.clone(), token.clone(), customer.clone());
            let (acknowledged, stop, lines) = (acknowledged.clone(), stop.clone(), lines.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let cart = http
                        .post(format!("{url}/v1/customers/{customer}/carts"))
                        .bearer_auth(&token)
                        .json(&json!({"lineItems": lines}))
                        .send()
                        .await;
                    let Ok(cart) = cart else { break };
                    let Ok(cart) = cart.json::<Value>().await else { break };
                    let Some(cart_id) = cart["id"].as_str() else { break };
                    let done = http
                        .post(format!("{url}/v1/customers/{customer}/carts/{cart_id}/checkout"))
                        .bearer_auth(&token)
                        .json(&json!({}))
                        .send()
                        .await;
                    let Ok(done) = done else { break };
                    if done.status() == 201 {
                        if let Ok(body) = done.json::<Value>().await {
                            acknowledged.lock().unwrap().push(body["orders"][0]["id"].as_str().unwrap().to_string());
                        }
                    }
                }
            })
        })
        .collect();
    // Let the load run, then kill the server outright: no graceful anything.
    let started = std::time::Instant::now();
    while acknowledged.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        let _ = c.await;
    }
    let acked = acknowledged.lock().unwrap().clone();
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
