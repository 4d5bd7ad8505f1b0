//! Money integrity (SPEC §8): per order line, cancel credits plus refunds never exceed what the line was charged,
//! under any mix or race of actions. The three ways found to pay back more than was charged are kept as named
//! regression tests; a model-based test drives random sequences of checkouts, cancels, refunds, combined desk
//! answers, replays, races and invoice runs on the test clock, and checks every invoice against a model computed
//! here, independently of the product's code. Every test ends with the ledger verification.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::{run, set_tax};
use crate::api_orders::{cart, checkout, item, stock};
use crate::api_support::request_body;
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

crate::on_both_backends!(
    parallel_refunds_of_one_line_grant_it_once,
    an_order_level_refund_counts_against_later_cancels_and_line_refunds,
    a_desk_answer_that_cancels_and_refunds_is_one_decision,
    one_partners_tokens_share_idempotency_keys_but_not_secrets,
    ledger_verify_names_every_broken_invariant,
    random_sequences_of_money_actions_match_the_model,
);

const DAY: i64 = 86_400_000_000;
/// US sales tax in these tests: 7.25%, added to the net.
const RATE_BP: i128 = 725;

/// A partner with the sample catalog, US tax, keys in stock and one customer.
struct Shop {
    app: TestApp,
    partner: TestPartner,
    customer: String,
}

