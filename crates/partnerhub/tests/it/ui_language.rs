//! Issue 24: the pages in the partner's language. The browser's `Accept-Language` chooses before signing in, the
//! user's saved choice after; formats follow; the API stays in English.

use crate::harness::*;
use crate::ui_basics::{a_us_order, user_with_password, Browser, PASSWORD};
use domain::role::Role;

crate::on_both_backends!(
    a_browser_asking_for_traditional_chinese_gets_it_with_local_formats,
    a_saved_choice_outranks_the_browser_and_can_be_undone,
    the_switch_needs_the_session_s_token_and_works_before_sign_in,
    a_dead_link_s_page_follows_the_customer_s_browser_and_the_api_stays_english,
);

/// A browser whose languages are `accept_language`.
fn browser(app: &TestApp, accept_language: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", accept_language.parse().unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    Browser { http, url: app.url.clone(), cookie: None }
}

async fn a_browser_asking_for_traditional_chinese_gets_it_with_local_formats(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, customer, order) = a_us_order(&app, "Contoso").await;
    let agent = user_with_password(&app, &p, "agent", &["admin_agent"]).await;
    let mut b = browser(&app, "zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7");
    let login = b.get("/login").await;
    assert!(login.html.contains("<html lang=\"zh-TW\">") && login.html.contains("登入 Partnerhub"), "{}", login.html);
    assert_eq!(login.headers["content-language"], "zh-TW");
    assert!(login.html.contains("data-testid=\"language-en\">English<"), "the switch offers English");
    assert_eq!(b.sign_in(&agent, PASSWORD).await.status, 303);
    let list = b.get("/customers").await;
    assert!(list.html.contains(">客戶<") && !list.html.contains("活動記錄"), "{}", list.html);
    let id = order["id"].as_str().unwrap();
    let page = b.get(&format!("/customers/{customer}/orders/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    // Money with the dollar named, a date in the Chinese order, the tax note and the status in words.
    assert!(page.html.contains("US$1,287.00"), "{}", page.html);
    assert!(page.html.contains("2026年1月"), "{}", page.html);
    assert!(page.html.contains("定價另加 7.25% 稅"), "{}", page.html);
    assert!(page.html.contains("已完成"), "{}", page.html);
    let software = b.get(&format!("/customers/{customer}/software")).await;
    assert!(software.html.contains("取得金鑰與下載") && software.html.contains("1 年"), "{}", software.html);
    // A refused form says why in the same language.
    let products = b.get(&format!("/customers/{customer}/products")).await;
    assert!(products.html.contains("US$1,200.00") && products.html.contains(">3 年<"), "{}", products.html);
    let at = products.html.find("name=\"catalogItemId\" value=\"").unwrap() + 28;
    let item = products.html[at..].split('"').next().unwrap().to_string();
    let form = [("csrf", products.csrf()), ("catalogItemId", item), ("quantity", "two".to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = b.post(&format!("/customers/{customer}/cart"), &form).await;
    assert!(refused.html.contains("數量必須是 1 到 10000 之間的整數"), "{}", refused.html);
}

async fn a_saved_choice_outranks_the_browser_and_can_be_undone(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Contoso", false).await;
    let admin = user_with_password(&app, &p, "admin", &["global_admin"]).await;
    let mut b = browser(&app, "zh-TW");
    b.sign_in(&admin, PASSWORD).await;
    let settings = b.get("/settings").await;
    assert!(settings.html.contains("頁面顯示語言"), "{}", settings.html);
    let csrf = settings.csrf();
    // Saved as English: every page is English although the browser asks for Chinese, on any session.
    let saved = b.post("/settings/language", &[("csrf", &csrf), ("lang", "en")]).await;
    assert_eq!((saved.status, saved.location()), (303, "/settings"));
    let page = b.get("/settings").await;
    assert!(page.html.contains("<html lang=\"en\">") && page.html.contains("Show the pages in"), "{}", page.html);
    assert!(page.html.contains("<option value=\"en\" lang=\"en\" selected>"), "{}", page.html);
    let mut other = browser(&app, "zh-TW");
    other.sign_in(&admin, PASSWORD).await;
    assert!(other.get("/customers").await.html.contains("<html lang=\"en\">"), "saved for the account");
    // An unknown language is refused and changes nothing.
    let bad = b.post("/settings/language", &[("csrf", &csrf), ("lang", "xx")]).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(b.get("/customers").await.html.contains("<html lang=\"en\">"));
    // Back to the browser's language.
    let undone = b.post("/settings/language", &[("csrf", &csrf), ("lang", "")]).await;
    assert_eq!(undone.status, 303);
    assert!(b.get("/customers").await.html.contains("<html lang=\"zh-TW\">"));
}

async fn the_switch_needs_the_session_s_token_and_works_before_sign_in(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Contoso", false).await;
    let agent = user_with_password(&app, &p, "agent", &["helpdesk_agent"]).await;
    // Before signing in: the switch sets a cookie only, and goes back to the page it was pressed on.
    let anonymous = browser(&app, "en");
    let referer = format!("{}/login?next=%2Fbilling", app.url);
    let res = anonymous
        .http
        .post(format!("{}/language", app.url))
        .header("referer", referer)
        .form(&[("lang", "zh-TW")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=%2Fbilling");
    let cookie = crate::ui_basics::set_cookie(res.headers(), "ph_lang").unwrap();
    assert_eq!(cookie, "zh-TW");
    let login = anonymous.http.get(format!("{}/login", app.url)).header("cookie", "ph_lang=zh-TW").send().await;
    assert!(login.unwrap().text().await.unwrap().contains("登入 Partnerhub"));
    // Another site cannot switch it.
    let cross = anonymous
        .http
        .post(format!("{}/language", app.url))
        .header("origin", "https://evil.example")
        .form(&[("lang", "zh-TW")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    // Signed in: the session's CSRF token is needed, and the choice is saved for the user (a helpdesk agent too).
    let mut b = browser(&app, "en");
    b.sign_in(&agent, PASSWORD).await;
    let forged = b.post("/language", &[("lang", "zh-TW"), ("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.html.contains("href=\"/customers\"") && forged.html.contains("Sign out"), "a page, not a dead end");
    assert!(b.get("/customers").await.html.contains("<html lang=\"en\">"));
    let csrf = b.get("/customers").await.csrf();
    assert_eq!(b.post("/language", &[("lang", "zh-TW"), ("csrf", &csrf)]).await.status, 303);
    let page = b.get("/support").await;
    assert!(page.html.contains("<html lang=\"zh-TW\">") && page.html.contains("提出要求"), "{}", page.html);
    assert_eq!(page.headers["content-language"], "zh-TW");
}

async fn a_dead_link_s_page_follows_the_customer_s_browser_and_the_api_stays_english(db: Db) {
    let app = TestApp::spawn(db).await;
    let gone = reqwest::Client::new()
        .get(format!("{}/download/not-a-real-token", app.url))
        .header("accept", "text/html")
        .header("accept-language", "zh-TW")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.headers()["content-language"], "zh-TW");
    let html = gone.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-TW\">") && html.contains("此下載連結無效"), "{html}");
    // The API's bodies are the same whatever the language asked for.
    let p = app.partner("Contoso", false).await;
    let api = reqwest::Client::new()
        .get(format!("{}/v1/customers/nope", app.url))
        .bearer_auth(p.token(Role::AdminAgent))
        .header("accept-language", "zh-TW")
        .send()
        .await
        .unwrap();
    assert!(api.headers().get("content-language").is_none());
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(body["description"].as_str().unwrap().is_ascii(), "{body}");
}
