//! The dashboard over HTTP: sign-in, sessions, CSRF, security headers, roles in the page (SPEC §6, R2).
//! Browser-driven walks through the pages are in `e2e/`.

use crate::harness::*;
use domain::role::Role;
use serde_json::json;

crate::on_both_backends!(
    sign_in_sessions_and_csrf,
    pages_follow_the_roles,
    buying_and_cancelling_in_the_dashboard,
    webhooks_are_managed_under_settings,
);

pub const PASSWORD: &str = "correct horse battery staple";

/// A dashboard client: no redirects followed, the session cookie carried by hand.
pub struct Browser {
    pub http: reqwest::Client,
    pub url: String,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").map(|v| v.to_str().unwrap()).unwrap_or("")
    }
    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self.html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.html[at..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, url: app.url.clone(), cookie: None }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", format!("ph_session={c}")),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Page { status, headers, html: res.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.url))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.http.post(format!("{}{path}", self.url)).form(form)).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let page = self.post("/login", &[("email", email), ("password", password), ("next", "/customers")]).await;
        if let Some(v) = page.headers.get("set-cookie") {
            let v = v.to_str().unwrap();
            self.cookie = v.strip_prefix("ph_session=").map(|rest| rest.split(';').next().unwrap().to_string());
        }
        page
    }
}