impl Shop {
    async fn open(db: Db) -> Shop {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Alpha", false).await;
        import(&app, &sample_catalog()).await;
        set_tax(&app, "US", "USD", "0.0725", false).await;
        // Reservations take no activation key.
        for (product, prefix) in [("SQL2019STD", "STD"), ("SQL2019PERP", "PERP")] {
            let keys: Vec<String> = (0..120).map(|i| format!("{prefix}-KEY-{i:04}")).collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let r = stock(&app, product, "0001", &keys).await;
            assert!(r.status.is_success(), "{}", r.text);
        }
        let customer =
            app.customer(&partner, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
        Shop { app, partner, customer }
    }

    fn agent(&self) -> &str {
        self.partner.token(Role::AdminAgent)
    }

    /// Buys `(product, quantity)` lines in one checkout; returns the order.
    async fn buy(&self, lines: &[(&str, i64)]) -> Value {
        let mut items = Vec::new();
        for (product, quantity) in lines {
            let id = item(&self.app, self.agent(), &self.customer, product, "0001").await;
            let mut line = json!({"catalogItemId": id, "quantity": quantity});
            if *product == "VMRESERVED" {
                line["provisioningContext"] =
                    json!({"subscriptionId": uuid::Uuid::new_v4().to_string(), "scope": "single"});
            }
            items.push(line);
        }
        let c = cart(&self.app, self.agent(), &self.customer, json!(items)).await;
        assert_eq!(c.status, 201, "{}", c.text);
        let o = checkout(&self.app, self.agent(), &self.customer, c.body["id"].as_str().unwrap()).await;
        assert_eq!(o.status, 201, "{}", o.text);
        o.body["orders"][0].clone()
    }

    /// A support request about an order, for the desk to answer.
    async fn request_about(&self, order: &str) -> String {
        let r = self.app.post("/v1/servicerequests/en-US", self.agent(), &request_body(&self.customer, order)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn desk(&self, request: &str, body: &Value, key: Option<&str>) -> Res {
        let headers: Vec<(&str, &str)> = key.map(|k| ("MS-RequestId", k)).into_iter().collect();
        let path = format!("/v1/publisher/servicerequests/{request}");
        self.app.request(Method::PATCH, &path, Some(PUBLISHER_TOKEN), Some(body), &headers).await
    }

    async fn cancel(&self, order: &str, lines: Option<&[u32]>, key: Option<&str>) -> Res {
        let mut body = json!({"status": "cancelled"});
        if let Some(lines) = lines {
            body["lineItems"] = lines.iter().map(|n| json!({"lineItemNumber": n})).collect();
        }
        let headers: Vec<(&str, &str)> = key.map(|k| ("MS-RequestId", k)).into_iter().collect();
        let path = format!("/v1/customers/{}/orders/{order}", self.customer);
        self.app.request(Method::PATCH, &path, Some(self.agent()), Some(&body), &headers).await
    }

    /// (net, tax) credited back on an order so far, in minor units (positive).
    async fn credited(&self, order: &str) -> (i64, i64) {
        let q = |col: &str| {
            format!("SELECT CAST(COALESCE(SUM(-{col}), 0) AS BIGINT) FROM ledger WHERE order_id = '{order}' AND kind <> 'new'")
        };
        (self.app.scalar(&q("net_minor")).await, self.app.scalar(&q("tax_minor")).await)
    }
}

fn refund(amount: &str, order: &str, line: Option<u32>) -> Value {
    let mut r = json!({"amount": amount, "currencyCode": "USD", "orderId": order});
    if let Some(n) = line {
        r["lineItemNumber"] = json!(n);
    }
    json!({"refund": r})
}

/// Regression: ten parallel desk answers, each through its own support request, each granting the whole gross of
/// one line. Before the fix up to all ten were accepted (the cap was read before the write).
async fn parallel_refunds_of_one_line_grant_it_once(db: Db) {
    let shop = Shop::open(db).await;
    let order = shop.buy(&[("SQL2019PERP", 1)]).await;
    let id = order["id"].as_str().unwrap().to_string();
    let mut requests = Vec::new();
    for _ in 0..10 {
        requests.push(shop.request_about(&id).await);
    }
    let body = refund("4182.75", &id, Some(0));
    let answers = futures::future::join_all(requests.iter().map(|r| shop.desk(r, &body, None))).await;
    let granted = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(granted, 1, "{:?}", answers.iter().map(|a| a.text.clone()).collect::<Vec<_>>());
    for a in answers.iter().filter(|a| a.status != 200) {
        let e = a.assert_error(409, "credit_exceeds_charge");
        assert!(e["description"].as_str().unwrap().contains("at most 0.00 USD is left"), "{}", a.text);
        assert_eq!(e["data"][0]["left"], "0.00");
    }
    assert_eq!(shop.credited(&id).await, (390_000, 28_275));
    // The invoice nets to zero, never below.
    shop.app.clock.advance_micros(20 * DAY);
    let inv = run(&shop.app, "2026-01").await;
    assert_eq!(inv.body["invoices"][0]["totalCharges"], "0.00", "{}", inv.text);
    shop.app.assert_ledger_valid().await;
}

/// Regression: a refund granted against the whole order used to be stored with no line, so a later cancel credited
/// the line in full again and a later full line refund was accepted too.
async fn an_order_level_refund_counts_against_later_cancels_and_line_refunds(db: Db) {
    let shop = Shop::open(db).await;
    // Two lines: 3,900.00 perpetual and 2 × 700.00 reservation, 7.25% tax on each.
    let order = shop.buy(&[("SQL2019PERP", 1), ("VMRESERVED", 2)]).await;
    let id = order["id"].as_str().unwrap().to_string();
    let sr = shop.request_about(&id).await;
    // 1,000.00 against the order: apportioned 3900:1400 of what is left (gross 4182.75 and 1501.50).
    let r = shop.desk(&sr, &refund("1000.00", &id, None), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows = shop
        .app
        .scalar(&format!(
            "SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND order_id = '{id}' AND line_number IS NOT NULL"
        ))
        .await;
    assert_eq!(rows, 2, "every credit names the line it reverses");
    let line0 = shop
        .app
        .scalar(&format!(
            "SELECT -gross_minor FROM ledger WHERE kind = 'refund' AND line_number = 0 AND order_id = '{id}'"
        ))
        .await;
    // ⌊100000 × 418275 / 568425⌋ = 73584 (568425 × 73585 = 41,827,553,625 > 41,827,500,000).
    assert_eq!(line0, 73_584);
    // A cancel now gives back exactly what is left of both lines: the order's whole gross minus 1,000.00.
    let c = shop.cancel(&id, None, None).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let (net, tax) = shop.credited(&id).await;
    assert_eq!(net + tax, 418_275 + 150_150, "credited exactly the charge");
    assert!(net <= 530_000 && tax <= 38_425);
    // Nothing is left: a refund of one cent on the line, or on the order, is refused.
    shop.desk(&sr, &refund("0.01", &id, Some(0)), None).await.assert_error(409, "credit_exceeds_charge");
    let e = shop.desk(&sr, &refund("0.01", &id, None), None).await;
    assert!(e.assert_error(409, "credit_exceeds_charge")["description"]
        .as_str()
        .unwrap()
        .contains(&format!("order {id}")));
    // The reverse order: a line refunded in full, then an order-level refund only sees the other line.
    let second = shop.buy(&[("SQL2019PERP", 1), ("VMRESERVED", 1)]).await;
    let id2 = second["id"].as_str().unwrap().to_string();
    assert_eq!(shop.desk(&sr, &refund("4182.75", &id2, Some(0)), None).await.status, 200);
    shop.desk(&sr, &refund("750.76", &id2, None), None).await.assert_error(409, "credit_exceeds_charge");
    assert_eq!(shop.desk(&sr, &refund("750.75", &id2, None), None).await.status, 200);
    assert_eq!(shop.credited(&id2).await, (460_000, 33_350));
    shop.app.assert_ledger_valid().await;
}

/// Regression: `cancel` and `refund` in one desk PATCH were both worked out from one snapshot and both credited
/// in full. Now the refund's cap sees the cancel's credit, and all of the answer commits or none of it.
async fn a_desk_answer_that_cancels_and_refunds_is_one_decision(db: Db) {
    let shop = Shop::open(db).await;
    let order = shop.buy(&[("SQL2019PERP", 1)]).await;
    let id = order["id"].as_str().unwrap().to_string();
    let sr = shop.request_about(&id).await;
    let both = |amount: &str| {
        let mut b = refund(amount, &id, Some(0));
        b["cancel"] = json!({"customerId": shop.customer, "orderId": id});
        b["newNote"] = json!({"text": "Cancelled and refunded."});
        b
    };
    // The cancel gives back all 4,182.75: a refund on top is over the charge, and nothing of the answer happens.
    let r = shop.desk(&sr, &both("4182.75"), None).await;
    assert!(r.assert_error(409, "credit_exceeds_charge")["description"].as_str().unwrap().contains("0.00 USD"));
    assert_eq!(shop.credited(&id).await, (0, 0));
    let o = shop.app.get(&format!("/v1/customers/{}/orders/{id}", shop.customer), shop.agent()).await;
    assert_eq!(o.body["status"], "completed", "the cancel rolled back with the refund");
    let seen = shop.app.get(&format!("/v1/servicerequests/{sr}"), shop.agent()).await;
    assert_eq!(seen.body["notes"].as_array().unwrap().len(), 0, "the note rolled back too");
    // A refund first, then a cancel with a refund of the rest in one answer: the cancel gives back what is left
    // after the first refund, the second refund finds nothing left.
    assert_eq!(shop.desk(&sr, &refund("182.75", &id, Some(0)), None).await.status, 200);
    shop.desk(&sr, &both("0.01"), None).await.assert_error(409, "credit_exceeds_charge");
    let mut cancel_only = json!({"cancel": {"customerId": shop.customer, "orderId": id}});
    let c = shop.desk(&sr, &cancel_only, None).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(shop.credited(&id).await, (390_000, 28_275));
    let cancel_gross =
        shop.app.scalar(&format!("SELECT -gross_minor FROM ledger WHERE kind = 'cancel' AND order_id = '{id}'")).await;
    assert_eq!(cancel_gross, 400_000, "the cancel credited exactly what the refund left");
    cancel_only["newNote"] = json!({"text": "again"});
    shop.desk(&sr, &cancel_only, None).await.assert_error(409, "already_cancelled");
    shop.app.assert_ledger_valid().await;
}

/// SPEC §5 and §8: idempotency keys are the partner's, not one user's — a retry through another user's token
/// replays the first answer instead of creating a second cart — but a response that carries a secret is only
/// ever replayed to the user it was made for.
async fn one_partners_tokens_share_idempotency_keys_but_not_secrets(db: Db) {
    let shop = Shop::open(db).await;
    let (admin, global) = (shop.partner.token(Role::AdminAgent), shop.partner.token(Role::GlobalAdmin));
    let sql = item(&shop.app, admin, &shop.customer, "SQL2019STD", "0001").await;
    let body = json!({"lineItems": [{"catalogItemId": sql, "quantity": 1}]});
    let path = format!("/v1/customers/{}/carts", shop.customer);
    let key = [("MS-RequestId", "5f0e3c9a-2d1b-4c55-9f00-000000000001")];
    let first = shop.app.request(Method::POST, &path, Some(admin), Some(&body), &key).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = shop.app.request(Method::POST, &path, Some(global), Some(&body), &key).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body), "another user's token replays the cart");
    assert_eq!(shop.app.scalar("SELECT COUNT(*) FROM carts").await, 1);
    // Another partner's user with the same key is another caller.
    let other = shop.app.partner("Beta", false).await;
    let c2 =
        shop.app.customer(&other, "Contoso", "contoso.example.com", "US").await["id"].as_str().unwrap().to_string();
    let p2 = format!("/v1/customers/{c2}/carts");
    let sql2 = item(&shop.app, other.token(Role::AdminAgent), &c2, "SQL2019STD", "0001").await;
    let b2 = json!({"lineItems": [{"catalogItemId": sql2, "quantity": 1}]});
    let theirs = shop.app.request(Method::POST, &p2, Some(other.token(Role::AdminAgent)), Some(&b2), &key).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // An API token is a secret: the same key and body from another user of the partner does not hand it over.
    let token_key = [("MS-RequestId", "5f0e3c9a-2d1b-4c55-9f00-000000000002")];
    let mine = shop
        .app
        .request(Method::POST, "/v1/users/me/tokens", Some(global), Some(&json!({"name": "ci"})), &token_key)
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    let replayed = shop
        .app
        .request(Method::POST, "/v1/users/me/tokens", Some(global), Some(&json!({"name": "ci"})), &token_key)
        .await;
    assert_eq!(replayed.body["token"], mine.body["token"], "its owner gets it again");
    let stolen = shop
        .app
        .request(Method::POST, "/v1/users/me/tokens", Some(admin), Some(&json!({"name": "ci"})), &token_key)
        .await;
    stolen.assert_error(409, "idempotency_key_reused");
    assert!(!stolen.text.contains(mine.body["token"].as_str().unwrap()));
}

/// `partnerhub ledger verify` and `GET /v1/publisher/ledger/verification`: valid on a sound ledger; a credit written
/// around the application, or an invoice total changed by hand, is named and the command exits 1.
async fn ledger_verify_names_every_broken_invariant(db: Db) {
    let shop = Shop::open(db).await;
    let app = &shop.app;
    let order = shop.buy(&[("SQL2019PERP", 1), ("SQL2019STD", 1)]).await;
    let id = order["id"].as_str().unwrap().to_string();
    let sr = shop.request_about(&id).await;
    assert_eq!(shop.desk(&sr, &refund("100.00", &id, None), None).await.status, 200);
    let verify = || async {
        let out = tokio::process::Command::new(crate::cli::BIN)
            .args(["ledger", "verify", "--database-url", &app.db.url])
            .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="])
            .output()
            .await
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, out) = verify().await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ledger: valid (2 order lines, 0 invoices checked, 0 violations)"), "{out}");
    let ok = app.assert_ledger_valid().await;
    assert_eq!((ok["linesChecked"].as_u64(), ok["violations"].as_array().map(Vec::len)), (Some(2), Some(0)));

    // A refund written around the application: line 1 credited one cent over its charge.
    let line1 =
        app.scalar(&format!("SELECT gross_minor FROM order_lines WHERE order_id = '{id}' AND line_number = 1")).await;
    app.raw_sql(&format!(
        "INSERT INTO ledger (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, quantity, \
         unit_price_minor, net_minor, tax_minor, gross_minor) VALUES ('{}', '{}', 'USD', 2, {START}, 'refund', '{}', '{id}', 1, 1, \
         -{line1}, -{line1}, 0, -{line1})",
        uuid::Uuid::now_v7(),
        shop.partner.id,
        shop.customer,
    ))
    .await;
    let v = app.get("/v1/publisher/ledger/verification", PUBLISHER_TOKEN).await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
    let found = &v.body["violations"][0];
    assert_eq!(
        (found["kind"].as_str(), found["orderId"].as_str(), found["lineItemNumber"].as_u64()),
        (Some("over_credited"), Some(id.as_str()), Some(1))
    );
    let (code, out) = verify().await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("INVALID over_credited: order {id} line 1")), "{out}");

