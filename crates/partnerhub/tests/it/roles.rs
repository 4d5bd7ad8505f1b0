//! R2 from the one policy table: every partner route × every role, and tenant isolation on every route that
//! takes an id.

use crate::harness::*;
use domain::policy::{permits, Action};
use domain::role::{Role, RoleSet};
use reqwest::Method;
use serde_json::{json, Value};

/// A partner route: its OpenAPI method and path, and the policy action that guards it.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Action,
}

const fn r(method: &'static str, path: &'static str, action: Action) -> Route {
    Route { method, path, action }
}

pub const ROUTES: &[Route] = &[
    r("get", "/v1/customers", Action::ListCustomers),
    r("post", "/v1/customers", Action::CreateCustomer),
    r("get", "/v1/customers/{customerId}", Action::ViewCustomer),
    r("get", "/v1/customers/{customerId}/profiles/billing", Action::ViewCustomer),
    r("put", "/v1/customers/{customerId}/profiles/billing", Action::UpdateCustomer),
    r("get", "/v1/customers/{customerId}/profiles/company", Action::ViewCustomer),
    r("get", "/v1/users", Action::ManageUsers),
    r("post", "/v1/users", Action::ManageUsers),
    r("get", "/v1/users/{userId}", Action::ManageUsers),
    r("patch", "/v1/users/{userId}", Action::ManageUsers),
    r("get", "/v1/users/me", Action::OwnProfile),
    r("get", "/v1/users/me/tokens", Action::OwnProfile),
    r("post", "/v1/users/me/tokens", Action::OwnProfile),
    r("delete", "/v1/users/me/tokens/{tokenId}", Action::OwnProfile),
    r("get", "/v1/products", Action::ViewCatalog),
    r("get", "/v1/products/{productId}", Action::ViewCatalog),
    r("get", "/v1/products/{productId}/skus", Action::ViewCatalog),
    r("get", "/v1/products/{productId}/skus/{skuId}/availabilities", Action::ViewCatalog),
    r("get", "/v1/customers/{customerId}/products", Action::ViewCatalog),
    r("get", "/v1/customers/{customerId}/products/{productId}", Action::ViewCatalog),
    r("get", "/v1/customers/{customerId}/products/{productId}/skus", Action::ViewCatalog),
    r("get", "/v1/customers/{customerId}/products/{productId}/skus/{skuId}/availabilities", Action::ViewCatalog),
    r("post", "/v1/customers/{customerId}/carts", Action::BuyForCustomer),
    r("get", "/v1/customers/{customerId}/carts/{cartId}", Action::BuyForCustomer),
    r("put", "/v1/customers/{customerId}/carts/{cartId}", Action::BuyForCustomer),
    r("post", "/v1/customers/{customerId}/carts/{cartId}/checkout", Action::BuyForCustomer),
    r("get", "/v1/customers/{customerId}/orders", Action::ViewOrders),
    r("post", "/v1/customers/{customerId}/orders", Action::BuyForCustomer),
    r("get", "/v1/customers/{customerId}/subscriptions", Action::ViewOrders),
    r("get", "/v1/customers/{customerId}/subscriptions/{subscriptionId}", Action::ViewOrders),
    r("head", "/v1/domains/{domain}", Action::ListCustomers),
    r("get", "/v1/customers/{customerId}/orders/{orderId}", Action::ViewOrders),
    r("patch", "/v1/customers/{customerId}/orders/{orderId}", Action::CancelPurchase),
    r("get", "/v1/customers/{customerId}/software", Action::ViewSoftware),
    r("get", "/v1/customers/{customerId}/entitlements", Action::ViewSoftware),
    r("get", "/v1/customers/{customerId}/software/{itemId}/downloadoptions", Action::ViewSoftware),
    r("post", "/v1/customers/{customerId}/software/{itemId}/keysanddownloads", Action::GetKeysAndDownloads),
    r("get", "/v1/customers/{customerId}/software/{itemId}/downloadlinks", Action::GetKeysAndDownloads),
    r("delete", "/v1/customers/{customerId}/software/{itemId}/downloadlinks/{linkId}", Action::GetKeysAndDownloads),
    r("get", "/v1/auditrecords", Action::ReadActivityLog),
    r("get", "/v1/auditrecords/export", Action::ReadActivityLog),
    r("get", "/v1/auditrecords/verification", Action::ReadActivityLog),
    r("get", "/v1/invoices", Action::ReadInvoices),
    r("get", "/v1/creditlimit", Action::ReadInvoices),
    r("get", "/v1/reconciliation", Action::ReadInvoices),
    r("get", "/v1/reconciliation.csv", Action::ReadInvoices),
    r("get", "/v1/customers/{customerId}/statement", Action::ReadInvoices),
    r("get", "/v1/customers/{customerId}/statement.csv", Action::ReadInvoices),
    r("get", "/v1/invoices/{invoiceId}", Action::ReadInvoices),
    r("get", "/v1/invoices/{invoiceId}/lineitems", Action::ReadInvoices),
    r("get", "/v1/invoices/unbilled/lineitems", Action::ReadInvoices),
    r("get", "/v1/invoices/{invoiceId}/lineitems.csv", Action::ReadInvoices),
    r("get", "/v1/invoices/{invoiceId}/lineitems/{billingProvider}/{invoiceLineItemType}", Action::ReadInvoices),
    r("get", "/v1/servicerequests/supporttopics", Action::SupportRequests),
    r("post", "/v1/servicerequests/{id}", Action::SupportRequests),
    r("get", "/v1/servicerequests", Action::SupportRequests),
    r("get", "/v1/customers/{customerId}/servicerequests", Action::SupportRequests),
    r("get", "/v1/servicerequests/{id}", Action::SupportRequests),
    r("patch", "/v1/servicerequests/{id}", Action::SupportRequests),
    r("post", "/v1/servicerequests/{id}/attachments", Action::SupportRequests),
    r("get", "/v1/servicerequests/{id}/attachments/{attachmentId}", Action::SupportRequests),
    r("get", "/v1/pricing/markuprules", Action::ManagePrices),
    r("post", "/v1/pricing/markuprules", Action::ManagePrices),
    r("delete", "/v1/pricing/markuprules/{ruleId}", Action::ManagePrices),
    r("get", "/v1/customers/{customerId}/prices", Action::ManagePrices),
    r("post", "/v1/customers/{customerId}/prices", Action::ManagePrices),
    r("get", "/v1/customers/{customerId}/pricesheet", Action::ViewMargins),
    r("get", "/v1/testclock", Action::TestClock),
    r("post", "/v1/testclock/advance", Action::TestClock),
    r("get", "/v1/webhooks", Action::ManageWebhooks),
    r("post", "/v1/webhooks", Action::ManageWebhooks),
    r("get", "/v1/webhooks/{webhookId}/deliveries", Action::ManageWebhooks),
    r("post", "/v1/webhooks/{webhookId}/test", Action::ManageWebhooks),
    // Last: it deletes the fixture's endpoint.
    r("delete", "/v1/webhooks/{webhookId}", Action::ManageWebhooks),
];

