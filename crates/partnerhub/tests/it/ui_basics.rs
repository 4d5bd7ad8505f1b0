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
    sign_in_refuses_cross_site_posts,
    disabling_a_user_ends_its_sessions_and_tokens_for_good,
    refused_forms_keep_the_message_next_to_the_field,
    the_cancel_dialog_says_what_cancelling_does,
    a_dead_download_link_opened_in_a_browser_says_what_happened,
    a_reversed_date_range_and_a_large_attachment_stay_on_their_forms,
    the_cart_shows_totals_and_lines_can_be_changed,
    a_sales_agent_adds_a_customer_from_the_dashboard,
    the_software_tab_lists_an_items_links_and_revokes_one,
    billing_shows_the_month_so_far_before_its_invoice,
    the_activity_log_reads_newest_first_with_previous_and_next,
    a_request_is_filed_with_its_files_and_the_amount_of_its_order,
    every_tab_shows_the_open_cart_until_it_is_ordered,
);

/// Issue 18.8 (Add customer): R2 lets sales agents, admin agents and global admins add customers. The form sends
/// what `POST /v1/customers` takes; a refusal comes back on its field with what was typed; success opens the new
/// customer; a helpdesk agent sees no button and is refused.
async fn a_sales_agent_adds_a_customer_from_the_dashboard(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let email = user_with_password(&app, &p, "seller", &["sales_agent"]).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&email, PASSWORD).await.status, 303);
    assert!(b.get("/customers").await.html.contains("href=\"/customers/new\""), "the list offers Add customer");
    let form = b.get("/customers/new").await;
    assert_eq!(form.status, 200, "{}", form.html);
    let csrf = form.csrf();
    let fields = |email: &'static str| {
        vec![
            ("companyName", "Wingtip Toys"),
            ("domain", "wingtip.example.com"),
            ("email", email),
            ("country", "au"),
            ("city", "Sydney"),
            ("addressLine1", "1 George Street"),
            ("postalCode", "2000"),
        ]
    };
    let mut bad = fields("not-an-email");
    bad.push(("csrf", &csrf));
    let refused = b.post("/customers/new", &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("id=\"email-error\""), "the message sits under the email field");
    assert!(refused.html.contains("aria-describedby=\"email-error\""));
    assert!(
        refused.html.contains("value=\"Wingtip Toys\"") && refused.html.contains("value=\"not-an-email\""),
        "inputs kept"
    );
    assert!(!refused.html.contains("billingProfile."), "no API field paths in the message");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM customers").await, 0);
    let mut good = fields("billing@wingtip.example.com");
    good.push(("csrf", &csrf));
    let made = b.post("/customers/new", &good).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let id = made.location().trim_start_matches("/customers/").to_string();
    let api = app.get(&format!("/v1/customers/{id}"), p.token(Role::HelpdeskAgent)).await;
    assert_eq!(
        (api.body["companyProfile"]["companyName"].as_str(), api.body["market"].as_str()),
        (Some("Wingtip Toys"), Some("AU"))
    );
    // The same domain again: 409 on the form, nothing added.
    let again = b.post("/customers/new", &good).await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM customers").await, 1);
    // A helpdesk agent: no button, and the form and the post are refused.
    let helper = user_with_password(&app, &p, "helper", &["helpdesk_agent"]).await;
    let mut h = Browser::new(&app);
    assert_eq!(h.sign_in(&helper, PASSWORD).await.status, 303);
    assert!(!h.get("/customers").await.html.contains("/customers/new"));
    assert_eq!(h.get("/customers/new").await.status, 403);
    let csrf = h.get("/customers").await.csrf();
    let mut post = fields("billing@other.example.com");
    post.push(("csrf", &csrf));
    assert_eq!(h.post("/customers/new", &post).await.status, 403);
}

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
        self.post_login(&[("email", email), ("password", password), ("next", "/customers")], &[]).await
    }

    /// Posts the sign-in form as a browser does: the form (its CSRF token and cookie) first, then the post, with
    /// `headers` added; a new session cookie is kept.
    pub async fn post_login(&mut self, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        let login = set_cookie(&form.headers, "ph_login").expect("the sign-in form sets its cookie");
        let mut fields = fields.to_vec();
        fields.push(("csrf", &csrf));
        let mut req = self.http.post(format!("{}/login", self.url)).header("cookie", format!("ph_login={login}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let page = self.send(req.form(&fields)).await;
        if let Some(session) = set_cookie(&page.headers, "ph_session").filter(|v| !v.is_empty()) {
            self.cookie = Some(session);
        }
        page
    }
}

/// The value a response's `Set-Cookie` gives cookie `name`.
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        Some(v.strip_prefix(name)?.strip_prefix('=')?.split(';').next()?.to_string())
    })
}

