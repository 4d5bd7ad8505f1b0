//! Partner Center compatibility, second pass (issue 20): requests written as Partner Center's documentation shows
//! them (whole objects, fields we ignore included), and responses read for what a Partner Center client reads.

use crate::api_catalog::{import, sample_catalog};
use crate::api_orders::{item, stock};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(
    an_order_is_created_without_a_cart_as_partner_center_does,
    domain_availability_is_a_head_request,
    collection_links_are_relative_to_the_api_root,
    term_purchases_are_listed_as_partner_center_subscriptions,
    customer_profiles_keep_every_field_and_change_under_an_etag,
);

/// Partner Center's create-customer sample (PascalCase, as its docs print it, nulls included): every billing field
/// comes back; `…/profiles/billing` and `…/profiles/company` read it; `PUT …/profiles/billing` replaces it under
/// `If-Match`, one writer of two racing wins, and the country (the market) stays.
async fn customer_profiles_keep_every_field_and_change_under_an_etag(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let admin = p.token(Role::AdminAgent);
    let sample = json!({
        "Id": null, "CommerceId": null,
        "CompanyProfile": {"TenantId": null, "Domain": "fabrikam2.onmicrosoft.com", "CompanyName": null,
                           "Attributes": {"ObjectType": "CustomerCompanyProfile"}},
        "BillingProfile": {
            "Id": null, "FirstName": "Tania", "LastName": "Carr", "Email": "SomeEmail@Outlook.com",
            "Culture": "EN-US", "Language": "En", "CompanyName": "Fabrikam",
            "DefaultAddress": {"Country": "US", "Region": null, "City": "Redmond", "State": "WA",
                               "AddressLine1": "One Microsoft Way", "AddressLine2": "Building 92", "AddressLine3": "Floor 3",
                               "PostalCode": "98052", "FirstName": "Tania", "LastName": "Carr", "PhoneNumber": "4255550101"},
            "Attributes": {"ObjectType": "CustomerBillingProfile"}
        },
        "RelationshipToPartner": "none", "AllowDelegatedAccess": null, "UserCredentials": null, "CustomDomains": null,
        "Attributes": {"ObjectType": "Customer"}
    });
    let made = app.post("/v1/customers", admin, &sample).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/v1/customers/{id}"), p.token(Role::HelpdeskAgent)).await;
    let billing = &got.body["billingProfile"];
    assert_eq!(got.body["companyProfile"]["companyName"], "Fabrikam", "from the billing profile when absent");
    for (field, value) in [
        ("firstName", "Tania"),
        ("lastName", "Carr"),
        ("email", "SomeEmail@outlook.com"),
        ("culture", "EN-US"),
        ("language", "En"),
        ("companyName", "Fabrikam"),
    ] {
        assert_eq!(billing[field], value, "{field}: {}", got.text);
    }
    let address = &billing["defaultAddress"];
    for (field, value) in [
        ("state", "WA"),
        ("addressLine2", "Building 92"),
        ("addressLine3", "Floor 3"),
        ("phoneNumber", "4255550101"),
        ("firstName", "Tania"),
        ("postalCode", "98052"),
    ] {
        assert_eq!(address[field], value, "{field}: {}", got.text);
    }
    let path = format!("/v1/customers/{id}/profiles/billing");
    let profile = app.get(&path, p.token(Role::HelpdeskAgent)).await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    let etag = profile.body["attributes"]["etag"].as_str().unwrap().to_string();
    assert_eq!(profile.headers["etag"].to_str().unwrap(), format!("\"{etag}\""));
    assert_eq!(profile.body["attributes"]["objectType"], "CustomerBillingProfile");
    assert_eq!(profile.body["links"]["self"]["uri"], format!("/customers/{id}/profiles/billing"));
    assert_eq!(profile.body["defaultAddress"], *address);
    let company = app.get(&format!("/v1/customers/{id}/profiles/company"), p.token(Role::HelpdeskAgent)).await;
    assert_eq!(
        (company.body["tenantId"].as_str(), company.body["domain"].as_str()),
        (Some(id.as_str()), Some("fabrikam2.onmicrosoft.com"))
    );
    assert_eq!(company.body["attributes"]["objectType"], "CustomerCompanyProfile");

    // Partner Center's update: the whole resource, as read, with changes; If-Match carries the ETag.
    let mut update = profile.body.clone();
    update["firstName"] = json!("Tanya");
    update["email"] = json!("accounts@fabrikam.example");
    update["defaultAddress"]["addressLine2"] = json!("Building 93");
    // Without the header or attributes.etag: 428.
    update.as_object_mut().unwrap().remove("attributes");
    app.request(Method::PUT, &path, Some(admin), Some(&update), &[]).await.assert_error(428, "precondition_required");
    let quoted = format!("\"{etag}\"");
    let put = app.request(Method::PUT, &path, Some(admin), Some(&update), &[("If-Match", &quoted)]).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let new_etag = put.body["attributes"]["etag"].as_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let after = app.get(&format!("/v1/customers/{id}"), admin).await;
    assert_eq!(after.body["billingProfile"]["firstName"], "Tanya", "the customer shows the change at once");
    assert_eq!(after.body["billingProfile"]["defaultAddress"]["addressLine2"], "Building 93");
    // The old ETag is stale: 412. The body's attributes.etag stands in for a missing header.
    app.request(Method::PUT, &path, Some(admin), Some(&update), &[("If-Match", &quoted)])
        .await
        .assert_error(412, "precondition_failed");
    let mut with_body_etag = put.body.clone();
    with_body_etag["lastName"] = json!("Carr-Smith");
    let by_body = app.request(Method::PUT, &path, Some(admin), Some(&with_body_etag), &[]).await;
    assert_eq!(by_body.status, 200, "{}", by_body.text);
    // The country is the market: it stays.
    let mut moved = by_body.body.clone();
    moved["defaultAddress"]["country"] = json!("CA");
    let r = app.request(Method::PUT, &path, Some(admin), Some(&moved), &[]).await;
    assert!(r.assert_error(400, "invalid_request")["description"]
        .as_str()
        .unwrap()
        .starts_with("defaultAddress.country"));
    // Roles and partners.
    let etag_now = by_body.body["attributes"]["etag"].as_str().unwrap().to_string();
    app.request(Method::PUT, &path, Some(p.token(Role::HelpdeskAgent)), Some(&moved), &[("If-Match", &etag_now)])
        .await
        .assert_error(403, "forbidden");
    let other = app.partner("Beta", false).await;
    app.get(&path, other.token(Role::GlobalAdmin)).await.assert_error(404, "not_found");
    // Two writers with the same ETag: one wins, the other hears 412.
    let if_match = [("If-Match", etag_now.as_str())];
    let (a, b) = tokio::join!(
        app.request(Method::PUT, &path, Some(admin), Some(&by_body.body), &if_match),
        app.request(Method::PUT, &path, Some(p.token(Role::GlobalAdmin)), Some(&by_body.body), &if_match),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
    // Each change is an activity record.
    let filter = crate::harness::url_encode(
        &json!({"Field": "OperationType", "Value": "update_customer", "Operator": "equals"}).to_string(),
    );
    let records = app
        .get(
            &format!("/v1/auditrecords?startDate=2026-01-01&endDate=2026-12-31&filter={filter}"),
            p.token(Role::GlobalAdmin),
        )
        .await;
    assert_eq!(records.body["totalCount"], 3, "{}", records.text);
}

/// `GET /v1/customers/{id}/subscriptions` (and `/{id}`): each term purchase as a Partner Center `Subscription`;
/// perpetual software is not one; a cancelled line is `deleted`, one past its term `expired` (test clock).
async fn term_purchases_are_listed_as_partner_center_subscriptions(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", true).await;
    import(&app, &sample_catalog()).await;
    assert_eq!(stock(&app, "SQL2019STD", "0001", &["AAAAA-BBBBB-CCCCC-DDDDD-EEEE1"]).await.status, 200);
    assert_eq!(stock(&app, "SQL2019PERP", "0001", &["AAAAA-BBBBB-CCCCC-DDDDD-EEEE2"]).await.status, 200);
    let agent = p.token(Role::AdminAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let std = item(&app, agent, &c, "SQL2019STD", "0001").await;
    let perp = item(&app, agent, &c, "SQL2019PERP", "0001").await;
    let sles = item(&app, agent, &c, "SLES", "0001").await;
    let order = crate::api_orders::buy(
        &app,
        agent,
        &c,
        json!([{"catalogItemId": std, "quantity": 1, "friendlyName": "SQL for finance"},
               {"catalogItemId": perp, "quantity": 1}, {"catalogItemId": sles, "quantity": 3}]),
    )
    .await;
    let order_id = order["id"].as_str().unwrap();
    let reader = p.token(Role::HelpdeskAgent);
    let path = format!("/v1/customers/{c}/subscriptions");
    let list = app.get(&path, reader).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["attributes"]["objectType"], "Collection");
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the perpetual line is not a subscription: {}", list.text);
    let (first, second) = (&items[0], &items[1]);
    assert_eq!(first["offerId"], std.as_str());
    assert_eq!(first["friendlyName"], "SQL for finance");
    assert_eq!(first["offerName"], "SQL Server 2019 Standard - 2 Core - 1 year");
    assert_eq!((first["quantity"].as_i64(), second["quantity"].as_i64()), (Some(1), Some(3)));
    assert_eq!(first["orderId"], order_id);
    assert_eq!(first["termDuration"], "P1Y");
    assert_eq!(first["status"], "active");
    assert_eq!(first["attributes"]["objectType"], "Subscription");
    // Bought on 2026-01-15 (the harness's start): the term ends a year later.
    assert!(first["creationDate"].as_str().unwrap().starts_with("2026-01-15T"), "{}", first);
    assert_eq!(first["commitmentEndDate"], "2027-01-15T00:00:00Z");
    let id = first["id"].as_str().unwrap();
    uuid::Uuid::parse_str(id).expect("a GUID, as Partner Center's");
    assert_eq!(first["links"]["self"]["uri"], format!("/customers/{c}/subscriptions/{id}"));
    let one = app.get(&format!("{path}/{id}"), reader).await;
    assert_eq!(one.body, *first);
    app.get(&format!("{path}/{}", uuid::Uuid::new_v4()), reader).await.assert_error(404, "not_found");
    app.get(&format!("{path}/not-a-guid"), reader).await.assert_error(404, "not_found");
    let other = app.partner("Beta", false).await;
    app.get(&format!("{path}/{id}"), other.token(Role::GlobalAdmin)).await.assert_error(404, "not_found");
    // Cancelled: deleted. Past its term: expired.
    let cancel = json!({"status": "cancelled", "lineItems": [{"lineItemNumber": 0}]});
    let r = app.patch(&format!("/v1/customers/{c}/orders/{order_id}"), agent, &cancel).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&format!("{path}/{id}"), reader).await.body["status"], "deleted");
    let advance =
        app.post("/v1/testclock/advance", p.token(Role::GlobalAdmin), &json!({"seconds": 400 * 86_400})).await;
    assert_eq!(advance.status, 200, "{}", advance.text);
    let later = app.get(&path, reader).await;
    assert_eq!(later.body["items"][1]["status"], "expired", "{}", later.text);
    assert_eq!(later.body["items"][0]["status"], "deleted");
    app.assert_ledger_valid().await;
}