#[test]
fn every_policy_action_has_a_route() {
    for action in Action::ALL {
        assert!(ROUTES.iter().any(|r| r.action == action), "{action:?} has no route");
    }
}

/// Ids that exist in partner `p`, to fill path parameters.
#[derive(Default)]
struct Ids {
    customer: String,
    user: String,
    cart: String,
    order: String,
    sles: String,
    item: String,
    request: String,
    attachment: String,
    invoice: String,
    webhook: String,
}

fn concrete(method: &str, path: &str, ids: &Ids) -> String {
    if (method, path) == ("post", "/v1/servicerequests/{id}") {
        return "/v1/servicerequests/en-US".into();
    }
    if path.ends_with("/attachments") {
        return format!("{}?fileName=matrix.txt", path.replace("{id}", &ids.request));
    }
    let p = path
        .replace("{id}", &ids.request)
        .replace("{attachmentId}", &ids.attachment)
        .replace("{customerId}", &ids.customer)
        .replace("{userId}", &ids.user)
        .replace("{productId}", "SQL2019STD")
        .replace("{skuId}", "0001")
        .replace("{cartId}", &ids.cart)
        .replace("{orderId}", &ids.order)
        .replace("{itemId}", &ids.item)
        .replace("{tokenId}", &uuid::Uuid::new_v4().to_string())
        .replace("{ruleId}", &uuid::Uuid::new_v4().to_string())
        .replace("{linkId}", &uuid::Uuid::new_v4().to_string())
        .replace("{invoiceId}", &ids.invoice)
        .replace("{billingProvider}", "OneTime")
        .replace("{invoiceLineItemType}", "BillingLineItems")
        .replace("{webhookId}", &ids.webhook)
        // The fixture's order is one SUSE plan (a term purchase): its line 0 is a subscription.
        .replace(
            "{subscriptionId}",
            &domain::subscription::subscription_id(domain::ids::OrderId::parse(&ids.order).unwrap(), 0),
        )
        .replace("{domain}", "target.example.com");
    if p.starts_with("/v1/products") {
        format!("{p}?country=US")
    } else if p.contains("/reconciliation") || p.contains("/statement") {
        format!("{p}?period=2026-01")
    } else {
        p
    }
}