/// The whole `Set-Cookie` header for cookie `name`.
pub fn set_cookie_header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    let prefix = format!("{name}=");
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .unwrap_or_default()
        .to_string()
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
    let set = set_cookie_header(&ok.headers, "ph_session");
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
    let r = b.post_login(&[("email", &other), ("password", PASSWORD), ("next", "https://evil.example/")], &[]).await;
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
    assert!(refused.html.contains("Admin agent"), "{}", refused.html);
    // An admin agent gets the key (none for a SUSE plan) on the page.
    let mut a = Browser::new(&app);
    a.sign_in(&agent, PASSWORD).await;
    let page = a.get(&format!("/customers/{c}/software")).await;
    assert!(page.html.contains("Get keys and downloads"));
    let keys = a.post(&format!("/customers/{c}/software/{item}/keys"), &[("csrf", &page.csrf())]).await;
    assert_eq!(keys.status, 200);
    assert!(keys.html.contains("This product has no activation key"));
    // Dates for people: day, month name and year; UTC said where there is a time; never RFC 3339.
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    assert!(
        months.iter().any(|m| keys.html.contains(&format!(" {m} ")) || keys.html.contains(&format!(">{m} ")))
            && keys.html.contains(", 20"),
        "{}",
        keys.html
    );
    assert!(!keys.html.contains("T00:") && !keys.html.contains("-01-"), "no machine dates");
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
    assert!(
        products.html.contains("SQL Server 2019 Standard - 2 Core - 1 year") && products.html.contains("$1,200.00")
    );
    assert!(products.html.contains("<td>1 year</td>") && products.html.contains("<td>3 years</td>"), "terms in words");
    assert!(!products.html.contains("P1Y") && !products.html.contains("1200.00"), "no machine forms");
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
    let cart_id = added.location().split("id=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let posted = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &cart.csrf()), ("cart", &cart_id)]).await;
    assert_eq!(posted.status, 303, "post/redirect/get: {}", posted.html);
    let placed = b.get(posted.location()).await;
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
    assert!(after.html.contains("Cancelled in order") && after.html.contains("No key (cancelled)"), "{}", after.html);
    // A helpdesk agent may not buy or cancel: not offered, and refused.
    let mut h = Browser::new(&app);
    h.sign_in(&helpdesk, PASSWORD).await;
    let tab = h.get(&format!("/customers/{c}")).await;
    assert!(!tab.html.contains("Add products"));
    let refused = h.get(&format!("/customers/{c}/products")).await;
    assert_eq!(refused.status, 403);
    assert!(refused.html.contains("Admin agent") && refused.html.contains("Global admin"), "{}", refused.html);
    assert!(!refused.html.contains("admin_agent"), "roles in words");
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
    assert!(added.html.contains("Create customer, Create order"), "event names in words: {}", added.html);
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
    assert!(deliveries.html.contains("Webhook test") && deliveries.html.contains("Succeeded"), "{}", deliveries.html);
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
    assert!(refused.html.contains("Global admin"), "{}", refused.html);
}

