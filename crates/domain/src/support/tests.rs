//! The tests of `domain::support` (kept beside it, out of the module's own file).

use super::*;

const TENANT: &str = "4b1c2f0e-8a3d-4e5f-9a6b-7c8d9e0f1a2b";
const ORDER: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

fn scale(code: &str) -> Option<u8> {
    match code {
        "USD" | "EUR" | "AUD" => Some(2),
        "JPY" => Some(0),
        "BHD" => Some(3),
        _ => None,
    }
}

fn contact() -> ContactDraft {
    ContactDraft {
        first_name: Some(" Ada ".into()),
        last_name: Some("Lovelace".into()),
        email: Some("ada@Contoso.com".into()),
        phone_number: Some("+61 (2) 9999-0000".into()),
    }
}

fn refund() -> RefundDraft {
    RefundDraft {
        customer_id: Some(TENANT.into()),
        order_id: Some(ORDER.into()),
        reason: Some("Bought by mistake.\nPlease refund.".into()),
        amount_requested: Some("120.50".into()),
        currency_code: Some("USD".into()),
        ..Default::default()
    }
}

fn draft() -> ServiceRequestDraft {
    ServiceRequestDraft {
        title: "  Refund SQL Server  ".into(),
        description: "The customer ordered the wrong edition.\n\tThanks".into(),
        severity: "moderate".into(),
        support_topic_id: REFUND_TOPIC_ID.into(),
        contact: Some(contact()),
        refund: Some(refund()),
    }
}

fn filer() -> Contact {
    Contact::of_user("Grace Brewster Hopper", "grace@partner.example")
}

fn check(d: ServiceRequestDraft) -> Result<NewServiceRequest, DomainError> {
    validate_request(d, &scale, filer())
}

/// The field path an invalid_request error names.
fn field_of(d: ServiceRequestDraft) -> String {
    let e = check(d).expect_err("should be refused");
    assert_eq!(e.error_name(), "invalid_request");
    let msg = e.to_string();
    msg.split_once(": ").expect("message starts with the field").0.to_string()
}

fn with_refund(f: impl FnOnce(&mut RefundDraft)) -> ServiceRequestDraft {
    let mut d = draft();
    f(d.refund.as_mut().unwrap());
    d
}

#[test]
fn a_good_request_passes_and_is_normalised() {
    let r = check(draft()).unwrap();
    assert_eq!(r.title, "Refund SQL Server");
    assert_eq!(r.description, "The customer ordered the wrong edition.\n\tThanks");
    assert_eq!(r.severity, Severity::Moderate);
    assert_eq!((r.topic.id, r.topic.code), (1, REFUND_TOPIC_ID));
    assert_eq!(r.topic.name, "CSP Purchase/Refund on behalf of customers");
    assert_eq!(
        r.contact,
        Contact {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@contoso.com".into(),
            phone_number: Some("+61 (2) 9999-0000".into()),
        }
    );
    let refund = r.refund.unwrap();
    assert_eq!(refund.customer, CustomerRef::TenantId(TenantId::parse(TENANT).unwrap()));
    assert_eq!(refund.order, OrderRef::OrderId(OrderId::parse(ORDER).unwrap()));
    assert_eq!(refund.reason, "Bought by mistake.\nPlease refund.");
    assert_eq!(refund.amount_requested, Some(Money { minor: 12050, scale: 2 }));
    assert_eq!(refund.currency_code.as_deref(), Some("USD"));
}

#[test]
fn other_topics_need_no_refund() {
    let mut d = draft();
    d.support_topic_id = "technical".into();
    d.refund = None;
    let r = check(d).unwrap();
    assert_eq!(r.topic.code, "technical");
    assert!(r.refund.is_none());
}

#[test]
fn the_refund_topic_may_come_without_a_refund_block() {
    // Partner Center's way: the details are in the description.
    let mut d = draft();
    d.refund = None;
    let r = check(d).unwrap();
    assert_eq!(r.topic.code, REFUND_TOPIC_ID);
    assert!(r.refund.is_none());
}