fn body_for(route: &Route, role: Role, n: usize, ids: &Ids) -> Option<Value> {
    match (route.method, route.path) {
        ("post", "/v1/customers/{customerId}/carts") | ("put", "/v1/customers/{customerId}/carts/{cartId}") => {
            Some(json!({"lineItems": [{"catalogItemId": ids.sles, "quantity": 1}]}))
        }
        ("post", "/v1/customers/{customerId}/carts/{cartId}/checkout")
        | ("post", "/v1/customers/{customerId}/software/{itemId}/keysanddownloads") => Some(json!({})),
        ("post", "/v1/customers") => Some(customer_body(
            &format!("Matrix {n}"),
            &format!("matrix{n}-{}.example.com", role.as_str().replace('_', "")),
            "US",
        )),
        ("post", "/v1/users") => Some(json!({
            "email": format!("new{n}.{}@matrix.example", role.as_str()),
            "displayName": "New user",
            "roles": ["helpdesk_agent"]
        })),
        ("patch", "/v1/users/{userId}") => Some(json!({"displayName": "Renamed"})),
        ("put", "/v1/customers/{customerId}/profiles/billing") => Some(json!({
            "email": format!("billing{n}@target.example.com"),
            "defaultAddress": {"country": "US", "city": "Springfield", "addressLine1": "1 Main Street"},
            "attributes": {"etag": "*"}
        })),
        ("patch", "/v1/servicerequests/{id}") => Some(json!({"newNote": {"text": "matrix"}})),
        ("post", "/v1/servicerequests/{id}") => Some(json!({
            "title": "Matrix", "description": "A request from the role matrix.", "severity": "minimal",
            "supportTopicId": "technical",
            "primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.example", "phoneNumber": "+1 555 0100"}
        })),
        ("patch", "/v1/customers/{customerId}/orders/{orderId}") => Some(json!({"status": "cancelled"})),
        ("post", "/v1/customers/{customerId}/orders") => Some(
            json!({"lineItems": [{"offerId": ids.sles, "quantity": 1, "lineItemNumber": 0}], "billingCycle": "one_time"}),
        ),
        ("post", "/v1/users/me/tokens") => Some(json!({"name": "matrix"})),
        ("post", "/v1/testclock/advance") => Some(json!({"seconds": 1})),
        ("post", "/v1/pricing/markuprules") => Some(json!({"basis": "cost", "percent": "10"})),
        ("post", "/v1/customers/{customerId}/prices") => {
            Some(json!({"productId": "SLES", "skuId": "0001", "unitPrice": format!("{}.00", 200 + n % 100)}))
        }
        ("post", "/v1/webhooks") => {
            Some(json!({"url": format!("https://hooks{n}.example.com/partnerhub"), "operationTypes": ["create_order"]}))
        }
        _ => None,
    }
}

