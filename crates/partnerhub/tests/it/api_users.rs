//! Users, roles and API tokens: the publisher's side and the partner's own (R2, R13).

use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(
    global_admin_manages_users_and_roles,
    emails_are_unique_across_the_server_case_folded,
    tokens_are_shown_once_and_revocable,
    passwords_are_stored_as_argon2id_hashes,
);

async fn global_admin_manages_users_and_roles(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let admin = p.token(Role::GlobalAdmin);
    let created = app
        .post("/v1/users", admin, &json!({"email": "New.Agent@Alpha.example", "displayName": "New Agent", "roles": ["admin_agent", "sales_agent"]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["email"], "New.Agent@alpha.example");
    assert_eq!(created.body["roles"], json!(["admin_agent", "sales_agent"]));
    let id = created.body["id"].as_str().unwrap();
    app.post("/v1/users", admin, &json!({"email": "x@alpha.example", "displayName": "X", "roles": ["root"]}))
        .await
        .assert_error(400, "invalid_request");
    app.post("/v1/users", admin, &json!({"email": "x@alpha.example", "displayName": "X", "roles": []}))
        .await
        .assert_error(400, "invalid_request");
    app.post(
        "/v1/users",
        admin,
        &json!({"email": "x@alpha.example", "displayName": "X", "roles": ["admin_agent"], "password": "short"}),
    )
    .await
    .assert_error(400, "invalid_request");
    let patched = app
        .patch(&format!("/v1/users/{id}"), admin, &json!({"roles": ["billing_admin"], "displayName": "Biller"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["roles"], json!(["billing_admin"]));
    assert_eq!(patched.body["displayName"], "Biller");
    assert_eq!(app.get(&format!("/v1/users/{id}"), admin).await.body, patched.body);
    // Role changes take effect at once: the user's token now reads invoices' roles, not customers' creation.
    let tok = app
        .post(&format!("/v1/publisher/partners/{}/users/{id}/tokens", p.id), PUBLISHER_TOKEN, &json!({"name": "t"}))
        .await;
    let t = tok.body["token"].as_str().unwrap();
    app.post("/v1/customers", t, &customer_body("No", "no.example.com", "US")).await.assert_error(403, "forbidden");
    // A disabled user's tokens stop working.
    let disabled = app.patch(&format!("/v1/users/{id}"), admin, &json!({"disabled": true})).await;
    assert_eq!(disabled.body["disabled"], true);
    app.get("/v1/users/me", t).await.assert_error(401, "unauthorized");
    // A global admin cannot lock itself out.
    let me = &p.user_ids[&Role::GlobalAdmin];
    app.patch(&format!("/v1/users/{me}"), admin, &json!({"disabled": true})).await.assert_error(400, "invalid_request");
    app.patch(&format!("/v1/users/{me}"), admin, &json!({"roles": ["admin_agent"]}))
        .await
        .assert_error(400, "invalid_request");
    app.patch(&format!("/v1/users/{me}"), admin, &json!({"roles": "global_admin"}))
        .await
        .assert_error(400, "invalid_request");
    // Every change is in the activity log.
    let log = app.get("/v1/auditrecords?size=500", admin).await;
    let kinds: Vec<&str> =
        log.body["items"].as_array().unwrap().iter().map(|r| r["operationType"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"create_user") && kinds.contains(&"update_user") && kinds.contains(&"create_api_token"),
        "{kinds:?}"
    );
}

async fn emails_are_unique_across_the_server_case_folded(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.partner("Alpha", false).await;
    let b = app.partner("Beta", false).await;
    let first = app
        .post(
            "/v1/users",
            a.token(Role::GlobalAdmin),
            &json!({"email": "Same@Example.com", "displayName": "A", "roles": ["admin_agent"]}),
        )
        .await;
    assert_eq!(first.status, 201);
    let dup = app
        .post(
            "/v1/users",
            b.token(Role::GlobalAdmin),
            &json!({"email": "same@EXAMPLE.com", "displayName": "B", "roles": ["admin_agent"]}),
        )
        .await;
    dup.assert_error(409, "conflict");
    // Issue 16 item 10: the answer does not say whose the address is, nor repeat it. Taken by this partner or by
    // another, the answer is the same, through the API and the dashboard's form alike.
    let same_partner = app
        .post(
            "/v1/users",
            a.token(Role::GlobalAdmin),
            &json!({"email": "SAME@example.com", "displayName": "A2", "roles": ["admin_agent"]}),
        )
        .await;
    same_partner.assert_error(409, "conflict");
    assert_eq!(dup.body, same_partner.body);
    assert!(!dup.text.to_lowercase().contains("same@example.com"), "{}", dup.text);
    assert_eq!(dup.body["description"], services::users::EMAIL_TAKEN);
    let admin = crate::ui_basics::user_with_password(&app, &b, "boss", &["global_admin"]).await;
    let mut browser = crate::ui_basics::Browser::new(&app);
    browser.sign_in(&admin, crate::ui_basics::PASSWORD).await;
    let csrf = browser.get("/settings").await.csrf();
    let add = |email: &'static str| {
        let (browser, csrf) = (&browser, csrf.clone());
        async move {
            let form = [("csrf", csrf.as_str()), ("email", email), ("displayName", "X"), ("roles", "sales_agent")];
            browser.post("/settings/users", &form).await
        }
    };
    let ours = add("boss-twin@example.com").await;
    assert_eq!(ours.status, 303, "{}", ours.html);
    let taken =
        |html: &str| html.contains(services::users::EMAIL_TAKEN) && !html.to_lowercase().contains("same@example.com");
    let theirs = add("Same@Example.com").await;
    assert!(taken(&theirs.html), "{}", theirs.html);
    let own = add("boss-twin@example.com").await;
    assert!(taken(&own.html), "{}", own.html);
    assert_eq!(theirs.status, own.status);
}

async fn tokens_are_shown_once_and_revocable(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::SalesAgent);
    let issued = app.post("/v1/users/me/tokens", t, &json!({"name": "ci pipeline"})).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let secret = issued.body["token"].as_str().unwrap().to_string();
    // At least 128 random bits: 32 bytes in URL-safe base64.
    assert!(secret.len() >= 3 + 43, "{secret}");
    let list = app.get("/v1/users/me/tokens", t).await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&secret), "a token listing must never show the secret");
    assert!(list.body["items"].as_array().unwrap().iter().any(|i| i["name"] == "ci pipeline"));
    assert_eq!(app.get("/v1/users/me", &secret).await.status, 200);
    let id = issued.body["id"].as_str().unwrap();
    let del = app.request(Method::DELETE, &format!("/v1/users/me/tokens/{id}"), Some(t), None, &[]).await;
    assert_eq!(del.status, 204);
    app.get("/v1/users/me", &secret).await.assert_error(401, "unauthorized");
    app.request(Method::DELETE, &format!("/v1/users/me/tokens/{id}"), Some(t), None, &[])
        .await
        .assert_error(404, "not_found");
    app.post("/v1/users/me/tokens", t, &json!({"name": ""})).await.assert_error(400, "invalid_request");
    // Only the hash is stored.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let hashes: Vec<(String,)> =
        sqlx::query_as("SELECT token_hash FROM api_tokens").fetch_all(&mut conn).await.unwrap();
    assert!(hashes.iter().all(|(h,)| h.len() == 64 && !h.contains(&secret)));
    assert!(hashes.iter().any(|(h,)| *h == services::auth::token_hash(&secret)));
}

async fn passwords_are_stored_as_argon2id_hashes(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let r = app
        .post(&format!("/v1/publisher/partners/{}/users", p.id), PUBLISHER_TOKEN,
            &json!({"email": "pw@alpha.example", "displayName": "PW", "roles": ["global_admin"], "password": "a long enough passphrase"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(!r.text.contains("passphrase"));
    let creds = app.store.credentials_by_email("pw@alpha.example").await.unwrap().unwrap();
    let hash = creds.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(services::auth::verify_password("a long enough passphrase".into(), hash.clone()).await);
    assert!(!services::auth::verify_password("a wrong passphrase!!".into(), hash).await);
}