#[test]
fn topics_are_numbered_and_keep_their_machine_names() {
    assert_eq!(TOPICS[0].id, 1);
    assert_eq!(TOPICS[0].code, "csp_purchase_refund");
    assert_eq!(TOPICS[0].name, "CSP Purchase/Refund on behalf of customers");
    assert_eq!(topic("billing").unwrap().name, "Billing and invoices");
    assert!(topic("nope").is_none());
    // These numbers are part of the API: they never change.
    let numbered: Vec<_> = TOPICS.iter().map(|t| (t.id, t.code)).collect();
    assert_eq!(
        numbered,
        [
            (1, "csp_purchase_refund"),
            (2, "billing"),
            (3, "orders"),
            (4, "keys_and_downloads"),
            (5, "account"),
            (6, "technical")
        ]
    );
    for t in TOPICS {
        assert!(!t.description.is_empty(), "{} has a description", t.code);
        assert_eq!(find_topic(&t.id.to_string()), Some(t));
        assert_eq!(find_topic(&format!(" 0{} ", t.id)), Some(t), "digits, trimmed, leading zeros");
        assert_eq!(find_topic(t.code), Some(t));
    }
    for unknown in ["", "0", "7", "99999999999999999999", "-1", "1.0", "Billing", "32444671"] {
        assert_eq!(find_topic(unknown), None, "{unknown:?}");
    }
}

#[test]
fn a_request_without_a_contact_names_the_filer() {
    let mut d = draft();
    d.contact = None;
    assert_eq!(
        check(d).unwrap().contact,
        Contact {
            first_name: "Grace Brewster".into(),
            last_name: "Hopper".into(),
            email: "grace@partner.example".into(),
            phone_number: None,
        }
    );
    assert_eq!(Contact::of_user(" Cher ", "c@x.example").first_name, "Cher");
    assert_eq!(Contact::of_user(" Cher ", "c@x.example").last_name, "");
}

#[test]
fn title_rules() {
    for bad in ["", "   ", &"x".repeat(201), "a\nb"] {
        let mut d = draft();
        d.title = bad.to_string();
        assert_eq!(field_of(d), "title", "{bad:?}");
    }
    let mut d = draft();
    d.title = "é".repeat(200);
    assert!(check(d).is_ok(), "200 characters (not bytes) are fine");
}

#[test]
fn description_rules() {
    for bad in ["".to_string(), " \n ".to_string(), "x".repeat(10_001), "bell\u{7}".to_string()] {
        let mut d = draft();
        d.description = bad;
        assert_eq!(field_of(d), "description");
    }
    let mut d = draft();
    d.description = "x".repeat(10_000);
    assert!(check(d).is_ok());
}

#[test]
fn severity_rules() {
    for bad in ["", "high", "Critical"] {
        let mut d = draft();
        d.severity = bad.into();
        assert_eq!(field_of(d), "severity", "{bad:?}");
    }
    for s in Severity::ALL {
        assert_eq!(Severity::parse(s.as_str()), Some(s));
        let mut d = draft();
        d.severity = s.as_str().into();
        assert_eq!(check(d).unwrap().severity, s);
    }
}

#[test]
fn topic_rules() {
    for bad in ["", "refunds", "0", "42"] {
        let mut d = draft();
        d.support_topic_id = bad.into();
        assert_eq!(field_of(d), "supportTopicId", "{bad:?}");
    }
    for (given, code) in [("1", "csp_purchase_refund"), ("6", "technical"), ("billing", "billing")] {
        let mut d = draft();
        d.support_topic_id = given.into();
        assert_eq!(check(d).unwrap().topic.code, code);
    }
}

#[test]
fn contact_name_rules() {
    for bad in [None, Some(""), Some("  "), Some(&*"n".repeat(101)), Some("a\tb")] {
        let mut d = draft();
        d.contact.as_mut().unwrap().first_name = bad.map(String::from);
        assert_eq!(field_of(d), "primaryContact.firstName", "{bad:?}");
        let mut d = draft();
        d.contact.as_mut().unwrap().last_name = bad.map(String::from);
        assert_eq!(field_of(d), "primaryContact.lastName", "{bad:?}");
    }
    let mut d = draft();
    d.contact.as_mut().unwrap().last_name = Some("n".repeat(100));
    assert!(check(d).is_ok());
}

#[test]
fn contact_email_rules() {
    let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
    for bad in [
        None,
        Some(""),
        Some("ada"),
        Some("@contoso.com"),
        Some("ada@"),
        Some("ada@contoso"),
        Some("a@b@contoso.com"),
        Some("ada lovelace@contoso.com"),
        Some(long.as_str()),
    ] {
        let mut d = draft();
        d.contact.as_mut().unwrap().email = bad.map(String::from);
        assert_eq!(field_of(d), "primaryContact.email", "{bad:?}");
    }
}