/// A user of partner `p` with these roles and [`PASSWORD`]; returns the email.
pub async fn user_with_password(app: &TestApp, p: &TestPartner, name: &str, roles: &[&str]) -> String {
    let email = format!("{name}@{}.example", p.id);
    let r = app
        .post(
            &format!("/v1/publisher/partners/{}/users", p.id),
            PUBLISHER_TOKEN,
            &json!({"email": email, "displayName": name, "roles": roles, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    email
}

async fn sign_in_sessions_and_csrf(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await;
    let email = user_with_password(&app, &p, "ann", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    // Signed out: pages send the browser to /login and back.
    let away = b.get("/customers?q=fab").await;
    assert_eq!((away.status, away.location()), (303, "/login?next=%2Fcustomers%3Fq%3Dfab"));
    let login = b.get("/login").await;
    assert_eq!(login.status, 200);
    for (header, value) in
        [("x-frame-options", "DENY"), ("x-content-type-options", "nosniff"), ("referrer-policy", "same-origin")]
    {
        assert_eq!(login.headers[header], value);
    }
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'")
    );
    assert!(login.html.contains("name=\"email\"") && login.html.contains("name=\"password\""));
    // Wrong password: 401, no cookie.
    let wrong = b.sign_in(&email, "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("Wrong email or password"));
    assert!(b.cookie.is_none());
    // Right password: a cookie that scripts cannot read, then the page.
    let ok = b.sign_in(&email, PASSWORD).await;
    assert_eq!((ok.status, ok.location()), (303, "/customers"));
    let set = ok.headers["set-cookie"].to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"), "{set}");
    let first = b.cookie.clone().unwrap();
    let list = b.get("/customers").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("Fabrikam"));
    // A second sign-in gets a new session id (no fixation); the cookie value is never stored as is.
    b.sign_in(&email, PASSWORD).await;
    assert_ne!(b.cookie.clone().unwrap(), first);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{first}'")).await, 0);
    // A form without the session's CSRF token is refused.
    let forged = b.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(b.get("/customers").await.status, 200, "still signed in");
    // Idle for 30 minutes: signed out, and the housekeeping purge forgets the idle sessions.
    app.clock.advance_micros(30 * 60 * 1_000_000);
    assert!(app.scalar("SELECT COUNT(*) FROM sessions").await >= 1);
    let purged = app.services.purge_sessions().await.unwrap();
    assert!(purged >= 2, "two idle sessions and the failure count: {purged}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(b.get("/customers").await.status, 303);
    b.sign_in(&email, PASSWORD).await;
    let page = b.get("/customers").await;
    let out = b.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!((out.status, out.location()), (303, "/login"));
    assert_eq!(b.get("/customers").await.status, 303, "the session ended on the server");
    // Failed sign-ins are slowed per account: after 5, even the right password waits.
    for _ in 0..5 {
        assert_eq!(b.sign_in(&email, "guess").await.status, 401);
    }
    let limited = b.sign_in(&email, PASSWORD).await;
    assert_eq!(limited.status, 429);
    assert!(limited.html.contains("try again"));
    // An open redirect through `next` is not possible.
    let other = user_with_password(&app, &p, "bob", &["helpdesk_agent"]).await;
    let r = b.post("/login", &[("email", &other), ("password", PASSWORD), ("next", "https://evil.example/")]).await;
    assert_eq!(r.location(), "/customers");
}

async fn pages_follow_the_roles(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let t = p.token(Role::AdminAgent);
    let sles = crate::api_orders::item(&app, t, &c, "SLES", "0001").await;
    crate::api_orders::buy(&app, t, &c, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    let item =
        app.get(&format!("/v1/customers/{c}/software"), t).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let helpdesk = user_with_password(&app, &p, "hd", &["helpdesk_agent"]).await;
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&helpdesk, PASSWORD).await;
    // What a role may not do is not offered...
    let page = b.get(&format!("/customers/{c}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("SLES - 1 year"), "{}", page.html);
    assert!(!page.html.contains("Get keys and downloads"), "a helpdesk agent is not offered keys");
    assert!(!page.html.contains("/activity") && !page.html.contains("/billing"));
    // ...and the server refuses it anyway, naming the roles that may.
    let refused = b.post(&format!("/customers/{c}/software/{item}/keys"), &[("csrf", &page.csrf())]).await;
    assert_eq!(refused.status, 403);
    assert!(refused.html.contains("admin_agent"), "{}", refused.html);
    // An admin agent gets the key (none for a SUSE plan) on the page.
    let mut a = Browser::new(&app);
    a.sign_in(&agent, PASSWORD).await;
    let page = a.get(&format!("/customers/{c}/software")).await;
    assert!(page.html.contains("Get keys and downloads"));
    let keys = a.post(&format!("/customers/{c}/software/{item}/keys"), &[("csrf", &page.csrf())]).await;
    assert_eq!(keys.status, 200);
    assert!(keys.html.contains("This product has no activation key"));
    // Another partner's customer is not found.
    let q = app.partner("Beta", false).await;
    let outsider = user_with_password(&app, &q, "eve", &["global_admin", "admin_agent"]).await;
    let mut e = Browser::new(&app);
    e.sign_in(&outsider, PASSWORD).await;
    assert_eq!(e.get(&format!("/customers/{c}")).await.status, 404);
}

async fn buying_and_cancelling_in_the_dashboard(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    crate::api_orders::stock(&app, "SQL2019STD", "0001", &["UI-KEY-1"]).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let helpdesk = user_with_password(&app, &p, "hd", &["helpdesk_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    // Add products: the market's catalog with its tax rule.
    let products = b.get(&format!("/customers/{c}/products?view=SoftwareSubscriptions")).await;
    assert_eq!(products.status, 200);
    assert!(products.html.contains("SQL Server 2019 Standard - 2 Core - 1 year") && products.html.contains("1200.00"));
    assert!(products.html.contains("tax is added to list prices"), "the US adds tax");
    let item = crate::api_orders::item(&app, p.token(domain::role::Role::AdminAgent), &c, "SQL2019STD", "0001").await;
    let added = b
        .post(
            &format!("/customers/{c}/cart"),
            &[("csrf", &products.csrf()), ("catalogItemId", &item), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let cart = b.get(added.location()).await;
    assert!(cart.html.contains("SQL Server 2019 Standard - 2 Core - 1 year"));
    let cart_id = added.location().split("id=").nth(1).unwrap().to_string();
    let placed = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &cart.csrf()), ("cart", &cart_id)]).await;
    assert_eq!(placed.status, 200, "{}", placed.html);
    assert!(placed.html.contains("Order placed"));
    let order = app.get(&format!("/v1/customers/{c}/orders"), p.token(domain::role::Role::AdminAgent)).await.body
        ["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(placed.html.contains(&order));
    // Orders tab: days left to cancel.
    let orders = b.get(&format!("/customers/{c}/orders")).await;
    assert!(orders.html.contains(&order) && orders.html.contains("60 days left to cancel"), "{}", orders.html);
    // The Cancel dialog lists the order with its days remaining; Submit cancels, and the page shows it at once.
    let dialog = b.get(&format!("/customers/{c}/cancel?product=SQL2019STD")).await;
    assert!(dialog.html.contains("60 days remaining"));
    let choice = format!("{order}:0");
    let done = b.post(&format!("/customers/{c}/cancel"), &[("csrf", &dialog.csrf()), ("choice", &choice)]).await;
    assert_eq!(done.status, 303);
    let after = b.get(done.location()).await;
    assert!(after.html.contains("was cancelled") && after.html.contains("No key (cancelled)"), "{}", after.html);
    // A helpdesk agent may not buy or cancel: not offered, and refused.
    let mut h = Browser::new(&app);
    h.sign_in(&helpdesk, PASSWORD).await;
    let tab = h.get(&format!("/customers/{c}")).await;
    assert!(!tab.html.contains("Add products"));
    let refused = h.get(&format!("/customers/{c}/products")).await;
    assert_eq!(refused.status, 403);
    assert!(refused.html.contains("admin_agent") && refused.html.contains("global_admin"));
    assert_eq!(h.get(&format!("/customers/{c}/cancel?product=SQL2019STD")).await.status, 403);
    // A global admin gives the helpdesk agent the admin agent role in Settings; then buying is offered.
    let admin = user_with_password(&app, &p, "root", &["global_admin"]).await;
    let mut g = Browser::new(&app);
    g.sign_in(&admin, PASSWORD).await;
    let settings = g.get("/settings").await;
    assert!(settings.html.contains("Users and roles"));
    let hd_id = app.get("/v1/users?size=500", p.token(domain::role::Role::GlobalAdmin)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == helpdesk.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let saved = g
        .post(
            &format!("/settings/users/{hd_id}"),
            &[("csrf", &settings.csrf()), ("roles", "helpdesk_agent"), ("roles", "admin_agent")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert!(h.get(&format!("/customers/{c}")).await.html.contains("Add products"), "roles apply at once");
    // A helpdesk agent cannot change roles: Settings shows only their own tokens.
    let mut other = Browser::new(&app);
    let plain = user_with_password(&app, &p, "plain", &["helpdesk_agent"]).await;
    other.sign_in(&plain, PASSWORD).await;
    let own = other.get("/settings").await;
    assert!(!own.html.contains("Users and roles"));
    let refused = other.post(&format!("/settings/users/{hd_id}"), &[("csrf", &own.csrf()), ("disabled", "true")]).await;
    assert_eq!(refused.status, 403);
}

/// Settings › Webhooks: a global admin adds an endpoint (the secret shown once), tests it, reads its deliveries and
/// deletes it; other roles are refused.
async fn webhooks_are_managed_under_settings(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let receiver = crate::api_webhooks::Receiver::start().await;
    let admin = user_with_password(&app, &p, "root", &["global_admin"]).await;
    let mut g = Browser::new(&app);
    g.sign_in(&admin, PASSWORD).await;
    let settings = g.get("/settings").await;
    assert!(settings.html.contains("href=\"/settings/webhooks\""), "{}", settings.html);
    let page = g.get("/settings/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("No endpoints.") && page.html.contains("value=\"download_software\""));
    let csrf = page.csrf();
    // A bad address is refused on the page, naming the rule.
    let bad = g
        .post(
            "/settings/webhooks",
            &[("csrf", &csrf), ("url", "http://hooks.example.com/"), ("operationTypes", "create_order")],
        )
        .await;
    assert_eq!(bad.status, 200);
    assert!(bad.html.contains("url: may use http:// only towards this machine"), "{}", bad.html);
    let added = g
        .post(
            "/settings/webhooks",
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("operationTypes", "create_customer"),
                ("operationTypes", "create_order"),
            ],
        )
        .await;
    assert_eq!(added.status, 200);
    let at = added.html.find("data-testid=\"webhook-secret\">").expect("the secret, once") + 29;
    let secret = added.html[at..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(added.html.contains("create_customer, create_order"));
    let listed = g.get("/settings/webhooks").await;
    assert!(!listed.html.contains(&secret), "the secret is shown once");
    let id =
        app.get("/v1/webhooks", p.token(Role::GlobalAdmin)).await.body["items"][0]["id"].as_str().unwrap().to_string();
    // A test event goes out at once and its outcome is shown.
    let tested = g.post(&format!("/settings/webhooks/{id}/test"), &[("csrf", &csrf)]).await;
    assert!(tested.html.contains("Test event delivered (200)."), "{}", tested.html);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(domain::webhook::verify_signature(
        secret.as_bytes(),
        &got[0].signature,
        got[0].body.as_bytes(),
        START / 1_000_000
    ));
    let deliveries = g.get(&format!("/settings/webhooks/{id}")).await;
    assert_eq!(deliveries.status, 200);
    assert!(deliveries.html.contains("webhook_test") && deliveries.html.contains("succeeded"), "{}", deliveries.html);
    assert!(deliveries.html.contains(&got[0].delivery));
    // Without the token the form is refused; with it the endpoint goes.
    assert_eq!(g.post(&format!("/settings/webhooks/{id}/delete"), &[("csrf", "forged")]).await.status, 403);
    let deleted = g.post(&format!("/settings/webhooks/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!((deleted.status, deleted.location()), (303, "/settings/webhooks"));
    assert!(g.get("/settings/webhooks").await.html.contains("No endpoints."));
    // Other roles: not offered, and refused naming the role that may.
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut a = Browser::new(&app);
    a.sign_in(&agent, PASSWORD).await;
    assert!(!a.get("/settings").await.html.contains("/settings/webhooks"));
    let refused = a.get("/settings/webhooks").await;
    assert_eq!(refused.status, 403);
    assert!(refused.html.contains("global_admin"));
}
