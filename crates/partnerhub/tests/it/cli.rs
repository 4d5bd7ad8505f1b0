//! The `partnerhub` binary itself: its help text, migrations, and serving until SIGTERM.

use crate::harness::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_partnerhub");

#[test]
fn help_documents_every_option_and_its_environment_variable() {
    let out = std::process::Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for (option, env) in [
        ("--listen", "PARTNERHUB_LISTEN"),
        ("--database-url", "PARTNERHUB_DATABASE_URL"),
        ("--data-dir", "PARTNERHUB_DATA_DIR"),
        ("--blob-store", "PARTNERHUB_BLOB_STORE"),
        ("--publisher-token", "PARTNERHUB_PUBLISHER_TOKEN"),
        ("--base-url", "PARTNERHUB_BASE_URL"),
        ("--secret-key", "PARTNERHUB_SECRET_KEY"),
        ("--config", "PARTNERHUB_CONFIG"),
    ] {
        assert!(help.contains(option) && help.contains(env), "{option} / {env} missing from:\n{help}");
    }
    let top = std::process::Command::new(BIN).arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    for command in ["serve", "demo", "migrate", "config", "audit", "blobs"] {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
    let example = std::process::Command::new(BIN).args(["config", "example"]).output().unwrap();
    assert!(String::from_utf8_lossy(&example.stdout).contains("database_url"));
}

crate::on_both_backends!(serve_migrates_answers_and_stops_gracefully_on_sigterm);

async fn serve_migrates_answers_and_stops_gracefully_on_sigterm(db: Db) {
    let test_db = TestDb::new(db).await;
    let data = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let migrate = tokio::process::Command::new(BIN)
        .args(["migrate", "--database-url", &test_db.url, "--data-dir"])
        .arg(data.path())
        .output()
        .await
        .unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--database-url", &test_db.url, "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .env("PARTNERHUB_PUBLISHER_TOKEN", "cli-test-publisher-token")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    loop {
        // Ready once the database answers within /readyz's 800 ms (a loaded machine may take a few tries).
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
            assert_eq!(r.status(), 503);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The publisher token from the environment works; the secret key file was made in the data folder.
    let partners =
        http.get(format!("{url}/v1/publisher/partners")).bearer_auth("cli-test-publisher-token").send().await.unwrap();
    assert_eq!(partners.status(), 200);
    assert!(data.path().join("secret.key").exists());
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops within 10 s").unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// `partnerhub demo` on the embedded default: a partner, a catalog with key stock, customers and orders, reused
/// as it is on the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sets_up_a_whole_partner_once_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = || std::process::Command::new(BIN).args(["demo", "--no-serve"]).current_dir(dir.path()).output().unwrap();
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(out.contains("Publisher token:") && out.contains("partnerhub-demo-password"), "{out}");
    assert!(out.contains("11 products"), "{out}");
    let second = run();
    assert!(second.status.success());
    let token = |o: &str| o.lines().find(|l| l.contains("API token")).map(str::to_string);
    assert_eq!(token(&out), token(&String::from_utf8_lossy(&second.stdout)), "the demo is reused, not made again");
    let url = format!("sqlite://{}/partnerhub-demo/partnerhub.db", dir.path().display());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let (orders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders").fetch_one(&mut conn).await.unwrap();
    let (customers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers").fetch_one(&mut conn).await.unwrap();
    let (keyed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM software_items WHERE key_id IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&mut conn).await.unwrap();
    let (partners,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM partners").fetch_one(&mut conn).await.unwrap();
    assert_eq!((partners, orders, customers, users), (1, 4, 6, 9));
    assert_eq!(keyed, 5, "the SQL subscription, Windows Server and perpetual SQL lines hold keys (last month's too)");
    // Last month's invoice, issued: two charges, the cancelled line's credit and the desk's refund.
    let kinds: Vec<(String,)> =
        sqlx::query_as("SELECT kind FROM ledger WHERE invoice_id IS NOT NULL ORDER BY at, kind")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(kinds, ["new", "new", "cancel", "refund"]);
    let (invoices,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM invoices").fetch_one(&mut conn).await.unwrap();
    assert_eq!(invoices, 1);
    let (markets,): (i64,) =
        sqlx::query_as("SELECT COUNT(DISTINCT market) FROM customers").fetch_one(&mut conn).await.unwrap();
    assert_eq!(markets, 6);
    // Files to download: 5 products × 3 languages × 2 file types, each stored in the demo's blob folder.
    let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM artifacts").fetch_one(&mut conn).await.unwrap();
    assert_eq!(files, 30);
    let blobs = std::fs::read_dir(dir.path().join("partnerhub-demo/blobs/artifacts")).unwrap().count();
    assert_eq!(blobs, 30);
    // The demo's money is sound (SPEC §8): `ledger verify` on its folder passes.
    let verify = std::process::Command::new(BIN)
        .args(["ledger", "verify", "--data-dir", "partnerhub-demo", "--database-url"])
        .arg(&url)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout).to_string();
    assert!(verify.status.success() && said.contains("ledger: valid (6 order lines"), "{said}");
}

crate::on_both_backends!(keys_import_from_a_file_with_progress);

async fn keys_import_from_a_file_with_progress(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.csv");
    let keys: Vec<String> = (0..1200).map(|i| format!("KEY-{i:05}")).collect();
    std::fs::write(
        &file,
        format!("key,batch\n{}\n", keys.iter().map(|k| format!("{k},b1")).collect::<Vec<_>>().join("\n")),
    )
    .unwrap();
    let import = |file: std::path::PathBuf| {
        let url = app.db.url.clone();
        async move {
            tokio::process::Command::new(BIN)
                .args(["keys", "import"])
                .arg(file)
                .args(["--product", "SQL2019STD", "--sku", "0001", "--database-url", &url])
                .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
                .output()
                .await
                .unwrap()
        }
    };
    let out = import(file.clone()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("added 1200 keys to SQL2019STD:0001; 1200 in stock"));
    // The keys are never printed, and importing them again is refused.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("KEY-0"));
    let again = import(file).await;
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("stopped after 0 keys") && !stderr.contains("KEY-0"), "{stderr}");
    let dup = dir.path().join("dup.txt");
    std::fs::write(&dup, "A-1\nA-2\nA-1\n").unwrap();
    let bad = import(dup).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("keys[2]"));
}

crate::on_both_backends!(a_secret_key_from_another_database_is_refused);

async fn a_secret_key_from_another_database_is_refused(db: Db) {
    let test_db = TestDb::new(db).await;
    let run = |key: &'static str| {
        let url = test_db.url.clone();
        async move {
            tokio::process::Command::new(BIN)
                .args(["migrate", "--database-url", &url, "--secret-key", key])
                .output()
                .await
                .unwrap()
        }
    };
    assert!(run("KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=").await.status.success());
    assert!(run("KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=").await.status.success());
    let other = run("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").await;
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("secret key does not belong to this database"));
}

crate::on_both_backends!(secrets_never_reach_the_servers_log);

/// API tokens, activation keys and passwords go through the server at debug level without appearing in its log.
async fn secrets_never_reach_the_servers_log(db: Db) {
    let test_db = TestDb::new(db).await;
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--database-url", &test_db.url, "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .env("PARTNERHUB_PUBLISHER_TOKEN", "log-test-publisher-token-secret")
        .env("PARTNERHUB_LOG", "debug")
        .stdout(Stdio::null())
        // A file, not a pipe: nobody reads a pipe while the server runs, and debug logs would fill it.
        .stderr(std::fs::File::create(data.path().join("server.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while http.get(format!("{url}/readyz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publisher = "log-test-publisher-token-secret";
    let post = |path: String, token: String, body: serde_json::Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let r = http.post(format!("{url}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let p = post("/v1/publisher/partners".into(), publisher.into(), serde_json::json!({"name": "Logs"})).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let password = "a-password-that-must-not-be-logged";
    let u = post(
        format!("/v1/publisher/partners/{pid}/users"),
        publisher.into(),
        serde_json::json!({"email": "agent@logs.example", "displayName": "A", "roles": ["admin_agent", "global_admin"], "password": password}),
    )
    .await;
    let t = post(
        format!("/v1/publisher/partners/{pid}/users/{}/tokens", u["id"].as_str().unwrap()),
        publisher.into(),
        serde_json::json!({}),
    )
    .await;
    let token = t["token"].as_str().unwrap().to_string();
    let mine = post("/v1/users/me/tokens".into(), token.clone(), serde_json::json!({"name": "second"})).await;
    let second = mine["token"].as_str().unwrap().to_string();
    let r = http
        .put(format!("{url}/v1/publisher/catalog"))
        .bearer_auth(publisher)
        .json(&crate::api_catalog::sample_catalog())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let key = "SECRET-ACTIVATION-KEY-12345";
    post(
        "/v1/publisher/products/SQL2019STD/skus/0001/keys".into(),
        publisher.into(),
        serde_json::json!({"keys": [key]}),
    )
    .await;
    let c = post("/v1/customers".into(), token.clone(), customer_body("Logs Ltd", "logs.example.com", "US")).await;
    let cid = c["id"].as_str().unwrap().to_string();
    let a = http
        .get(format!("{url}/v1/customers/{cid}/products/SQL2019STD/skus/0001/availabilities"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let item = a["items"][0]["catalogItemId"].as_str().unwrap().to_string();
    let cart = post(
        format!("/v1/customers/{cid}/carts"),
        token.clone(),
        serde_json::json!({"lineItems": [{"catalogItemId": item, "quantity": 1}]}),
    )
    .await;
    post(
        format!("/v1/customers/{cid}/carts/{}/checkout", cart["id"].as_str().unwrap()),
        token.clone(),
        serde_json::json!({}),
    )
    .await;
    // Get keys and downloads, then the download: neither the key nor the link's token is logged.
    let software = http
        .get(format!("{url}/v1/customers/{cid}/software"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let item_id = software["items"][0]["id"].as_str().unwrap().to_string();
    let up = http
        .post(format!(
            "{url}/v1/publisher/products/SQL2019STD/artifacts?version=2019&language=en-us&fileType=ISO&fileName=a.iso"
        ))
        .bearer_auth(publisher)
        .body(vec![1u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 201);
    let kd =
        post(format!("/v1/customers/{cid}/software/{item_id}/keysanddownloads"), token.clone(), serde_json::json!({}))
            .await;
    assert_eq!(kd["activationKey"], key);
    let link = kd["downloads"][0]["link"]["uri"].as_str().unwrap().to_string();
    let link_token = link.rsplit('/').next().unwrap().to_string();
    assert_eq!(http.get(&link).send().await.unwrap().status(), 200);
    // A refused request with a secret in it is logged without the secret too.
    let _ = http.get(format!("{url}/v1/customers")).bearer_auth("ph_wrong-token-that-must-not-be-logged").send().await;
    let pid_kill = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid_kill]).status().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success());
    let log = std::fs::read_to_string(data.path().join("server.log")).unwrap();
    assert!(log.contains("partnerhub ready") && log.contains("/v1/customers"), "the log holds the requests:\n{log}");
    for secret in [
        publisher,
        password,
        token.as_str(),
        second.as_str(),
        key,
        link_token.as_str(),
        "ph_wrong-token-that-must-not-be-logged",
    ] {
        assert!(!log.contains(secret), "{secret} appears in the server's log");
    }
}

crate::on_both_backends!(artifacts_upload_from_the_command_line);

/// `partnerhub artifacts upload` streams a file into the same blob storage the server reads, and the link serves it.
async fn artifacts_upload_from_the_command_line(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = crate::api_downloads::bought(&app, false).await;
    let file = app.blob_dir.path().join("SQLServer2019-x64-FRA.iso");
    let bytes = crate::api_downloads::file_bytes(300_000, 5);
    std::fs::write(&file, &bytes).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["artifacts", "upload"])
        .arg(&file)
        .args(["--product", "SQL2019STD", "--version", "2019", "--language", "fr-fr", "--file-type", "ISO"])
        .args(["--database-url", &app.db.url, "--data-dir"])
        .arg(app.blob_dir.path())
        .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("300000 bytes") && stdout.contains("SQLServer2019-x64-FRA.iso"), "{stdout}");
    let r = app.post(&b.path("keysanddownloads"), b.agent(), &serde_json::json!({"language": "fr-fr"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let got = crate::api_downloads::fetch(
        &app.http,
        reqwest::Method::GET,
        r.body["downloads"][0]["link"]["uri"].as_str().unwrap(),
        &[],
    )
    .await;
    assert_eq!(got.status, 200);
    assert!(got.body == bytes);
    // A product that does not exist: an error, and nothing stored.
    let bad = tokio::process::Command::new(BIN)
        .args(["artifacts", "upload"])
        .arg(&file)
        .args(["--product", "NOPE", "--version", "1", "--language", "en", "--file-type", "ISO"])
        .args(["--database-url", &app.db.url, "--data-dir"])
        .arg(app.blob_dir.path())
        .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM artifacts").await, 3);
}

/// Starts `partnerhub serve` on the test app's database and data folder; returns it and its URL once it is ready.
pub async fn serve_beside(app: &TestApp) -> (tokio::process::Child, String) {
    serve_beside_with(app, &[]).await
}

/// [`serve_beside`] with more options for `serve` (a `--blob-store` among them replaces the app's).
pub async fn serve_beside_with(app: &TestApp, options: &[&str]) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(BIN)
        .args(["serve", "--database-url", &app.db.url, "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(app.blob_dir.path())
        .args(if options.contains(&"--blob-store") {
            vec![]
        } else {
            vec!["--blob-store".to_string(), app.blobs.to_string()]
        })
        .args(options)
        .env("PARTNERHUB_SECRET_KEY", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=")
        .env("PARTNERHUB_PUBLISHER_TOKEN", PUBLISHER_TOKEN)
        .env("PARTNERHUB_LOG", "warn")
        // Tests send requests faster than any person; the rate-limit tests set their own limits.
        .env("PARTNERHUB_RATE_LIMIT_PER_TOKEN", "0")
        .env("PARTNERHUB_RATE_LIMIT_PER_ADDRESS", "0")
        .env("PARTNERHUB_RATE_LIMIT_PER_LINK", "0")
        .env("PARTNERHUB_RATE_LIMIT_LINK_DOWNLOADS_PER_ADDRESS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while app.http.get(format!("{url}/readyz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, url)
}

/// R7 across processes: two servers share one PostgreSQL and nothing else; 200 requests on one link spread over
/// both give exactly 50 downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_share_one_download_limit() {
    use domain::clock::Clock;
    let app = TestApp::spawn(Db::Postgres).await;
    // The servers run on real time: issue the link at real time too.
    let real = domain::clock::SystemClock.now().micros();
    app.clock.advance_micros(real - app.clock.now().micros());
    let b = crate::api_downloads::bought(&app, false).await;
    let uri = crate::api_downloads::enu_link(&app, &b).await;
    let token = crate::api_downloads::token_of(&uri).to_string();
    let (_one, one) = serve_beside(&app).await;
    let (_two, two) = serve_beside(&app).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let answers = futures::future::join_all((0..200).map(|i| {
        let url = format!("{}/download/{token}", if i % 2 == 0 { &one } else { &two });
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            let len = res.bytes().await.unwrap().len();
            (i % 2, status, len)
        }
    }))
    .await;
    let served: Vec<_> = answers.iter().filter(|(_, s, _)| *s == 200).collect();
    assert_eq!(served.len(), 50, "exactly 50 downloads across both servers");
    assert!(served.iter().all(|(_, _, len)| *len == 100_000));
    assert!(answers.iter().all(|(_, s, _)| *s == 200 || *s == 410), "only 200 or 410");
    let by_first = served.iter().filter(|(server, _, _)| *server == 0).count();
    eprintln!("first server served {by_first}, second {}", 50 - by_first);
    let hash = crate::api_downloads::sha256_hex(token.as_bytes());
    assert_eq!(app.scalar(&format!("SELECT downloads FROM download_links WHERE token_hash = '{hash}'")).await, 50);
}

crate::on_both_backends!(invoices_run_from_the_command_line);

/// `partnerhub invoices run --period` issues the same invoices as the API, once.
async fn invoices_run_from_the_command_line(db: Db) {
    use domain::role::Role;
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let sles = crate::api_orders::item(&app, t, &c, "SLES", "0001").await;
    crate::api_orders::buy(&app, t, &c, serde_json::json!([{"catalogItemId": sles, "quantity": 2}])).await;
    let run = |period: &'static str| {
        let url = app.db.url.clone();
        async move {
            tokio::process::Command::new(BIN)
                .args(["invoices", "run", "--period", period, "--database-url", &url])
                .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
                .output()
                .await
                .unwrap()
        }
    };
    // The binary runs on real time, long after January 2026 ended.
    let out = run("2026-01").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("USD\t1 lines\ttotal 600.00") && stdout.contains("2026-01: 1 invoices"), "{stdout}");
    let again = String::from_utf8_lossy(&run("2026-01").await.stdout).to_string();
    assert!(again.contains("2026-01: 1 invoices"), "{again}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 1);
    let bad = run("2026-1").await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("period"));
}

/// `/readyz` asks the blob store too: a server whose bucket does not exist is up but not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_blob_store_does_not() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let s3 = s3_test_location();
    let services::blobs::BlobLocation::S3 { bucket, .. } = &s3 else { unreachable!() };
    let missing = format!("s3://{bucket}-missing/x");
    let (_bad, bad) = serve_beside_with(&app, &["--blob-store", &missing]).await;
    let r = app.http.get(format!("{bad}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().await.unwrap(), "blob storage unavailable");
    let (_good, good) = serve_beside_with(&app, &["--blob-store", &s3.to_string()]).await;
    let r = app.http.get(format!("{good}/readyz")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, "ready".to_string()));
    let r = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the folder the app uses answers");
}

/// `partnerhub blobs migrate --to s3://…` copies a server's files to a bucket and checks every copy; a server moved
/// to the bucket serves the same links; a second run copies nothing, and one finding a copy that differs copies it
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_migrate_copies_the_files_to_s3_where_a_server_serves_them() {
    use domain::clock::Clock;
    let app = TestApp::spawn(Db::Postgres).await;
    app.clock.advance_micros(domain::clock::SystemClock.now().micros() - app.clock.now().micros());
    let b = crate::api_downloads::bought(&app, false).await;
    let files = app.blob_leftovers().await.len();
    assert_eq!(files, 2, "the English and German ISOs in the folder");
    let to = s3_test_location();
    let migrate = || {
        tokio::process::Command::new(BIN)
            .args(["blobs", "migrate", "--to", &to.to_string(), "--data-dir"])
            .arg(app.blob_dir.path())
            .output()
    };
    let first = migrate().await.unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout.contains("2 files copied, 0 already there, 105000 bytes"), "{stdout}");
    let copies = services::blobs::Blobs::open(&to).unwrap();
    let listed = copies.list().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    // A server on the bucket alone (the folder gone) serves the link.
    std::fs::remove_dir_all(app.blob_dir.path().join("blobs")).unwrap();
    let (_server, url) = serve_beside_with(&app, &["--blob-store", &to.to_string()]).await;
    let uri = crate::api_downloads::enu_link(&app, &b).await;
    let token = crate::api_downloads::token_of(&uri);
    let got =
        crate::api_downloads::fetch(&app.http, reqwest::Method::GET, &format!("{url}/download/{token}"), &[]).await;
    assert_eq!(got.status, 200);
    assert!(got.body == b.enu);
    // Again from a folder holding the files: nothing copied; then a copy that differs (same size) is replaced.
    let second_source = tempfile::tempdir().unwrap();
    let original =
        services::blobs::Blobs::open(&services::blobs::BlobLocation::File(second_source.path().join("blobs"))).unwrap();
    for entry in &listed {
        copies.copy_to(&entry.key, &original, |_| ()).await.unwrap();
    }
    let run = |from: &std::path::Path| {
        tokio::process::Command::new(BIN)
            .args(["blobs", "migrate", "--to", &to.to_string(), "--data-dir"])
            .arg(from)
            .output()
    };
    let again = run(second_source.path()).await.unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 files copied, 2 already there"), "{again:?}");
    let enu_key = listed.iter().find(|e| e.size == 100_000).unwrap().key.clone();
    let tampered = vec![0u8; 100_000];
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(tampered))]);
    copies.put(&enu_key, Box::pin(body), u64::MAX).await.unwrap();
    let repaired = run(second_source.path()).await.unwrap();
    assert!(String::from_utf8_lossy(&repaired.stdout).contains("1 files copied, 1 already there"), "{repaired:?}");
    assert_eq!(copies.sha256_of(&enu_key).await.unwrap(), crate::api_downloads::sha256_hex(&b.enu));
}