#[test]
fn contact_phone_rules() {
    for bad in ["12", &*"1".repeat(41), "555-CALL", "+()-.", "1\n23"] {
        let mut d = draft();
        d.contact.as_mut().unwrap().phone_number = Some(bad.into());
        assert_eq!(field_of(d), "primaryContact.phoneNumber", "{bad:?}");
    }
    for good in ["123", "+1 (555) 010-0000", "02.9999.0000", &"1".repeat(40)] {
        let mut d = draft();
        d.contact.as_mut().unwrap().phone_number = Some(good.into());
        assert!(check(d).is_ok(), "{good:?}");
    }
    // Optional, as in Partner Center: absent or blank is no phone.
    for none in [None, Some(""), Some("  ")] {
        let mut d = draft();
        d.contact.as_mut().unwrap().phone_number = none.map(String::from);
        assert_eq!(check(d).unwrap().contact.phone_number, None);
    }
}

#[test]
fn refund_customer_is_exactly_one_of_id_or_domain() {
    let both = with_refund(|r| r.customer_domain = Some("contoso.com".into()));
    assert!(check(both.clone()).unwrap_err().to_string().contains("not both"));
    assert_eq!(field_of(both), "refund.customerId");
    let neither = with_refund(|r| r.customer_id = None);
    assert_eq!(field_of(neither), "refund.customerId");
    let blank = with_refund(|r| r.customer_id = Some("  ".into()));
    assert_eq!(field_of(blank), "refund.customerId", "a blank value counts as absent");
    let not_guid = with_refund(|r| r.customer_id = Some("contoso".into()));
    assert_eq!(field_of(not_guid), "refund.customerId");

    let by_domain = with_refund(|r| {
        r.customer_id = None;
        r.customer_domain = Some(" Contoso.OnMicrosoft.com ".into());
    });
    assert_eq!(
        check(by_domain).unwrap().refund.unwrap().customer,
        CustomerRef::Domain("contoso.onmicrosoft.com".into())
    );
    for bad in ["d".repeat(256), "con toso.com".to_string()] {
        let d = with_refund(|r| {
            r.customer_id = None;
            r.customer_domain = Some(bad);
        });
        assert_eq!(field_of(d), "refund.customerDomain");
    }
}

#[test]
fn refund_order_is_exactly_one_of_order_or_subscription() {
    let both = with_refund(|r| r.subscription_id = Some("sub-1".into()));
    assert_eq!(field_of(both), "refund.orderId");
    let neither = with_refund(|r| r.order_id = None);
    assert_eq!(field_of(neither), "refund.orderId");
    let not_guid = with_refund(|r| r.order_id = Some("order-1".into()));
    assert_eq!(field_of(not_guid), "refund.orderId");

    let by_sub = with_refund(|r| {
        r.order_id = None;
        r.subscription_id = Some(" sub-1 ".into());
    });
    assert_eq!(check(by_sub).unwrap().refund.unwrap().order, OrderRef::SubscriptionId("sub-1".into()));
    let too_long = with_refund(|r| {
        r.order_id = None;
        r.subscription_id = Some("s".repeat(101));
    });
    assert_eq!(field_of(too_long), "refund.subscriptionId");
}

#[test]
fn refund_reason_rules() {
    for bad in [None, Some(String::new()), Some("r".repeat(2001)), Some("esc\u{1b}".into())] {
        let d = with_refund(|r| r.reason = bad);
        assert_eq!(field_of(d), "refund.reason");
    }
    let d = with_refund(|r| r.reason = Some("r".repeat(2000)));
    assert!(check(d).is_ok());
}

#[test]
fn refund_amount_is_optional_but_needs_a_currency() {
    let no_amount = with_refund(|r| {
        r.amount_requested = None;
        r.currency_code = None;
    });
    let refund = check(no_amount).unwrap().refund.unwrap();
    assert_eq!((refund.amount_requested, refund.currency_code), (None, None));

    let no_currency = with_refund(|r| r.currency_code = None);
    assert_eq!(field_of(no_currency), "refund.currencyCode");
    for bad in ["usd", "US", "USDD", "XXX"] {
        let d = with_refund(|r| r.currency_code = Some(bad.into()));
        assert_eq!(field_of(d), "refund.currencyCode", "{bad:?}");
    }
    for bad in ["0", "0.00", "-5", "abc", "1.234", "1e3"] {
        let d = with_refund(|r| r.amount_requested = Some(bad.into()));
        assert_eq!(field_of(d), "refund.amountRequested", "{bad:?}");
    }
}

