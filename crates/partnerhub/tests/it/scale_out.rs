//! Scale-out (docs/scaling.md): three `partnerhub serve` processes on one PostgreSQL and one S3 bucket (SeaweedFS),
//! behind nginx as the load balancer on loopback. What one server does, the others see: files, download counts,
//! orders, webhook deliveries, the test clock, sessions and idempotency keys; and killing a server loses no
//! acknowledged order. Needs `PARTNERHUB_TEST_PG_URL`, `PARTNERHUB_TEST_S3_URL` (with the `AWS_*` variables) and
//! nginx (`nginx` on the PATH, /usr/sbin/nginx, or `PARTNERHUB_TEST_NGINX`), as scripts/test provides; it fails
//! rather than skips without them.

use crate::api_downloads::{bought, fetch, file_bytes, sha256_hex, token_of, Bought};
use crate::api_webhooks::Receiver;
use crate::cli::serve_beside_with;
use crate::harness::*;
use crate::reliability::CheckoutLoad;
use crate::ui_basics::{user_with_password, Browser, PASSWORD};
use domain::clock::Clock;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// nginx on loopback in front of `servers`, round robin, as one process (no master, no daemon): it goes when the
/// test drops it. Its `X-Upstream` response header names the server that answered.
struct Nginx {
    url: String,
    _process: tokio::process::Child,
    _dir: tempfile::TempDir,
}

fn nginx_binary() -> String {
    if let Ok(path) = std::env::var("PARTNERHUB_TEST_NGINX") {
        return path;
    }
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("nginx is not installed: run the tests with scripts/test, which installs it (the scale-out test fails rather than skips without it)")
}