    // An invoice whose total was changed by hand no longer equals its lines.
    app.clock.advance_micros(20 * DAY);
    assert_eq!(run(app, "2026-01").await.status, 200);
    app.raw_sql("UPDATE invoices SET total_minor = total_minor + 1").await;
    let v = app.get("/v1/publisher/ledger/verification", PUBLISHER_TOKEN).await;
    let kinds: Vec<&str> =
        v.body["violations"].as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["over_credited", "invoice_mismatch"], "{}", v.text);
    assert!(v.body["violations"][1]["invoiceId"].is_string());
    // Partners never reach it.
    app.get("/v1/publisher/ledger/verification", shop.partner.token(Role::GlobalAdmin))
        .await
        .assert_error(401, "unauthorized");
}

// ---- The model ----------------------------------------------------------------------------------------------

/// A small deterministic generator (SplitMix64): a failing sequence is re-run from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Half away from zero of `a × b / c` for non-negative values (R4's rounding).
fn round_div(a: i128, b: i128, c: i128) -> i64 {
    ((2 * a * b + c) / (2 * c)) as i64
}

#[derive(Debug, Clone)]
struct MLine {
    net: i64,
    tax: i64,
    /// A one-year term (prorated credit) rather than perpetual software (all of it).
    yearly: bool,
    cancelled: bool,
    credited_net: i64,
    credited_tax: i64,
}

