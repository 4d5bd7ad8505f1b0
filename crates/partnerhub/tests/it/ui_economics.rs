//! The dashboard's side of issue 23: Add products shows the customer price to every buyer and the partner's cost
//! and margin to the roles that see billing; Settings › Customer prices lists, adds and deletes markup rules.

use crate::api_catalog::{import, sample_catalog};
use crate::api_pricelists::gold_at_12_percent_off;
use crate::harness::*;
use crate::ui_basics::{user_with_password, Browser, PASSWORD};
use serde_json::json;

crate::on_both_backends!(customer_prices_on_the_dashboard);

/// The text of the first element carrying `data-testid="{id}"`.
fn cell<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let at = html.find(&format!("data-testid=\"{id}\""))?;
    let text = &html[at..];
    let start = text.find('>')? + 1;
    Some(&text[start..start + text[start..].find('<')?])
}

async fn customer_prices_on_the_dashboard(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    gold_at_12_percent_off(&app, &p.id).await;
    let owner = user_with_password(&app, &p, "owner", &["global_admin"]).await;
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;

    let mut admin = Browser::new(&app);
    assert_eq!(admin.sign_in(&owner, PASSWORD).await.status, 303);
    // Settings › Customer prices: empty, then a rule added through the form.
    let settings = admin.get("/settings").await;
    assert!(settings.html.contains("href=\"/settings/prices\""), "{}", settings.html);
    let prices = admin.get("/settings/prices").await;
    assert_eq!(prices.status, 200, "{}", prices.html);
    let csrf = prices.csrf();
    let added = admin
        .post(
            "/settings/prices",
            &[
                ("csrf", &csrf),
                ("basis", "cost"),
                ("kind", "percent"),
                ("value", "25"),
                ("product_type", "software_plan"),
            ],
        )
        .await;
    assert_eq!((added.status, added.location()), (303, "/settings/prices"), "{}", added.html);
    let prices = admin.get("/settings/prices").await;
    assert!(prices.html.contains("+25%") && prices.html.contains("Software plan"), "{}", prices.html);
    // A bad rule is refused on the page, naming the field.
    let bad = admin
        .post("/settings/prices", &[("csrf", &csrf), ("basis", "cost"), ("kind", "percent"), ("value", "lots")])
        .await;
    assert!(bad.status == 200 && bad.html.contains("percent"), "{}", bad.html);

    // Add products: SLES costs 264.00, sells for 330.00 (cost + 25%).
    let products = admin.get(&format!("/customers/{c}/products?view=SoftwareSUSELinux")).await;
    assert_eq!(products.status, 200, "{}", products.html);
    assert_eq!(cell(&products.html, "customer-price"), Some("$330.00"), "{}", products.html);
    assert_eq!(cell(&products.html, "partner-cost"), Some("$264.00"));
    assert_eq!(cell(&products.html, "margin"), Some("$66.00"));
    // An admin agent buys at the customer price but sees neither cost nor margin.
    let mut buyer = Browser::new(&app);
    assert_eq!(buyer.sign_in(&agent, PASSWORD).await.status, 303);
    let products = buyer.get(&format!("/customers/{c}/products?view=SoftwareSUSELinux")).await;
    assert_eq!(cell(&products.html, "customer-price"), Some("$330.00"));
    assert!(cell(&products.html, "partner-cost").is_none() && cell(&products.html, "margin").is_none());

    // Deleting the rule: back to the list price.
    let rule = app.get("/v1/pricing/markuprules", p.token(domain::role::Role::GlobalAdmin)).await;
    let id = rule.body["items"][0]["id"].as_str().unwrap().to_string();
    let deleted = admin.post(&format!("/settings/prices/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    let products = admin.get(&format!("/customers/{c}/products?view=SoftwareSUSELinux")).await;
    assert_eq!(cell(&products.html, "customer-price"), Some("$300.00"));
    // Roles that may not set prices are refused the page.
    let helpdesk = user_with_password(&app, &p, "helpdesk", &["helpdesk_agent"]).await;
    let mut h = Browser::new(&app);
    h.sign_in(&helpdesk, PASSWORD).await;
    assert_eq!(h.get("/settings/prices").await.status, 403);
}

crate::on_both_backends!(a_statement_prints_at_customer_prices);

async fn a_statement_prints_at_customer_prices(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    crate::api_invoices::set_tax(&app, "US", "USD", "0.0725", false).await;
    let p = app.partner("Alpha", false).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    gold_at_12_percent_off(&app, &p.id).await;
    let admin_token = p.token(domain::role::Role::GlobalAdmin);
    let rule = app.post("/v1/pricing/markuprules", admin_token, &json!({"basis": "cost", "percent": "25"})).await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let agent_token = p.token(domain::role::Role::AdminAgent);
    let sles = crate::api_orders::item(&app, agent_token, &c, "SLES", "0001").await;
    crate::api_orders::buy(&app, agent_token, &c, json!([{"catalogItemId": sles, "quantity": 2}])).await;

    let owner = user_with_password(&app, &p, "owner", &["global_admin"]).await;
    let mut b = Browser::new(&app);
    b.sign_in(&owner, PASSWORD).await;
    let orders = b.get(&format!("/customers/{c}/orders")).await;
    assert!(orders.html.contains("data-testid=\"statement-link\""), "{}", orders.html);
    // This month on the partner's clock by default: 2 × 330.00 + 7.25%.
    let st = b.get(&format!("/customers/{c}/statement")).await;
    assert_eq!(st.status, 200, "{}", st.html);
    assert_eq!(cell(&st.html, "statement-total"), Some("$707.85"), "{}", st.html);
    assert!(st.html.contains("$330.00") && !st.html.contains("264.00"), "{}", st.html);
    let csv = b.get(&format!("/customers/{c}/statement.csv?period=2026-01")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.html.starts_with("date,chargeType,") && csv.html.contains(",264.00,330.00,"), "{}", csv.html);
    // Another month is empty; an agent may not open it.
    let feb = b.get(&format!("/customers/{c}/statement?period=2026-02")).await;
    assert!(cell(&feb.html, "statement-total").is_none(), "{}", feb.html);
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut a = Browser::new(&app);
    a.sign_in(&agent, PASSWORD).await;
    assert_eq!(a.get(&format!("/customers/{c}/statement")).await.status, 403);
    assert!(!a.get(&format!("/customers/{c}/orders")).await.html.contains("statement-link"));
}
