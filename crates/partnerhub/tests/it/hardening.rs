//! Issue 16, the open internet: slow and silent clients, connection caps, rate limits, database outages, and roles
//! checked before a body is read.

use crate::api_downloads::{bought, enu_link};
use crate::harness::*;
use domain::rate::Rate;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use web::ratelimit::RateLimits;
use web::server::ConnectionLimits;
use web::ServerLimits;

fn addr(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `within` passes); returns what it sent and how long it took.
async fn until_closed(conn: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

/// Issue 16.3 (slowloris): a client that never finishes its headers, one that says nothing, and an idle keep-alive
/// connection are closed after their timeouts; past the connection cap a new connection is closed at once, and
/// once one closes the server serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_off_and_connections_are_capped() {
    let limits = ServerLimits {
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            max_connections: 3,
        },
        rates: RateLimits::OFF,
    };
    let app = TestApp::spawn_limited(Db::Sqlite, |s| s, limits).await;
    let addr = addr(&app);

    // Half a request head, then nothing: closed after the header-read timeout.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1").await.unwrap();
    let (_, closed) = until_closed(&mut slow, Duration::from_secs(10)).await;
    let closed = closed.expect("a half-sent head is cut off");
    assert!(closed >= Duration::from_millis(900), "not before the timeout: {closed:?}");

    // Nothing at all: closed too.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let (_, closed) = until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "a silent connection is cut off");

    // A keep-alive connection answered once and then idle: closed.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, closed) = until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed.is_some(), "an idle keep-alive connection is cut off");

    // Three connections held open; a fourth is closed at once without an answer.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (answer, closed) = until_closed(&mut extra, Duration::from_millis(900)).await;
    assert!(closed.is_some() && answer.is_empty(), "past the cap: closed at once, unanswered ({answer:?})");
    drop(held.pop());
    let started = Instant::now();
    loop {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let (answer, _) = until_closed(&mut c, Duration::from_secs(2)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "a freed slot serves again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Issue 16.5: per token and per address, 429 `rate_limited` with `Retry-After`, counted before the token is even
/// checked (made-up tokens are limited like real ones); another token has its own allowance; health probes are never
/// limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_rate_get_429_with_retry_after() {
    let limits = ServerLimits {
        rates: RateLimits {
            per_token: Rate { per_minute: 6, burst: 3 },
            per_address: Rate { per_minute: 6, burst: 8 },
            ..RateLimits::OFF
        },
        ..Default::default()
    };
    let app = TestApp::spawn_limited(Db::Sqlite, |s| s, limits).await;
    for _ in 0..3 {
        app.get("/v1/customers", "made-up-token-a").await.assert_error(401, "unauthorized");
    }
    let refused = app.get("/v1/customers", "made-up-token-a").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.body["code"], 429000);
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "one request per 10 s: {retry}");
    app.get("/v1/customers", "made-up-token-b").await.assert_error(401, "unauthorized");
    // Five requests from this address so far; three more, then the address is limited whatever the token.
    for _ in 0..3 {
        assert_eq!(app.http.get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap().status(), 200);
    }
    let by_address = Res::of(app.http.get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap()).await;
    by_address.assert_error(429, "rate_limited");
    assert!(by_address.headers.contains_key("retry-after"));
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(app.http.get(format!("{}{probe}", app.url)).send().await.unwrap().status(), 200, "{probe}");
    }
}

/// Issue 16.5: a leaked download link cannot flood the server: requests to one link, and to links from one
/// address, are limited; a refused request counts no download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_links_are_limited_per_link_and_per_address() {
    let limits = ServerLimits {
        rates: RateLimits {
            per_link: Rate { per_minute: 6, burst: 2 },
            link_downloads_per_address: Rate { per_minute: 6, burst: 3 },
            ..RateLimits::OFF
        },
        ..Default::default()
    };
    let app = TestApp::spawn_limited(Db::Sqlite, |s| s.allow_insecure_webhooks(true), limits).await;
    let b = bought(&app, false).await;
    let first = enu_link(&app, &b).await;
    for _ in 0..2 {
        assert_eq!(app.http.get(&first).send().await.unwrap().status(), 200);
    }
    let refused = Res::of(app.http.get(&first).send().await.unwrap()).await;
    refused.assert_error(429, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(app.scalar("SELECT SUM(downloads) FROM download_links").await, 2, "the refused request counted nothing");
    // Another link from the same address: one more, then the address's allowance is spent.
    let second = enu_link(&app, &b).await;
    assert_eq!(app.http.get(&second).send().await.unwrap().status(), 200);
    Res::of(app.http.get(&second).send().await.unwrap()).await.assert_error(429, "rate_limited");
}

crate::on_both_backends!(roles_are_checked_before_the_body_is_read, every_route_with_a_body_declares_its_action);

/// Issue 16.6, for every partner route that takes a body (the role matrix's table): a role the policy refuses gets
/// 403 for a body that is not even JSON, so no such route forgot to declare its action.
async fn every_route_with_a_body_declares_its_action(db: Db) {
    use domain::policy::permits;
    use domain::role::{Role, RoleSet};
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let mut checked = 0;
    for route in crate::roles::ROUTES.iter().filter(|r| matches!(r.method, "post" | "put" | "patch")) {
        let Some(role) = Role::ALL.into_iter().find(|r| !permits(&RoleSet::new([*r]).unwrap(), route.action)) else {
            continue;
        };
        let path: String = route
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { s.to_string() })
            .collect::<Vec<_>>()
            .join("/");
        let method = reqwest::Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
        let res = app
            .http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(p.token(role))
            .header("content-type", "application/json")
            .body("{ this is not JSON")
            .send()
            .await
            .unwrap();
        let res = Res::of(res).await;
        assert_eq!(res.status, 403, "{} {} as {}: {}", route.method, route.path, role.as_str(), res.text);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} routes checked");
}