impl MLine {
    fn left(&self) -> (i64, i64) {
        (self.net - self.credited_net, self.tax - self.credited_tax)
    }
    fn left_gross(&self) -> i64 {
        let (n, t) = self.left();
        n + t
    }
    /// A refund of `gross` split at 7.25%, moved into what is left of net and tax.
    fn split(&self, gross: i64) -> (i64, i64) {
        let (ln, lt) = self.left();
        let tax = round_div(i128::from(gross), RATE_BP, 10_000 + RATE_BP);
        let tax = tax.clamp((gross - ln).max(0), lt.min(gross).max((gross - ln).max(0)));
        (gross - tax, tax)
    }
}

#[derive(Debug, Clone)]
struct MOrder {
    id: String,
    at: i64,
    lines: Vec<MLine>,
}

#[derive(Default)]
struct Model {
    orders: Vec<MOrder>,
    /// Per month (`YYYY-MM`): rows, net, tax of the ledger rows dated in it.
    months: BTreeMap<String, (i64, i64, i64)>,
}

fn month(at: i64) -> String {
    domain::invoice::Period::of(domain::Timestamp::from_micros(at)).to_string()
}

impl Model {
    fn book(&mut self, at: i64, net: i64, tax: i64) {
        let m = self.months.entry(month(at)).or_default();
        *m = (m.0 + 1, m.1 + net, m.2 + tax);
    }