/// The matrix's routes are the router's: every partner operation in the OpenAPI document declares its action
/// (`x-partnerhub-action`, written by `api::requires` next to the route, the same declaration the server checks),
/// and the set of (method, path, action) the router declares is exactly [`ROUTES`], so the matrix can neither miss
/// a route nor test one against another action than the server enforces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_covers_exactly_the_routes_the_router_declares() {
    use std::collections::BTreeSet;
    let app = TestApp::spawn(Db::Sqlite).await;
    let doc = app.request(Method::GET, "/v1/openapi.json", None, None, &[]).await;
    let mut declared = BTreeSet::new();
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        let partner_route =
            path.starts_with("/v1/") && !path.starts_with("/v1/publisher") && path != "/v1/openapi.json";
        for (method, operation) in item.as_object().unwrap() {
            let action = operation.get("x-partnerhub-action").and_then(|a| a.as_str());
            if partner_route {
                let action = action.unwrap_or_else(|| panic!("{method} {path} declares no action"));
                let roles = operation["x-partnerhub-roles"].as_array().unwrap();
                assert!(!roles.is_empty(), "{method} {path}");
                declared.insert((method.clone(), path.clone(), action.to_string()));
            } else {
                assert!(action.is_none(), "{method} {path} is not a partner route but declares {action:?}");
            }
        }
    }
    let table: BTreeSet<(String, String, String)> =
        ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), format!("{:?}", r.action))).collect();
    let missing: Vec<_> = declared.difference(&table).collect();
    let stale: Vec<_> = table.difference(&declared).collect();
    assert!(missing.is_empty(), "routes the matrix does not test: {missing:?}");
    assert!(stale.is_empty(), "matrix rows the router does not declare so: {stale:?}");
}

crate::on_both_backends!(
    role_route_matrix_follows_the_policy,
    another_partners_objects_are_not_found,
    every_route_with_an_id_is_404_to_another_partner,
);

