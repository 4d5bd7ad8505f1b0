//! Test harness: a fresh database per test, the real application on port 0, and an injectable clock. Files go to a
//! temp folder, or, inside [`on_s3`] (`on_every_blob_store!`'s `s3` tests), under a fresh prefix of the S3 test
//! bucket (`PARTNERHUB_TEST_S3_URL`, which scripts/test's SeaweedFS endpoint sets with the `AWS_*` variables).

use domain::clock::{Clock, ManualClock};
use domain::role::Role;
use domain::Timestamp;
use partnerhub::app::{App, AppConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use services::blobs::{BlobLocation, Blobs};
use services::secrets::SecretBox;
use services::Services;
use sqlx::Connection;
use std::collections::HashMap;
use std::sync::Arc;
use store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; SQLite's file lives as long as this value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A database someone else made and cleans up.
    pub fn at(url: &str) -> TestDb {
        TestDb { url: url.to_string(), _dir: None }
    }

    pub async fn new(db: Db) -> TestDb {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/partnerhub.db", dir.path().display());
                TestDb { url, _dir: Some(dir) }
            }
            Db::Postgres => {
                let admin = std::env::var("PARTNERHUB_TEST_PG_URL").expect(
                    "PARTNERHUB_TEST_PG_URL is not set: run the tests with scripts/test, which starts PostgreSQL \
                     (the PostgreSQL tests fail rather than skip without it)",
                );
                sqlx::any::install_default_drivers();
                let name = format!("ph_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("connect to the test PostgreSQL");
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create a test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb { url: format!("{base}/{name}"), _dir: None }
            }
        }
    }
}

tokio::task_local! {
    /// Present while a test runs through [`on_s3`].
    static ON_S3: ();
}

/// Runs `test` with every [`TestApp`] it spawns keeping its files in the S3 test bucket.
pub async fn on_s3<F: std::future::Future>(test: F) -> F::Output {
    ON_S3.scope((), test).await
}

/// A fresh, empty place in the S3 test bucket: `PARTNERHUB_TEST_S3_URL` plus a prefix of its own.
pub fn s3_test_location() -> BlobLocation {
    let url = std::env::var("PARTNERHUB_TEST_S3_URL").expect(
        "PARTNERHUB_TEST_S3_URL is not set: run the tests with scripts/test (or scripts/with-s3), which starts an S3 \
         endpoint (the S3 tests fail rather than skip without it)",
    );
    match BlobLocation::parse(&url).expect("PARTNERHUB_TEST_S3_URL is an s3:// URL") {
        BlobLocation::S3 { bucket, prefix } => {
            let mine = format!("t-{}", uuid::Uuid::new_v4().simple());
            let prefix = Some(prefix.map_or(mine.clone(), |p| format!("{p}/{mine}")));
            BlobLocation::S3 { bucket, prefix }
        }
        other => panic!("PARTNERHUB_TEST_S3_URL must be s3://BUCKET[/PREFIX], not {other}"),
    }
}

pub const PUBLISHER_TOKEN: &str = "test-publisher-token-0123456789";

/// The real application on a loopback port, with a clock the test moves.
pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub db: TestDb,
    /// The app's data folder (its uploaded files are in `blobs` under it, unless they are on S3; removed with the
    /// app).
    pub blob_dir: tempfile::TempDir,
    /// Where the app keeps uploaded files: `blob_dir`'s `blobs` or a fresh prefix in the S3 test bucket.
    pub blobs: BlobLocation,
    /// The app's services, for what has no route (housekeeping).
    pub services: Services,
}

/// A partner with one user (and API token) per role.
pub struct TestPartner {
    pub id: String,
    pub tokens: HashMap<Role, String>,
    pub user_ids: HashMap<Role, String>,
}

impl TestPartner {
    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }
}

/// A JSON response: status, headers and body.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub async fn of(res: reqwest::Response) -> Res {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res { status, headers, body, text }
    }

    /// Asserts the SPEC §5 error body and returns it.
    #[track_caller]
    pub fn assert_error(&self, status: u16, name: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["errorName"], name, "{}", self.text);
        assert_eq!(self.body["source"], "partnerhub");
        assert!(self.body["code"].is_u64() && self.body["description"].is_string() && self.body["data"].is_array());
        &self.body
    }
}