/// Issue 16.6: a caller whose roles do not allow the route hears 403 before its body is read, parsed or replayed:
/// a malformed body, an oversized one, and a key another user of the partner already used all get 403 (they got
/// 400, 413 and the replayed 201); the dashboard's forms likewise.
async fn roles_are_checked_before_the_body_is_read(db: Db) {
    use crate::ui_basics::{user_with_password, Browser, PASSWORD};
    use domain::role::Role;
    use reqwest::Method;
    use serde_json::json;
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let agent = p.token(Role::HelpdeskAgent);
    let malformed = app.post("/v1/customers", agent, &json!({"companyProfile": 5})).await;
    malformed.assert_error(403, "forbidden");
    let too_big = app.head_only("/v1/customers", agent, 5 * 1024 * 1024).await;
    assert!(too_big.starts_with("HTTP/1.1 403"), "{too_big}");
    // An idempotent replay is answered only after the role check.
    let body = customer_body("Fabrikam", "fabrikam.example", "US");
    let key = [("Idempotency-Key", "create-fabrikam")];
    let made = app.request(Method::POST, "/v1/customers", Some(p.token(Role::GlobalAdmin)), Some(&body), &key).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let replay = app.request(Method::POST, "/v1/customers", Some(agent), Some(&body), &key).await;
    replay.assert_error(403, "forbidden");
    assert!(!replay.text.contains("fabrikam.example"), "{}", replay.text);
    // The same on other routes with bodies: a malformed cart, a malformed user, a malformed webhook.
    let customer = made.body["id"].as_str().unwrap();
    for (path, body) in [
        (format!("/v1/customers/{customer}/carts"), json!({"lineItems": "x"})),
        ("/v1/users".to_string(), json!({"email": 7})),
        ("/v1/webhooks".to_string(), json!({"url": []})),
    ] {
        app.post(&path, agent, &body).await.assert_error(403, "forbidden");
    }
    // The dashboard: a helpdesk agent's malformed cart form is refused for the role, not for the form.
    let email = user_with_password(&app, &p, "helper", &["helpdesk_agent"]).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status, 303);
    let page = browser.get("/customers").await;
    let csrf = page.csrf();
    let refused =
        browser.post(&format!("/customers/{customer}/cart"), &[("csrf", &csrf), ("quantity", "not a number")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
}

/// A PostgreSQL cluster of one test's own (the shared one serves every other test), which the test stops and
/// starts again: Debian's server binaries, as `scripts/lib/postgres.sh` runs them.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_root: bool,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries under /usr/lib/postgresql (scripts/test installs them)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("pg_ctl").exists())
            .max_by_key(|b| b.to_string_lossy().into_owned())
            .expect("a PostgreSQL version with pg_ctl");
        let uid = std::process::Command::new("id").arg("-u").output().unwrap();
        let as_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        // Under /tmp, so the postgres user can reach it when we are root.
        let dir = tempfile::Builder::new().prefix("partnerhub-outage").tempdir_in("/tmp").unwrap();
        if as_root {
            assert!(std::process::Command::new("chown").arg("postgres:").arg(dir.path()).status().unwrap().success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = OwnPostgres { dir, bin, port, as_root };
        let data = pg.dir.path().join("data");
        pg.run("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        pg.up();
        pg
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let mut all = vec!["-D", data.to_str().unwrap(), "-w", "-t", "30"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn up(&self) {
        let log = self.dir.path().join("postgres.log");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }

    /// Stops at once, as a crash or a failover does (connections are cut, not closed).
    fn down(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ =
            std::panic::catch_unwind(|| self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]));
    }
}

/// Issue 16.4: while PostgreSQL is down, requests answer 503 `service_unavailable` with `Retry-After` within a few
/// seconds (they waited 10 s for a 500), `/readyz` answers 503 within a second, nothing is half-written, and once
/// the database is back the same server serves again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_quickly_and_the_server_recovers() {
    use domain::role::Role;
    let pg = OwnPostgres::start();
    let app =
        TestApp::spawn_on(TestDb::at(&pg.url()), |s| s, ServerLimits { rates: RateLimits::OFF, ..Default::default() })
            .await;
    let p = app.partner("Alpha", false).await;
    let admin = p.token(Role::GlobalAdmin);
    assert_eq!(app.get("/v1/customers", admin).await.status, 200);

    pg.down();
    let started = Instant::now();
    let ready = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(1), "/readyz took {:?}", started.elapsed());
    for _ in 0..2 {
        let started = Instant::now();
        let read = app.get("/v1/customers", admin).await;
        read.assert_error(503, "service_unavailable");
        assert_eq!(read.body["code"], 503000);
        assert!(read.headers.contains_key("retry-after"), "{:?}", read.headers);
        assert!(started.elapsed() < Duration::from_secs(4), "a read took {:?}", started.elapsed());
    }
    let write = app.post("/v1/customers", admin, &customer_body("Fabrikam", "fabrikam.example", "US")).await;
    write.assert_error(503, "service_unavailable");

    pg.up();
    let started = Instant::now();
    loop {
        let r = app.get("/v1/customers", admin).await;
        if r.status == 200 {
            assert_eq!(r.body["totalCount"], 0, "the refused create wrote nothing");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not back after the database returned: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.http.get(format!("{}/readyz", app.url)).send().await.unwrap().status(), 200);
    assert_eq!(
        app.post("/v1/customers", admin, &customer_body("Fabrikam", "fabrikam.example", "US")).await.status,
        201
    );
}
