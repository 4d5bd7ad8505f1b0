//! Partner Center conformance for support and invoices (issue 20, items 1–4): the request bodies are whole
//! `ServiceRequest` objects as Partner Center's REST reference shows them (PascalCase, nulls and fields we ignore
//! included), and the responses are read for the fields a Partner Center client reads.

use crate::api_catalog::{import, sample_catalog};
use crate::api_invoices::{run, set_tax};
use crate::api_orders::{buy, item, stock};
use crate::harness::*;
use domain::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    support_topics_have_integer_ids_and_requests_are_filed_as_partner_center_sends_them,
    a_customers_service_requests_are_listed_as_partner_center_lists_them,
    invoices_carry_invoice_details_whose_link_leads_to_the_one_time_lines,
    migration_0010_links_earlier_requests_to_their_customers_and_dates_closed_ones,
);

const DAY: i64 = 86_400_000_000;

/// Partner Center's "create a service request" request body, whole, with `SupportTopicId` given.
fn pc_create_body(topic: &str) -> Value {
    json!({
        "Id": null,
        "Title": "TrialSR",
        "Description": "Ignore this SR",
        "Severity": "critical",
        "SupportTopicId": topic,
        "SupportTopicName": null,
        "Status": "none",
        "Organization": null,
        "PrimaryContact": null,
        "LastUpdatedBy": null,
        "ProductName": null,
        "ProductId": null,
        "CreatedDate": "0001-01-01T00:00:00",
        "LastModifiedDate": "0001-01-01T00:00:00",
        "LastClosedDate": "0001-01-01T00:00:00",
        "NewNote": null,
        "Notes": null,
        "CountryCode": null,
        "FileLinks": null,
        "Attributes": {"ObjectType": "ServiceRequest"}
    })
}

/// Partner Center's "update a service request" request body, whole: only `NewNote` is meant.
fn pc_update_body(text: &str) -> Value {
    json!({
        "Id": null,
        "Title": null,
        "Description": null,
        "Severity": "unknown",
        "SupportTopicId": null,
        "SupportTopicName": null,
        "Status": "none",
        "Organization": null,
        "PrimaryContact": null,
        "LastUpdatedBy": null,
        "ProductName": null,
        "ProductId": null,
        "CreatedDate": "0001-01-01T00:00:00",
        "LastModifiedDate": "0001-01-01T00:00:00",
        "LastClosedDate": "0001-01-01T00:00:00",
        "NewNote": {"CreatedByName": null, "CreatedDate": null, "Text": text},
        "Notes": null,
        "CountryCode": null,
        "FileLinks": null,
        "Attributes": {"ObjectType": "ServiceRequest"}
    })
}

/// What a Partner Center client reads from a `ServiceRequest`, checked for type; returns it for further checks.
fn read_service_request(v: &Value) -> &Value {
    for k in ["id", "title", "description", "severity", "supportTopicId", "supportTopicName", "status"] {
        assert!(v[k].is_string(), "{k} is a string: {v}");
    }
    for k in ["createdDate", "lastModifiedDate"] {
        let s = v[k].as_str().unwrap_or_else(|| panic!("{k}: {v}"));
        assert!(domain::Timestamp::parse_rfc3339(s).is_some(), "{k}: {s}");
    }
    assert!(v["lastClosedDate"].is_null() || v["lastClosedDate"].is_string(), "{v}");
    assert!(v["supportTopicId"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()), "{v}");
    assert!(v["primaryContact"].is_object(), "{v}");
    for n in v["notes"].as_array().expect("notes") {
        assert!(n["createdByName"].is_string() && n["createdDate"].is_string() && n["text"].is_string(), "{n}");
    }
    for f in v["fileLinks"].as_array().expect("fileLinks") {
        assert!(f["id"].is_string() && f["location"].is_string() && f["fileSize"].is_u64(), "{f}");
    }
    assert_eq!(v["attributes"]["objectType"], "ServiceRequest");
    v
}