/// 2026-01-15T10:00:00Z: a fixed start so dates in tests are predictable.
pub const START: i64 = 1_768_471_200_000_000;

impl TestApp {
    pub async fn spawn(backend: Db) -> TestApp {
        // Tests' receivers listen on loopback.
        TestApp::spawn_with(backend, |s| s.allow_insecure_webhooks(true)).await
    }

    /// The app with its services' settings changed by `configure` (from the defaults `partnerhub serve` has).
    pub async fn spawn_with(backend: Db, configure: impl FnOnce(Services) -> Services) -> TestApp {
        // Tests send requests faster than any person; the rate-limit tests set their own limits.
        let limits = web::ServerLimits { rates: web::ratelimit::RateLimits::OFF, ..Default::default() };
        TestApp::spawn_limited(backend, configure, limits).await
    }

    /// The app with changed services and the given connection and rate limits.
    pub async fn spawn_limited(
        backend: Db,
        configure: impl FnOnce(Services) -> Services,
        limits: web::ServerLimits,
    ) -> TestApp {
        TestApp::spawn_on(TestDb::new(backend).await, configure, limits).await
    }

    /// The app on a given (empty or migrated) database.
    pub async fn spawn_on(
        db: TestDb,
        configure: impl FnOnce(Services) -> Services,
        limits: web::ServerLimits,
    ) -> TestApp {
        let clock = Arc::new(ManualClock::new(Timestamp::from_micros(START)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let blob_dir = tempfile::tempdir().expect("a folder for blobs");
        let blobs = if ON_S3.try_with(|_| ()).is_ok() {
            s3_test_location()
        } else {
            BlobLocation::File(blob_dir.path().join("blobs"))
        };
        // The binary's own wiring (partnerhub::app), with the test's clock, key and address.
        let App { store, services } = App::open(AppConfig {
            database_url: &db.url,
            database_label: &db.url,
            clock: clock.clone() as Arc<dyn Clock>,
            secrets: Box::new(|| Ok(SecretBox::from_key([42; 32]))),
            blob_store: &blobs,
            base_url: &url,
            publisher_token: Some(PUBLISHER_TOKEN),
            allow_insecure_webhooks: false,
        })
        .await
        .expect("open the store and build the services");
        // The dispatcher runs only where a test starts it.
        let services = configure(services);
        let served = services.clone();
        tokio::spawn(async move { partnerhub::app::serve(listener, served, limits, std::future::pending()).await });
        TestApp { url, http: reqwest::Client::new(), clock, store, db, blob_dir, blobs, services }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Res {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Res::of(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.request(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Res {
        self.request(Method::POST, path, Some(token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Res {
        self.request(Method::PATCH, path, Some(token), Some(body), &[]).await
    }

    /// SPEC §8: the ledger's invariants hold (`GET /v1/publisher/ledger/verification`); every money test ends with it.
    pub async fn assert_ledger_valid(&self) -> Value {
        let v = self.get("/v1/publisher/ledger/verification", PUBLISHER_TOKEN).await;
        assert_eq!(v.status, 200, "{}", v.text);
        assert_eq!(v.body["valid"], true, "{}", v.text);
        v.body
    }

    /// A partner with a user and token per role, made through the publisher API.
    pub async fn partner(&self, name: &str, sandbox: bool) -> TestPartner {
        let p = self.post("/v1/publisher/partners", PUBLISHER_TOKEN, &json!({"name": name, "sandbox": sandbox})).await;
        assert_eq!(p.status, 201, "{}", p.text);
        let id = p.body["id"].as_str().unwrap().to_string();
        let mut tokens = HashMap::new();
        let mut user_ids = HashMap::new();
        for role in Role::ALL {
            let email = format!("{}@{}.example", role.as_str().replace('_', "."), id);
            let u = self
                .post(
                    &format!("/v1/publisher/partners/{id}/users"),
                    PUBLISHER_TOKEN,
                    &json!({"email": email, "displayName": role.as_str(), "roles": [role.as_str()]}),
                )
                .await;
            assert_eq!(u.status, 201, "{}", u.text);
            let uid = u.body["id"].as_str().unwrap().to_string();
            let t = self
                .post(&format!("/v1/publisher/partners/{id}/users/{uid}/tokens"), PUBLISHER_TOKEN, &json!({}))
                .await;
            assert_eq!(t.status, 201, "{}", t.text);
            tokens.insert(role, t.body["token"].as_str().unwrap().to_string());
            user_ids.insert(role, uid);
        }
        TestPartner { id, tokens, user_ids }
    }

    /// Creates a customer as a global admin and returns its JSON.
    pub async fn customer(&self, p: &TestPartner, name: &str, domain: &str, country: &str) -> Value {
        let r = self.post("/v1/customers", p.token(Role::GlobalAdmin), &customer_body(name, domain, country)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Sends only the head of a POST declaring `length` bytes, and returns what the server answers without the
    /// body (a limit must be enforced before the body is read).
    pub async fn head_only(&self, path: &str, token: &str, length: u64) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.url.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let n =
            tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer)).await.unwrap().unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    }

    /// The app's blob storage, opened on its own (to check what is stored, not what the API says).
    pub fn blob_store(&self) -> Blobs {
        Blobs::open(&self.blobs).unwrap()
    }

    /// What the app's blob storage holds, down to the unfinished: for a folder, every file under it (a partial
    /// upload's staging file too); for S3, every object under the app's prefix and every multipart upload still
    /// open there (as SeaweedFS's filer lists them at `PARTNERHUB_TEST_S3_FILER_URL`).
    pub async fn blob_leftovers(&self) -> Vec<String> {
        match &self.blobs {
            BlobLocation::File(dir) => {
                fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
                    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            walk(&path, out);
                        } else {
                            out.push(path.display().to_string());
                        }
                    }
                }
                let mut out = Vec::new();
                walk(dir, &mut out);
                out
            }
            BlobLocation::S3 { bucket, prefix } => {
                let mut out: Vec<String> = self.blob_store().list().await.unwrap().into_iter().map(|e| e.key).collect();
                out.extend(s3_open_uploads(bucket, prefix.as_deref().unwrap_or("")).await);
                out
            }
        }
    }

    /// Reads one integer from the test database directly (to check what is stored, not what the API says).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.unwrap();
        let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
        let value: i64 = sqlx::Row::try_get(&row, 0).unwrap();
        let _ = conn.close().await;
        value
    }

    /// Runs SQL on the test database directly (to play an attacker who edits stored rows).
    pub async fn raw_sql(&self, sql: &str) {
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.unwrap();
        sqlx::Executor::execute(&mut conn, sql).await.unwrap();
        let _ = conn.close().await;
    }
}

pub fn customer_body(name: &str, domain: &str, country: &str) -> Value {
    json!({
        "companyProfile": {"domain": domain, "companyName": name},
        "billingProfile": {
            "email": format!("billing@{domain}"),
            "companyName": name,
            "defaultAddress": {"country": country, "city": "Springfield", "addressLine1": "1 Main Street", "postalCode": "12345"}
        }
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The keys of the multipart uploads open under `prefix` in `bucket`, as `upload:KEY`: SeaweedFS keeps one folder
/// per open upload under the bucket's `.uploads`, the object's key in its `key` attribute (base64).
pub async fn s3_open_uploads(bucket: &str, prefix: &str) -> Vec<String> {
    use base64::Engine;
    let filer = std::env::var("PARTNERHUB_TEST_S3_FILER_URL")
        .expect("PARTNERHUB_TEST_S3_FILER_URL is not set: run the tests with scripts/test (or scripts/with-s3)");
    let res = reqwest::Client::new()
        .get(format!("{filer}/buckets/{bucket}/.uploads/?limit=100000"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    if res.status() == 404 {
        return Vec::new();
    }
    let listing: Value = res.json().await.unwrap();
    let mut out = Vec::new();
    for entry in listing["Entries"].as_array().into_iter().flatten() {
        let key = entry["Extended"]["key"].as_str().unwrap_or_default();
        let key = base64::engine::general_purpose::STANDARD.decode(key).unwrap_or_default();
        let key = String::from_utf8_lossy(&key).into_owned();
        if key.starts_with(prefix) {
            out.push(format!("upload:{key}"));
        }
    }
    out
}