    fn credit(&mut self, o: usize, l: usize, net: i64, tax: i64, at: i64) {
        let line = &mut self.orders[o].lines[l];
        line.credited_net += net;
        line.credited_tax += tax;
        assert!(line.credited_net <= line.net && line.credited_tax <= line.tax, "the model itself over-credits");
        if net + tax > 0 {
            self.book(at, -net, -tax);
        }
    }

    /// R10's credit, never more than is left.
    fn cancel_line(&mut self, o: usize, l: usize, now: i64) {
        let at = self.orders[o].at;
        let line = &self.orders[o].lines[l];
        let (net, tax) = if line.yearly {
            let used = (now - at) / DAY;
            let remaining = i128::from((365 - used).clamp(0, 365));
            (round_div(i128::from(line.net), remaining, 365), round_div(i128::from(line.tax), remaining, 365))
        } else {
            (line.net, line.tax)
        };
        let (ln, lt) = line.left();
        self.orders[o].lines[l].cancelled = true;
        self.credit(o, l, net.min(ln), tax.min(lt), now);
    }

    fn refund_line(&mut self, o: usize, l: usize, gross: i64, now: i64) -> bool {
        if gross > self.orders[o].lines[l].left_gross() {
            return false;
        }
        let (net, tax) = self.orders[o].lines[l].split(gross);
        self.credit(o, l, net, tax, now);
        true
    }

    /// Pro rata to what each line has left: cumulative shares floored.
    fn refund_order(&mut self, o: usize, gross: i64, now: i64) -> bool {
        let weights: Vec<i128> = self.orders[o].lines.iter().map(|l| i128::from(l.left_gross())).collect();
        let total: i128 = weights.iter().sum();
        if i128::from(gross) > total {
            return false;
        }
        let (mut cumulative, mut before) = (0i128, 0i128);
        for (l, w) in weights.iter().enumerate() {
            cumulative += w;
            let upto = i128::from(gross) * cumulative / total.max(1);
            let share = (upto - before) as i64;
            before = upto;
            if share > 0 {
                let (net, tax) = self.orders[o].lines[l].split(share);
                self.credit(o, l, net, tax, now);
            }
        }
        true
    }

    fn order_left(&self, o: usize) -> i64 {
        self.orders[o].lines.iter().map(MLine::left_gross).sum()
    }
}

fn cents(minor: i64) -> String {
    domain::money::Money { minor, scale: 2 }.format()
}

/// Random sequences of checkouts, partner cancels (whole and one line), line and order refunds, desk answers that
/// cancel and refund at once, replays under `MS-RequestId`, parallel bursts, clock moves and invoice runs; after
/// each sequence every invoice equals the model's month and the ledger verifies.
async fn random_sequences_of_money_actions_match_the_model(db: Db) {
    for seed in [11u64, 2026, 90_210, 7, 4242] {
        run_sequence(db, seed, 60).await;
    }
}