/// A partner with one of everything a route can name: customer, user, cart, order, software item, support request
/// with an attachment, an invoice, and a webhook endpoint.
async fn fixture(app: &TestApp) -> (TestPartner, Ids) {
    let p = app.partner("Matrix", true).await;
    crate::api_catalog::import(app, &crate::api_catalog::sample_catalog()).await;
    let c = app.customer(&p, "Target Co", "target.example.com", "US").await;
    let customer = c["id"].as_str().unwrap().to_string();
    let admin = p.token(Role::AdminAgent);
    let sles = crate::api_orders::item(app, admin, &customer, "SLES", "0001").await;
    let order = crate::api_orders::buy(app, admin, &customer, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    let cart = crate::api_orders::cart(app, admin, &customer, json!([{"catalogItemId": sles, "quantity": 1}])).await;
    let software = app.get(&format!("/v1/customers/{customer}/software"), admin).await;
    let item = software.body["items"][0]["id"].as_str().unwrap().to_string();
    let filed = app
        .post(
            "/v1/servicerequests/en-US",
            admin,
            &body_for(
                ROUTES.iter().find(|r| r.method == "post" && r.path == "/v1/servicerequests/{id}").unwrap(),
                Role::AdminAgent,
                0,
                &Ids::default(),
            )
            .unwrap(),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let ids = Ids {
        request: filed.body["id"].as_str().unwrap().to_string(),
        item,
        customer,
        user: p.user_ids[&Role::HelpdeskAgent].clone(),
        cart: cart.body["id"].as_str().unwrap().to_string(),
        order: order["id"].as_str().unwrap().to_string(),
        sles,
        ..Ids::default()
    };
    let up = app
        .http
        .post(format!("{}/v1/servicerequests/{}/attachments?fileName=a.txt", app.url, ids.request))
        .bearer_auth(admin)
        .body("attached")
        .send()
        .await
        .unwrap();
    let up = Res::of(up).await;
    assert_eq!(up.status, 201, "{}", up.text);
    // The order was bought on 2026-01-15; once the partner's clock reaches February, January is invoiced.
    app.post("/v1/testclock/advance", admin, &json!({"days": 20})).await;
    let run = crate::api_invoices::run(app, "2026-01").await;
    let invoice = run.body["invoices"][0]["id"].as_str().unwrap().to_string();
    // Port 9 on loopback refuses at once: the matrix's test deliveries fail fast without leaving the machine.
    let hook = app
        .post(
            "/v1/webhooks",
            p.token(Role::GlobalAdmin),
            &json!({"url": "http://127.0.0.1:9/hook", "operationTypes": ["create_order"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let webhook = hook.body["id"].as_str().unwrap().to_string();
    (p, Ids { attachment: up.body["id"].as_str().unwrap().to_string(), invoice, webhook, ..ids })
}

async fn role_route_matrix_follows_the_policy(db: Db) {
    let app = TestApp::spawn(db).await;
    let (p, ids) = fixture(&app).await;
    let mut n = 0;
    for route in ROUTES {
        for role in Role::ALL {
            n += 1;
            let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
            let body = body_for(route, role, n, &ids);
            let res = app
                .request(method, &concrete(route.method, route.path, &ids), Some(p.token(role)), body.as_ref(), &[])
                .await;
            let allowed = permits(&RoleSet::new([role]).unwrap(), route.action);
            let what = format!("{} {} as {}: {} {}", route.method, route.path, role.as_str(), res.status, res.text);
            if allowed {
                assert_ne!(res.status, 403, "{what}");
                assert_ne!(res.status, 401, "{what}");
                // A random token or link id is 404 to everyone, a cart is checked out only once, and the order (a SUSE
                // plan) may not be cancelled: those answer 4xx, but never 401 or 403.
                if !matches!(
                    (route.method, route.path),
                    (_, "/v1/users/me/tokens/{tokenId}")
                        | (_, "/v1/pricing/markuprules/{ruleId}")
                        | (_, "/v1/customers/{customerId}/software/{itemId}/downloadlinks/{linkId}")
                        | (_, "/v1/customers/{customerId}/carts/{cartId}/checkout")
                        | ("patch", "/v1/customers/{customerId}/orders/{orderId}")
                ) {
                    assert!(res.status.is_success(), "{what}");
                }
            } else {
                let body = res.assert_error(403, "forbidden");
                assert_eq!(body["code"], 900150, "{what}");
                // The refusal names the roles that would do.
                let description = body["description"].as_str().unwrap();
                if let domain::policy::Allowed::Roles(rs) = domain::policy::allowed(route.action) {
                    for r in rs.iter() {
                        assert!(description.contains(r.as_str()), "{what}");
                    }
                }
            }
        }
    }
}

async fn another_partners_objects_are_not_found(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.partner("Alpha", false).await;
    let b = app.partner("Beta", false).await;
    let c = app.customer(&a, "Alpha Customer", "alpha-customer.example.com", "GB").await;
    let cid = c["id"].as_str().unwrap();
    let a_user = &a.user_ids[&Role::HelpdeskAgent];
    let a_token = app.post("/v1/users/me/tokens", a.token(Role::AdminAgent), &json!({"name": "mine"})).await;
    let a_token_id = a_token.body["id"].as_str().unwrap();
    let bt = b.token(Role::GlobalAdmin);
    app.get(&format!("/v1/customers/{cid}"), bt).await.assert_error(404, "not_found");
    app.get(&format!("/v1/users/{a_user}"), bt).await.assert_error(404, "not_found");
    app.patch(&format!("/v1/users/{a_user}"), bt, &json!({"disabled": true})).await.assert_error(404, "not_found");
    app.request(
        Method::DELETE,
        &format!("/v1/users/me/tokens/{a_token_id}"),
        Some(b.token(Role::AdminAgent)),
        None,
        &[],
    )
    .await
    .assert_error(404, "not_found");
    // A's token still works, A's user is untouched.
    assert_eq!(app.get("/v1/users/me", a_token.body["token"].as_str().unwrap()).await.status, 200);
    let user = app.get(&format!("/v1/users/{a_user}"), a.token(Role::GlobalAdmin)).await;
    assert_eq!(user.body["disabled"], false);
    // Lists never show the other partner's rows; B may even serve the same tenant under its own record.
    let list = app.get("/v1/customers", bt).await;
    assert_eq!(list.body["totalCount"], 0);
    let users = app.get("/v1/users?size=500", bt).await;
    assert!(users.body["items"].as_array().unwrap().iter().all(|u| u["id"] != a_user.as_str()));
    let audit = app.get("/v1/auditrecords", bt).await;
    assert!(audit.body["items"].as_array().unwrap().iter().all(|r| r["partnerId"] == b.id.as_str()), "{}", audit.text);
    let mut same_tenant = customer_body("Alpha Customer", "alpha-customer.example.com", "GB");
    same_tenant["companyProfile"]["tenantId"] = json!(cid);
    assert_eq!(app.post("/v1/customers", bt, &same_tenant).await.status, 201);
    // Unknown partner ids for the publisher are 404 too.
    let ghost = uuid::Uuid::new_v4();
    app.post(
        &format!("/v1/publisher/partners/{ghost}/users"),
        PUBLISHER_TOKEN,
        &json!({"email": "x@y.example", "displayName": "X", "roles": ["admin_agent"]}),
    )
    .await
    .assert_error(404, "not_found");
    app.post(&format!("/v1/publisher/partners/{}/users/{a_user}/tokens", b.id), PUBLISHER_TOKEN, &json!({}))
        .await
        .assert_error(404, "not_found");
}

/// Tenant isolation, generated from the route table: every route that names an object of partner A, called by
/// partner B with every role, answers 404 (or 403 where B's role may not act at all) and changes nothing of A's.
async fn every_route_with_an_id_is_404_to_another_partner(db: Db) {
    let app = TestApp::spawn(db).await;
    let (a, ids) = fixture(&app).await;
    let b = app.partner("Intruder", false).await;
    let a_records = format!("SELECT COUNT(*) FROM audit_records WHERE partner_id = '{}'", a.id);
    let before = app.scalar(&a_records).await;
    let mut tried = 0;
    for route in ROUTES.iter().filter(|r| r.path.contains('{') && !matches!(r.path, "/v1/users/me/tokens/{tokenId}")) {
        if (route.method, route.path) == ("post", "/v1/servicerequests/{id}") {
            continue; // its path segment is a locale, not an object
        }
        if route.path.starts_with("/v1/products/") {
            continue; // the catalog is shared, not a partner's object
        }
        for role in Role::ALL {
            tried += 1;
            let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
            let body = body_for(route, role, tried, &ids);
            let path = concrete(route.method, route.path, &ids);
            let res = app.request(method, &path, Some(b.token(role)), body.as_ref(), &[]).await;
            let what = format!("{} {path} as B's {}: {} {}", route.method, role.as_str(), res.status, res.text);
            if permits(&RoleSet::new([role]).unwrap(), route.action) {
                assert_eq!(res.status, 404, "{what}");
            } else {
                assert_eq!(res.status, 403, "{what}");
            }
        }
    }
    assert!(tried > 100, "{tried} requests");
    // Nothing of A's changed: no activity was recorded for A, A's order and request are as they were.
    assert_eq!(app.scalar(&a_records).await, before, "A's activity log did not grow");
    let order =
        app.get(&format!("/v1/customers/{}/orders/{}", ids.customer, ids.order), a.token(Role::AdminAgent)).await;
    assert_eq!(order.body["status"], "completed");
    let request = app.get(&format!("/v1/servicerequests/{}", ids.request), a.token(Role::AdminAgent)).await;
    assert_eq!(request.body["notes"].as_array().unwrap().len(), 0);
}