/// `POST /v1/customers/{id}/orders` with Partner Center's own sample body: one transaction with every rule of
/// checkout (pricing, key stock, all or nothing, idempotency), 201 with the order.
async fn an_order_is_created_without_a_cart_as_partner_center_does(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    import(&app, &sample_catalog()).await;
    assert_eq!(stock(&app, "SQL2019STD", "0001", &["AAAAA-BBBBB-CCCCC-DDDDD-EEEE1"]).await.status, 200);
    assert_eq!(
        stock(&app, "SQL2019PERP", "0001", &["AAAAA-BBBBB-CCCCC-DDDDD-EEEE2", "AAAAA-BBBBB-CCCCC-DDDDD-EEEE3"])
            .await
            .status,
        200
    );
    let agent = p.token(Role::AdminAgent);
    let customer = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await;
    let c = customer["id"].as_str().unwrap();
    let subscription = item(&app, agent, c, "SQL2019STD", "0001").await;
    let perpetual = item(&app, agent, c, "SQL2019PERP", "0001").await;
    // Partner Center's request sample, with our offers; the lines come in reverse lineItemNumber order.
    let body = json!({
        "PartnerOnRecordAttestationAccepted": true,
        "referenceCustomerId": c,
        "lineItems": [
            {"offerId": perpetual, "quantity": 1, "lineItemNumber": 1, "friendlyName": "Perpetual for the lab",
             "PartnerIdOnRecord": "873452", "AdditionalPartnerIdsOnRecord": ["4847383", "873452"]},
            {"offerId": subscription, "quantity": 1, "lineItemNumber": 0, "termDuration": "P1Y",
             "PartnerIdOnRecord": "873452"}
        ],
        "billingCycle": "one_time"
    });
    let key = [("MS-RequestId", "9f1a7e1c-order-without-cart")];
    let path = format!("/v1/customers/{c}/orders");
    let made = app.request(Method::POST, &path, Some(agent), Some(&body), &key).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let order = &made.body;
    assert_eq!(order["referenceCustomerId"], c);
    assert_eq!(order["status"], "completed");
    assert_eq!(order["attributes"]["objectType"], "Order");
    let lines = order["lineItems"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["lineItemNumber"].as_u64(), lines[0]["offerId"].as_str()),
        (Some(0), Some(subscription.as_str()))
    );
    assert_eq!(
        (lines[1]["lineItemNumber"].as_u64(), lines[1]["offerId"].as_str()),
        (Some(1), Some(perpetual.as_str()))
    );
    assert_eq!(lines[1]["friendlyName"], "Perpetual for the lab");
    assert_eq!(order["totals"]["gross"], "5100.00", "1200 + 3900, no tax set: {}", made.text);
    let read = app.get(&format!("{path}/{}", order["id"].as_str().unwrap()), agent).await;
    assert_eq!(read.body["lineItems"], order["lineItems"]);
    // A retry with the same MS-RequestId returns the same order and orders nothing more.
    let again = app.request(Method::POST, &path, Some(agent), Some(&body), &key).await;
    assert_eq!((again.status.as_u16(), &again.body["id"]), (201, &order["id"]));
    assert_eq!(app.get(&path, agent).await.body["totalCount"], 1);
    // The subscription's only key is gone: a second order is refused whole, writing nothing (no order, no cart).
    let short = json!({"lineItems": [{"offerId": perpetual, "quantity": 1}, {"offerId": subscription, "quantity": 1}]});
    app.post(&path, agent, &short).await.assert_error(409, "insufficient_key_stock");
    assert_eq!(app.get(&path, agent).await.body["totalCount"], 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM carts").await, 1, "only the first order's cart");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM activation_keys WHERE software_item_id IS NULL").await, 1);
    // Bad input names its field.
    let r = app
        .post(&path, agent, &json!({"lineItems": [{"offerId": perpetual, "quantity": 1, "lineItemNumber": 1}]}))
        .await;
    assert!(r.assert_error(400, "invalid_request")["description"]
        .as_str()
        .unwrap()
        .contains("lineItems[0].lineItemNumber"));
    let r = app
        .post(
            &path,
            agent,
            &json!({"referenceCustomerId": uuid::Uuid::new_v4(), "lineItems": [{"offerId": perpetual, "quantity": 1}]}),
        )
        .await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().contains("referenceCustomerId"));
    let r = app.post(&path, agent, &json!({"lineItems": [{"offerId": "NOPE:0001:0001", "quantity": 1}]})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Roles (R2): a sales agent may not buy; another partner's customer is not found.
    app.post(&path, p.token(Role::SalesAgent), &short).await.assert_error(403, "forbidden");
    let other = app.partner("Beta", false).await;
    app.post(&path, other.token(Role::AdminAgent), &short).await.assert_error(404, "not_found");
    app.assert_ledger_valid().await;
}