#[test]
fn refund_amount_follows_the_currency_decimals() {
    let jpy_fraction = with_refund(|r| {
        r.amount_requested = Some("10.5".into());
        r.currency_code = Some("JPY".into());
    });
    assert_eq!(field_of(jpy_fraction), "refund.amountRequested");
    let jpy = with_refund(|r| {
        r.amount_requested = Some("1000".into());
        r.currency_code = Some("JPY".into());
    });
    assert_eq!(check(jpy).unwrap().refund.unwrap().amount_requested, Some(Money { minor: 1000, scale: 0 }));
    let bhd = with_refund(|r| {
        r.amount_requested = Some("1.5".into());
        r.currency_code = Some("BHD".into());
    });
    assert_eq!(check(bhd).unwrap().refund.unwrap().amount_requested, Some(Money { minor: 1500, scale: 3 }));
}

#[test]
fn a_refund_on_another_topic_is_still_validated() {
    let mut d = with_refund(|r| r.reason = None);
    d.support_topic_id = "billing".into();
    assert_eq!(field_of(d), "refund.reason");
}

#[test]
fn only_the_first_error_is_reported() {
    let mut d = draft();
    d.title = String::new();
    d.severity = "bad".into();
    assert_eq!(field_of(d), "title");
}

#[test]
fn drafts_deserialize_from_the_api_json() {
    let d: ServiceRequestDraft = serde_json::from_value(serde_json::json!({
        "title": "t", "description": "d", "severity": "critical", "supportTopicId": "csp_purchase_refund",
        "primaryContact": {"firstName": "Ada", "lastName": "L", "email": "a@b.co", "phoneNumber": "123"},
        "refund": {"customerDomain": "contoso.com", "subscriptionId": "s1", "reason": "r",
                   "amountRequested": "5", "currencyCode": "EUR"}
    }))
    .unwrap();
    let r = check(d).unwrap();
    assert_eq!(r.severity, Severity::Critical);
    assert_eq!(r.refund.unwrap().amount_requested, Some(Money { minor: 500, scale: 2 }));
    let empty: ServiceRequestDraft = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(field_of(empty), "title");
}

#[test]
fn note_rules() {
    assert_eq!(validate_note("  thanks\nbye ").unwrap(), "thanks\nbye");
    for bad in ["".to_string(), "   ".to_string(), "x".repeat(10_001), "nul\u{0}".to_string()] {
        let e = validate_note(&bad).unwrap_err();
        assert!(e.to_string().starts_with("newNote.text: "), "{e}");
    }
    assert!(validate_note(&"x".repeat(10_000)).is_ok());
}

#[test]
fn status_names_round_trip() {
    for s in RequestStatus::ALL {
        assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
    }
    assert_eq!(RequestStatus::InProgress.as_str(), "in_progress");
    assert_eq!(RequestStatus::parse("Open"), None);
}

#[test]
fn nothing_leaves_closed_and_everything_else_moves_freely() {
    use RequestStatus::*;
    for from in RequestStatus::ALL {
        for to in RequestStatus::ALL {
            let expected = from != Closed || to == Closed;
            assert_eq!(can_move(from, to), expected, "{from} -> {to}");
            assert_eq!(from.can_move_to(to), expected);
        }
    }
    assert!(can_move(Resolved, Open), "a resolved request may be reopened");
    assert!(can_move(Open, Closed));
    assert!(!can_move(Closed, Open));
}

#[test]
fn ids_parse_and_display_hyphenated() {
    let id = ServiceRequestId::new();
    assert_eq!(ServiceRequestId::parse(&id.to_string()), Some(id));
    assert_eq!(id.to_string().len(), 36);
    assert!(AttachmentId::parse("nope").is_none());
    assert_ne!(NoteId::new(), NoteId::new());
}

#[test]
fn attachment_limit_is_ten_mebibytes() {
    assert_eq!(MAX_ATTACHMENT_BYTES, 10_485_760);
}

#[test]
fn locales_are_language_and_region_tags() {
    for ok in ["en-US", "de", "pt-BR", "es-419", "fil"] {
        assert!(validate_locale(ok).is_ok(), "{ok}");
    }
    for bad in ["", "e", "english", "en_US", "en-USA", "en-", "../x", "en-U1"] {
        assert!(validate_locale(bad).is_err(), "{bad}");
    }
}
