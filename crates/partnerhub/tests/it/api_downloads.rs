//! Files, activation keys and download links (R6, R7, R8) through the API.

use crate::api_catalog::{import, sample_catalog};
use crate::api_orders::{buy, item, stock};
use crate::harness::*;
use domain::role::Role;
use futures::FutureExt;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

crate::on_every_blob_store!(
    an_admin_agent_gets_the_key_and_a_link_that_serves_the_file,
    a_link_allows_exactly_50_downloads_under_200_concurrent_requests,
    resumes_heads_and_bad_ranges_do_not_count,
    a_link_works_for_14_days_on_the_partners_clock_and_asking_again_issues_fresh_links,
    only_admin_agents_get_keys_and_other_partners_see_nothing,
    a_cancelled_item_has_no_key_and_its_links_are_revoked,
    a_replay_returns_the_same_key_and_links_and_records_another_key_view,
    uploads_are_checked_and_a_failed_upload_leaves_nothing,
    an_admin_agent_lists_an_items_links_and_revokes_one,
    a_revocation_racing_downloads_leaves_the_count_exact,
    two_links_redeemed_together_count_exactly_and_keep_the_chain_valid,
);

const DAY: i64 = 86_400_000_000;
const ENU: &str = "version=2019&language=en-us&fileType=ISO&fileName=SQLServer2019-x64-ENU.iso";
const DEU: &str = "version=2019&language=de-de&fileType=ISO&fileName=SQLServer2019-x64-DEU.iso";
const KEY: &str = "SQL19-KEY-0001";

/// Deterministic file contents, different per seed.
pub fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed ^ (i >> 8) as u8)).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub async fn upload(app: &TestApp, product: &str, query: &str, body: Vec<u8>) -> Res {
    let url = format!("{}/v1/publisher/products/{product}/artifacts?{query}", app.url);
    Res::of(app.http.post(url).bearer_auth(PUBLISHER_TOKEN).body(body).send().await.unwrap()).await
}

/// A download: status, headers and the raw body.
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
    pub fn error_name(&self) -> String {
        serde_json::from_slice::<Value>(&self.body).map(|v| v["errorName"].as_str().unwrap_or("").to_string()).unwrap()
    }
}

