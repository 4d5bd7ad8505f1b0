//! The tests of `domain::webhook` (kept beside it, out of the module's own file).

use super::*;
use proptest::prelude::*;

#[test]
fn hmac_matches_rfc_4231() {
    // Test case 2: key "Jefe", data "what do ya want for nothing?".
    assert_eq!(
        hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Test case 6: a 131-byte key (longer than a block) is hashed first.
    assert_eq!(
        hex::encode(hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn signatures_verify_within_five_minutes_and_only_for_their_body() {
    let header = signature_header(b"whsec_test", 1_767_225_600, br#"{"id":"1"}"#);
    assert!(header.starts_with("t=1767225600,v1="));
    assert!(verify_signature(b"whsec_test", &header, br#"{"id":"1"}"#, 1_767_225_600 + 300));
    assert!(!verify_signature(b"whsec_test", &header, br#"{"id":"1"}"#, 1_767_225_600 + 301), "too old");
    assert!(!verify_signature(b"whsec_test", &header, br#"{"id":"2"}"#, 1_767_225_600), "another body");
    assert!(!verify_signature(b"another", &header, br#"{"id":"1"}"#, 1_767_225_600), "another secret");
    for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1767225600,v1=zz"] {
        assert!(!verify_signature(b"whsec_test", bad, b"", 1_767_225_600), "{bad}");
    }
}

#[test]
fn retries_back_off_and_stop_after_three_days() {
    let t0 = Timestamp::from_micros(0);
    let s = MICROS_PER_SECOND;
    // Middle jitter (500 per mille) is exactly the base delay.
    assert_eq!(next_attempt(t0, t0, 1, 500), Some(t0.plus_micros(30 * s)));
    assert_eq!(next_attempt(t0, t0, 2, 500), Some(t0.plus_micros(60 * s)));
    assert_eq!(next_attempt(t0, t0, 3, 0), Some(t0.plus_micros(96 * s)), "120 s − 20%");
    assert_eq!(next_attempt(t0, t0, 3, 1000), Some(t0.plus_micros(144 * s)), "120 s + 20%");
    assert_eq!(next_attempt(t0, t0, 30, 500), Some(t0.plus_micros(6 * 3600 * s)), "capped at 6 hours");
    let late = t0.plus_micros(RETRY_FOR_MICROS - 60 * s);
    assert_eq!(next_attempt(t0, late, 30, 500), None, "past three days: failed");
}

#[test]
fn endpoints_must_be_https_unless_insecure_loopback_is_allowed() {
    assert_eq!(validate_endpoint_url(" https://hooks.example.com/ph ", false).unwrap(), "https://hooks.example.com/ph");
    for (url, why) in [
        ("http://hooks.example.com/", "https://"),
        ("ftp://hooks.example.com/", "https://"),
        ("https://user:pw@hooks.example.com/", "password"),
        ("https://127.0.0.1/", "private"),
        ("https://10.1.2.3/", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://[::1]/", "private"),
        ("https://[fd00::1]/", "private"),
        ("https://localhost/", "private"),
        ("https://localhost./", "private"),
        ("https://api.localhost/", "private"),
        ("https://[::ffff:127.0.0.1]/", "private"),
        ("https://[::ffff:169.254.169.254]/", "private"),
        ("https://100.64.0.1/", "private"),
        ("https://0.0.0.0/", "private"),
        ("https://[::127.0.0.1]/", "private"),
        ("https://[64:ff9b::7f00:1]/", "private"),
        ("https://[2002:7f00:1::]/", "private"),
        ("https://198.18.0.1/", "private"),
        ("https://224.0.0.1/", "private"),
        ("http://127.0.0.1:9/", "https://"),
        ("not a url", "not a URL"),
        ("", "at most"),
    ] {
        let err = validate_endpoint_url(url, false).unwrap_err().to_string();
        assert!(err.starts_with("url: ") && err.contains(why), "{url}: {err}");
    }
    let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
    assert!(validate_endpoint_url(&long, false).is_err());
    // Tests and local development: http:// to this machine only.
    assert!(validate_endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
    assert!(validate_endpoint_url("http://localhost:9000/hook", true).is_ok());
    assert!(validate_endpoint_url("http://[::1]:9000/hook", true).is_ok());
    assert!(validate_endpoint_url("https://127.0.0.1:9000/hook", true).is_ok());
    let err = validate_endpoint_url("http://hooks.example.com/", true).unwrap_err().to_string();
    assert!(err.contains("only towards this machine"), "{err}");
}

#[test]
fn only_globally_reachable_addresses_are_public() {
    for ip in ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::64", "::ffff:8.8.8.8"] {
        assert!(is_public_address(ip.parse().unwrap()), "{ip} is public");
    }
    for ip in [
        "0.1.2.3",
        "10.0.0.1",
        "100.64.0.1",
        "100.127.255.255",
        "127.0.0.1",
        "127.8.8.8",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
        "100::1",
        "2001::1",
        "2001:2::1",
        "2001:db8::1",
        "2002:7f00:1::",
        "3fff::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "5f00::1",
    ] {
        assert!(!is_public_address(ip.parse().unwrap()), "{ip} is not public");
    }
    // Neighbours of the refused blocks stay public.
    for ip in ["100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0", "198.17.255.255", "198.20.0.0"] {
        assert!(is_public_address(ip.parse().unwrap()), "{ip} is public");
    }
}

#[test]
fn a_partner_or_endpoint_at_its_cap_is_passed_over_not_waited_for() {
    let caps = SendCaps { total: 5, per_partner: 3, per_endpoint: 2 };
    let (hog, other) = (PartnerId::new(), PartnerId::new());
    let hog_endpoints = [WebhookId::new(), WebhookId::new()];
    let other_endpoint = WebhookId::new();
    // The hog's deliveries are the oldest due: six of them, then one of the other partner.
    let mut due: Vec<DueDelivery> =
        (0..6).map(|i| DueDelivery { id: DeliveryId::new(), endpoint: hog_endpoints[i % 2], partner: hog }).collect();
    due.push(DueDelivery { id: DeliveryId::new(), endpoint: other_endpoint, partner: other });
    let mut slots = SendSlots::default();
    let taken = slots.take(&due, caps);
    assert_eq!(taken, vec![due[0].id, due[1].id, due[2].id, due[6].id], "three of the hog's, then the other's");
    assert_eq!(slots.in_flight(), 4);
    let (full_partners, full_endpoints) = slots.full(caps);
    assert_eq!(full_partners, vec![hog]);
    assert_eq!(full_endpoints, vec![hog_endpoints[0]], "two in flight on the first endpoint");
    // Nothing more for the hog until one of its attempts ends.
    assert!(slots.take(&due[3..6], caps).is_empty());
    slots.release(hog, hog_endpoints[1]);
    assert_eq!(slots.take(&due[3..6], caps), vec![due[3].id]);
    // The total cap holds too.
    let more: Vec<DueDelivery> = (0..3)
        .map(|_| DueDelivery { id: DeliveryId::new(), endpoint: WebhookId::new(), partner: PartnerId::new() })
        .collect();
    assert_eq!(slots.take(&more, caps), vec![more[0].id], "a fifth, then the total is reached");
    assert_eq!(slots.in_flight(), 5);
    // Releasing what was never taken changes nothing.
    slots.release(PartnerId::new(), WebhookId::new());
    assert_eq!(slots.in_flight(), 5);
}

#[test]
fn operation_types_are_known_and_deduplicated() {
    let kinds = parse_operation_types(&["create_order".into(), "download_software".into(), "create_order".into()]);
    assert_eq!(kinds.unwrap(), vec![OperationType::CreateOrder, OperationType::DownloadSoftware]);
    assert!(parse_operation_types(&[]).unwrap_err().to_string().starts_with("operationTypes: "));
    let err = parse_operation_types(&["create_order".into(), "nope".into()]).unwrap_err().to_string();
    assert!(err.starts_with("operationTypes[1]: must be one of create_customer"), "{err}");
}

fn attempt(at: Timestamp, number: u32, status: Option<u16>) -> Attempt {
    Attempt { number, at, status_code: status, duration_ms: 5, error: status.is_none().then(|| "refused".into()) }
}

#[test]
fn after_an_attempt_a_delivery_succeeds_retries_or_fails_and_its_endpoint_may_be_disabled() {
    let t0 = Timestamp::from_micros(0);
    let s = MICROS_PER_SECOND;
    let ok = after_attempt(&attempt(t0, 1, Some(204)), t0, Some(t0), false, 500);
    assert_eq!((ok.delivery, ok.retry_at, ok.endpoint), (DeliveryStatus::Succeeded, None, EndpointHealth::Healthy));
    for status in [None, Some(500), Some(302), Some(404)] {
        let failed = after_attempt(&attempt(t0, 1, status), t0, None, false, 500);
        assert_eq!(failed.delivery, DeliveryStatus::Pending, "{status:?}");
        assert_eq!(failed.retry_at, Some(t0.plus_micros(30 * s)));
        assert_eq!(failed.endpoint, EndpointHealth::Failing);
    }
    // A test event is tried once.
    let test = after_attempt(&attempt(t0, 1, Some(500)), t0, None, true, 500);
    assert_eq!((test.delivery, test.retry_at), (DeliveryStatus::Failed, None));
    // Past the three days of retries, the delivery fails, and its endpoint (no success since) is disabled.
    let late = t0.plus_micros(RETRY_FOR_MICROS - 10 * s);
    let done = after_attempt(&attempt(late, 20, Some(500)), t0, Some(t0), false, 500);
    assert_eq!(done.delivery, DeliveryStatus::Failed);
    assert!(matches!(done.endpoint, EndpointHealth::Disable(_)), "{:?}", done.endpoint);
    // ...unless the endpoint took other deliveries meanwhile: then only this one fails.
    let refused = after_attempt(&attempt(late, 20, Some(400)), t0, Some(late), false, 500);
    assert_eq!((refused.delivery, refused.endpoint), (DeliveryStatus::Failed, EndpointHealth::Failing));
    // An endpoint failing for three days is disabled, and says why.
    let now = t0.plus_micros(RETRY_FOR_MICROS);
    let off = after_attempt(&attempt(now, 3, None), now, Some(t0), false, 500);
    assert_eq!(off.delivery, DeliveryStatus::Failed);
    match off.endpoint {
        EndpointHealth::Disable(why) => {
            assert!(why.contains("no delivery succeeded since 1970-01-01") && why.contains("refused"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn event_bodies_carry_the_record_as_the_api_shows_it() {
    let partner = PartnerId::new();
    let new = crate::audit::NewAuditRecord::succeeded(
        OperationType::CreateOrder,
        "ann@contoso.com",
        Timestamp::from_micros(0),
    )
    .data("orderId", "o-1");
    let record = AuditRecord::seal(partner, 1, crate::audit::GENESIS_HASH, new);
    let body: serde_json::Value = serde_json::from_str(&event_body(&record)).unwrap();
    assert_eq!(body["id"], record.id.to_string());
    assert_eq!(body["partnerId"], partner.to_string());
    assert_eq!(body["operationType"], "create_order");
    assert_eq!(body["resourceType"], "order");
    assert_eq!(body["operationDate"], "1970-01-01T00:00:00Z");
    assert_eq!(body["customizedData"], serde_json::json!([{"key": "orderId", "value": "o-1"}]));
    assert!(body.get("hash").is_none() && body.get("seq").is_none());
}

proptest! {
    #[test]
    fn retries_never_come_sooner_than_24_seconds_nor_later_than_the_window(
        attempts in 1u32..100, jitter in 0u32..=1000, elapsed in 0i64..RETRY_FOR_MICROS,
    ) {
        let t0 = Timestamp::from_micros(1_000_000_000_000);
        let last = t0.plus_micros(elapsed);
        if let Some(next) = next_attempt(t0, last, attempts, jitter) {
            prop_assert!(next.micros() - last.micros() >= 24 * MICROS_PER_SECOND);
            prop_assert!(next.micros() - t0.micros() <= RETRY_FOR_MICROS);
        }
    }

    #[test]
    fn any_body_signed_verifies(secret in proptest::collection::vec(any::<u8>(), 1..100), body in proptest::collection::vec(any::<u8>(), 0..500)) {
        let header = signature_header(&secret, 1_800_000_000, &body);
        prop_assert!(verify_signature(&secret, &header, &body, 1_800_000_000));
    }
}
