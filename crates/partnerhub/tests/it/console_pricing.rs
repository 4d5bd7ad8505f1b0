//! Issue 23 in the console: price lists (create, a version by rule and by pasted CSV, scheduling a draft), a
//! partner's list and credit limit on its page, each allowed to its operator role and written to the operator log;
//! the same figures through the publisher API.

use crate::api_catalog::{import, sample_catalog};
use crate::harness::*;
use crate::operators::{operator, Console};
use crate::ui_basics::PASSWORD;

crate::on_both_backends!(price_lists_and_credit_limits_in_the_console);

async fn price_lists_and_credit_limits_in_the_console(db: Db) {
    let app = TestApp::spawn(db).await;
    import(&app, &sample_catalog()).await;
    let p = app.partner("Alpha", false).await;
    operator(&app, "cat@op.example", &["catalog_manager"]).await;
    operator(&app, "bill@op.example", &["billing_operator"]).await;
    operator(&app, "desk@op.example", &["support_agent"]).await;
    let today = app.services.now().date();
    let today = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());

    let mut cat = Console::new(&app);
    cat.sign_in("cat@op.example", PASSWORD).await;
    let lists = cat.get("/operator/pricelists").await;
    assert_eq!(lists.status, 200, "{}", lists.html);
    assert!(lists.html.contains("No price lists yet"), "{}", lists.html);
    let csrf = lists.csrf();
    let made = cat.submit("/operator/pricelists", &csrf, &[("name", "Gold")]).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let list_path = made.location().to_string();
    let list_id = list_path.rsplit('/').next().unwrap().to_string();

    // A version by rule, in effect from today; a draft of explicit prices pasted as CSV.
    let versions = format!("{list_path}/versions");
    let added = cat.submit(&versions, &csrf, &[("effective_from", &today), ("discount_percent", "12")]).await;
    assert_eq!((added.status, added.location()), (303, list_path.as_str()), "{}", added.html);
    let csv = "productId,skuId,country,currencyCode,cost\nSLES,0001,US,USD,199.99\n";
    let draft = cat.submit(&versions, &csrf, &[("prices_csv", csv)]).await;
    assert_eq!(draft.status, 303, "{}", draft.html);
    // A CSV without its cost column is refused with the reason, and adds no version.
    let bad = cat
        .submit(&versions, &csrf, &[("prices_csv", "productId,skuId,country,currencyCode\nSLES,0001,US,USD\n")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains("no cost column"), "{}", bad.html);
    // Back on the list's page with the form as typed: the pasted CSV is not lost.
    assert!(
        bad.html.contains("data-testid=\"version-error\"") && bad.html.contains("currencyCode\nSLES,0001,US,USD"),
        "{}",
        bad.html
    );
    let page = cat.get(&list_path).await;
    assert!(page.html.contains("version 1 since"), "{}", page.html);
    assert!(page.html.contains("12 %") && page.html.contains(">draft<"), "{}", page.html);
    let api = app.get(&format!("/v1/publisher/pricelists/{list_id}"), PUBLISHER_TOKEN).await;
    let statuses: Vec<&str> =
        api.body["versions"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "draft"], "{}", api.text);
    assert_eq!(api.body["versions"][1]["prices"][0]["cost"], "199.99", "{}", api.text);
    // The draft is scheduled for a date to come.
    let next_year = format!("{}-01-01", app.services.now().date().year() + 1);
    let scheduled = cat.submit(&format!("{versions}/2/schedule"), &csrf, &[("effective_from", &next_year)]).await;
    assert_eq!(scheduled.status, 303, "{}", scheduled.html);
    let api = app.get(&format!("/v1/publisher/pricelists/{list_id}"), PUBLISHER_TOKEN).await;
    assert_eq!(api.body["versions"][1]["status"], "scheduled", "{}", api.text);

    // On the partner's page: no list yet (list prices), then Gold.
    let partner_path = format!("/operator/partners/{}", p.id);
    let page = cat.get(&partner_path).await;
    assert!(page.html.contains("the partner pays list prices"), "{}", page.html);
    let assigned =
        cat.submit(&format!("{partner_path}/pricelist"), &csrf, &[("price_list_id", list_id.as_str())]).await;
    assert_eq!(assigned.status, 303, "{}", assigned.html);
    let api = app.get(&format!("/v1/publisher/partners/{}/pricelist", p.id), PUBLISHER_TOKEN).await;
    assert_eq!(api.body["priceListName"], "Gold", "{}", api.text);
    // A catalog manager does not set credit limits; a billing operator does.
    let refused = cat.submit(&format!("{partner_path}/creditlimit"), &csrf, &[("amount", "1000")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let mut bill = Console::new(&app);
    bill.sign_in("bill@op.example", PASSWORD).await;
    let page = bill.get(&partner_path).await;
    assert!(page.html.contains("No limit."), "{}", page.html);
    let csrf_bill = page.csrf();
    let set = bill
        .submit(&format!("{partner_path}/creditlimit"), &csrf_bill, &[("amount", "1000"), ("currency", "usd")])
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    let page = bill.get(&partner_path).await;
    assert!(page.html.contains("$1,000.00"), "{}", page.html);
    let api = app.get(&format!("/v1/publisher/partners/{}/creditlimit", p.id), PUBLISHER_TOKEN).await;
    assert_eq!((api.body["creditLimit"].as_str(), api.body["currencyCode"].as_str()), (Some("1000.00"), Some("USD")));
    // A support agent reads the lists but changes none.
    let mut desk = Console::new(&app);
    desk.sign_in("desk@op.example", PASSWORD).await;
    let page = desk.get("/operator/pricelists").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Gold") && !page.html.contains("New price list"), "{}", page.html);
    let refused = desk.submit("/operator/pricelists", &page.csrf(), &[("name", "Silver")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);

    // The operator log names who did what.
    let log = app.get("/v1/publisher/activity?size=100", PUBLISHER_TOKEN).await;
    let ops: Vec<(&str, &str)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["operation"].as_str().unwrap(), r["principal"].as_str().unwrap()))
        .collect();
    for expected in [
        ("create_price_list", "cat@op.example"),
        ("add_price_list_version", "cat@op.example"),
        ("schedule_price_list_version", "cat@op.example"),
        ("assign_price_list", "cat@op.example"),
        ("set_credit_limit", "bill@op.example"),
    ] {
        assert!(ops.contains(&expected), "{expected:?} in {ops:?}");
    }
    assert_eq!(ops.iter().filter(|(o, _)| *o == "add_price_list_version").count(), 2, "{ops:?}");
    let verified = app.get("/v1/publisher/activity/verification", PUBLISHER_TOKEN).await;
    assert_eq!(verified.body["valid"].as_bool(), Some(true), "{}", verified.text);
}