/// `HEAD /v1/domains/{domain}`: 200 when one of this partner's customers uses the domain, 404 when free.
async fn domain_availability_is_a_head_request(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await;
    let head = |domain: &str, token: String| {
        let req = app.http.head(format!("{}/v1/domains/{domain}", app.url)).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let helpdesk = p.token(Role::HelpdeskAgent).to_string();
    for taken in ["fabrikam.example.com", "FABRIKAM.Example.com."] {
        let r = head(taken, helpdesk.clone()).await;
        assert_eq!(r.status(), 200, "{taken}");
        assert_eq!(r.content_length().unwrap_or(0), 0);
    }
    assert_eq!(head("contoso.example.com", helpdesk.clone()).await.status(), 404);
    assert_eq!(head("fabrikam", helpdesk.clone()).await.status(), 400, "not a domain name");
    assert_eq!(head("fabrikam.example.com", "no-such-token".into()).await.status(), 401);
    // Domains are per partner: another partner's customer does not make it taken.
    let other = app.partner("Beta", false).await;
    assert_eq!(head("fabrikam.example.com", other.token(Role::GlobalAdmin).into()).await.status(), 404);
}

/// Partner Center's collection links are relative to the API root: a client that follows `links.next.uri` against
/// its base URL (which ends in `/v1`) lands on the next page.
async fn collection_links_are_relative_to_the_api_root(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    for i in 0..3 {
        app.customer(&p, &format!("Customer {i}"), &format!("c{i}.example.com"), "US").await;
    }
    let t = p.token(Role::GlobalAdmin);
    let first = app.get("/v1/customers?size=2", t).await;
    assert_eq!(first.body["links"]["self"]["uri"], "/customers?size=2");
    let next = &first.body["links"]["next"];
    assert_eq!(next["uri"], "/customers?size=2&seekOperation=Next");
    let base = format!("{}/v1", app.url);
    let second = app
        .http
        .get(format!("{base}{}", next["uri"].as_str().unwrap()))
        .bearer_auth(t)
        .header("MS-ContinuationToken", next["headers"][0]["value"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let second = Res::of(second).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["totalCount"], 1);
    import(&app, &sample_catalog()).await;
    let products = app.get("/v1/products?country=US&targetView=Software", t).await;
    let skus = products.body["items"][0]["links"]["skus"]["uri"].as_str().unwrap();
    assert!(skus.starts_with("/products/"), "{skus}");
}
