//! Issue 19: the operator's own users and roles (checked on every publisher route from the one operator policy),
//! their tokens, the hash-chained operator log, and the console as a world of its own.

use crate::harness::*;
use crate::ui_basics::{set_cookie, Page, PASSWORD};
use domain::operator::{OperatorAction, OperatorRole, OperatorRoles};
use domain::role::Role;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(
    operator_route_matrix_follows_the_operator_policy,
    operator_users_tokens_and_their_log,
    the_console_is_a_world_of_its_own,
    the_desk_grants_refunds_and_cancels_from_the_console,
    the_console_runs_invoices_and_opens_one,
    the_team_the_account_and_the_log_in_the_console,
    create_admin_bootstraps_the_first_operator,
);

/// An operator user with `roles` and a password, and its API token.
pub async fn operator(app: &TestApp, email: &str, roles: &[&str]) -> (String, String) {
    let made = app
        .post(
            "/v1/publisher/operators",
            PUBLISHER_TOKEN,
            &json!({"email": email, "displayName": email, "roles": roles, "password": PASSWORD}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_string();
    let token = app.post(&format!("/v1/publisher/operators/{id}/tokens"), PUBLISHER_TOKEN, &json!({})).await;
    assert_eq!(token.status, 201, "{}", token.text);
    (id, token.body["token"].as_str().unwrap().to_string())
}

/// Fills a publisher path's parameters with values that exist or at least parse.
fn concrete(path: &str, own_id: &str, partner: &str) -> String {
    let uuid = || uuid::Uuid::new_v4().to_string();
    let mut p = path
        .replace("{operatorId}", own_id)
        .replace("{partnerId}", partner)
        .replace("{country}", "US")
        .replace("{productType}", "software_plan")
        .replace("{productId}", "SQL2019STD")
        .replace("{skuId}", "0001");
    while let (Some(start), Some(end)) = (p.find('{'), p.find('}')) {
        p.replace_range(start..=end, &uuid());
    }
    if p.ends_with("/artifacts") {
        p.push_str("?version=1&language=en&fileType=iso&fileName=a.iso");
    }
    p
}

/// The matrix is generated from the OpenAPI document: every publisher operation must declare its operator action
/// (the declaration the server enforces), and each is called by an operator user of each single role.
async fn operator_route_matrix_follows_the_operator_policy(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Matrix", true).await;
    let doc = app.request(Method::GET, "/v1/openapi.json", None, None, &[]).await;
    let mut routes = Vec::new();
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let action = operation.get("x-partnerhub-operator-action").and_then(|a| a.as_str());
            if path.starts_with("/v1/publisher") {
                let action = action.unwrap_or_else(|| panic!("{method} {path} declares no operator action"));
                let action = OperatorAction::ALL.into_iter().find(|a| format!("{a:?}") == action).unwrap();
                let roles: Vec<&str> = operation["x-partnerhub-operator-roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|r| r.as_str())
                    .collect();
                let expected: Vec<&str> = domain::operator::allowed(action).iter().map(|r| r.as_str()).collect();
                assert_eq!(roles, expected, "{method} {path}");
                routes.push((method.clone(), path.clone(), action));
            } else {
                assert!(action.is_none(), "{method} {path} is not a publisher route but declares {action:?}");
            }
        }
    }
    for a in OperatorAction::ALL {
        assert!(routes.iter().any(|r| r.2 == a), "{a:?} has no route");
    }
    let mut users = Vec::new();
    for role in OperatorRole::ALL {
        let (id, token) = operator(&app, &format!("{}@op.example", role.as_str()), &[role.as_str()]).await;
        users.push((role, id, token));
    }
    for (method, path, action) in &routes {
        for (role, id, token) in &users {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = matches!(m, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let res = app.request(m, &concrete(path, id, &p.id), Some(token), body.as_ref(), &[]).await;
            let allowed = domain::operator::permits(&OperatorRoles::new([*role]).unwrap(), *action);
            let what = format!("{method} {path} as {}: {} {}", role.as_str(), res.status, res.text);
            if allowed {
                assert!(res.status != 401 && res.status != 403, "{what}");
            } else {
                let body = res.assert_error(403, "forbidden");
                for r in domain::operator::allowed(*action) {
                    assert!(body["description"].as_str().unwrap().contains(r.as_str()), "{what}");
                }
            }
        }
    }
    // A partner's token is no operator's, and an operator's token is no partner's.
    app.get("/v1/publisher/partners", p.token(Role::GlobalAdmin)).await.assert_error(401, "unauthorized");
    app.get("/v1/customers", &users[0].2).await.assert_error(401, "unauthorized");
}

async fn operator_users_tokens_and_their_log(db: Db) {
    let app = TestApp::spawn(db).await;
    let (admin_id, admin) = operator(&app, "ada@op.example", &["operator_admin"]).await;
    let me = app.get("/v1/publisher/me", &admin).await;
    assert_eq!((me.status.as_u16(), me.body["operator"]["id"].as_str()), (200, Some(admin_id.as_str())));
    assert_eq!(app.get("/v1/publisher/me", PUBLISHER_TOKEN).await.body["principal"], "publisher token (break-glass)");
    // The admin onboards a partner; a catalog manager may not.
    let made = app.post("/v1/publisher/partners", &admin, &json!({"name": "Northwind"})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let (cm_id, cm) = operator(&app, "cm@op.example", &["catalog_manager"]).await;
    app.post("/v1/publisher/partners", &cm, &json!({"name": "Nope"})).await.assert_error(403, "forbidden");
    // Roles are the operator's own: a partner role is refused, and so is no role.
    let bad = app
        .post(
            "/v1/publisher/operators",
            &admin,
            &json!({"email": "x@op.example", "displayName": "X", "roles": ["global_admin"]}),
        )
        .await;
    bad.assert_error(400, "invalid_request");
    // An admin cannot disable itself; disabling another revokes its tokens at once.
    app.patch(&format!("/v1/publisher/operators/{admin_id}"), &admin, &json!({"disabled": true}))
        .await
        .assert_error(409, "conflict");
    let off = app.patch(&format!("/v1/publisher/operators/{cm_id}"), &admin, &json!({"disabled": true})).await;
    assert_eq!((off.status.as_u16(), off.body["disabled"].as_bool()), (200, Some(true)), "{}", off.text);
    app.get("/v1/publisher/markets", &cm).await.assert_error(401, "unauthorized");
    // Every action is in the operator log, naming who did it; the chain verifies.
    let log = app.get("/v1/publisher/activity?size=100", &admin).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let items = log.body["items"].as_array().unwrap();
    let find = |op: &str, who: &str| items.iter().any(|r| r["operation"] == op && r["principal"] == who);
    assert!(find("create_partner", "ada@op.example"), "{}", log.text);
    assert!(find("create_operator", "publisher token (break-glass)"), "{}", log.text);
    assert!(find("update_operator", "ada@op.example"), "{}", log.text);
    let seqs: Vec<i64> = items.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    let v = app.get("/v1/publisher/activity/verification", &admin).await;
    assert_eq!((v.body["valid"].as_bool(), v.body["recordCount"].as_i64()), (Some(true), Some(seqs.len() as i64)));
    // The log is append-only; whoever drops the guard and edits a record is caught by the chain and the CLI.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    assert!(sqlx::Executor::execute(&mut conn, "UPDATE operator_activity SET principal = 'x'").await.is_err());
    app.raw_sql(match db {
        Db::Sqlite => "DROP TRIGGER operator_activity_no_update",
        Db::Postgres => "DROP TRIGGER operator_activity_no_update ON operator_activity",
    })
    .await;
    app.raw_sql("UPDATE operator_activity SET principal = 'someone else' WHERE operation = 'create_partner'").await;
    let v = app.get("/v1/publisher/activity/verification", &admin).await;
    assert_eq!(v.body["valid"], false, "{}", v.text);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerhub"))
        .args([
            "audit",
            "verify",
            "--database-url",
            &app.db.url,
            "--secret-key",
            "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
        ])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("operator log: INVALID"));
}

/// A console client: no redirects followed, the operator's session cookie carried by hand (its path is
/// `/operator`; sending it elsewhere is what a browser would not do, and what the test checks is refused).
pub(crate) struct Console {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
    cookie_name: &'static str,
}

impl Console {
    pub(crate) fn new(app: &TestApp) -> Console {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Console { http, url: app.url.clone(), cookie: None, cookie_name: "ph_operator" }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", format!("{}={c}", self.cookie_name)),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Page { status, headers, html: res.text().await.unwrap() }
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.url))).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.http.post(format!("{}{path}", self.url)).form(form)).await
    }

    /// Posts a form of `page` with its CSRF token.
    pub(crate) async fn submit(&self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        let mut f = fields.to_vec();
        f.push(("csrf", csrf));
        self.post(path, &f).await
    }

    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/operator/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        let login = set_cookie(&form.headers, "ph_operator_login").expect("the form sets its cookie");
        let fields = [("email", email), ("password", password), ("next", "/operator"), ("csrf", csrf.as_str())];
        let req = self
            .http
            .post(format!("{}/operator/login", self.url))
            .header("cookie", format!("ph_operator_login={login}"))
            .form(&fields);
        let page = self.send(req).await;
        if let Some(session) = set_cookie(&page.headers, "ph_operator").filter(|v| !v.is_empty()) {
            self.cookie = Some(session);
        }
        page
    }
}