async fn run_sequence(db: Db, seed: u64, steps: usize) {
    let shop = Shop::open(db).await;
    let app = &shop.app;
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let mut sr: Option<String> = None;
    let mut last_keyed: Option<(Method, String, Option<String>, Value, String, Res)> = None;
    let mut runs_done: Vec<String> = Vec::new();
    let products = [("SQL2019STD", 120_000i64, true), ("SQL2019PERP", 390_000, false), ("VMRESERVED", 70_000, true)];
    let mut key_no = 0u32;
    // What the sequence exercised, printed at its end (a seed that stops exercising something shows here).
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    let mut next_key = || {
        key_no += 1;
        format!("{seed:08x}-0000-4000-8000-{key_no:012}")
    };
    for step in 0..steps {
        let now = {
            use domain::clock::Clock;
            app.clock.now().micros()
        };
        let ctx = format!("seed {seed} step {step}");
        let action = if model.orders.is_empty() { 0 } else { rng.below(12) };
        match action {
            // Checkout of one or two lines.
            0 | 1 => {
                let n = 1 + rng.below(2) as usize;
                let chosen: Vec<(&str, i64, bool, i64)> = (0..n)
                    .map(|_| {
                        let (p, unit, yearly) = products[rng.below(3) as usize];
                        (p, unit, yearly, 1 + rng.below(3) as i64)
                    })
                    .collect();
                let lines: Vec<(&str, i64)> = chosen.iter().map(|(p, _, _, q)| (*p, *q)).collect();
                let order = shop.buy(&lines).await;
                let mut m = MOrder { id: order["id"].as_str().unwrap().to_string(), at: now, lines: Vec::new() };
                for (i, (_, unit, yearly, q)) in chosen.iter().enumerate() {
                    let net = unit * q;
                    let tax = round_div(i128::from(net), RATE_BP, 10_000);
                    let line = &order["lineItems"][i];
                    assert_eq!(line["pricing"]["net"], cents(net), "{ctx}: {order}");
                    m.lines.push(MLine {
                        net,
                        tax,
                        yearly: *yearly,
                        cancelled: false,
                        credited_net: 0,
                        credited_tax: 0,
                    });
                    model.book(now, net, tax);
                }
                model.orders.push(m);
                *seen.entry("checkout").or_default() += 1;
            }
            // A partner cancels a whole order, or one line of it (60-day window).
            2 | 3 => {
                let o = rng.below(model.orders.len() as u64) as usize;
                let whole = action == 2;
                let l = rng.below(model.orders[o].lines.len() as u64) as usize;
                let key = next_key();
                let id = model.orders[o].id.clone();
                let lines_arg = [l as u32];
                let r = shop.cancel(&id, if whole { None } else { Some(&lines_arg) }, Some(&key)).await;
                let targets: Vec<usize> = if whole { (0..model.orders[o].lines.len()).collect() } else { vec![l] };
                let active: Vec<usize> =
                    targets.iter().copied().filter(|&i| !model.orders[o].lines[i].cancelled).collect();
                if active.is_empty() || (!whole && model.orders[o].lines[l].cancelled) {
                    r.assert_error(409, "already_cancelled");
                } else if now >= model.orders[o].at + 60 * DAY {
                    r.assert_error(400, "cancellation_window_closed");
                } else {
                    assert_eq!(r.status, 200, "{ctx}: {}", r.text);
                    for i in active {
                        model.cancel_line(o, i, now);
                    }
                    *seen.entry("partner cancel").or_default() += 1;
                    let path = format!("/v1/customers/{}/orders/{id}", shop.customer);
                    let body = json!({"status": "cancelled"});
                    let body =
                        if whole { body } else { json!({"status": "cancelled", "lineItems": [{"lineItemNumber": l}]}) };
                    last_keyed = Some((Method::PATCH, path, Some(shop.agent().to_string()), body, key, r));
                }
            }
            // The desk refunds a line or a whole order: all that is left, half of it, a random part, or a cent over.
            4..=6 => {
                let o = rng.below(model.orders.len() as u64) as usize;
                let id = model.orders[o].id.clone();
                let on_line = action != 6;
                let l = rng.below(model.orders[o].lines.len() as u64) as usize;
                let left = if on_line { model.orders[o].lines[l].left_gross() } else { model.order_left(o) };
                let amount = match rng.below(4) {
                    0 => left,
                    1 => left / 2,
                    2 => 1 + rng.below(left.max(1) as u64) as i64,
                    _ => left + 1,
                }
                .max(1);
                let request = match &sr {
                    Some(s) => s.clone(),
                    None => {
                        let s = shop.request_about(&id).await;
                        sr = Some(s.clone());
                        s
                    }
                };
                let key = next_key();
                let body = refund(&cents(amount), &id, on_line.then_some(l as u32));
                let r = shop.desk(&request, &body, Some(&key)).await;
                let fits =
                    if on_line { model.refund_line(o, l, amount, now) } else { model.refund_order(o, amount, now) };
                *seen.entry(if fits { "refund granted" } else { "refund refused" }).or_default() += 1;
                if fits {
                    assert_eq!(r.status, 200, "{ctx}: {}", r.text);
                    let path = format!("/v1/publisher/servicerequests/{request}");
                    last_keyed = Some((Method::PATCH, path, None, body, key, r));
                } else {
                    let e = r.assert_error(409, "credit_exceeds_charge");
                    assert_eq!(e["data"][0]["left"], cents(left), "{ctx}: {}", r.text);
                }
            }
            // One desk answer cancels an order and refunds part of what the cancel leaves, or a cent too much.
            7 => {
                let o = rng.below(model.orders.len() as u64) as usize;
                let id = model.orders[o].id.clone();
                let request = match &sr {
                    Some(s) => s.clone(),
                    None => {
                        let s = shop.request_about(&id).await;
                        sr = Some(s.clone());
                        s
                    }
                };
                let mut after = Model { orders: model.orders.clone(), months: model.months.clone() };
                let active: Vec<usize> =
                    (0..after.orders[o].lines.len()).filter(|&i| !after.orders[o].lines[i].cancelled).collect();
                for &i in &active {
                    after.cancel_line(o, i, now);
                }
                let left = after.order_left(o);
                let amount = if rng.below(2) == 0 { left / 3 } else { left + 1 }.max(1);
                let mut body = refund(&cents(amount), &id, None);
                body["cancel"] = json!({"customerId": shop.customer, "orderId": id});
                let r = shop.desk(&request, &body, None).await;
                if active.is_empty() {
                    r.assert_error(409, "already_cancelled");
                } else if after.refund_order(o, amount, now) {
                    assert_eq!(r.status, 200, "{ctx}: {}", r.text);
                    *seen.entry("cancel and refund in one answer").or_default() += 1;
                    model = after;
                } else {
                    r.assert_error(409, "credit_exceeds_charge");
                }
            }
            // A replay of the last accepted change under its key: the first answer, and nothing changes.
            8 => {
                if let Some((method, path, token, body, key, first)) = &last_keyed {
                    let token = token.as_deref().unwrap_or(PUBLISHER_TOKEN);
                    let r = app.request(method.clone(), path, Some(token), Some(body), &[("MS-RequestId", key)]).await;
                    assert_eq!((r.status, &r.body), (first.status, &first.body), "{ctx}: replay");
                }
                // And a burst: six parallel refunds of a quarter of what is left of a line; exactly as many as fit
                // are granted, whichever wins.
                let o = rng.below(model.orders.len() as u64) as usize;
                let l = rng.below(model.orders[o].lines.len() as u64) as usize;
                let left = model.orders[o].lines[l].left_gross();
                if left > 0 {
                    let id = model.orders[o].id.clone();
                    let mut requests = Vec::new();
                    for _ in 0..6 {
                        requests.push(shop.request_about(&id).await);
                    }
                    let x = (left / 4).max(1);
                    let body = refund(&cents(x), &id, Some(l as u32));
                    let answers = futures::future::join_all(requests.iter().map(|s| shop.desk(s, &body, None))).await;
                    let granted = answers.iter().filter(|a| a.status == 200).count();
                    let expected = (left / x).min(6) as usize;
                    assert_eq!(granted, expected, "{ctx}: {} of 6 granted, {expected} fit", granted);
                    for a in answers.iter().filter(|a| a.status != 200) {
                        a.assert_error(409, "credit_exceeds_charge");
                    }
                    for _ in 0..granted {
                        assert!(model.refund_line(o, l, x, now));
                    }
                    *seen.entry("burst refunds granted").or_default() += granted as u32;
                    *seen.entry("burst refunds refused").or_default() += 6 - granted as u32;
                }
            }
            // A race: the desk cancels an order while another answer refunds half of what is left of one of its
            // active perpetual lines. Whichever commits first, the line gives back exactly its charge: the cancel
            // caps its credit to what the refund left, or the refund finds nothing left.
            9 => {
                let o = rng.below(model.orders.len() as u64) as usize;
                let Some(p) = (0..model.orders[o].lines.len()).find(|&i| {
                    let l = &model.orders[o].lines[i];
                    !l.yearly && !l.cancelled && l.left_gross() >= 2
                }) else {
                    continue;
                };
                let id = model.orders[o].id.clone();
                let (first, second) = (shop.request_about(&id).await, shop.request_about(&id).await);
                let x = model.orders[o].lines[p].left_gross() / 2;
                let cancel = json!({"cancel": {"customerId": shop.customer, "orderId": id}});
                let half = refund(&cents(x), &id, Some(p as u32));
                let (c, r) = tokio::join!(shop.desk(&first, &cancel, None), shop.desk(&second, &half, None));
                assert_eq!(c.status, 200, "{ctx}: the cancel always goes through: {}", c.text);
                *seen.entry(if r.status == 200 { "race: refund first" } else { "race: cancel first" }).or_default() +=
                    1;
                if r.status == 200 {
                    assert!(model.refund_line(o, p, x, now));
                } else {
                    r.assert_error(409, "credit_exceeds_charge");
                }
                let active: Vec<usize> =
                    (0..model.orders[o].lines.len()).filter(|&i| !model.orders[o].lines[i].cancelled).collect();
                for i in active {
                    model.cancel_line(o, i, now);
                }
                assert_eq!(model.orders[o].lines[p].left_gross(), 0, "{ctx}");
            }
            // A goodwill refund naming no order: no tax, tied to no charge.
            10 => {
                let request = match &sr {
                    Some(s) => s.clone(),
                    None => {
                        let s = shop.request_about(&model.orders[0].id).await;
                        sr = Some(s.clone());
                        s
                    }
                };
                let amount = 1 + rng.below(5_000) as i64;
                let r = shop
                    .desk(&request, &json!({"refund": {"amount": cents(amount), "currencyCode": "USD"}}), None)
                    .await;
                assert_eq!(r.status, 200, "{ctx}: {}", r.text);
                model.book(now, -amount, 0);
            }
            // Time passes; every month that ended is invoiced. (Keys live 24 hours of the clock: no replay after.)
            _ => {
                last_keyed = None;
                app.clock.advance_micros(rng.below(25) as i64 * DAY + rng.below(24) as i64 * 3_600_000_000);
                let now = {
                    use domain::clock::Clock;
                    app.clock.now().micros()
                };
                let current = month(now);
                let due: Vec<String> =
                    model.months.keys().filter(|m| **m < current && !runs_done.contains(m)).cloned().collect();
                for m in due {
                    assert_eq!(run(app, &m).await.status, 200);
                    runs_done.push(m);
                }
            }
        }
    }
    // The end of the last month: everything is invoiced; each invoice is the model's month.
    let last = model.months.keys().last().cloned().unwrap();
    let end = domain::invoice::Period::parse(&last).unwrap().end().micros();
    {
        use domain::clock::Clock;
        app.clock.advance_micros((end - app.clock.now().micros()).max(0));
    }
    for m in model.months.keys().filter(|m| !runs_done.contains(m)) {
        assert_eq!(run(app, m).await.status, 200);
    }
    let listed = app.get("/v1/invoices", shop.partner.token(Role::BillingAdmin)).await;
    let mut invoices: BTreeMap<String, Value> = BTreeMap::new();
    for inv in listed.body["items"].as_array().unwrap() {
        invoices.insert(inv["billingPeriodStartDate"].as_str().unwrap()[..7].to_string(), inv.clone());
    }
    let expected: BTreeMap<String, (i64, i64, i64)> = model.months.clone();
    assert_eq!(
        invoices.keys().collect::<Vec<_>>(),
        expected.iter().filter(|(_, v)| v.0 > 0).map(|(k, _)| k).collect::<Vec<_>>(),
        "seed {seed}: one invoice per month with rows"
    );
    for (m, (rows, net, tax)) in &expected {
        let inv = &invoices[m];
        assert_eq!(
            (
                inv["subtotal"].as_str().unwrap(),
                inv["taxTotal"].as_str().unwrap(),
                inv["totalCharges"].as_str().unwrap()
            ),
            (cents(*net).as_str(), cents(*tax).as_str(), cents(net + tax).as_str()),
            "seed {seed}: invoice of {m}"
        );
        assert_eq!(inv["lineItemCount"].as_i64(), Some(*rows), "seed {seed}: lines of {m}");
    }
    // No line was ever credited more than it was charged, per the model and per the server.
    for o in &model.orders {
        let (net, tax) = shop.credited(&o.id).await;
        let want: (i64, i64) = o.lines.iter().fold((0, 0), |a, l| (a.0 + l.credited_net, a.1 + l.credited_tax));
        assert_eq!((net, tax), want, "seed {seed}: credits of order {}", o.id);
    }
    eprintln!("seed {seed}: {} orders, {} months; {seen:?}", model.orders.len(), model.months.len());
    app.assert_ledger_valid().await;
}