impl Nginx {
    async fn start(servers: &[String]) -> Nginx {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Its worker may run as another user when the test runs as root.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.path().display();
        let upstreams: String = servers
            .iter()
            .map(|s| format!("        server {} max_fails=1 fail_timeout=30s;\n", s.trim_start_matches("http://")))
            .collect();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 2048; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
             \x20   fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             \x20   client_max_body_size 0;\n\
             \x20   upstream partnerhub {{\n{upstreams}        keepalive 64;\n    }}\n\
             \x20   server {{\n        listen 127.0.0.1:{port};\n        location / {{\n\
             \x20           proxy_pass http://partnerhub;\n            proxy_http_version 1.1;\n\
             \x20           proxy_set_header Connection \"\";\n            proxy_set_header Host $http_host;\n\
             \x20           proxy_request_buffering off;\n            proxy_buffering off;\n\
             \x20           proxy_next_upstream error timeout;\n\
             \x20           add_header X-Upstream $upstream_addr always;\n        }}\n    }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let process = tokio::process::Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{url}/readyz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start: {log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Nginx { url, _process: process, _dir: dir }
    }
}

/// JSON over HTTP to one address (a server or the load balancer).
async fn call(http: &reqwest::Client, method: Method, url: String, token: &str, body: Option<&Value>) -> Res {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    Res::of(req.send().await.unwrap()).await
}

/// The scale-out test, on PostgreSQL with the files in S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_behind_nginx_share_one_postgresql_and_one_bucket() {
    on_s3(three_servers_behind_nginx()).await
}

async fn three_servers_behind_nginx() {
    let started = Instant::now();
    let app = TestApp::spawn(Db::Postgres).await;
    assert!(matches!(app.blobs, services::blobs::BlobLocation::S3 { .. }));
    // The servers run on real time: the setup (made in-process, same database and bucket) does too.
    app.clock.advance_micros(domain::clock::SystemClock.now().micros() - app.clock.now().micros());
    let b = bought(&app, false).await;
    let keys: Vec<String> = (0..2000).map(|i| format!("SCALE-KEY-{i:05}")).collect();
    let stocked =
        app.post("/v1/publisher/products/SQL2019STD/skus/0001/keys", PUBLISHER_TOKEN, &json!({"keys": keys})).await;
    assert_eq!(stocked.status, 200, "{}", stocked.text);
    let receiver = Receiver::start().await;
    // Slower than a dispatcher round: while one process sends, the others look for due deliveries several times.
    receiver.answer_after(Duration::from_millis(300));
    let hook = app
        .post(
            "/v1/webhooks",
            b.p.token(Role::GlobalAdmin),
            &json!({"url": receiver.url, "operationTypes": ["create_customer"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);

    // Three servers, then nginx in front of them.
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..3 {
        let (child, url) = serve_beside_with(&app, &["--allow-insecure-webhooks"]).await;
        servers.push(child);
        urls.push(url);
    }
    let lb = Nginx::start(&urls).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(20)).build().unwrap();
    eprintln!("set up in {:.1}s", started.elapsed().as_secs_f64());

    // 1. A file uploaded through one server downloads through the others, whole and by range.
    let fra = file_bytes(1_500_000, 11);
    let up = http
        .post(format!(
            "{}/v1/publisher/products/SQL2019STD/artifacts?version=2019&language=fr-fr&fileType=ISO&fileName=FRA.iso",
            urls[0]
        ))
        .bearer_auth(PUBLISHER_TOKEN)
        .body(fra.clone())
        .send()
        .await
        .unwrap();
    let up = Res::of(up).await;
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!(up.body["sha256"], sha256_hex(&fra));
    let link = fra_link(&http, &urls[1], &b).await;
    let token = token_of(&link).to_string();
    let whole = fetch(&http, Method::GET, &format!("{}/download/{token}", urls[2]), &[]).await;
    assert_eq!(whole.status, 200);
    assert!(whole.body == fra, "the file as uploaded through another server");
    let part =
        fetch(&http, Method::GET, &format!("{}/download/{token}", urls[0]), &[("range", "bytes=1000-1999")]).await;
    assert_eq!(part.status, 206);
    assert!(part.body == fra[1000..2000]);

    // 2. 200 concurrent downloads of one link through the load balancer: exactly 50, from all three servers.
    let link = fra_link(&http, &urls[2], &b).await;
    let token = token_of(&link).to_string();
    let answers = futures::future::join_all((0..200).map(|_| {
        let (http, url) = (http.clone(), format!("{}/download/{token}", lb.url));
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            let upstream = res.headers().get("x-upstream").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body = res.bytes().await.unwrap();
            (status, upstream, body.len())
        }
    }))
    .await;
    let served: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 200).collect();
    assert_eq!(served.len(), 50, "exactly 50 downloads across three servers");
    assert!(served.iter().all(|(_, _, len)| *len == fra.len()));
    assert!(answers.iter().all(|(s, _, _)| *s == 200 || *s == 410), "only 200 or 410");
    let answered_by: HashSet<&str> = answers.iter().map(|(_, u, _)| u.as_str()).collect();
    assert_eq!(answered_by.len(), 3, "every server answered some: {answered_by:?}");
    let hash = sha256_hex(token.as_bytes());
    assert_eq!(app.scalar(&format!("SELECT downloads FROM download_links WHERE token_hash = '{hash}'")).await, 50);

    // 3. Webhooks: customers created across the three servers are each delivered once, whichever server's
    // dispatcher picks them up.
    let n = 30;
    let created = futures::future::join_all((0..n).map(|i| {
        let req = http.post(format!("{}/v1/customers", lb.url)).bearer_auth(b.agent()).json(&customer_body(
            &format!("Spread {i}"),
            &format!("spread{i}.example.com"),
            "US",
        ));
        async move { req.send().await.unwrap().status().as_u16() }
    }))
    .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    receiver.wait_for(n, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // several more rounds of three dispatchers
    let got = receiver.received();
    let deliveries: HashSet<&str> = got.iter().map(|g| g.delivery.as_str()).collect();
    assert_eq!(got.len(), n, "each record once ({} requests for {} deliveries)", got.len(), deliveries.len());
    assert_eq!(deliveries.len(), n);

    // 4. The test clock: a sandbox partner's clock moved through one server is the time on the others.
    let sandbox = app.partner("Sandbox", true).await;
    let st = sandbox.token(Role::GlobalAdmin);
    let before = call(&http, Method::GET, format!("{}/v1/testclock", urls[2]), st, None).await;
    assert_eq!(before.status, 200, "{}", before.text);
    let moved =
        call(&http, Method::POST, format!("{}/v1/testclock/advance", urls[0]), st, Some(&json!({"days": 3}))).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    for url in &urls[1..] {
        let now = call(&http, Method::GET, format!("{url}/v1/testclock"), st, None).await;
        assert_eq!(now.status, 200, "{}", now.text);
        let (there, here) = (now.body["now"].as_str().unwrap(), moved.body["now"].as_str().unwrap());
        // The clock runs on from where it was moved: the same day, three days ahead of real time.
        assert_eq!(there[..10], here[..10], "{there} vs {here}");
        assert_ne!(there[..10], before.body["now"].as_str().unwrap()[..10], "moved on from {}", before.text);
    }

    // 5. Sessions: signed in through one server, the same browser continues on another and signs out on a third.
    let email = user_with_password(&app, &b.p, "roaming", &["admin_agent"]).await;
    let mut browser = Browser::new(&app);
    browser.url = urls[0].clone();
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status, 303);
    browser.url = urls[1].clone();
    let page = browser.get("/customers").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Fabrikam"), "the signed-in list on another server");
    browser.url = urls[2].clone();
    let page = browser.get("/customers").await;
    assert_eq!(page.status, 200);
    assert_eq!(browser.post("/logout", &[("csrf", &page.csrf())]).await.status, 303);
    browser.url = urls[0].clone();
    assert_eq!(browser.get("/customers").await.status, 303, "signed out everywhere");

    // 6. Idempotency: one key sent to each server at once creates one customer; every answer is that customer.
    let body = customer_body("Once Only", "once.example.com", "US");
    let answers = futures::future::join_all(urls.iter().map(|url| {
        let req = http
            .post(format!("{url}/v1/customers"))
            .bearer_auth(b.agent())
            .header("Idempotency-Key", "scale-out-once")
            .json(&body);
        async move { Res::of(req.send().await.unwrap()).await }
    }))
    .await;
    let mut ids = HashSet::new();
    for a in &answers {
        // A replay racing the first request waits for it or is told to retry; it never makes a second customer.
        assert!(a.status == 201 || a.status == 409, "{} {}", a.status, a.text);
        if a.status == 201 {
            ids.insert(a.body["id"].as_str().unwrap().to_string());
        }
    }
    for url in &urls {
        let again = http
            .post(format!("{url}/v1/customers"))
            .bearer_auth(b.agent())
            .header("Idempotency-Key", "scale-out-once")
            .json(&body)
            .send()
            .await
            .unwrap();
        let again = Res::of(again).await;
        assert_eq!(again.status, 201, "{}", again.text);
        ids.insert(again.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one customer for one key: {ids:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM customers WHERE domain = 'once.example.com'").await, 1);

    // 7. Checkouts spread over the three through the load balancer; one server is killed outright midway. Every
    // acknowledged order is there afterwards, whole, and the other two go on taking orders.
    let lines = json!([{"catalogItemId": crate::api_orders::item(&app, b.agent(), &b.customer, "SQL2019STD", "0001").await, "quantity": 1}]);
    let load = CheckoutLoad::start(&http, &lb.url, b.agent(), &b.customer, lines, 8);
    load.wait_for(30, Duration::from_secs(30)).await;
    let victim = &mut servers[1];
    victim.start_kill().unwrap();
    victim.wait().await.unwrap();
    let at_kill = load.count();
    load.wait_for(at_kill + 30, Duration::from_secs(30)).await;
    let (acked, failures) = load.stop().await;
    // Only a request the killed server had in hand may fail (nginx does not resend a POST it already sent).
    assert!(failures.keys().all(|s| *s == 502), "{failures:?}");
    assert!(failures.values().sum::<usize>() <= 16, "{failures:?}");
    for id in &acked {
        let r =
            call(&http, Method::GET, format!("{}/v1/customers/{}/orders/{id}", lb.url, b.customer), b.agent(), None)
                .await;
        assert_eq!(r.status, 200, "order {id} was acknowledged with 201 but is gone: {}", r.text);
    }
    // No half order: each has its line, its charge, its software item with a key, and its activity record.
    let orders = app.scalar("SELECT COUNT(*) FROM orders").await;
    assert!(orders >= acked.len() as i64, "{orders} orders, {} acknowledged", acked.len());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM order_lines").await, orders);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'new'").await, orders);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM software_items").await, orders);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM activation_keys WHERE software_item_id IS NOT NULL").await, orders);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_records WHERE operation_type = 'create_order'").await, orders);
    let v = call(
        &http,
        Method::GET,
        format!("{}/v1/auditrecords/verification", lb.url),
        b.p.token(Role::GlobalAdmin),
        None,
    )
    .await;
    assert_eq!(v.body["valid"], true, "{}", v.text);
    eprintln!(
        "scale-out: {} orders acknowledged ({at_kill} before the kill), {orders} in the database, failures {failures:?}; {:.1}s in all",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Issues a link for the French ISO through `server`; returns its address.
async fn fra_link(http: &reqwest::Client, server: &str, b: &Bought) -> String {
    let r = call(
        http,
        Method::POST,
        format!("{server}{}", b.path("keysanddownloads")),
        b.agent(),
        Some(&json!({"language": "fr-fr"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["downloads"][0]["link"]["uri"].as_str().unwrap().to_string()
}