async fn the_console_is_a_world_of_its_own(db: Db) {
    let app = TestApp::spawn(db).await;
    operator(&app, "ada@op.example", &["operator_admin"]).await;
    operator(&app, "sam@op.example", &["support_agent"]).await;
    let p = app.partner("Northwind", false).await;
    let partner_user = crate::ui_basics::user_with_password(&app, &p, "ann", &["global_admin"]).await;
    let mut c = Console::new(&app);
    let away = c.get("/operator/partners").await;
    assert_eq!((away.status, away.location()), (303, "/operator/login?next=%2Foperator%2Fpartners"));
    // A partner's email and password open no console.
    assert_eq!(c.sign_in(&partner_user, PASSWORD).await.status, 401);
    let signed = c.sign_in("ada@op.example", PASSWORD).await;
    assert_eq!((signed.status, signed.location()), (303, "/operator"), "{}", signed.html);
    let cookie = crate::ui_basics::set_cookie_header(&signed.headers, "ph_operator");
    assert!(cookie.contains("Path=/operator") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let home = c.get("/operator").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert!(home.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    // The operator's session opens no partner page, and a partner's session opens no console page.
    c.cookie_name = "ph_session";
    assert_eq!(c.get("/customers").await.location(), "/login?next=%2Fcustomers");
    c.cookie_name = "ph_operator";
    let mut partner = crate::ui_basics::Browser::new(&app);
    assert_eq!(partner.sign_in(&partner_user, PASSWORD).await.status, 303);
    let cross = partner
        .http
        .get(format!("{}/operator", app.url))
        .header("cookie", format!("ph_operator={}", partner.cookie.clone().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 303);
    // Onboarding from the console: a form without the session's token is refused and writes nothing.
    let partners = c.get("/operator/partners").await;
    let csrf = partners.csrf();
    assert_eq!(c.post("/operator/partners", &[("name", "Forged")]).await.status, 403);
    let made = c
        .submit("/operator/partners", &csrf, &[("name", "Contoso"), ("sandbox", "on"), ("clock_start", "2026-01-10")])
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let page = c.get(made.location()).await;
    assert!(page.html.contains("Contoso") && page.html.contains("Sandbox"), "{}", page.html);
    let id = made.location().trim_start_matches("/operator/partners/").to_string();
    let added = c
        .submit(
            &format!("/operator/partners/{id}/users"),
            &csrf,
            &[
                ("email", "eve@contoso.example"),
                ("display_name", "Eve"),
                ("roles", "admin_agent"),
                ("roles", "billing_admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let page = c.get(&format!("/operator/partners/{id}")).await;
    assert!(page.html.contains("eve@contoso.example"), "{}", page.html);
    // The user signs in to the dashboard with both roles.
    let mut eve = crate::ui_basics::Browser::new(&app);
    assert_eq!(eve.sign_in("eve@contoso.example", PASSWORD).await.status, 303);
    assert_eq!(eve.get("/billing").await.status, 200);
    // A support agent sees the desk but not billing or partner onboarding.
    let mut sam = Console::new(&app);
    assert_eq!(sam.sign_in("sam@op.example", PASSWORD).await.status, 303);
    assert_eq!(sam.get("/operator/desk").await.status, 200);
    assert_eq!(sam.get("/operator/billing").await.status, 403);
    let csrf = sam.get("/operator/partners").await.csrf();
    assert_eq!(sam.submit("/operator/partners", &csrf, &[("name", "Not allowed")]).await.status, 403);
    // The console's sign-in is an operator record; its sign-out needs the token and ends the session.
    let log = app.get("/v1/publisher/activity?size=100", PUBLISHER_TOKEN).await;
    assert!(log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["operation"] == "sign_in" && r["principal"] == "sam@op.example"));
    assert_eq!(sam.submit("/operator/logout", &csrf, &[]).await.status, 303);
    assert_eq!(sam.get("/operator/desk").await.status, 303);
}

async fn the_desk_grants_refunds_and_cancels_from_the_console(db: Db) {
    let app = TestApp::spawn(db).await;
    operator(&app, "sam@op.example", &["support_agent"]).await;
    operator(&app, "bill@op.example", &["billing_operator"]).await;
    let (p, customer, order) = crate::ui_basics::a_us_order(&app, "Northwind").await;
    let order_id = order["id"].as_str().unwrap().to_string();
    let filed = app
        .post(
            "/v1/servicerequests/en-US",
            p.token(Role::AdminAgent),
            &json!({
                "title": "Refund please", "description": "The customer changed its mind.", "severity": "minimal",
                "supportTopicId": "csp_purchase_refund",
                "refund": {"customerId": customer, "orderId": order_id, "reason": "changed mind"}
            }),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let request = filed.body["id"].as_str().unwrap().to_string();
    let mut sam = Console::new(&app);
    sam.sign_in("sam@op.example", PASSWORD).await;
    let page = sam.get(&format!("/operator/desk/{request}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(&order_id), "the request's order is shown");
    assert!(!page.html.contains("/refund\""), "no refund form for a support agent");
    let csrf = page.csrf();
    let answered = sam
        .submit(
            &format!("/operator/desk/{request}/answer"),
            &csrf,
            &[("note", "Looking into it"), ("status", "in_progress")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.html);
    let refused = sam
        .submit(&format!("/operator/desk/{request}/refund"), &csrf, &[("amount", "1.00"), ("currency", "USD")])
        .await;
    assert_eq!(refused.status, 403);
    // The billing operator sees what is left on each line, reviews, then confirms.
    let mut bill = Console::new(&app);
    bill.sign_in("bill@op.example", PASSWORD).await;
    let page = bill.get(&format!("/operator/desk/{request}")).await;
    assert!(page.html.contains("data-testid=\"left-0\""), "{}", page.html);
    let csrf = page.csrf();
    let fields = [("amount", "10.00"), ("currency", "USD"), ("order_id", order_id.as_str()), ("line", "0")];
    let review = bill.submit(&format!("/operator/desk/{request}/refund"), &csrf, &fields).await;
    assert_eq!(review.status, 200, "a confirmation step: {}", review.html);
    assert!(review.html.contains("confirmed"));
    let credits = "SELECT COUNT(*) FROM ledger WHERE kind = 'refund'";
    assert_eq!(app.scalar(credits).await, 0, "reviewing writes nothing");
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirmed", "yes"));
    let done = bill.submit(&format!("/operator/desk/{request}/refund"), &csrf, &confirmed).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(app.scalar(credits).await, 1);
    // More than is left is refused on the page, and nothing is written.
    let mut too_much = confirmed.clone();
    too_much[0] = ("amount", "100000.00");
    let over = bill.submit(&format!("/operator/desk/{request}/refund"), &csrf, &too_much).await;
    assert_eq!(over.status, 409, "{}", over.html);
    assert_eq!(app.scalar(credits).await, 1);
    // Cancelling the order's line from the desk, whatever its policy, after a confirmation.
    let cancel = [("customer_id", customer.as_str()), ("order_id", order_id.as_str()), ("lines", "0")];
    let review = bill.submit(&format!("/operator/desk/{request}/cancel"), &csrf, &cancel).await;
    assert_eq!(review.status, 200, "{}", review.html);
    let mut cancel = cancel.to_vec();
    cancel.push(("confirmed", "yes"));
    let done = bill.submit(&format!("/operator/desk/{request}/cancel"), &csrf, &cancel).await;
    assert_eq!(done.status, 303, "{}", done.html);
    let o = app.get(&format!("/v1/customers/{customer}/orders/{order_id}"), p.token(Role::AdminAgent)).await;
    assert_eq!(o.body["lineItems"][0]["status"], "cancelled", "{}", o.text);
    app.assert_ledger_valid().await;
    // Both logs say so: the partner's as the publisher, the operator's naming the operator user.
    let log = app.get("/v1/publisher/activity?size=100", PUBLISHER_TOKEN).await;
    let ops: Vec<(&str, &str)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["operation"].as_str().unwrap(), r["principal"].as_str().unwrap()))
        .collect();
    for expected in [
        ("answer_service_request", "sam@op.example"),
        ("grant_refund", "bill@op.example"),
        ("cancel_from_desk", "bill@op.example"),
    ] {
        assert!(ops.contains(&expected), "{expected:?} in {ops:?}");
    }
}

async fn the_console_runs_invoices_and_opens_one(db: Db) {
    let app = TestApp::spawn(db).await;
    operator(&app, "bill@op.example", &["billing_operator"]).await;
    let (_p, _customer, _order) = crate::ui_basics::a_us_order(&app, "Northwind").await;
    let month = app.services.now().date();
    let period = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    let mut bill = Console::new(&app);
    bill.sign_in("bill@op.example", PASSWORD).await;
    let page = bill.get(&format!("/operator/billing?period={period}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Northwind") && page.html.contains("Not yet"), "the month has not ended: {}", page.html);
    let csrf = page.csrf();
    let run = bill.submit("/operator/billing/run", &csrf, &[("period", &period)]).await;
    assert_eq!(run.location(), format!("/operator/billing?period={period}&issued=0"));
    // Once the month has ended, the run issues its invoice, which opens with its lines and CSV.
    app.clock.advance_micros(40 * 86_400 * 1_000_000);
    // Forty days idle end any console session: sign in again.
    assert_eq!(bill.get("/operator/billing").await.status, 303);
    bill.sign_in("bill@op.example", PASSWORD).await;
    let csrf = bill.get("/operator/billing").await.csrf();
    let run = bill.submit("/operator/billing/run", &csrf, &[("period", &period)]).await;
    assert_eq!(run.location(), format!("/operator/billing?period={period}&issued=1"));
    let page = bill.get(run.location()).await;
    let at = page.html.find("/operator/billing/partners/").expect("a link to the invoice");
    let link: String = page.html[at..].split('"').next().unwrap().to_string();
    let invoice = bill.get(&link).await;
    assert_eq!(invoice.status, 200, "{}", invoice.html);
    assert!(invoice.html.contains("SQL Server"), "{}", invoice.html);
    let csv = bill.get(&format!("{link}/lineitems.csv")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.html.lines().count() >= 2, "{}", csv.html);
}

async fn the_team_the_account_and_the_log_in_the_console(db: Db) {
    let app = TestApp::spawn(db).await;
    operator(&app, "ada@op.example", &["operator_admin"]).await;
    let mut ada = Console::new(&app);
    ada.sign_in("ada@op.example", PASSWORD).await;
    let page = ada.get("/operator/operators").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let csrf = page.csrf();
    // A new operator user with two roles from the form's checkboxes.
    let made = ada
        .submit(
            "/operator/operators",
            &csrf,
            &[
                ("email", "cat@op.example"),
                ("display_name", "Cat"),
                ("roles", "catalog_manager"),
                ("roles", "support_agent"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let list = app.get("/v1/publisher/operators", PUBLISHER_TOKEN).await;
    let cat = list.body["items"].as_array().unwrap().iter().find(|o| o["email"] == "cat@op.example").unwrap().clone();
    assert_eq!(cat["roles"], json!(["catalog_manager", "support_agent"]));
    // My account: a token shown once, which works on the API, then revoked.
    let account = ada.get("/operator/account").await;
    assert_eq!(account.status, 200);
    let issued = ada.submit("/operator/account/tokens", &csrf, &[("name", "laptop")]).await;
    assert_eq!(issued.status, 200, "{}", issued.html);
    assert_eq!(issued.headers["cache-control"], "no-store");
    let at = issued.html.find("data-testid=\"issued-token\">").unwrap() + 27;
    let token = issued.html[at..].split('<').next().unwrap().to_string();
    assert!(token.starts_with("pho_"), "{token}");
    let me = app.get("/v1/publisher/me", &token).await;
    assert_eq!(me.body["operator"]["email"], "ada@op.example", "{}", me.text);
    let again = ada.get("/operator/account").await;
    assert!(!again.html.contains(&token), "shown once");
    let laptop = again.html.find("laptop").unwrap();
    let at = laptop + again.html[laptop..].find("/operator/account/tokens/").unwrap();
    let revoke: String = again.html[at..].split('"').next().unwrap().to_string();
    assert_eq!(ada.submit(&revoke, &csrf, &[]).await.status, 303);
    app.get("/v1/publisher/me", &token).await.assert_error(401, "unauthorized");
    // Disabling Cat from the console ends its console session.
    let mut cat_console = Console::new(&app);
    cat_console.sign_in("cat@op.example", PASSWORD).await;
    assert_eq!(cat_console.get("/operator").await.status, 200);
    let id = cat["id"].as_str().unwrap();
    assert_eq!(
        ada.submit(&format!("/operator/operators/{id}/disabled"), &csrf, &[("disabled", "true")]).await.status,
        303
    );
    assert_eq!(cat_console.get("/operator").await.status, 303);
    // Changing one's password needs the current one, and signs out everywhere.
    let wrong = ada
        .submit(
            "/operator/account/password",
            &csrf,
            &[("current", "not my password!"), ("new", "another long password")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    let changed = ada
        .submit("/operator/account/password", &csrf, &[("current", PASSWORD), ("new", "another long password")])
        .await;
    assert_eq!(changed.status, 303, "{}", changed.html);
    assert_eq!(ada.get("/operator").await.status, 303);
    assert_eq!(ada.sign_in("ada@op.example", "another long password").await.status, 303);
    // The log page: newest first, naming who, and the chain verifies.
    let log = ada.get("/operator/activity").await;
    assert_eq!(log.status, 200, "{}", log.html);
    assert!(
        log.html.contains("data-testid=\"chain\">The log&#x27;s hash chain verifies")
            || log.html.contains("hash chain verifies"),
        "{}",
        log.html
    );
    assert!(log.html.contains("Operator user added") && log.html.contains("ada@op.example"));
    // A catalog manager has no operator log.
    operator(&app, "cm@op.example", &["catalog_manager"]).await;
    let mut cm = Console::new(&app);
    cm.sign_in("cm@op.example", PASSWORD).await;
    assert_eq!(cm.get("/operator/activity").await.status, 403);
    assert_eq!(cm.get("/operator/operators").await.status, 403);
    assert_eq!(cm.get("/operator/account").await.status, 200);
}

/// `partnerhub operator create-admin`: a generated one-time password, or one read from standard input; either signs
/// in to the console, and the bootstrap is an operator record of the command line.
async fn create_admin_bootstraps_the_first_operator(db: Db) {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn(db).await;
    let args = |email: &'static str| {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerhub"));
        c.args(["operator", "create-admin", "--email", email, "--database-url", &app.db.url])
            .args(["--secret-key", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="]);
        c
    };
    let out = args("first@op.example").output().await.unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    let password = printed.rsplit(": ").next().unwrap().trim().to_string();
    assert!(password.len() >= 20, "{printed}");
    let mut c = Console::new(&app);
    assert_eq!(c.sign_in("first@op.example", &password).await.status, 303);
    // From standard input: nothing printed but the user; a short password is refused and creates nothing.
    let mut child = args("second@op.example")
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(!out.status.success());
    let mut child = args("second@op.example")
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password"), "no password printed");
    assert_eq!(Console::new(&app).sign_in("second@op.example", PASSWORD).await.status, 303);
    // The same email again is refused.
    assert!(!args("first@op.example").output().await.unwrap().status.success());
    let log = app.get("/v1/publisher/activity?size=50", PUBLISHER_TOKEN).await;
    let by_cli = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["operation"] == "create_operator" && r["principal"] == "operator (command line)")
        .count();
    assert_eq!(by_cli, 2, "{}", log.text);
}