pub async fn fetch(http: &reqwest::Client, method: Method, uri: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut req = http.request(method, uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.bytes().await.unwrap().to_vec();
    Fetched { status, headers, body }
}

/// A partner whose US customer bought SQL Server 2019 (with a key), and the two files uploaded for it.
pub struct Bought {
    pub p: TestPartner,
    pub customer: String,
    pub item: String,
    pub enu: Vec<u8>,
}

impl Bought {
    pub fn agent(&self) -> &str {
        self.p.token(Role::AdminAgent)
    }
    pub fn path(&self, tail: &str) -> String {
        format!("/v1/customers/{}/software/{}/{tail}", self.customer, self.item)
    }
}

pub async fn bought(app: &TestApp, sandbox: bool) -> Bought {
    let p = app.partner("Alpha", sandbox).await;
    import(app, &sample_catalog()).await;
    assert_eq!(stock(app, "SQL2019STD", "0001", &[KEY]).await.status, 200);
    let enu = file_bytes(100_000, 7);
    let up = upload(app, "SQL2019STD", ENU, enu.clone()).await;
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!(upload(app, "SQL2019STD", DEU, file_bytes(5_000, 9)).await.status, 201);
    let t = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    buy(app, t, &c, json!([{"catalogItemId": item(app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}])).await;
    let sw = app.get(&format!("/v1/customers/{c}/software"), t).await;
    let item = sw.body["items"][0]["id"].as_str().unwrap().to_string();
    Bought { p, customer: c, item, enu }
}

async fn keys(app: &TestApp, b: &Bought, body: Value) -> Res {
    app.post(&b.path("keysanddownloads"), b.agent(), &body).await
}

/// Issues one link for the English ISO and returns its address.
pub async fn enu_link(app: &TestApp, b: &Bought) -> String {
    let r = keys(app, b, json!({"version": "2019", "language": "en-us", "fileType": "ISO"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["downloads"][0]["link"]["uri"].as_str().unwrap().to_string()
}

pub fn token_of(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap()
}

/// The partner's activity records of one kind, oldest first.
async fn activity(app: &TestApp, b: &Bought, kind: &str) -> Vec<Value> {
    let filter = url_encode(&json!({"Field": "OperationType", "Value": kind, "Operator": "equals"}).to_string());
    let r = app
        .get(
            &format!("/v1/auditrecords?startDate=2026-01-01&endDate=2027-12-31&size=500&filter={filter}"),
            b.p.token(Role::GlobalAdmin),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn data<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record["customizedData"].as_array().unwrap().iter().find(|d| d["key"] == key).and_then(|d| d["value"].as_str())
}

async fn downloads_of(app: &TestApp, token: &str) -> i64 {
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    app.scalar(&format!("SELECT downloads FROM download_links WHERE token_hash = '{hash}'")).await
}

async fn an_admin_agent_gets_the_key_and_a_link_that_serves_the_file(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    // Any role sees what can be downloaded.
    let opts = app.get(&b.path("downloadoptions"), b.p.token(Role::HelpdeskAgent)).await;
    assert_eq!(opts.status, 200, "{}", opts.text);
    assert_eq!(opts.body["versions"], json!(["2019"]));
    assert_eq!(opts.body["languages"], json!(["de-de", "en-us"]));
    assert_eq!(opts.body["fileTypes"], json!(["ISO"]));
    let enu = opts.body["artifacts"].as_array().unwrap().iter().find(|a| a["language"] == "en-us").unwrap();
    assert_eq!((enu["size"].as_u64(), enu["sha256"].as_str()), (Some(100_000), Some(sha256_hex(&b.enu).as_str())));

    let r = keys(&app, &b, json!({"version": "2019", "language": "EN-US", "fileType": "iso"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.body["activationKey"], KEY);
    let downloads = r.body["downloads"].as_array().unwrap();
    assert_eq!(downloads.len(), 1, "one link per selected file");
    let d = &downloads[0];
    assert_eq!(d["fileName"], "SQLServer2019-x64-ENU.iso");
    assert_eq!((d["maxDownloads"].as_i64(), d["remainingDownloads"].as_i64()), (Some(50), Some(50)));
    assert_eq!(d["expiresAt"], "2026-01-29T10:00:00Z", "14 days after issue");
    let uri = d["link"]["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("{}/download/", app.url)), "{uri}");
    // At least 128 random bits (43 base64url characters carry 256), stored only as a hash.
    let token = token_of(uri);
    assert_eq!(token.len(), 43);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM download_links WHERE token_hash = '{token}'")).await, 0);
    assert_eq!(downloads_of(&app, token).await, 0);

    let got = fetch(&app.http, Method::GET, uri, &[("user-agent", "PartnerhubTest/1.0")]).await;
    assert_eq!(got.status, 200);
    assert!(got.body == b.enu, "the file arrives byte for byte");
    assert_eq!(got.header("content-length"), "100000");
    assert_eq!(got.header("etag"), format!("\"{}\"", sha256_hex(&b.enu)));
    assert_eq!(got.header("accept-ranges"), "bytes");
    assert_eq!(got.header("content-type"), "application/octet-stream");
    assert!(got.header("content-disposition").starts_with("attachment; filename=\"SQLServer2019-x64-ENU.iso\""));
    assert_eq!(downloads_of(&app, token).await, 1);

    // The activity log has the key view, the link and the download, with who and from where.
    let views = activity(&app, &b, "get_software_key").await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0]["userPrincipalName"], format!("admin.agent@{}.example", b.p.id));
    assert_eq!(data(&views[0], "softwareItemId"), Some(b.item.as_str()));
    assert_eq!(views[0]["customerName"], "Fabrikam");
    let issued = activity(&app, &b, "get_software_download_link").await;
    assert_eq!(issued.len(), 1);
    let link_id = data(&issued[0], "linkId").unwrap();
    let served = activity(&app, &b, "download_software").await;
    assert_eq!(served.len(), 1);
    assert_eq!(served[0]["resourceType"], "software");
    assert_eq!(data(&served[0], "linkId"), Some(link_id));
    assert_eq!(data(&served[0], "ipAddress"), Some("127.0.0.1"));
    assert_eq!(data(&served[0], "userAgent"), Some("PartnerhubTest/1.0"));
    assert_eq!(data(&served[0], "counted"), Some("true"));

    // Nothing selected: every file. A selection that matches nothing: 400, and no link is written.
    let all = keys(&app, &b, json!({})).await;
    assert_eq!(all.body["downloads"].as_array().unwrap().len(), 2, "{}", all.text);
    keys(&app, &b, json!({"version": "2016"})).await.assert_error(400, "invalid_request");
    // Unknown fields are ignored (SPEC §5): Partner Center SDKs send whole objects.
    assert_eq!(keys(&app, &b, json!({"language": "de-de", "edition": "x"})).await.status, 201);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM download_links").await, 4);
}

async fn a_link_allows_exactly_50_downloads_under_200_concurrent_requests(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let uri = enu_link(&app, &b).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let results =
        futures::future::join_all((0..200).map(|_| fetch(&http, Method::GET, &uri, &[("user-agent", "burst")]))).await;
    let ok: Vec<&Fetched> = results.iter().filter(|f| f.status == 200).collect();
    assert_eq!(ok.len(), 50, "exactly 50 downloads succeed");
    assert!(ok.iter().all(|f| f.body == b.enu), "every success is the whole file");
    for refused in results.iter().filter(|f| f.status != 200) {
        assert_eq!((refused.status, refused.error_name()), (410, "link_expired".to_string()));
    }
    let refused: Value = serde_json::from_slice(&results.iter().find(|f| f.status == 410).unwrap().body).unwrap();
    assert!(refused["description"].as_str().unwrap().contains("Get keys and downloads"), "{refused}");
    assert_eq!(downloads_of(&app, token_of(&uri)).await, 50);
    // One activity record per served download, and none for a refusal.
    let served = activity(&app, &b, "download_software").await;
    assert_eq!(served.len(), 50);
    // The 50th download can still be resumed.
    let resumed = fetch(&app.http, Method::GET, &uri, &[("range", "bytes=99000-")]).await;
    assert_eq!((resumed.status, resumed.body.len()), (206, 1000));
}

async fn resumes_heads_and_bad_ranges_do_not_count(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let uri = enu_link(&app, &b).await;
    let etag = format!("\"{}\"", sha256_hex(&b.enu));
    let get = |headers: Vec<(&'static str, String)>| {
        let (http, uri) = (app.http.clone(), uri.clone());
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fetch(&http, Method::GET, &uri, &h).await
        }
    };
    let count = || downloads_of(&app, token_of(&uri));

    let head = fetch(&app.http, Method::HEAD, &uri, &[]).await;
    assert_eq!((head.status, head.header("content-length"), head.body.len()), (200, "100000", 0));
    assert_eq!(head.header("etag"), etag);
    assert_eq!(count().await, 0, "HEAD never counts");

    let first = get(vec![("range", "bytes=0-99".into())]).await;
    assert_eq!((first.status, first.header("content-range")), (206, "bytes 0-99/100000"));
    assert!(first.body == b.enu[..100]);
    assert_eq!(count().await, 1, "a range from byte 0 starts a download");

    let resume = get(vec![("range", "bytes=100-".into()), ("if-range", etag.clone())]).await;
    assert_eq!((resume.status, resume.header("content-length")), (206, "99900"));
    assert!(resume.body == b.enu[100..]);
    let tail = get(vec![("range", "bytes=-500".into())]).await;
    assert_eq!((tail.status, tail.header("content-range")), (206, "bytes 99500-99999/100000"));
    assert_eq!(count().await, 1, "resumes do not count");

    let multi = get(vec![("range", "bytes=0-9,20-29".into())]).await;
    assert_eq!((multi.status, multi.body.len()), (200, 100_000), "a multi-range request gets the whole file");
    let stale = get(vec![("range", "bytes=100-".into()), ("if-range", "\"another-version\"".into())]).await;
    assert_eq!((stale.status, stale.body.len()), (200, 100_000), "a stale If-Range gets the whole file");
    assert_eq!(count().await, 3, "both are downloads from byte 0");

    let beyond = get(vec![("range", "bytes=100000-".into())]).await;
    assert_eq!((beyond.status, beyond.header("content-range")), (416, "bytes */100000"));
    assert_eq!(count().await, 3);
    // Records: three counted downloads and two resumes; HEAD and the 416 served nothing.
    let served = activity(&app, &b, "download_software").await;
    let counted: Vec<Option<&str>> = served.iter().map(|r| data(r, "counted")).collect();
    assert_eq!(counted, [Some("true"), Some("false"), Some("false"), Some("true"), Some("true")]);
    assert_eq!(data(&served[1], "range"), Some("bytes=100-99999"));

    // Use up the rest: 47 more, then 410; a resume still works, and HEAD says what a new download would get.
    let mut more = 0;
    while get(vec![]).await.status == 200 {
        more += 1;
        assert!(more <= 47, "more downloads than the limit");
    }
    assert_eq!(more, 47);
    assert_eq!(get(vec![("range", "bytes=50000-".into())]).await.status, 206);
    assert_eq!(fetch(&app.http, Method::HEAD, &uri, &[]).await.status, 410);
    assert_eq!(count().await, 50);
}

async fn a_link_works_for_14_days_on_the_partners_clock_and_asking_again_issues_fresh_links(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let first = enu_link(&app, &b).await;
    assert_eq!(fetch(&app.http, Method::GET, &first, &[]).await.status, 200);
    app.clock.advance_micros(14 * DAY - 1_000_000);
    assert_eq!(fetch(&app.http, Method::GET, &first, &[]).await.status, 200, "14 days less a second: still good");
    // Asking again issues a fresh link with its own 14 days and 50 downloads; the first keeps its own.
    let second = enu_link(&app, &b).await;
    assert_ne!(first, second);
    app.clock.advance_micros(1_000_000);
    let expired = fetch(&app.http, Method::GET, &first, &[]).await;
    assert_eq!((expired.status, expired.error_name()), (410, "link_expired".to_string()));
    let resume = fetch(&app.http, Method::GET, &first, &[("range", "bytes=10-")]).await;
    assert_eq!(resume.status, 410, "after 14 days not even a resume");
    assert_eq!(fetch(&app.http, Method::GET, &second, &[]).await.status, 200);
    assert_eq!(downloads_of(&app, token_of(&first)).await, 2);
    assert_eq!(downloads_of(&app, token_of(&second)).await, 1);

    // A sandbox partner's links follow its test clock, not the server's.
    let app = TestApp::spawn(db).await;
    let b = bought(&app, true).await;
    let link = enu_link(&app, &b).await;
    let moved = app.post("/v1/testclock/advance", b.agent(), &json!({"days": 13, "seconds": 86_399})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(fetch(&app.http, Method::GET, &link, &[]).await.status, 200);
    app.post("/v1/testclock/advance", b.agent(), &json!({"seconds": 1})).await;
    assert_eq!(fetch(&app.http, Method::GET, &link, &[]).await.status, 410);
    let fresh = enu_link(&app, &b).await;
    let r = fetch(&app.http, Method::GET, &fresh, &[]).await;
    assert_eq!(r.status, 200);
    let served = activity(&app, &b, "download_software").await;
    assert_eq!(served.last().unwrap()["operationDate"], "2026-01-29T10:00:00Z", "dated on the partner's clock");
}

async fn only_admin_agents_get_keys_and_other_partners_see_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    for role in Role::ALL {
        let options = app.get(&b.path("downloadoptions"), b.p.token(role)).await;
        assert_eq!(options.status, 200, "{role:?} may see the download options: {}", options.text);
        if role != Role::AdminAgent {
            let r = app.post(&b.path("keysanddownloads"), b.p.token(role), &json!({})).await;
            let body = r.assert_error(403, "forbidden");
            assert!(body["description"].as_str().unwrap().contains("admin_agent"), "{role:?}: {}", r.text);
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM download_links").await, 0);
    let other = app.partner("Beta", false).await;
    for role in [Role::AdminAgent, Role::GlobalAdmin] {
        app.get(&b.path("downloadoptions"), other.token(role)).await.assert_error(404, "not_found");
    }
    app.post(&b.path("keysanddownloads"), other.token(Role::AdminAgent), &json!({}))
        .await
        .assert_error(404, "not_found");
    let unknown = format!("/v1/customers/{}/software/{}/keysanddownloads", b.customer, uuid::Uuid::now_v7());
    app.post(&unknown, b.agent(), &json!({})).await.assert_error(404, "not_found");
    app.post(&b.path("keysanddownloads"), PUBLISHER_TOKEN, &json!({})).await.assert_error(401, "unauthorized");
    // Tokens that were never issued.
    for token in ["nonsense", "..%2F..%2Fsecret.key", &"A".repeat(43)] {
        let r = fetch(&app.http, Method::GET, &format!("{}/download/{token}", app.url), &[]).await;
        assert_eq!((r.status, r.error_name()), (404, "not_found".to_string()), "{token}");
    }
}

async fn a_cancelled_item_has_no_key_and_its_links_are_revoked(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let uri = enu_link(&app, &b).await;
    let order =
        app.get(&format!("/v1/customers/{}/orders", b.customer), b.agent()).await.body["items"][0]["id"].clone();
    let path = format!("/v1/customers/{}/orders/{}", b.customer, order.as_str().unwrap());
    assert_eq!(app.patch(&path, b.agent(), &json!({"status": "cancelled"})).await.status, 200);
    keys(&app, &b, json!({})).await.assert_error(409, "item_cancelled");
    for range in [None, Some("bytes=10-")] {
        let headers: Vec<(&str, &str)> = range.iter().map(|r| ("range", *r)).collect();
        let r = fetch(&app.http, Method::GET, &uri, &headers).await;
        assert_eq!((r.status, r.error_name()), (410, "link_revoked".to_string()));
    }
    let page = app.get(&format!("/v1/customers/{}/software", b.customer), b.agent()).await;
    assert_eq!(page.body["items"][0]["status"], "cancelled");
    assert_eq!(page.body["items"][0]["keyAvailable"], false);
    assert!(activity(&app, &b, "download_software").await.is_empty());
}

async fn a_replay_returns_the_same_key_and_links_and_records_another_key_view(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let send = |body: Value| {
        let path = b.path("keysanddownloads");
        let token = b.agent().to_string();
        let app = &app;
        async move {
            app.request(Method::POST, &path, Some(&token), Some(&body), &[("MS-RequestId", "8d5a1c1e-keys-0001")]).await
        }
    };
    let first = send(json!({"language": "en-us"})).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send(json!({"language": "en-us"})).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the same key and the same links");
    assert_eq!(again.headers["cache-control"], "no-store");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM download_links").await, 1, "no second link");
    assert_eq!(activity(&app, &b, "get_software_key").await.len(), 2, "the key was shown twice");
    assert_eq!(activity(&app, &b, "get_software_download_link").await.len(), 1);
    send(json!({"language": "de-de"})).await.assert_error(409, "idempotency_key_reused");
    // Once the item is cancelled, a replay no longer shows the key (R10 wins over the stored response).
    let order =
        app.get(&format!("/v1/customers/{}/orders", b.customer), b.agent()).await.body["items"][0]["id"].clone();
    let path = format!("/v1/customers/{}/orders/{}", b.customer, order.as_str().unwrap());
    assert_eq!(app.patch(&path, b.agent(), &json!({"status": "cancelled"})).await.status, 200);
    send(json!({"language": "en-us"})).await.assert_error(409, "item_cancelled");
    assert_eq!(activity(&app, &b, "get_software_key").await.len(), 2, "no key view for the refused replay");
    // The stored response holds a key and a link: it is sealed at rest.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency WHERE encrypted = 1").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency WHERE encrypted = 0").await, 0);
}

async fn uploads_are_checked_and_a_failed_upload_leaves_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    upload(&app, "NOPE", ENU, vec![1]).await.assert_error(404, "not_found");
    for no_files in ["VMRESERVED", "SLES", "WIN7ESU"] {
        upload(&app, no_files, ENU, vec![1]).await.assert_error(400, "invalid_request");
    }
    upload(&app, "SQL2019STD", "version=2019&language=en-us&fileType=ISO", vec![1])
        .await
        .assert_error(400, "invalid_request");
    upload(&app, "SQL2019STD", "version=&language=en-us&fileType=ISO&fileName=a.iso", vec![1])
        .await
        .assert_error(400, "invalid_request");
    upload(&app, "SQL2019STD", "version=1&language=en&fileType=ISO&fileName=..", vec![1])
        .await
        .assert_error(400, "invalid_request");
    let traversal =
        upload(&app, "SQL2019STD", "version=1&language=en&fileType=ISO&fileName=..%2F..%2Fetc%2Fpasswd", vec![1, 2, 3])
            .await;
    assert_eq!(traversal.status, 201, "{}", traversal.text);
    assert_eq!(traversal.body["fileName"], "passwd", "only the last part of a path is kept");
    assert_eq!(
        (traversal.body["size"].as_u64(), traversal.body["sha256"].as_str()),
        (Some(3), Some(sha256_hex(&[1, 2, 3]).as_str()))
    );
    let p = app.partner("Alpha", false).await;
    let r = app.http.post(format!("{}/v1/publisher/products/SQL2019STD/artifacts?{ENU}", app.url));
    let r = Res::of(r.bearer_auth(p.token(Role::GlobalAdmin)).body(vec![1]).send().await.unwrap()).await;
    r.assert_error(401, "unauthorized");

    // Too large by its Content-Length: refused before the body is sent.
    let answer = app
        .head_only(&format!("/v1/publisher/products/SQL2019STD/artifacts?{ENU}"), PUBLISHER_TOKEN, 99_999_999_999_999)
        .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    // A client that goes away mid-upload, after more than a part (S3: a multipart upload with a part in it):
    // the partial upload is there while the body comes, and once the client is gone nothing is left, neither a
    // file (nor an open multipart upload) nor a row.
    let conn = abandoned_upload(&app, 30_000_000, &vec![7u8; 12_000_000]).await;
    blobs_come_to(&app, 2, "no partial upload").await;
    drop(conn);
    blobs_come_to(&app, 1, "left behind").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM artifacts").await, 1);
}

/// Waits until the app's blob storage holds `n` things ([`TestApp::blob_leftovers`]); fails after 10 s saying `what`.
async fn blobs_come_to(app: &TestApp, n: usize, what: &str) {
    let started = std::time::Instant::now();
    loop {
        let there = app.blob_leftovers().await;
        if there.len() == n {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{what}: {there:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sends an upload's head declaring `length` bytes, then only `body`; the client goes away when the connection
/// returned is dropped.
async fn abandoned_upload(app: &TestApp, length: u64, body: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = app.url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/publisher/products/SQL2019STD/artifacts?{ENU} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {PUBLISHER_TOKEN}\r\nContent-Length: {length}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    conn
}

/// Peak resident memory of this process (the test and the server it runs), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A 1 GiB file goes up and comes back down through the real HTTP stack while the process's peak memory grows by
/// a small fraction of it: both directions stream. (Blob storage does not depend on the database, so SQLite only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_streams_through_upload_and_download_in_bounded_memory() {
    big_file_streams_in_bounded_memory(1024).await
}

/// The same through S3 with a file of 384 MiB: a multipart upload of 48 parts of 8 MiB, parts written as they
/// fill, and a streamed download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_file_streams_through_s3_in_bounded_memory() {
    on_s3(big_file_streams_in_bounded_memory(384)).await
}

async fn big_file_streams_in_bounded_memory(default_mib: usize) {
    use futures::StreamExt;
    const MIB: usize = 1024 * 1024;
    let mib: usize =
        std::env::var("PARTNERHUB_TEST_BIG_FILE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(default_mib);
    let app = TestApp::spawn(Db::Sqlite).await;
    let b = bought(&app, false).await;
    let chunk = std::sync::Arc::new(file_bytes(MIB, 3));
    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    let body = {
        let chunk = chunk.clone();
        futures::stream::iter(0..mib).map(move |_| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(&chunk)))
    };
    let url = format!(
        "{}/v1/publisher/products/SQL2019STD/artifacts?version=2022&language=en-us&fileType=ISO&fileName=big.iso",
        app.url
    );
    let up =
        app.http.post(url).bearer_auth(PUBLISHER_TOKEN).body(reqwest::Body::wrap_stream(body)).send().await.unwrap();
    let up = Res::of(up).await;
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!(up.body["size"].as_u64(), Some((mib * MIB) as u64));
    let uploaded = started.elapsed();
    let r = keys(&app, &b, json!({"version": "2022"})).await;
    let uri = r.body["downloads"][0]["link"]["uri"].as_str().unwrap().to_string();
    let res = app.http.get(&uri).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), Some((mib * MIB) as u64));
    let mut stream = res.bytes_stream();
    let mut offset = 0usize;
    while let Some(part) = stream.next().await {
        let part = part.unwrap();
        // Compare with the pattern in place rather than keeping anything.
        let mut i = 0;
        while i < part.len() {
            let at = (offset + i) % MIB;
            let n = (MIB - at).min(part.len() - i);
            assert!(part[i..i + n] == chunk[at..at + n], "byte {} differs", offset + i);
            i += n;
        }
        offset += part.len();
    }
    assert_eq!(offset, mib * MIB);
    let grown_mib = (peak_rss_kib() - before) / 1024;
    eprintln!(
        "{mib} MiB to {}: upload {:.1}s, download {:.1}s, peak memory grew by {grown_mib} MiB",
        app.blobs,
        uploaded.as_secs_f64(),
        (started.elapsed() - uploaded).as_secs_f64()
    );
    assert!(grown_mib < 96, "peak memory grew by {grown_mib} MiB for a {mib} MiB file");
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Res {
    app.request(Method::DELETE, path, Some(token), None, &[]).await
}

async fn an_admin_agent_lists_an_items_links_and_revokes_one(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let first = enu_link(&app, &b).await;
    app.clock.advance_micros(1_000_000);
    let second = enu_link(&app, &b).await;
    for _ in 0..3 {
        assert_eq!(fetch(&app.http, Method::GET, &first, &[]).await.status, 200);
    }
    let listed = app.get(&b.path("downloadlinks"), b.agent()).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap().clone();
    assert_eq!((items.len(), listed.body["totalCount"].as_u64()), (2, Some(2)));
    assert!(!listed.text.contains(token_of(&first)), "a listed link never shows its token");
    // Newest first: the second link, untouched; then the first, with three downloads used.
    assert_eq!((items[0]["downloads"].as_i64(), items[0]["remainingDownloads"].as_i64()), (Some(0), Some(50)));
    assert_eq!((items[1]["downloads"].as_i64(), items[1]["remainingDownloads"].as_i64()), (Some(3), Some(47)));
    assert_eq!(items[1]["status"], "active");
    assert_eq!(items[1]["artifact"]["fileName"], "SQLServer2019-x64-ENU.iso");
    assert_eq!(items[1]["issuedBy"], format!("admin.agent@{}.example", b.p.id));
    assert_eq!(items[1]["expiresAt"], "2026-01-29T10:00:00Z");
    let first_id = items[1]["id"].as_str().unwrap().to_string();

    // Only admin agents manage links; another partner does not see them.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::AdminAgent) {
        app.get(&b.path("downloadlinks"), b.p.token(role)).await.assert_error(403, "forbidden");
        delete(&app, &b.path(&format!("downloadlinks/{first_id}")), b.p.token(role))
            .await
            .assert_error(403, "forbidden");
    }
    let other = app.partner("Beta", false).await;
    delete(&app, &b.path(&format!("downloadlinks/{first_id}")), other.token(Role::AdminAgent))
        .await
        .assert_error(404, "not_found");
    delete(&app, &b.path(&format!("downloadlinks/{}", uuid::Uuid::now_v7())), b.agent())
        .await
        .assert_error(404, "not_found");
    assert_eq!(fetch(&app.http, Method::GET, &first, &[]).await.status, 200, "refusals revoked nothing");

    // Revoked: the link answers 410 link_revoked (a resume too); the other link still serves.
    let revoked = delete(&app, &b.path(&format!("downloadlinks/{first_id}")), b.agent()).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    for range in [None, Some("bytes=10-")] {
        let headers: Vec<(&str, &str)> = range.iter().map(|r| ("range", *r)).collect();
        let r = fetch(&app.http, Method::GET, &first, &headers).await;
        assert_eq!((r.status, r.error_name()), (410, "link_revoked".to_string()));
    }
    assert_eq!(fetch(&app.http, Method::GET, &second, &[]).await.status, 200);
    let after = app.get(&b.path("downloadlinks"), b.agent()).await.body["items"].clone();
    assert_eq!((after[1]["status"].as_str(), after[1]["downloads"].as_i64()), (Some("revoked"), Some(4)));
    assert_eq!(after[0]["status"], "active");

    // Revoking again changes nothing and records nothing; the one revocation names who and which link.
    assert_eq!(delete(&app, &b.path(&format!("downloadlinks/{first_id}")), b.agent()).await.status, 204);
    let records = activity(&app, &b, "revoke_software_download_link").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["resourceType"], "software");
    assert_eq!(data(&records[0], "linkId"), Some(first_id.as_str()));
    assert_eq!(data(&records[0], "softwareItemId"), Some(b.item.as_str()));
    assert_eq!(records[0]["userPrincipalName"], format!("admin.agent@{}.example", b.p.id));

    // Past its 14 days a link is listed as expired; on the partner's clock.
    app.clock.advance_micros(14 * DAY);
    let later = app.get(&b.path("downloadlinks"), b.agent()).await.body["items"].clone();
    assert_eq!((later[0]["status"].as_str(), later[1]["status"].as_str()), (Some("expired"), Some("revoked")));
}

/// Downloads racing a revocation: each one either committed before it (and is counted and served) or is refused;
/// the count never moves after the revocation.
async fn a_revocation_racing_downloads_leaves_the_count_exact(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let uri = enu_link(&app, &b).await;
    let id = app.get(&b.path("downloadlinks"), b.agent()).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let downloads = futures::future::join_all((0..40).map(|_| fetch(&http, Method::GET, &uri, &[])));
    let path = b.path(&format!("downloadlinks/{id}"));
    let revoke = delete(&app, &path, b.agent());
    let (results, revoked) = futures::join!(downloads, revoke);
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let served = results.iter().filter(|f| f.status == 200).count() as i64;
    for refused in results.iter().filter(|f| f.status != 200) {
        assert_eq!((refused.status, refused.error_name()), (410, "link_revoked".to_string()));
    }
    assert_eq!(downloads_of(&app, token_of(&uri)).await, served, "every served download counted, no other");
    assert_eq!(activity(&app, &b, "download_software").await.len() as i64, served);
    assert_eq!(fetch(&app.http, Method::GET, &uri, &[]).await.status, 410);
    assert_eq!(downloads_of(&app, token_of(&uri)).await, served);
}

/// Downloads of two links arriving together (on SQLite, counted in groups by the writer, a link many times in one
/// group): each link serves exactly 50, the small file whole in one read, one activity record per download, and
/// the partner's chain stays valid.
async fn two_links_redeemed_together_count_exactly_and_keep_the_chain_valid(db: Db) {
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let r = keys(&app, &b, json!({"version": "2019", "fileType": "ISO"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let uris: Vec<String> =
        r.body["downloads"].as_array().unwrap().iter().map(|d| d["link"]["uri"].as_str().unwrap().into()).collect();
    assert_eq!(uris.len(), 2);
    let deu = file_bytes(5_000, 9);
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let results = futures::future::join_all(
        (0..140).map(|i| fetch(&http, Method::GET, &uris[i % 2], &[]).then(move |f| async move { (i % 2, f) })),
    )
    .await;
    for (link, uri) in uris.iter().enumerate() {
        let served: Vec<&Fetched> =
            results.iter().filter(|(l, f)| *l == link && f.status == 200).map(|(_, f)| f).collect();
        assert_eq!(served.len(), 50, "exactly 50 downloads of {uri}");
        assert!(served.iter().all(|f| f.body == b.enu || f.body == deu), "every success is a whole file");
        assert_eq!(downloads_of(&app, token_of(uri)).await, 50);
    }
    assert!(results.iter().filter(|(_, f)| f.status != 200).all(|(_, f)| f.status == 410));
    assert!(results.iter().any(|(_, f)| f.status == 200 && f.body == deu), "the small file is served");
    assert_eq!(activity(&app, &b, "download_software").await.len(), 100);
    let verified = app.get("/v1/auditrecords/verification", b.p.token(Role::GlobalAdmin)).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["valid"], true, "{}", verified.text);
}