/// Issue 16 item 9: a cross-site page could sign a victim into the attacker's account (login CSRF).
async fn sign_in_refuses_cross_site_posts(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let email = user_with_password(&app, &p, "ann", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    // The form's cookie: only for /login, never sent cross-site, unreadable by scripts.
    let form = b.get("/login").await;
    let set = set_cookie_header(&form.headers, "ph_login");
    assert!(set.contains("Path=/login") && set.contains("SameSite=Strict") && set.contains("HttpOnly"), "{set}");
    let fields = [("email", email.as_str()), ("password", PASSWORD), ("next", "/customers")];
    // What a cross-site form can send: no token, or a token without its cookie.
    let bare = b.post("/login", &fields).await;
    assert_eq!(bare.status, 403, "{}", bare.html);
    assert!(bare.html.contains("did not come from this site"));
    let csrf = form.csrf();
    let mut with_token = fields.to_vec();
    with_token.push(("csrf", &csrf));
    assert_eq!(b.post("/login", &with_token).await.status, 403, "a token without its cookie");
    // A post with the form's token and cookie, but from another site, by Origin or Sec-Fetch-Site.
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site"), ("origin", app.url.as_str())],
    ] {
        let r = b.post_login(&fields, headers).await;
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(set_cookie(&r.headers, "ph_session").is_none(), "{headers:?}");
    }
    assert!(b.cookie.is_none());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    // None of these counted as a failed sign-in: refused before the password was looked at.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sign_in_failures").await, 0);
    // The same post from this site signs in, and the form's cookie is cleared.
    let ok = b.post_login(&fields, &[("origin", app.url.as_str()), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!((ok.status, ok.location()), (303, "/customers"));
    assert!(set_cookie_header(&ok.headers, "ph_login").contains("Max-Age=0"));
    assert_eq!(b.get("/customers").await.status, 200);
}

/// Issue 16 item 9: disabling a user left its sessions alive, and enabling it again revived old sessions and API
/// tokens. Disabling now ends them for good: the user signs in again and makes new tokens.
async fn disabling_a_user_ends_its_sessions_and_tokens_for_good(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let admin = p.token(Role::GlobalAdmin);
    let email = user_with_password(&app, &p, "ann", &["admin_agent"]).await;
    let users = app.get("/v1/users?size=500", admin).await;
    let ann = users.body["items"].as_array().unwrap().iter().find(|u| u["email"] == email.as_str()).unwrap();
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let issue = |path: String| {
        let app = &app;
        async move {
            let r = app.post(&path, PUBLISHER_TOKEN, &json!({"name": "ci"})).await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["token"].as_str().unwrap().to_string()
        }
    };
    let token = issue(format!("/v1/publisher/partners/{}/users/{ann_id}/tokens", p.id)).await;
    let mut b = Browser::new(&app);
    b.sign_in(&email, PASSWORD).await;
    assert_eq!(b.get("/customers").await.status, 200);
    assert_eq!(app.get("/v1/users/me", &token).await.status, 200);

    let off = app.patch(&format!("/v1/users/{ann_id}"), admin, &json!({"disabled": true})).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = '{ann_id}'")).await, 0);
    assert_eq!(b.get("/customers").await.status, 303, "signed out");
    app.get("/v1/users/me", &token).await.assert_error(401, "unauthorized");
    let live = format!("SELECT COUNT(*) FROM api_tokens WHERE user_id = '{ann_id}' AND revoked_at IS NULL");
    assert_eq!(app.scalar(&live).await, 0, "revoked, not just ignored");

    // Enabled again: the old session and token stay dead; signing in again and new tokens work.
    let on = app.patch(&format!("/v1/users/{ann_id}"), admin, &json!({"disabled": false})).await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(b.get("/customers").await.status, 303);
    app.get("/v1/users/me", &token).await.assert_error(401, "unauthorized");
    b.sign_in(&email, PASSWORD).await;
    assert_eq!(b.get("/customers").await.status, 200);
    let fresh = issue(format!("/v1/publisher/partners/{}/users/{ann_id}/tokens", p.id)).await;
    assert_eq!(app.get("/v1/users/me", &fresh).await.status, 200);
    // The activity log says what the disable did.
    let log = app.get("/v1/auditrecords?size=500", admin).await;
    let disable = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["operationType"] == "update_user" && r.to_string().contains("tokensRevoked"))
        .expect("the disable is recorded");
    assert!(disable.to_string().contains("sessionsEnded"), "{disable}");
}

/// Issue 18.1: a refused form is shown again with the reason next to its field, in plain words, what was typed kept,
/// and a 4xx status; a successful post redirects, and the checkout confirmation has its own address.
async fn refused_forms_keep_the_message_next_to_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    crate::api_orders::stock(&app, "SQL2019STD", "0001", &["UI-FORM-1"]).await;
    let p = app.partner("Forms", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    let token = p.token(domain::role::Role::AdminAgent);
    let item = crate::api_orders::item(&app, token, &c, "SQL2019STD", "0001").await;
    let products = b.get(&format!("/customers/{c}/products?view=SoftwareSubscriptions")).await;
    let add = |q: &'static str| {
        let (csrf, item) = (products.csrf(), item.clone());
        let b = &b;
        let c = c.clone();
        async move {
            b.post(
                &format!("/customers/{c}/cart"),
                &[("csrf", &csrf), ("catalogItemId", &item), ("quantity", q), ("view", "SoftwareSubscriptions")],
            )
            .await
        }
    };
    // Quantity 0: the catalog again, 422, the message next to the quantity, the 0 kept, no API field path.
    let zero = add("0").await;
    assert_eq!(zero.status, 422, "{}", zero.html);
    assert!(zero.html.contains("Quantity must be 1 to 10000."), "{}", zero.html);
    assert!(zero.html.contains(r#"value="0""#) && zero.html.contains(r#"aria-invalid="true""#));
    let described = zero.html.split("aria-describedby=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(zero.html.contains(&format!(r#"id="{described}""#)), "the message is the field's description");
    assert!(!zero.html.contains("lineItems") && !zero.html.contains("That did not work"));
    let words = add("two").await;
    assert_eq!(words.status, 422);
    assert!(words.html.contains("whole number") && words.html.contains(r#"value="two""#), "{}", words.html);
    // A reservation without its Azure subscription GUID: the message next to that field, the text kept.
    let vm = crate::api_orders::item(&app, token, &c, "VMRESERVED", "0001").await;
    let reserve = b
        .post(
            &format!("/customers/{c}/cart"),
            &[("csrf", &products.csrf()), ("catalogItemId", &vm), ("quantity", "1"), ("subscriptionId", "not-a-guid")],
        )
        .await;
    assert_eq!(reserve.status, 422, "{}", reserve.html);
    assert!(reserve.html.contains("Azure subscription ID") && reserve.html.contains(r#"value="not-a-guid""#));
    assert!(!reserve.html.contains("provisioningContext"), "{}", reserve.html);
    // A good line: redirected to the cart; checkout redirects to the order's own address.
    let added = add("1").await;
    assert_eq!(added.status, 303, "{}", added.html);
    let cart_id = added.location().split("id=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let cart = b.get(added.location()).await;
    let posted = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &cart.csrf()), ("cart", &cart_id)]).await;
    assert_eq!(posted.status, 303);
    let order =
        app.get(&format!("/v1/customers/{c}/orders"), token).await.body["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(posted.location(), format!("/customers/{c}/orders/{order}?placed=1"));
    let placed = b.get(posted.location()).await;
    assert!(placed.status == 200 && placed.html.contains("Order placed") && placed.html.contains(&order));
    // Back and Check out again: the cart again, 409, saying it was ordered already, and no second order.
    let again = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &cart.csrf()), ("cart", &cart_id)]).await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.html.contains("already checked out as order") && again.html.contains(&order), "{}", again.html);
    assert!(!again.html.contains(">Check out<"), "an ordered cart offers no checkout");
    assert_eq!(app.get(&format!("/v1/customers/{c}/orders"), token).await.body["items"].as_array().unwrap().len(), 1);
    // Cancel with no order chosen: the dialog again, 422, the message on the order list.
    let dialog = b.get(&format!("/customers/{c}/cancel?product=SQL2019STD")).await;
    let none = b.post(&format!("/customers/{c}/cancel"), &[("csrf", &dialog.csrf()), ("product", "SQL2019STD")]).await;
    assert_eq!(none.status, 422, "{}", none.html);
    assert!(none.html.contains(r#"aria-describedby="choice-error""#) && none.html.contains("none was chosen"));
    assert!(none.html.contains(&order), "the dialog still lists the orders");
}

/// Issue 18.2: each order in the Cancel dialog shows when it was placed, its quantity, amount and the credit that
/// cancelling now gives; the button names the order and line (from 1) and is disabled when it cannot cancel; the
/// confirmation names the line cancelled; the Orders tab shows the credit and the order's remaining total.
async fn the_cancel_dialog_says_what_cancelling_does(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    crate::api_orders::stock(&app, "SQL2019STD", "0001", &["UI-CANCEL-1"]).await;
    crate::api_orders::stock(&app, "WIN7ESU", "0001", &["UI-ESU-1"]).await;
    let p = app.partner("Cancels", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let t = p.token(domain::role::Role::AdminAgent);
    let sql = crate::api_orders::item(&app, t, &c, "SQL2019STD", "0001").await;
    let esu = crate::api_orders::item(&app, t, &c, "WIN7ESU", "0001").await;
    let order = crate::api_orders::buy(
        &app,
        t,
        &c,
        json!([{"catalogItemId": esu, "quantity": 1}, {"catalogItemId": sql, "quantity": 1}]),
    )
    .await;
    let order_id = order["id"].as_str().unwrap().to_string();
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    let dialog = b.get(&format!("/customers/{c}/cancel?product=SQL2019STD")).await;
    assert_eq!(dialog.status, 200);
    // The line as charged, cancelled on the day of purchase: all of it back.
    for fact in [
        "Placed",
        " UTC",
        "Quantity",
        "Amount",
        "$1,200.00",
        "Credit if cancelled now",
        "revokes its activation keys and download links at once",
        "next invoice",
    ] {
        assert!(dialog.html.contains(fact), "{fact}: {}", dialog.html);
    }
    assert!(dialog.html.contains(&format!("Cancel order {order_id} line 2</button>")), "{}", dialog.html);
    assert!(!dialog.html.contains(" disabled>Cancel order"));
    // ESU cannot be cancelled: its button is disabled and no credit is promised.
    let esu_dialog = b.get(&format!("/customers/{c}/cancel?product=WIN7ESU")).await;
    assert!(
        esu_dialog.html.contains(&format!(" disabled>Cancel order {order_id} line 1</button>")),
        "{}",
        esu_dialog.html
    );
    assert!(esu_dialog.html.contains("None of these purchases can be cancelled here"));
    // Cancel line 2 (the API's line 1): the confirmation names it, with its credit.
    let choice = format!("{order_id}:1");
    let done = b
        .post(
            &format!("/customers/{c}/cancel"),
            &[("csrf", &dialog.csrf()), ("choice", &choice), ("product", "SQL2019STD")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let after = b.get(done.location()).await;
    assert!(
        after.html.contains(&format!(
            "Cancelled in order {order_id}: line 2 (SQL Server 2019 Standard - 2 Core - 1 year, credit $1,200.00)"
        )),
        "{}",
        after.html
    );
    // Orders tab: the cancelled line with its status and credit, the order's total less the credit, lines from 1.
    let orders = b.get(&format!("/customers/{c}/orders")).await;
    assert!(
        orders.html.contains("credit $1,200.00") && orders.html.contains("$50.00 after cancellations"),
        "{}",
        orders.html
    );
    assert!(orders.html.contains("<td>1</td><td>Windows 7") && orders.html.contains("<td>2</td><td>SQL Server"));
    // A second Submit of the same line is refused on the dialog, not on an error page.
    let again = b
        .post(
            &format!("/customers/{c}/cancel"),
            &[("csrf", &dialog.csrf()), ("choice", &choice), ("product", "SQL2019STD")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.html.contains("choice-error") && !again.html.contains("That did not work"), "{}", again.html);
}

/// Issue 18.3: a download link that no longer works, opened in a browser, answers a short page for the customer
/// (same status: 410, or 404 for a link that never was); API clients keep the JSON body.
async fn a_dead_download_link_opened_in_a_browser_says_what_happened(db: Db) {
    use crate::api_downloads::{bought, enu_link, fetch};
    use reqwest::Method;
    const BROWSER: (&str, &str) = ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    // Get keys and downloads in the dashboard: a copy button for the key, and each file's SHA-256.
    let agent = user_with_password(&app, &b.p, "agent", &["admin_agent"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&agent, PASSWORD).await;
    let tab = browser.get(&format!("/customers/{}/software", b.customer)).await;
    let keys = browser
        .post(
            &format!("/customers/{}/software/{}/keys", b.customer, b.item),
            &[("csrf", &tab.csrf()), ("language", "en-us")],
        )
        .await;
    assert_eq!(keys.status, 200, "{}", keys.html);
    assert!(
        keys.html.contains("Copy key") && keys.html.contains(&crate::api_downloads::sha256_hex(&b.enu)),
        "{}",
        keys.html
    );
    let page_of = |f: &crate::api_downloads::Fetched| String::from_utf8(f.body.clone()).unwrap();
    let is_html = |f: &crate::api_downloads::Fetched| {
        f.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html")
            && f.headers.contains_key("content-security-policy")
    };
    // After the 50th download.
    let used = enu_link(&app, &b).await;
    for _ in 0..50 {
        assert_eq!(fetch(&app.http, Method::GET, &used, &[]).await.status, 200);
    }
    let r = fetch(&app.http, Method::GET, &used, &[BROWSER]).await;
    assert_eq!(r.status, 410);
    assert!(is_html(&r));
    let text = page_of(&r);
    assert!(text.contains("This download link has been used up") && text.contains("50 downloads"), "{text}");
    assert!(!text.contains("14 days"), "only the limit reached: {text}");
    assert!(text.contains("Your reseller can send you a new link"), "{text}");
    assert!(!text.contains("admin agent") && !text.contains("Get keys") && !text.contains("Sign out"), "{text}");
    // An API client (no text/html in Accept) keeps the JSON 410.
    for headers in [vec![], vec![("accept", "application/json")], vec![("accept", "*/*")]] {
        let r = fetch(&app.http, Method::GET, &used, &headers).await;
        assert_eq!((r.status, r.error_name()), (410, "link_expired".to_string()), "{headers:?}");
    }
    // After its 14 days.
    let old = enu_link(&app, &b).await;
    app.clock.advance_micros(15 * 86_400_000_000);
    let r = fetch(&app.http, Method::GET, &old, &[BROWSER]).await;
    assert_eq!(r.status, 410);
    let text = page_of(&r);
    assert!(text.contains("has expired") && text.contains("14 days after it is issued"), "{text}");
    assert!(!text.contains("50 downloads"), "only the limit reached: {text}");
    // After the purchase was cancelled.
    let fresh = enu_link(&app, &b).await;
    let order =
        app.get(&format!("/v1/customers/{}/orders", b.customer), b.agent()).await.body["items"][0]["id"].clone();
    let path = format!("/v1/customers/{}/orders/{}", b.customer, order.as_str().unwrap());
    assert_eq!(app.patch(&path, b.agent(), &serde_json::json!({"status": "cancelled"})).await.status, 200);
    let r = fetch(&app.http, Method::GET, &fresh, &[BROWSER]).await;
    assert_eq!(r.status, 410);
    assert!(is_html(&r) && page_of(&r).contains("was cancelled"), "{}", page_of(&r));
    assert_eq!(fetch(&app.http, Method::GET, &fresh, &[]).await.error_name(), "link_revoked");
    // A link that never was.
    let r = fetch(&app.http, Method::GET, &format!("{}/download/{}", app.url, "A".repeat(43)), &[BROWSER]).await;
    assert_eq!(r.status, 404);
    assert!(is_html(&r) && page_of(&r).contains("not valid"));
}

/// Issue 18.1, continued: a reversed date range on the Activity log and an attachment over 10 MiB come back on their
/// forms, the message next to the field, the dates kept.
async fn a_reversed_date_range_and_a_large_attachment_stay_on_their_forms(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Forms", false).await;
    let admin = user_with_password(&app, &p, "root", &["global_admin", "admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin, PASSWORD).await;
    let reversed = b.get("/activity?start=2026-03-10&end=2026-03-01&kind=all").await;
    assert_eq!(reversed.status, 422, "{}", reversed.html);
    assert!(reversed.html.contains("The start date is after the end date"), "{}", reversed.html);
    assert!(reversed.html.contains(r#"value="2026-03-10""#) && reversed.html.contains(r#"value="2026-03-01""#));
    assert!(reversed.html.contains(r#"aria-describedby="dates-error""#) && !reversed.html.contains("startDate"));
    // A support request, and an 11 MB file for it.
    let mut body = crate::api_support::request_body("c", "o");
    body.as_object_mut().unwrap().remove("refund");
    let filed = app.post("/v1/servicerequests/en-US", p.token(domain::role::Role::AdminAgent), &body).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let id = filed.body["id"].as_str().unwrap().to_string();
    let page = b.get(&format!("/support/{id}")).await;
    let csrf = page.csrf();
    let boundary = "partnerhub-test-boundary";
    let mut upload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    upload.extend(std::iter::repeat_n(b'x', 11 * 1024 * 1024));
    upload.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let req = b
        .http
        .post(format!("{}/support/{id}/attachments?csrf={csrf}", b.url))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("cookie", format!("ph_session={}", b.cookie.clone().unwrap()))
        .body(upload);
    let res = req.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("The file is larger than 10.0 MiB") && html.contains(r#"aria-describedby="file-error""#),
        "{html}"
    );
    assert!(html.contains("Refund a duplicate purchase"), "the request's page again");
    assert!(b.get(&format!("/support/{id}")).await.html.contains("None."), "nothing was attached");
}

/// Issue 18.5 (part): the cart says a line was added, prices each line and the cart as checkout will (R4), and a
/// line's quantity can be changed or the line removed; a bad quantity comes back on its line.
async fn the_cart_shows_totals_and_lines_can_be_changed(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    crate::api_invoices::set_tax(&app, "US", "USD", "0.0725", false).await;
    crate::api_orders::stock(&app, "SQL2019STD", "0001", &["UI-CART-1", "UI-CART-2"]).await;
    let p = app.partner("Shop", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let t = p.token(domain::role::Role::AdminAgent);
    let sql = crate::api_orders::item(&app, t, &c, "SQL2019STD", "0001").await;
    let perp = crate::api_orders::item(&app, t, &c, "SQL2019PERP", "0001").await;
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    let csrf = b.get(&format!("/customers/{c}/products")).await.csrf();
    let added =
        b.post(&format!("/customers/{c}/cart"), &[("csrf", &csrf), ("catalogItemId", &sql), ("quantity", "1")]).await;
    assert_eq!(added.status, 303);
    assert!(added.location().ends_with("&added=1"), "{}", added.location());
    let cart_id = added.location().split("id=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let cart = b.get(added.location()).await;
    assert!(cart.html.contains("Added to the cart."), "{}", cart.html);
    assert!(
        cart.html.contains("$1,200.00") && cart.html.contains("$87.00") && cart.html.contains("$1,287.00"),
        "{}",
        cart.html
    );
    let more = b
        .post(
            &format!("/customers/{c}/cart"),
            &[("csrf", &csrf), ("cart", &cart_id), ("catalogItemId", &perp), ("quantity", "1")],
        )
        .await;
    assert_eq!(more.status, 303);
    let line = |n: &'static str, q: &'static str, action: &'static str| {
        let (b, c, csrf, cart_id) = (&b, c.clone(), csrf.clone(), cart_id.clone());
        async move {
            b.post(
                &format!("/customers/{c}/cart/lines"),
                &[("csrf", &csrf), ("cart", &cart_id), ("line", n), ("quantity", q), ("action", action)],
            )
            .await
        }
    };
    // Quantity 2 on line 1: priced as the API prices it.
    let updated = line("0", "2", "update").await;
    assert_eq!(updated.status, 303, "{}", updated.html);
    let cart = b.get(updated.location()).await;
    assert!(
        cart.html.contains("$2,400.00") && cart.html.contains("$174.00") && cart.html.contains("$2,574.00"),
        "{}",
        cart.html
    );
    // Quantity 0: the cart again, 422, the message on that line, the 0 kept.
    let zero = line("0", "0", "update").await;
    assert_eq!(zero.status, 422, "{}", zero.html);
    assert!(
        zero.html.contains(r#"aria-describedby="line-error-1""#) && zero.html.contains("Quantity must be 1 to 10000.")
    );
    assert!(zero.html.contains(r#"value="0""#) && !zero.html.contains("lineItems"));
    // Remove line 2: one line left; check out, and the order costs what the cart said.
    let removed = line("1", "1", "remove").await;
    assert_eq!(removed.status, 303);
    let cart = b.get(removed.location()).await;
    assert_eq!(cart.html.matches("data-testid=\"cart-line\"").count(), 1, "{}", cart.html);
    let total = cart.html.split("data-testid=\"cart-total\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert_eq!(total, "$2,574.00");
    let placed = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &csrf), ("cart", &cart_id)]).await;
    assert_eq!(placed.status, 303);
    let orders = app.get(&format!("/v1/customers/{c}/orders"), t).await;
    assert_eq!(orders.body["items"][0]["totals"]["gross"], "2574.00", "{}", orders.text);
}

/// Issue 18.3: the Software tab lists the links issued for an item, with downloads used and left and the expiry,
/// and an admin agent revokes one (asked to confirm first); the link then stops working.
async fn the_software_tab_lists_an_items_links_and_revokes_one(db: Db) {
    use crate::api_downloads::{bought, enu_link, fetch};
    use reqwest::Method;
    let app = TestApp::spawn(db).await;
    let b = bought(&app, false).await;
    let agent = user_with_password(&app, &b.p, "agent", &["admin_agent"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&agent, PASSWORD).await;
    let item_tab = format!("/customers/{}/software?item={}", b.customer, b.item);
    assert!(browser.get(&item_tab).await.html.contains("No links issued yet."));
    let link = enu_link(&app, &b).await;
    assert_eq!(fetch(&app.http, Method::GET, &link, &[]).await.status, 200);
    let tab = browser.get(&item_tab).await;
    assert_eq!(tab.status, 200);
    assert!(tab.html.contains("Links issued") && tab.html.contains("SQLServer2019-x64-ENU.iso"), "{}", tab.html);
    assert!(tab.html.contains("1 downloaded, 49 left"), "{}", tab.html);
    assert!(tab.html.contains("expires Jan 29, 2026, 10:00 UTC"), "{}", tab.html);
    assert!(tab.html.contains("data-confirm=\"Revoke the link for SQLServer2019-x64-ENU.iso?"), "asks first");
    let id = app.get(&b.path("downloadlinks"), b.agent()).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let revoke = format!("/customers/{}/software/{}/links/{id}/revoke", b.customer, b.item);

    // A helpdesk agent sees no list and is refused.
    let helpdesk = user_with_password(&app, &b.p, "helpdesk", &["helpdesk_agent"]).await;
    let mut other = Browser::new(&app);
    other.sign_in(&helpdesk, PASSWORD).await;
    let theirs = other.get(&item_tab).await;
    assert!(!theirs.html.contains("Links issued"), "{}", theirs.html);
    assert_eq!(other.post(&revoke, &[("csrf", &theirs.csrf())]).await.status, 403);
    assert_eq!(fetch(&app.http, Method::GET, &link, &[]).await.status, 200, "still works");

    // Without the CSRF token nothing happens; with it the link is revoked and the tab says so (post/redirect/get).
    assert_eq!(browser.post(&revoke, &[]).await.status, 403);
    let done = browser.post(&revoke, &[("csrf", &tab.csrf())]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert!(done.location().contains(&format!("revoked={id}")), "{}", done.location());
    let after = browser.get(done.location()).await;
    assert!(after.html.contains("The link for SQLServer2019-x64-ENU.iso is revoked"), "{}", after.html);
    assert!(after.html.contains(">Revoked<") && !after.html.contains(">Revoke link<"), "{}", after.html);
    let r = fetch(&app.http, Method::GET, &link, &[]).await;
    assert_eq!((r.status, r.error_name()), (410, "link_revoked".to_string()));
}

/// Issue 18.6: Billing shows the charges and credits not invoiced yet, so a cancellation's credit is visible at once;
/// once the month is invoiced they move to the invoice.
async fn billing_shows_the_month_so_far_before_its_invoice(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, c, order) = a_us_order(&app, "Ledger").await;
    let t = p.token(Role::AdminAgent);
    let billing = user_with_password(&app, &p, "billing", &["billing_admin"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&billing, PASSWORD).await;
    let before = browser.get("/billing").await;
    assert_eq!(before.status, 200);
    assert!(before.html.contains("Not invoiced yet") && before.html.contains("$1,287.00"), "{}", before.html);
    assert!(!before.html.contains("-$1,251.74"));
    // Cancelled on day 10: the credit (355/365 of the charge) shows at once, and the total so far nets it.
    app.clock.advance_micros(10 * 86_400_000_000);
    let path = format!("/v1/customers/{c}/orders/{}", order["id"].as_str().unwrap());
    assert_eq!(app.patch(&path, t, &json!({"status": "cancelled"})).await.status, 200);
    browser.sign_in(&billing, PASSWORD).await; // the session's idle limit passed with the clock
    let after = browser.get("/billing").await;
    assert!(after.html.contains("-$1,251.74"), "{}", after.html);
    assert!(after.html.contains("<th scope=\"row\">$35.26</th>"), "the total so far: {}", after.html);
    assert!(after.html.contains("Cancel"), "the credit's type in words");
    // February: January's invoice takes the rows; nothing is left unbilled.
    app.clock.advance_micros(7 * 86_400_000_000);
    assert_eq!(crate::api_invoices::run(&app, "2026-01").await.status, 200);
    browser.sign_in(&billing, PASSWORD).await;
    let invoiced = browser.get("/billing").await;
    assert!(invoiced.html.contains("Nothing since the last invoice."), "{}", invoiced.html);
    assert!(invoiced.html.contains("$35.26"), "the invoice lists the total: {}", invoiced.html);
}

/// Issue 18.7: the Activity log reads newest first, 50 to a page with Previous and Next, ids and the client folded
/// away, and its CSV is named with its range.
async fn the_activity_log_reads_newest_first_with_previous_and_next(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Busy", false).await;
    for i in 0..60 {
        app.customer(&p, &format!("Customer {i:02}"), &format!("c{i:02}.example.com"), "US").await;
        app.clock.advance_micros(1_000_000);
    }
    let admin = user_with_password(&app, &p, "admin", &["global_admin"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&admin, PASSWORD).await;
    let rows = |html: &str| html.matches("data-testid=\"record\"").count();
    let first = browser.get("/activity?start=2026-01-01&end=2026-01-31&kind=create_customer").await;
    assert_eq!(first.status, 200);
    assert_eq!(rows(&first.html), 50, "50 to a page");
    let at = |html: &str, name: &str| html.find(name).unwrap_or_else(|| panic!("{name} missing"));
    assert!(at(&first.html, "Customer 59") < at(&first.html, "Customer 58"), "newest first");
    assert!(!first.html.contains("Customer 09"), "the ten oldest are on the next page");
    assert!(first.html.contains("Domain: c59.example.com"), "details in words");
    assert!(!first.html.contains("<summary>Ids and client</summary>"), "nothing to fold on these");
    assert!(!first.html.contains("rel=\"prev\""), "the newest page has no Previous");
    let next = first.html.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().to_string();
    let next = next.trim_end_matches("\" ").replace("&amp;", "&").replace("&#38;", "&");
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200, "{next}: {}", second.html);
    assert_eq!(rows(&second.html), 10, "{next}: {}", second.html);
    assert!(at(&second.html, "Customer 09") < at(&second.html, "Customer 00"));
    assert!(!second.html.contains("rel=\"next\"") && second.html.contains("rel=\"prev\""));
    let prev = second.html.split("rel=\"prev\"").next().unwrap().rsplit("href=\"").next().unwrap().to_string();
    let prev = prev.trim_end_matches("\" ").replace("&amp;", "&").replace("&#38;", "&");
    let back = browser.get(&prev).await;
    assert_eq!(rows(&back.html), 50);
    assert!(at(&back.html, "Customer 59") < at(&back.html, "Customer 10") && !back.html.contains("Customer 09"));
    assert!(!back.html.contains("rel=\"prev\""), "back on the newest page");
    // A token's record: its ids folded away, its name in words.
    let token = app.post("/v1/users/me/tokens", p.token(Role::GlobalAdmin), &json!({"name": "ci"})).await;
    assert_eq!(token.status, 201, "{}", token.text);
    let tokens = browser.get("/activity?start=2026-01-01&end=2026-01-31&kind=all").await;
    let folded = tokens.html.split("<summary>Ids and client</summary>").nth(1).expect("ids folded away");
    let folded = folded.split("</details>").next().unwrap();
    assert!(folded.contains("Token ID") && folded.contains("User ID"), "{folded}");
    assert!(tokens.html.contains("Name: ci"), "{}", tokens.html);
    // The export is named with its range.
    let csv = browser.get("/activity.csv?start=2026-01-01&end=2026-01-31&kind=all").await;
    assert_eq!(csv.status, 200);
    let name = csv.headers["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(name, "attachment; filename=\"activity-2026-01-01-to-2026-01-31.csv\"");
}

/// A multipart form body: text fields, then files (name, file name, contents), as a browser sends it.
fn multipart_body(boundary: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    for (name, file_name, contents) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(contents);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    body
}

/// Issue 18.8: files are chosen on the filing form (the article's "Add files") and attached to the new request; a
/// request filed from an order starts with the amount and currency of the lines in question.
async fn a_request_is_filed_with_its_files_and_the_amount_of_its_order(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, c, order) = a_us_order(&app, "Files").await;
    let o = order["id"].as_str().unwrap();
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    let form = b.get(&format!("/support?topic=csp_purchase_refund&customerId={c}&orderId={o}&lineItems=0")).await;
    assert!(form.html.contains(r#"name="amountRequested" inputmode="decimal" value="1287.00""#), "{}", form.html);
    assert!(form.html.contains(r#"name="currencyCode" maxlength="3" value="USD""#));
    assert!(
        form.html.contains(r#"enctype="multipart/form-data""#)
            && form.html.contains(r#"type="file" name="files" multiple"#)
    );
    let csrf = form.csrf();
    let fields = |csrf: &str, title: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("supportTopicId", "csp_purchase_refund".to_string()),
            ("severity", "moderate".to_string()),
            ("title", title.to_string()),
            ("description", "Charged twice; the invoices are attached.".to_string()),
            ("customerId", c.clone()),
            ("orderId", o.to_string()),
            ("amountRequested", "1287.00".to_string()),
            ("currencyCode", "USD".to_string()),
            ("reason", "Duplicate order".to_string()),
            ("firstName", "Ada".to_string()),
            ("lastName", "Lovelace".to_string()),
            ("email", "ada@files.example".to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>, files: Vec<(&'static str, &'static str, &'static [u8])>| {
        let boundary = "partnerhub-filing-boundary";
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = multipart_body(boundary, &f, &files);
        b.http
            .post(format!("{}/support", b.url))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .header("cookie", format!("ph_session={}", b.cookie.clone().unwrap()))
            .body(body)
            .send()
    };
    let requests = || async { app.scalar("SELECT COUNT(*) FROM service_requests").await };
    // Without the form's token nothing is filed; a refused field comes back on the form, nothing filed either.
    let forged = post(fields("forged", "Refund"), vec![("files", "a.txt", b"first")]).await.unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let untitled = post(fields(&csrf, ""), vec![("files", "a.txt", b"first")]).await.unwrap();
    assert_eq!(untitled.status().as_u16(), 400);
    let said = untitled.text().await.unwrap();
    assert!(said.contains("Title") && !said.contains("title:"), "the problem in plain words on the form: {said}");
    assert_eq!(requests().await, 0);
    // Filed with two files (and an empty file field, as a browser sends when none is chosen in it).
    let filed = post(
        fields(&csrf, "Refund the duplicate"),
        vec![("files", "invoice-a.txt", b"first file"), ("files", "invoice-b.log", b"second"), ("files", "", b"")],
    )
    .await
    .unwrap();
    assert_eq!(filed.status().as_u16(), 303, "{}", filed.text().await.unwrap());
    let to = filed.headers()["location"].to_str().unwrap().to_string();
    let page = b.get(&to).await;
    assert!(page.html.contains("invoice-a.txt") && page.html.contains("invoice-b.log"), "{}", page.html);
    assert!(page.html.contains("1287.00") || page.html.contains("1,287.00"), "the refund asked: {}", page.html);
    assert_eq!(requests().await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM service_request_attachments").await, 2);
}

/// Issue 18.5: the customer's open cart shows on every tab of the customer (with its number of lines), Add products
/// goes on filling it, and once it is ordered the indicator is gone; a role that may not buy sees none.
async fn every_tab_shows_the_open_cart_until_it_is_ordered(db: Db) {
    let app = TestApp::spawn(db).await;
    crate::api_catalog::import(&app, &crate::api_catalog::sample_catalog()).await;
    crate::api_orders::stock(&app, "SQL2019STD", "0001", &["UI-OPEN-1"]).await;
    crate::api_orders::stock(&app, "SQL2019PERP", "0001", &["UI-OPEN-2"]).await;
    let p = app.partner("Basket", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let t = p.token(Role::AdminAgent);
    let sql = crate::api_orders::item(&app, t, &c, "SQL2019STD", "0001").await;
    let perp = crate::api_orders::item(&app, t, &c, "SQL2019PERP", "0001").await;
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agent, PASSWORD).await;
    let indicator =
        |html: &str| html.split("data-testid=\"cart-indicator\"").nth(1).map(|r| r[..200.min(r.len())].to_string());
    assert_eq!(indicator(&b.get(&format!("/customers/{c}/software")).await.html), None, "no cart yet");
    let csrf = b.get(&format!("/customers/{c}/products")).await.csrf();
    let added =
        b.post(&format!("/customers/{c}/cart"), &[("csrf", &csrf), ("catalogItemId", &sql), ("quantity", "1")]).await;
    assert_eq!(added.status, 303);
    let cart_id = added.location().split("id=").nth(1).unwrap().split('&').next().unwrap().to_string();
    for tab in ["software", "orders", "products"] {
        let page = b.get(&format!("/customers/{c}/{tab}")).await;
        let shown = indicator(&page.html).unwrap_or_else(|| panic!("{tab}: no indicator: {}", page.html));
        assert!(shown.contains(&cart_id) && shown.contains("Cart (1 line)"), "{tab}: {shown}");
    }
    // Add products without the cart in the address goes on in the open cart.
    let products = b.get(&format!("/customers/{c}/products")).await;
    assert!(products.html.contains(&format!(r#"name="cart" value="{cart_id}""#)), "{}", products.html);
    let more = b
        .post(
            &format!("/customers/{c}/cart"),
            &[("csrf", &csrf), ("cart", &cart_id), ("catalogItemId", &perp), ("quantity", "1")],
        )
        .await;
    assert_eq!(more.status, 303);
    assert!(indicator(&b.get(&format!("/customers/{c}/orders")).await.html).unwrap().contains("Cart (2 lines)"));
    // A helpdesk agent, who may not buy, sees no cart.
    let helpdesk = user_with_password(&app, &p, "helpdesk", &["helpdesk_agent"]).await;
    let mut h = Browser::new(&app);
    h.sign_in(&helpdesk, PASSWORD).await;
    assert_eq!(indicator(&h.get(&format!("/customers/{c}/software")).await.html), None);
    // Ordered: no open cart any more.
    let placed = b.post(&format!("/customers/{c}/cart/checkout"), &[("csrf", &csrf), ("cart", &cart_id)]).await;
    assert_eq!(placed.status, 303, "{}", placed.html);
    assert_eq!(indicator(&b.get(&format!("/customers/{c}/software")).await.html), None, "ordered");
}

/// A partner with a US customer (7.25% sales tax) who bought one SQL Server subscription: $1,200.00 + $87.00.
/// Returns the partner, the customer's id and the order.
pub async fn a_us_order(app: &TestApp, partner: &str) -> (TestPartner, String, serde_json::Value) {
    use crate::api_orders::{buy, item, stock};
    let p = app.partner(partner, false).await;
    crate::api_catalog::import(app, &crate::api_catalog::sample_catalog()).await;
    crate::api_invoices::set_tax(app, "US", "USD", "0.0725", false).await;
    stock(app, "SQL2019STD", "0001", &["US-ORDER-1"]).await;
    let t = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let line = json!([{"catalogItemId": item(app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]);
    let order = buy(app, t, &c, line).await;
    (p, c, order)
}