async fn support_topics_have_integer_ids_and_requests_are_filed_as_partner_center_sends_them(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let helpdesk = p.token(Role::HelpdeskAgent);

    // Item 1: SupportTopic as Partner Center has it (integer id, name, description), the machine name beside it.
    let topics = app.get("/v1/servicerequests/supporttopics", helpdesk).await;
    assert_eq!(topics.status, 200, "{}", topics.text);
    assert_eq!(topics.body["attributes"]["objectType"], "Collection");
    let items = topics.body["items"].as_array().unwrap();
    assert_eq!(topics.body["totalCount"], items.len());
    for t in items {
        assert!(t["id"].is_u64(), "an integer id: {t}");
        assert!(t["name"].is_string() && t["description"].is_string() && t["code"].is_string(), "{t}");
        assert_eq!(t["attributes"]["objectType"], "SupportTopic");
    }
    let refund = items.iter().find(|t| t["code"] == "csp_purchase_refund").unwrap();
    assert_eq!(refund["id"], 1);
    assert_eq!(refund["name"], "CSP Purchase/Refund on behalf of customers");

    // Partner Center's own topic number is not one of ours: 400 naming the field, never 500.
    let r = app.post("/v1/servicerequests/en-US", helpdesk, &pc_create_body("32444671")).await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("supportTopicId"));

    // Item 2: Partner Center's whole body, our topic number as its string, no refund block, no contact: accepted.
    let filed = app.post("/v1/servicerequests/en-US", helpdesk, &pc_create_body("1")).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let sr = read_service_request(&filed.body);
    assert_eq!((sr["title"].as_str(), sr["description"].as_str()), (Some("TrialSR"), Some("Ignore this SR")));
    assert_eq!((sr["severity"].as_str(), sr["status"].as_str()), (Some("critical"), Some("open")));
    assert_eq!(sr["supportTopicId"], "1");
    assert_eq!(sr["supportTopicName"], "CSP Purchase/Refund on behalf of customers");
    assert_eq!(sr["supportTopicCode"], "csp_purchase_refund");
    assert!(sr["refund"].is_null() && sr["customerId"].is_null(), "{sr}");
    // Without a contact, the filer is the contact.
    assert_eq!(sr["primaryContact"]["email"], format!("helpdesk.agent@{}.example", p.id));
    assert_eq!(sr["primaryContact"]["firstName"], "helpdesk_agent");
    // Item 3: Partner Center's names, and ours where they were.
    assert_eq!(sr["createdDate"], "2026-01-15T10:00:00Z");
    assert_eq!(sr["lastModifiedDate"], sr["createdDate"]);
    assert_eq!(sr["lastUpdatedDate"], sr["lastModifiedDate"]);
    assert!(sr["lastClosedDate"].is_null());
    assert_eq!((sr["notes"].as_array().unwrap().len(), sr["fileLinks"].as_array().unwrap().len()), (0, 0));
    let id = sr["id"].as_str().unwrap().to_string();

    // The topic as a JSON number, camelCase, and the old machine name: both accepted.
    let mut body = pc_create_body("");
    body.as_object_mut().unwrap().remove("SupportTopicId");
    body["supportTopicId"] = json!(6);
    let technical = app.post("/v1/servicerequests/en-US", helpdesk, &body).await;
    assert_eq!(technical.status, 201, "{}", technical.text);
    assert_eq!(
        (technical.body["supportTopicId"].as_str(), technical.body["supportTopicName"].as_str()),
        (Some("6"), Some("Technical problem"))
    );
    let legacy = app.post("/v1/servicerequests/en-US", helpdesk, &pc_create_body("keys_and_downloads")).await;
    assert_eq!(legacy.status, 201, "{}", legacy.text);
    assert_eq!(
        (legacy.body["supportTopicId"].as_str(), legacy.body["supportTopicCode"].as_str()),
        (Some("4"), Some("keys_and_downloads"))
    );
    for bad in [json!(true), json!({"id": 1}), json!(0), json!(-1), json!(1.5)] {
        let mut body = pc_create_body("");
        body["SupportTopicId"] = bad.clone();
        let r = app.post("/v1/servicerequests/en-US", helpdesk, &body).await;
        assert!(
            r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("supportTopicId"),
            "{bad}: {}",
            r.text
        );
    }

    // Partner Center's update body adds a note.
    app.clock.advance_micros(DAY);
    let noted = app.patch(&format!("/v1/servicerequests/{id}"), helpdesk, &pc_update_body("Sample Note")).await;
    assert_eq!(noted.status, 200, "{}", noted.text);
    let sr = read_service_request(&noted.body);
    assert_eq!(sr["notes"][0]["text"], "Sample Note");
    assert_eq!(sr["notes"][0]["createdByName"], format!("helpdesk.agent@{}.example", p.id));
    assert_eq!(sr["lastModifiedDate"], "2026-01-16T10:00:00Z");
    assert_eq!(sr["createdDate"], "2026-01-15T10:00:00Z");

    // An attachment is a FileInfo in fileLinks, whose location (relative to the API root) downloads it.
    let file = b"%PDF-1.7 receipt".to_vec();
    let up = app
        .http
        .post(format!("{}/v1/servicerequests/{id}/attachments?fileName=receipt.pdf", app.url))
        .bearer_auth(helpdesk)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 201);
    let got = app.get(&format!("/v1/servicerequests/{id}"), helpdesk).await;
    let sr = read_service_request(&got.body);
    let link = &sr["fileLinks"][0];
    assert_eq!(
        (link["fileNameWithoutExtension"].as_str(), link["extensionType"].as_str()),
        (Some("receipt"), Some(".pdf"))
    );
    assert_eq!(link["fileSize"], file.len());
    assert_eq!(link["id"], sr["attachments"][0]["id"]);
    let location = link["location"].as_str().unwrap();
    assert!(location.starts_with("/servicerequests/"), "{location}");
    let bytes = app.http.get(format!("{}/v1{location}", app.url)).bearer_auth(helpdesk).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(bytes.bytes().await.unwrap().to_vec(), file);

    // The desk sees the request filed without a refund block, details in the description, and its own file address.
    let desk = app.get(&format!("/v1/publisher/servicerequests/{id}"), PUBLISHER_TOKEN).await;
    assert_eq!(desk.status, 200, "{}", desk.text);
    assert!(desk.body["refund"].is_null());
    assert_eq!(desk.body["description"], "Ignore this SR");
    assert_eq!(desk.body["supportTopicName"], "CSP Purchase/Refund on behalf of customers");
    let desk_location = desk.body["fileLinks"][0]["location"].as_str().unwrap();
    assert_eq!(desk_location, format!("/publisher{location}"));
    let bytes =
        app.http.get(format!("{}/v1{desk_location}", app.url)).bearer_auth(PUBLISHER_TOKEN).send().await.unwrap();
    assert_eq!(bytes.status(), 200);

    // Closing sets lastClosedDate, for the desk and the partner; a later change is refused and changes nothing.
    app.clock.advance_micros(DAY);
    let closed = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"status": "closed"})),
            &[],
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["lastClosedDate"], "2026-01-17T10:00:00Z");
    let seen = app.get(&format!("/v1/servicerequests/{id}"), helpdesk).await;
    assert_eq!(read_service_request(&seen.body)["lastClosedDate"], "2026-01-17T10:00:00Z");
    assert_eq!(seen.body["status"], "closed");
    app.patch(&format!("/v1/servicerequests/{id}"), helpdesk, &pc_update_body("Again"))
        .await
        .assert_error(409, "conflict");
    let list = app.get("/v1/servicerequests", helpdesk).await;
    let listed = list.body["items"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
    assert_eq!(read_service_request(&listed)["lastClosedDate"], "2026-01-17T10:00:00Z");
    // The other requests are open and were never closed.
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] != id.as_str())
        .all(|r| r["lastClosedDate"].is_null()));
}

async fn a_customers_service_requests_are_listed_as_partner_center_lists_them(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let helpdesk = p.token(Role::HelpdeskAgent);
    import(&app, &sample_catalog()).await;
    stock(&app, "SQL2019STD", "0001", &["K1"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let other = app.customer(&p, "Wingtip", "wingtip.example.com", "US").await["id"].as_str().unwrap().to_string();
    let order =
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    let order_id = order["id"].as_str().unwrap().to_string();

    // Three requests about Fabrikam (by tenant id with the integer topic, by domain in another case with the old
    // topic name, and by tenant id on another topic), one about Wingtip, one about no customer.
    let refund = |refund: Value| {
        json!({"title": "Refund", "description": "Charged twice.", "severity": "moderate", "supportTopicId": 1,
               "refund": refund})
    };
    let mut ids = Vec::new();
    for body in [
        refund(json!({"customerId": c, "orderId": order_id, "reason": "Duplicate"})),
        {
            let mut b =
                refund(json!({"customerDomain": "Fabrikam.Example.com", "orderId": order_id, "reason": "Twice"}));
            b["supportTopicId"] = json!("csp_purchase_refund");
            b
        },
        {
            let mut b = refund(json!({"customerId": c, "orderId": order_id, "reason": "Wrong edition"}));
            b["supportTopicId"] = json!("3");
            b
        },
    ] {
        let r = app.post("/v1/servicerequests/en-US", helpdesk, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["customerId"], c.as_str());
        ids.push(r.body["id"].as_str().unwrap().to_string());
        app.clock.advance_micros(1_000_000);
    }
    let by_subscription =
        json!({"customerDomain": "wingtip.example.com", "subscriptionId": "sub-1", "reason": "Unused"});
    let wingtip = app.post("/v1/servicerequests/en-US", helpdesk, &refund(by_subscription)).await;
    assert_eq!(wingtip.status, 201, "{}", wingtip.text);
    assert_eq!(wingtip.body["customerId"], other.as_str());
    let unknown_domain = app
        .post(
            "/v1/servicerequests/en-US",
            helpdesk,
            &refund(json!({"customerDomain": "gone.example.com", "subscriptionId": "sub-2", "reason": "Unused"})),
        )
        .await;
    assert_eq!(unknown_domain.status, 201, "{}", unknown_domain.text);
    assert!(unknown_domain.body["customerId"].is_null());
    assert_eq!(app.post("/v1/servicerequests/en-US", helpdesk, &pc_create_body("1")).await.status, 201);

    // GET /v1/customers/{customerId}/servicerequests: a Collection of ServiceRequest, oldest first, any role.
    let list = app.get(&format!("/v1/customers/{c}/servicerequests"), p.token(Role::MarketingContentAdmin)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["attributes"]["objectType"], "Collection");
    assert_eq!(list.body["totalCount"], 3);
    let listed: Vec<String> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| read_service_request(r)["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(list.body["items"][2]["supportTopicName"], "Orders and cancellations");
    // Paged like every list.
    let first = app.get(&format!("/v1/customers/{c}/servicerequests?size=2"), helpdesk).await;
    assert_eq!(first.body["totalCount"], 2);
    let next = &first.body["links"]["next"];
    assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
    let token = next["headers"][0]["value"].as_str().unwrap();
    let second = app
        .request(
            Method::GET,
            &format!("/v1/customers/{c}/servicerequests?size=2&seekOperation=Next"),
            Some(helpdesk),
            None,
            &[("MS-ContinuationToken", token)],
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["totalCount"], 1);
    assert_eq!(second.body["items"][0]["id"], ids[2].as_str());
    assert!(second.body["links"]["next"].is_null());
    let wing = app.get(&format!("/v1/customers/{other}/servicerequests"), helpdesk).await;
    assert_eq!(wing.body["totalCount"], 1);
    app.get(&format!("/v1/customers/{c}/servicerequests?size=0"), helpdesk).await.assert_error(400, "invalid_request");

    // Another partner's customer, an unknown one, a malformed id: 404, as for every customer route.
    let q = app.partner("Beta", false).await;
    app.get(&format!("/v1/customers/{c}/servicerequests"), q.token(Role::GlobalAdmin))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/customers/{}/servicerequests", uuid::Uuid::new_v4()), helpdesk)
        .await
        .assert_error(404, "not_found");
    app.get("/v1/customers/not-a-guid/servicerequests", helpdesk).await.assert_error(404, "not_found");
    // Beta serving the same tenant sees only its own requests (none).
    let mut same = customer_body("Fabrikam (Beta)", "fabrikam-beta.example.com", "US");
    same["companyProfile"]["tenantId"] = json!(c);
    assert_eq!(app.post("/v1/customers", q.token(Role::GlobalAdmin), &same).await.status, 201);
    let theirs = app.get(&format!("/v1/customers/{c}/servicerequests"), q.token(Role::GlobalAdmin)).await;
    assert_eq!(theirs.body["totalCount"], 0, "{}", theirs.text);
}

/// What a Partner Center client reads from a `OneTimeInvoiceLineItem`.
fn read_line_item(l: &Value) {
    assert_eq!(l["invoiceLineItemType"], "billing_line_items", "{l}");
    assert_eq!(l["billingProvider"], "one_time", "{l}");
    assert_eq!(l["attributes"]["objectType"], "OneTimeInvoiceLineItem");
    for k in [
        "customerId",
        "customerDomainName",
        "orderId",
        "orderDate",
        "productId",
        "skuId",
        "productName",
        "chargeType",
        "currency",
    ] {
        assert!(l[k].is_string(), "{k}: {l}");
    }
    // Money is a decimal string here (never a float): a deliberate difference, see the README.
    for k in ["unitPrice", "subtotal", "taxTotal", "totalForCustomer"] {
        assert!(l[k].as_str().unwrap().parse::<f64>().is_ok(), "{k}: {l}");
    }
    assert!(l["quantity"].is_i64());
}

async fn invoices_carry_invoice_details_whose_link_leads_to_the_one_time_lines(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let t = p.token(Role::AdminAgent);
    let billing = p.token(Role::BillingAdmin);
    import(&app, &sample_catalog()).await;
    set_tax(&app, "US", "USD", "0.0725", false).await;
    stock(&app, "SQL2019STD", "0001", &["K1", "K2", "K3"]).await;
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        buy(&app, t, &c, json!([{"catalogItemId": item(&app, t, &c, "SQL2019STD", "0001").await, "quantity": 1}]))
            .await;
    }
    app.clock.advance_micros(20 * DAY);
    let r = run(&app, "2026-01").await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Partner Center's invoice list, then one invoice: invoiceDetails with a self link to the lines.
    let list = app.get("/v1/invoices", billing).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let invoice = &list.body["items"][0];
    let id = invoice["id"].as_str().unwrap().to_string();
    let one = app.get(&format!("/v1/invoices/{id}"), billing).await;
    assert_eq!(one.status, 200, "{}", one.text);
    for inv in [invoice, &one.body] {
        for k in [
            "id",
            "invoiceDate",
            "billingPeriodStartDate",
            "billingPeriodEndDate",
            "currencyCode",
            "totalCharges",
            "documentType",
        ] {
            assert!(inv[k].is_string(), "{k}: {inv}");
        }
        assert_eq!((inv["documentType"].as_str(), inv["invoiceType"].as_str()), (Some("invoice"), Some("OneTime")));
        assert_eq!(inv["attributes"]["objectType"], "Invoice");
        assert_eq!(inv["links"]["self"]["uri"], format!("/invoices/{id}"));
        let details = inv["invoiceDetails"].as_array().unwrap();
        assert_eq!(details.len(), 1);
        let d = &details[0];
        assert_eq!(
            (d["invoiceLineItemType"].as_str(), d["billingProvider"].as_str()),
            (Some("billing_line_items"), Some("one_time"))
        );
        assert_eq!(d["attributes"]["objectType"], "InvoiceDetail");
        assert_eq!(d["links"]["self"]["method"], "GET");
        assert_eq!(d["links"]["self"]["headers"], json!([]));
        assert_eq!(
            d["links"]["self"]["uri"],
            format!("/invoices/{id}/lineitems?provider=onetime&invoicelineitemtype=billinglineitems")
        );
    }
    // The invoice's own link leads back to it, resolved against the base URL (which ends in /v1).
    let uri = one.body["links"]["self"]["uri"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1{uri}"), billing).await.body["id"], id.as_str());

    // A client walks the detail's link, as Partner Center's samples do.
    let uri = one.body["invoiceDetails"][0]["links"]["self"]["uri"].as_str().unwrap();
    let lines = app.get(&format!("/v1{uri}"), billing).await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    assert_eq!(lines.body["totalCount"], 3);
    lines.body["items"].as_array().unwrap().iter().for_each(read_line_item);

    // Partner Center's path form of the same lines, in its SDK's spelling and others, paged with its continuation.
    for (provider, kind) in
        [("OneTime", "BillingLineItems"), ("onetime", "billinglineitems"), ("one_time", "billing_line_items")]
    {
        let page = app.get(&format!("/v1/invoices/{id}/lineitems/{provider}/{kind}?size=2"), billing).await;
        assert_eq!(page.status, 200, "{provider}/{kind}: {}", page.text);
        assert_eq!(page.body["totalCount"], 2);
        page.body["items"].as_array().unwrap().iter().for_each(read_line_item);
        let token = page.body["links"]["next"]["headers"][0]["value"].as_str().unwrap().to_string();
        let rest = app
            .request(
                Method::GET,
                &format!("/v1/invoices/{id}/lineitems/{provider}/{kind}?size=2&seekOperation=Next"),
                Some(billing),
                None,
                &[("MS-ContinuationToken", &token)],
            )
            .await;
        assert_eq!(rest.body["totalCount"], 1, "{}", rest.text);
        read_line_item(&rest.body["items"][0]);
    }
    // Providers and types we do not have: 400 naming the parameter; the query form's spellings too.
    let r = app.get(&format!("/v1/invoices/{id}/lineitems/Azure/BillingLineItems"), billing).await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("provider"));
    let r = app.get(&format!("/v1/invoices/{id}/lineitems/OneTime/UsageLineItems"), billing).await;
    assert!(r.assert_error(400, "invalid_request")["description"].as_str().unwrap().starts_with("invoicelineitemtype"));
    let q = app
        .get(&format!("/v1/invoices/{id}/lineitems?provider=OneTime&invoicelineitemtype=BillingLineItems"), billing)
        .await;
    assert_eq!(q.body["totalCount"], 3, "{}", q.text);
    // Roles and tenants as for the query form.
    app.get(&format!("/v1/invoices/{id}/lineitems/OneTime/BillingLineItems"), t).await.assert_error(403, "forbidden");
    let other = app.partner("Beta", false).await;
    app.get(&format!("/v1/invoices/{id}/lineitems/OneTime/BillingLineItems"), other.token(Role::BillingAdmin))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/invoices/{}/lineitems/OneTime/BillingLineItems", uuid::Uuid::new_v4()), billing)
        .await
        .assert_error(404, "not_found");
}

async fn file_refund(app: &TestApp, token: &str, refund: Value) -> String {
    let body = json!({"title": "Refund", "description": "Unused.", "severity": "minimal", "supportTopicId": 1,
                      "refund": refund});
    let r = app.post("/v1/servicerequests/en-US", token, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

/// Requests filed before migration 0010 get their customer (by tenant id, or by one of the partner's domains) and,
/// when closed, their closing date.
async fn migration_0010_links_earlier_requests_to_their_customers_and_dates_closed_ones(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = app.partner("Alpha", false).await;
    let helpdesk = p.token(Role::HelpdeskAgent);
    let c = app.customer(&p, "Fabrikam", "fabrikam.example.com", "US").await["id"].as_str().unwrap().to_string();
    let by_id = file_refund(&app, helpdesk, json!({"customerId": c, "subscriptionId": "s1", "reason": "r"})).await;
    let by_domain = file_refund(
        &app,
        helpdesk,
        json!({"customerDomain": "fabrikam.example.com", "subscriptionId": "s2", "reason": "r"}),
    )
    .await;
    let unknown = file_refund(
        &app,
        helpdesk,
        json!({"customerDomain": "gone.example.com", "subscriptionId": "s3", "reason": "r"}),
    )
    .await;
    app.clock.advance_micros(DAY);
    let closed = app
        .request(
            Method::PATCH,
            &format!("/v1/publisher/servicerequests/{by_id}"),
            Some(PUBLISHER_TOKEN),
            Some(&json!({"status": "closed"})),
            &[],
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);

    // Back to the schema before 0010, then migrate again.
    for sql in [
        "DROP INDEX service_requests_customer",
        "ALTER TABLE service_requests DROP COLUMN customer_id",
        "ALTER TABLE service_requests DROP COLUMN closed_at",
        "DELETE FROM schema_migrations WHERE version = 10",
    ] {
        app.raw_sql(sql).await;
    }
    let store = store::SqlStore::connect(&app.db.url).await.unwrap();
    store::Store::migrate(&store).await.unwrap();

    let customer_of =
        |id: &str| format!("SELECT COUNT(*) FROM service_requests WHERE id = '{id}' AND customer_id = '{c}'");
    assert_eq!(app.scalar(&customer_of(&by_id)).await, 1);
    assert_eq!(app.scalar(&customer_of(&by_domain)).await, 1);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM service_requests WHERE id = '{unknown}' AND customer_id IS NULL"))
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM service_requests WHERE closed_at IS NOT NULL").await, 1);
    let day_two = START + DAY;
    assert_eq!(app.scalar(&format!("SELECT closed_at FROM service_requests WHERE id = '{by_id}'")).await, day_two);
}
