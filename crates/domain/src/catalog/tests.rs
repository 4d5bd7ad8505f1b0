//! The tests of `domain::catalog` (kept beside it, out of the module's own file).
//!
//! Over 700 lines on purpose: the second half is the property tests' model of the catalog document (generators of
//! products, SKUs and prices, and the reference model of what parsing must accept or refuse, with the path it
//! names); it stays next to the properties that use it rather than in a file of its own.

use super::*;
use crate::market_data;
use serde_json::json;
use time::macros::date;

fn market(c: MarketCode) -> (String, u8) {
    let info = c.info();
    (info.currency.to_string(), info.minor_units)
}
fn mc(s: &str) -> MarketCode {
    MarketCode::parse(s).unwrap()
}
fn parse(doc: &Value) -> Result<Vec<Product>, DomainError> {
    parse_catalog(doc.to_string().as_bytes(), &market)
}
fn message(doc: &Value) -> String {
    match parse(doc) {
        Err(DomainError::InvalidRequest(m)) => m,
        other => panic!("expected an invalid_request, got {other:?}"),
    }
}

fn sql() -> Value {
    json!({
        "id": "SQL2019STD", "title": "SQL Server 2019 Standard", "publisherName": "Contoso",
        "productType": "software_subscription",
        "cancellationPolicy": {"kind": "window", "days": 60},
        "skus": [{"id": "0001", "title": "SQL Server 2019 Standard - 2 Core - 1 year",
                  "termDuration": "P1Y",
                  "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "1200.00"},
                             {"country": "AU", "currencyCode": "AUD", "listPrice": "1980.00"}]}]
    })
}
fn office() -> Value {
    json!({
        "id": "OFFICE2021", "title": "Office LTSC 2021", "publisherName": "Contoso",
        "productType": "perpetual_software", "futureField": {"ignored": true},
        "skus": [{"id": "pro", "title": "Professional Plus",
                  "prices": [{"country": "JP", "currencyCode": "JPY", "listPrice": "54000"}]}]
    })
}
/// A document of [sql, office, third] where `third` is `office` changed by `f`, so errors land on products[2].
fn with_third(f: impl FnOnce(&mut Value)) -> Value {
    let mut third = office();
    third["id"] = json!("THIRD");
    f(&mut third);
    json!({"products": [sql(), office(), third]})
}

#[test]
fn parses_the_spec_example() {
    let products = parse(&json!({"products": [sql(), office()], "version": 3})).unwrap();
    assert_eq!(products.len(), 2);
    let p = &products[0];
    assert_eq!(
        (p.id.as_str(), p.title.as_str(), p.publisher_name.as_str()),
        ("SQL2019STD", "SQL Server 2019 Standard", "Contoso")
    );
    assert_eq!(p.product_type, ProductType::SoftwareSubscription);
    assert_eq!(p.policy, CancellationPolicy::Window { days: 60 });
    assert_eq!((p.available_markets.clone(), p.unavailable_markets.clone()), (None, None));
    let sku = p.sku("0001").unwrap();
    assert_eq!(sku.term, Some(Term::P1Y));
    assert_eq!(
        sku.price_for(mc("AU")),
        Some(&Price { country: mc("AU"), currency: "AUD".into(), list_price: Money::parse("1980.00", 2).unwrap() })
    );
    assert_eq!(sku.price_for(mc("GB")), None);
    let o = &products[1];
    assert_eq!(o.policy, CancellationPolicy::DEFAULT_WINDOW);
    assert_eq!(o.skus[0].term, None);
    assert_eq!(o.skus[0].prices[0].list_price, Money { minor: 54000, scale: 0 });
    assert_eq!(parse(&json!({"products": []})).unwrap(), vec![]);
}

#[test]
fn policies_and_markets() {
    let doc = with_third(|p| {
        p["productType"] = json!("extended_security_update");
        p["skus"][0]["termDuration"] = json!("P1Y");
        p["unavailableMarkets"] = json!(["gl", "CN", "GL"]);
    });
    let p = &parse(&doc).unwrap()[2];
    assert_eq!(p.policy, CancellationPolicy::SupportRequest);
    assert_eq!(p.unavailable_markets, Some(vec![mc("CN"), mc("GL")]));
    let doc = with_third(|p| {
        p["productType"] = json!("software_plan");
        p["skus"][0]["termDuration"] = json!("P3Y");
        p["availableMarkets"] = json!(["US"]);
        p["unavailableMarkets"] = Value::Null;
    });
    let p = &parse(&doc).unwrap()[2];
    assert_eq!(p.policy, CancellationPolicy::None);
    assert_eq!(p.available_markets, Some(vec![mc("US")]));
    assert_eq!(p.skus[0].term, Some(Term::P3Y));
    for (policy, expected) in [
        (json!({"kind": "none"}), CancellationPolicy::None),
        (json!({"kind": "support_request"}), CancellationPolicy::SupportRequest),
        (json!({"kind": "window"}), CancellationPolicy::DEFAULT_WINDOW),
        (json!({"kind": "window", "days": 14}), CancellationPolicy::Window { days: 14 }),
        (json!({"kind": "window", "days": 3650}), CancellationPolicy::Window { days: 3650 }),
    ] {
        let doc = with_third(|p| p["cancellationPolicy"] = policy);
        assert_eq!(parse(&doc).unwrap()[2].policy, expected);
    }
    let doc = with_third(|p| p["productType"] = json!("azure_reservation"));
    let doc = {
        let mut d = doc;
        d["products"][2]["skus"][0]["termDuration"] = json!("P1M");
        d
    };
    assert_eq!(parse(&doc).unwrap()[2].policy, CancellationPolicy::DEFAULT_WINDOW);
}

#[test]
fn every_refusal_names_the_product_and_the_field() {
    type Change = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|p| p["productType"] = json!("hardware")), "T.productType: unknown product type 'hardware'"),
        (Box::new(|p| p["productType"] = json!(7)), "T.productType: expected a string"),
        (
            Box::new(|p| p["cancellationPolicy"] = json!({"kind": "sometimes"})),
            "T.cancellationPolicy.kind: unknown policy kind 'sometimes'",
        ),
        (Box::new(|p| p["cancellationPolicy"] = json!({"days": 3})), "T.cancellationPolicy.kind: missing"),
        (
            Box::new(|p| p["cancellationPolicy"] = json!({"kind": "window", "days": 0})),
            "T.cancellationPolicy.days: must be a whole number of days between 1 and 3650",
        ),
        (
            Box::new(|p| p["cancellationPolicy"] = json!({"kind": "window", "days": 3651})),
            "T.cancellationPolicy.days: must be",
        ),
        (
            Box::new(|p| p["cancellationPolicy"] = json!({"kind": "window", "days": 1.5})),
            "T.cancellationPolicy.days: must be",
        ),
        (
            Box::new(|p| p["cancellationPolicy"] = json!({"kind": "window", "days": "60"})),
            "T.cancellationPolicy.days: must be",
        ),
        (Box::new(|p| p["cancellationPolicy"] = json!("window")), "T.cancellationPolicy: expected an object"),
        (Box::new(|p| p["id"] = json!("")), "P.id: must not be empty"),
        (Box::new(|p| p["id"] = json!("x".repeat(65))), "P.id: must be at most 64 characters"),
        (Box::new(|p| p["id"] = json!("a b")), "P.id: may only contain"),
        (Box::new(|p| p["id"] = json!("a:b")), "P.id: may only contain"),
        (
            Box::new(|p| p["id"] = json!("SQL2019STD")),
            "products[2] (SQL2019STD).id: duplicate product id (also products[0])",
        ),
        (
            Box::new(|p| {
                p.as_object_mut().unwrap().remove("id");
            }),
            "P.id: missing",
        ),
        (
            Box::new(|p| {
                p.as_object_mut().unwrap().remove("title");
            }),
            "T.title: missing",
        ),
        (Box::new(|p| p["title"] = json!("  ")), "T.title: must not be empty"),
        (Box::new(|p| p["publisherName"] = json!(["Contoso"])), "T.publisherName: expected a string"),
        (
            Box::new(|p| {
                p["skus"][0]["id"] = json!("x".repeat(65));
            }),
            "T.skus[0].id: must be at most 64 characters",
        ),
        (
            Box::new(|p| {
                p["skus"][0]["id"] = json!("");
            }),
            "T.skus[0].id: must not be empty",
        ),
        (
            Box::new(|p| {
                let s = p["skus"][0].clone();
                p["skus"] = json!([s.clone(), s]);
            }),
            "T.skus[1].id: duplicate SKU id 'pro' (also skus[0])",
        ),
        (
            Box::new(|p| p["skus"][0]["termDuration"] = json!("P1Y")),
            "T.skus[0].termDuration: perpetual software has no term",
        ),
        (
            Box::new(|p| p["productType"] = json!("software_subscription")),
            "T.skus[0].termDuration: missing: a software_subscription SKU needs a term",
        ),
        (
            Box::new(|p| {
                p["productType"] = json!("azure_reservation");
                p["skus"][0]["termDuration"] = json!("P7Y");
            }),
            "T.skus[0].termDuration: unknown term 'P7Y'",
        ),
        (
            Box::new(|p| {
                p["productType"] = json!("software_plan");
                p["skus"][0]["termDuration"] = json!("P61M");
            }),
            "T.skus[0].termDuration: unknown term 'P61M'",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["country"] = json!("ZZ")),
            "T.skus[0].prices[0].country: unknown country 'ZZ'",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["country"] = json!("JPN")),
            "T.skus[0].prices[0].country: unknown country 'JPN'",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["currencyCode"] = json!("USD")),
            "T.skus[0].prices[0].currencyCode: 'USD' is not the currency of market JP (JPY)",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["listPrice"] = json!("54000.5")),
            "T.skus[0].prices[0].listPrice: has more decimals than JPY allows (0)",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["listPrice"] = json!("-1")),
            "T.skus[0].prices[0].listPrice: must not be negative",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["listPrice"] = json!("1e3")),
            "T.skus[0].prices[0].listPrice: expected an amount",
        ),
        (
            Box::new(|p| p["skus"][0]["prices"][0]["listPrice"] = json!(54000)),
            "T.skus[0].prices[0].listPrice: expected a string",
        ),
        (
            Box::new(|p| {
                p["skus"][0]["prices"][0].as_object_mut().unwrap().remove("listPrice");
            }),
            "T.skus[0].prices[0].listPrice: missing",
        ),
        (
            Box::new(|p| {
                p["skus"][0]["prices"][0]["listPrice"] = Value::Null;
            }),
            "T.skus[0].prices[0].listPrice: missing",
        ),
        (
            Box::new(|p| {
                let q = p["skus"][0]["prices"][0].clone();
                p["skus"][0]["prices"] = json!([q.clone(), q]);
            }),
            "T.skus[0].prices[1].country: a second price for JP in this SKU",
        ),
        (Box::new(|p| p["skus"] = json!([])), "T.skus: a product needs at least one SKU"),
        (
            Box::new(|p| {
                p.as_object_mut().unwrap().remove("skus");
            }),
            "T.skus: missing",
        ),
        (Box::new(|p| p["skus"][0]["prices"] = json!({})), "T.skus[0].prices: expected an array"),
        (
            Box::new(|p| {
                p["availableMarkets"] = json!(["US"]);
                p["unavailableMarkets"] = json!(["GL"]);
            }),
            "T.unavailableMarkets: give availableMarkets or unavailableMarkets, not both",
        ),
        (Box::new(|p| p["availableMarkets"] = json!(["US", "QQ"])), "T.availableMarkets[1]: unknown country 'QQ'"),
        (Box::new(|p| p["unavailableMarkets"] = json!("GL")), "T.unavailableMarkets: expected an array"),
    ];
    for (change, expected) in cases {
        let expected = match expected.split_once('.') {
            Some(("T", rest)) => format!("products[2] (THIRD).{rest}"),
            Some(("P", rest)) => format!("products[2].{rest}"),
            _ => expected.to_string(),
        };
        let doc = with_third(change);
        let got = message(&doc);
        assert!(got.starts_with(&expected), "expected {expected:?}, got {got:?}");
    }
}

#[test]
fn decimals_are_checked_against_the_currency() {
    let set_price = |country: &str, currency: &str, price: &str| {
        with_third(|p| {
            p["skus"][0]["prices"] = json!([{"country": country, "currencyCode": currency, "listPrice": price}])
        })
    };
    assert!(parse(&set_price("BH", "BHD", "12.345")).is_ok());
    assert!(message(&set_price("BH", "BHD", "12.3456")).ends_with("has more decimals than BHD allows (3)"));
    assert!(message(&set_price("US", "USD", "1.234")).ends_with("has more decimals than USD allows (2)"));
    assert!(parse(&set_price("US", "usd", "1.2")).is_ok());
    // The market function decides the currency, not the static table.
    let eur_everywhere = |_: MarketCode| ("EUR".to_string(), 2_u8);
    let mut third = set_price("US", "EUR", "1.20");
    let doc = json!({"products": [third["products"][2].take()]});
    assert!(parse_catalog(doc.to_string().as_bytes(), &eur_everywhere).is_ok());
}

#[test]
fn document_shape_errors() {
    for (doc, expected) in [
        (&b"{"[..], "catalog: not a valid JSON document"),
        (b"[]", "catalog: expected an object"),
        (b"{}", "products: missing"),
        (b"{\"products\": {}}", "products: expected an array"),
        (b"{\"products\": [1]}", "products[0]: expected an object"),
    ] {
        let e = parse_catalog(doc, &market).unwrap_err();
        assert_eq!(e.error_name(), "invalid_request");
        assert!(e.to_string().starts_with(expected), "{e}");
    }
}

#[test]
fn product_types() {
    for t in ProductType::ALL {
        assert_eq!(ProductType::parse(t.as_str()), Some(t));
        assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
    }
    assert_eq!(ProductType::parse("Software_Subscription"), None);
    use ProductType::*;
    let keys: Vec<_> = ProductType::ALL.into_iter().filter(|t| t.has_keys()).collect();
    assert_eq!(keys, [SoftwareSubscription, PerpetualSoftware, ExtendedSecurityUpdate]);
    assert!(!PerpetualSoftware.has_term() && AzureReservation.has_term());
    assert!(!AzureReservation.is_software() && SoftwarePlan.is_software());
    assert_eq!(SoftwarePlan.default_policy(), CancellationPolicy::None);
    assert_eq!(AzureReservation.default_policy(), CancellationPolicy::Window { days: 60 });
}

#[test]
fn terms() {
    assert_eq!(Term::parse("P1Y"), Some(Term::P1Y));
    assert_eq!(Term::parse("P1M"), Some(Term::P1M));
    assert_eq!(Term::parse("P5Y").map(Term::months), Some(60));
    assert_eq!(Term::parse("P60M").map(Term::months), Some(60));
    assert_ne!(Term::parse("P12M"), Some(Term::P1Y));
    for bad in ["", "P", "P0Y", "P6Y", "P0M", "P61M", "p1y", "P01Y", "1Y", "P1D", "P1Y1M", " P1Y"] {
        assert_eq!(Term::parse(bad), None, "{bad}");
    }
    for s in YEAR_TERMS.iter().chain(MONTH_TERMS.iter()) {
        assert_eq!(Term::parse(s).map(Term::as_str), Some(*s));
    }
    assert_eq!(Term::P3Y.to_string(), "P3Y");
    assert_eq!(serde_json::to_value(Term::P3Y).unwrap(), json!("P3Y"));
}

#[test]
fn term_end_dates() {
    assert_eq!(Term::P1Y.end_date(date!(2024 - 02 - 29)), date!(2025 - 02 - 28));
    assert_eq!(Term::P1Y.days(date!(2024 - 02 - 29)), 365);
    assert_eq!(Term::P1Y.end_date(date!(2026 - 11 - 24)), date!(2027 - 11 - 24));
    assert_eq!(Term::P1Y.days(date!(2026 - 11 - 24)), 365);
    assert_eq!(Term::P1Y.days(date!(2027 - 03 - 01)), 366);
    assert_eq!(Term::P1Y.days(date!(2023 - 03 - 01)), 366);
    assert_eq!(Term::P1M.end_date(date!(2025 - 01 - 31)), date!(2025 - 02 - 28));
    assert_eq!(Term::P1M.end_date(date!(2024 - 01 - 31)), date!(2024 - 02 - 29));
    assert_eq!(Term::P1M.end_date(date!(2024 - 01 - 30)), date!(2024 - 02 - 29));
    assert_eq!(Term::P1M.end_date(date!(2024 - 12 - 31)), date!(2025 - 01 - 31));
    assert_eq!(Term::P1M.days(date!(2024 - 02 - 01)), 29);
    assert_eq!(Term::P3Y.end_date(date!(2024 - 02 - 29)), date!(2027 - 02 - 28));
    assert_eq!(Term::P3Y.days(date!(2024 - 02 - 29)), 365 * 3);
    assert_eq!(Term::P3Y.end_date(date!(2025 - 06 - 15)), date!(2028 - 06 - 15));
    assert_eq!(Term::P3Y.days(date!(2025 - 06 - 15)), 365 * 3 + 1);
    assert_eq!(Term::parse("P4Y").unwrap().end_date(date!(2024 - 02 - 29)), date!(2028 - 02 - 29));
    assert_eq!(Term::parse("P13M").unwrap().end_date(date!(2025 - 12 - 31)), date!(2027 - 01 - 31));
    assert_eq!(Term::P1Y.end_date(Date::MAX), Date::MAX);
}

#[test]
fn target_views() {
    let views = |t: ProductType| -> Vec<&str> {
        TargetView::ALL.into_iter().filter(|v| v.includes_type(t)).map(TargetView::as_str).collect()
    };
    use ProductType::*;
    assert_eq!(views(SoftwareSubscription), ["Software", "SoftwareSubscriptions"]);
    assert_eq!(views(ExtendedSecurityUpdate), ["Software", "SoftwareSubscriptions"]);
    assert_eq!(views(PerpetualSoftware), ["Software", "SoftwarePerpetual"]);
    assert_eq!(views(SoftwarePlan), ["Software", "SoftwareSUSELinux"]);
    assert_eq!(views(AzureReservation), ["AzureReservations"]);
    for v in TargetView::ALL {
        assert_eq!(TargetView::parse(v.as_str()), Some(v));
    }
    assert_eq!(TargetView::parse("software"), None);
    assert_eq!(TargetView::parse("SoftwareSuseLinux"), None);
    let products = parse(&json!({"products": [sql(), office()]})).unwrap();
    assert!(TargetView::SoftwareSubscriptions.includes(&products[0]));
    assert!(!TargetView::SoftwareSubscriptions.includes(&products[1]));
    assert!(TargetView::SoftwarePerpetual.includes(&products[1]));
}

#[test]
fn availability_and_catalog_item_ids() {
    let us = availability_id("SQL2019STD", "0001", mc("US"));
    assert_eq!(us, availability_id("SQL2019STD", "0001", mc("US")));
    assert_eq!(us.len(), 12);
    assert!(us.bytes().all(|b| BASE32.contains(&b)));
    assert_ne!(us, availability_id("SQL2019STD", "0001", mc("AU")));
    assert_ne!(us, availability_id("SQL2019STD", "0002", mc("US")));
    // The first 12 characters of base32(SHA-256("SQL2019STD|0001|US")), pinned so ids never drift.
    let full = base32(&Sha256::digest(b"SQL2019STD|0001|US"));
    assert_eq!(full.len(), 52);
    assert_eq!(us, full[..12]);
    let item = catalog_item_id("SQL2019STD", "0001", &us);
    assert_eq!(item, format!("SQL2019STD:0001:{us}"));
    assert_eq!(parse_catalog_item_id(&item), Some(("SQL2019STD".into(), "0001".into(), us.clone())));
    for bad in ["", "a:b", "a:b:c:d", ":b:c", "a::c", "a:b:"] {
        assert_eq!(parse_catalog_item_id(bad), None, "{bad}");
    }
}

#[test]
fn base32_matches_rfc_4648_vectors() {
    for (input, expected) in [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ] {
        assert_eq!(base32(input.as_bytes()), expected);
    }
}

#[test]
fn seeded_reservation_markets() {
    let list = reservation_unavailable_markets();
    assert_eq!(list.len(), 106);
    for code in ["BQ", "SJ", "XK", "GL", "CN"] {
        assert!(list.contains(&mc(code)), "{code}");
    }
    assert!(!list.contains(&mc("US")));
    assert!(list.windows(2).all(|w| w[0] < w[1]));
    // Every CSV row is accounted for: 109 names, 3 shared codes.
    let rows = UNAVAILABLE_MARKETS_CSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert_eq!(rows, 109);
    assert!(list.iter().all(|c| market_data::country(c.as_str()).is_some()));
}

#[test]
fn availability_with_overrides() {
    let seed = reservation_unavailable_markets();
    let mut products = parse(&json!({"products": [sql()]})).unwrap();
    let mut p = products.remove(0);
    p.product_type = ProductType::AzureReservation;
    assert!(is_available(&p, &seed, mc("US")));
    assert!(!is_available(&p, &seed, mc("GL")));
    p.unavailable_markets = Some(vec![mc("US")]);
    assert!(!is_available(&p, &seed, mc("US")));
    assert!(is_available(&p, &seed, mc("GL")));
    p.unavailable_markets = Some(vec![]);
    assert!(is_available(&p, &seed, mc("CN")));
    p.unavailable_markets = None;
    p.available_markets = Some(vec![mc("GL")]);
    assert!(is_available(&p, &seed, mc("GL")));
    assert!(!is_available(&p, &seed, mc("US")));
    p.available_markets = None;
    assert!(is_available(&p, &[], mc("GL")));
}

#[test]
fn market_rules_round_trip_and_complement() {
    let r = MarketRule::parse(None, Some(&["gl".to_string(), "CN".into(), "GL".into()])).unwrap();
    assert_eq!(r.unavailable_list(), vec![mc("CN"), mc("GL")]);
    let (mode, stored) = r.to_stored();
    assert_eq!(MarketRule::from_stored(mode, &stored), Some(r));
    let only_us = MarketRule::parse(Some(&["US".to_string()]), None).unwrap();
    let denied = only_us.unavailable_list();
    assert_eq!(denied.len(), 249);
    assert!(!denied.contains(&mc("US")));
    assert!(MarketRule::parse(None, None).is_err());
    assert!(MarketRule::parse(Some(&[]), Some(&[])).is_err());
    assert!(MarketRule::parse(None, Some(&["ZZ".to_string()])).is_err());
    assert_eq!(MarketRule::from_stored("unavailable", ""), Some(MarketRule::UnavailableIn(vec![])));
}

#[test]
fn the_seed_copy_matches_the_article_when_it_is_beside_the_repository() {
    // In the development and CI layout the contract's seed folder sits beside the repository; the copy the
    // product builds from must not drift from it.
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/seed/azure-reservations-unavailable-markets.csv");
    if let Ok(original) = std::fs::read_to_string(&seed) {
        assert_eq!(original, UNAVAILABLE_MARKETS_CSV, "crates/domain/data differs from {}", seed.display());
    }
}

// ---- Hostile input (property tests) ----

use proptest::prelude::*;

/// Ok, or an `InvalidRequest` naming the document or a path under `products`.
fn check_refusal(r: &Result<Vec<Product>, DomainError>) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => {}
        Err(DomainError::InvalidRequest(m)) => {
            prop_assert!(m.starts_with("catalog: ") || m.starts_with("products"), "{}", m)
        }
        Err(other) => prop_assert!(false, "expected invalid_request, got {:?}", other),
    }
    Ok(())
}

/// Any JSON value, with hostile strings at the leaves.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x1F\\u{202A}-\\u{202E}\"'\\\\ PYM0-9.-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A well-formed value most of the time, anything else otherwise.
fn or_junk(good: Value) -> impl Strategy<Value = Value> {
    prop_oneof![3 => Just(good), 1 => any_json()]
}

fn fuzzed_price() -> impl Strategy<Value = Value> {
    (or_junk(json!("US")), or_junk(json!("USD")), or_junk(json!("12.50")))
        .prop_map(|(c, cur, p)| json!({"country": c, "currencyCode": cur, "listPrice": p}))
}

fn fuzzed_sku() -> impl Strategy<Value = Value> {
    (
        or_junk(json!("0001")),
        or_junk(json!("One year")),
        or_junk(json!("P1Y")),
        prop_oneof![3 => proptest::collection::vec(fuzzed_price(), 0..3).prop_map(Value::Array), 1 => any_json()],
    )
        .prop_map(|(id, title, term, prices)| json!({"id": id, "title": title, "termDuration": term, "prices": prices}))
}

fn fuzzed_product() -> impl Strategy<Value = Value> {
    (
        (or_junk(json!("P1")), or_junk(json!("Title")), or_junk(json!("Contoso"))),
        or_junk(json!("software_subscription")),
        or_junk(json!({"kind": "window", "days": 30})),
        or_junk(json!(["US"])),
        or_junk(Value::Null),
        prop_oneof![3 => proptest::collection::vec(fuzzed_sku(), 0..3).prop_map(Value::Array), 1 => any_json()],
    )
        .prop_map(|((id, title, publisher), t, policy, available, unavailable, skus)| {
            json!({
                "id": id, "title": title, "publisherName": publisher, "productType": t,
                "cancellationPolicy": policy, "availableMarkets": available, "unavailableMarkets": unavailable,
                "skus": skus,
            })
        })
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![any::<u8>(), proptest::sample::select(b"{}[]\",:\\-.0e \x00\xff\xc3".to_vec()),];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

// The structured generator: a plan of the document, turned into JSON, with the outcome the rules give it.

#[derive(Debug, Clone)]
struct GenPrice {
    country: String,
    currency: String,
    price: String,
}

#[derive(Debug, Clone)]
struct GenSku {
    id: String,
    title: String,
    term: Option<String>,
    prices: Vec<GenPrice>,
}

#[derive(Debug, Clone)]
struct GenProduct {
    id: String,
    title: String,
    publisher: String,
    product_type: String,
    days: Option<i64>,
    /// `(true, list)` for availableMarkets, `(false, list)` for unavailableMarkets.
    markets: Option<(bool, Vec<String>)>,
    skus: Vec<GenSku>,
}

const TYPES: [&str; 5] =
    ["software_subscription", "perpetual_software", "extended_security_update", "software_plan", "azure_reservation"];

fn gen_id() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(vec!["SQL2019STD", "0001", "A", "a.b_c-d"]).prop_map(String::from),
        40 => "[A-Za-z0-9._-]{1,64}",
        1 => Just(String::new()),
        1 => "[A-Za-z0-9]{65,70}",
        1 => "[A-Za-z0-9]{0,4}[ :/,'\"%\\x00\\u{202E}é][A-Za-z0-9]{0,4}",
    ]
}

fn gen_title() -> impl Strategy<Value = String> {
    prop_oneof![
        60 => "[A-Za-z0-9][A-Za-z0-9 ()-]{0,29}",
        1 => Just(String::new()),
        1 => Just("   ".to_string()),
        1 => any::<String>(),
        1 => (250_usize..262).prop_map(|n| format!(" {} ", "é".repeat(n))),
        1 => "[\\x00-\\x1F\\u{202A}-\\u{202E}'\";%a-z ]{1,12}",
    ]
}

fn gen_country() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => proptest::sample::select(vec![
            "US", "us", "JP", "BH", "GB", "de", "AU", "XK", "CL", "KW", "ca", "FR", "IN", "BR", "NZ", "ZA"
        ]),
        1 => proptest::sample::select(vec!["ZZ", "QQ", "USA", "JPN", " U", "U ", "", "Ü", "\u{0}U"]),
    ]
    .prop_map(String::from)
}

/// A price string, mostly fitting the currency's decimals; `scale` is decided later by the country.
#[derive(Debug, Clone)]
enum PricePlan {
    Number { negative: bool, int: String, frac_digits: String, frac: Option<u8>, extra: bool },
    Junk(&'static str),
}

fn price_plan() -> impl Strategy<Value = PricePlan> {
    let int = prop_oneof![
        40 => (0_u64..100_000).prop_map(|n| n.to_string()),
        1 => "[0-9]{13,16}",
        1 => "0{1,3}[0-9]{1,3}",
        1 => proptest::sample::select(vec![
            "10000000000000", "9999999999999", "10000000000001", "99999999999999999999999999"
        ])
        .prop_map(String::from),
    ];
    prop_oneof![
        40 => (prop::bool::weighted(0.02), int, "[0-9]{6}", proptest::option::of(any::<u8>()), prop::bool::weighted(0.03))
            .prop_map(|(negative, int, frac_digits, frac, extra)| PricePlan::Number { negative, int, frac_digits, frac, extra }),
        1 => proptest::sample::select(vec![
            "1e3", "", " 1", "1 ", "1.", ".5", ".123", "+1", "-", "-0", "1,5", "0x10", "١٢٣", "NaN", "1.2.3", "\u{0}1"
        ])
        .prop_map(PricePlan::Junk),
    ]
}

fn price_text(plan: &PricePlan, scale: u8) -> String {
    match plan {
        PricePlan::Junk(s) => s.to_string(),
        PricePlan::Number { negative, int, frac_digits, frac, extra } => {
            let sign = if *negative { "-" } else { "" };
            match frac {
                None => format!("{sign}{int}"),
                Some(r) => {
                    let n =
                        if *extra { usize::from(scale) + 1 + usize::from(r % 2) } else { usize::from(r % (scale + 1)) };
                    if n == 0 {
                        format!("{sign}{int}")
                    } else {
                        format!("{sign}{int}.{}", &frac_digits[..n])
                    }
                }
            }
        }
    }
}

/// The rules' country: exactly two characters naming a known market, in any case.
fn model_country(s: &str) -> Option<MarketCode> {
    if s.len() == 2 {
        MarketCode::parse(s)
    } else {
        None
    }
}

fn gen_price() -> impl Strategy<Value = GenPrice> {
    (gen_country(), prop_oneof![40 => Just(None), 1 => "[A-Za-z]{0,4}".prop_map(Some)], any::<bool>(), price_plan())
        .prop_map(|(country, wrong, lower, plan)| {
            let (currency, scale) =
                model_country(&country).map_or(("USD", 2), |c| (c.info().currency, c.info().minor_units));
            let currency = match wrong {
                Some(w) => w,
                None if lower => currency.to_ascii_lowercase(),
                None => currency.to_string(),
            };
            GenPrice { country, currency, price: price_text(&plan, scale) }
        })
}

/// `Some(term)` fitting the type, most of the time; decided once the product type is known.
#[derive(Debug, Clone)]
enum TermPlan {
    Fitting(&'static str),
    Given(Option<&'static str>),
}

fn gen_sku() -> impl Strategy<Value = (GenSku, TermPlan)> {
    let valid = proptest::sample::select(vec!["P1Y", "P3Y", "P5Y", "P1M", "P12M", "P60M"]);
    let any_term = proptest::option::of(proptest::sample::select(vec![
        "P1Y", "P0Y", "P6Y", "P61M", "P01Y", "p1y", "P1D", "", "P1Y1M", " P1Y",
    ]));
    (
        gen_id(),
        gen_title(),
        prop_oneof![40 => valid.prop_map(TermPlan::Fitting), 1 => any_term.prop_map(TermPlan::Given)],
        proptest::collection::vec(gen_price(), 0..3),
    )
        .prop_map(|(id, title, term, prices)| (GenSku { id, title, term: None, prices }, term))
}

fn gen_product() -> impl Strategy<Value = GenProduct> {
    (
        (gen_id(), gen_title(), gen_title()),
        prop_oneof![
            40 => proptest::sample::select(TYPES.to_vec()),
            1 => proptest::sample::select(vec!["hardware", "Software_Subscription", ""]),
        ],
        prop_oneof![20 => Just(None), 20 => (1_i64..=3650).prop_map(Some), 1 => any::<i64>().prop_map(Some)],
        proptest::option::weighted(0.3, (any::<bool>(), proptest::collection::vec(gen_country(), 0..4))),
        proptest::collection::vec(gen_sku(), 1..4),
        prop::bool::weighted(0.03),
    )
        .prop_map(|((id, title, publisher), product_type, days, markets, skus, no_skus)| {
            let has_term = product_type != "perpetual_software";
            let skus = if no_skus { vec![] } else { skus };
            let skus = skus
                .into_iter()
                .map(|(mut sku, plan)| {
                    sku.term = match plan {
                        TermPlan::Fitting(t) => has_term.then(|| t.to_string()),
                        TermPlan::Given(t) => t.map(String::from),
                    };
                    sku
                })
                .collect();
            GenProduct { id, title, publisher, product_type: product_type.to_string(), days, markets, skus }
        })
}

fn gen_json(products: &[GenProduct]) -> Value {
    let products: Vec<Value> = products
        .iter()
        .map(|p| {
            let skus: Vec<Value> = p
                .skus
                .iter()
                .map(|s| {
                    let prices: Vec<Value> = s
                        .prices
                        .iter()
                        .map(|q| json!({"country": q.country, "currencyCode": q.currency, "listPrice": q.price}))
                        .collect();
                    let mut sku = json!({"id": s.id, "title": s.title, "prices": prices});
                    if let Some(t) = &s.term {
                        sku["termDuration"] = json!(t);
                    }
                    sku
                })
                .collect();
            let mut product = json!({
                "id": p.id, "title": p.title, "publisherName": p.publisher, "productType": p.product_type,
                "skus": skus,
            });
            if let Some(d) = p.days {
                product["cancellationPolicy"] = json!({"kind": "window", "days": d});
            }
            if let Some((available, list)) = &p.markets {
                product[if *available { "availableMarkets" } else { "unavailableMarkets" }] = json!(list);
            }
            product
        })
        .collect();
    json!({"products": products})
}

fn model_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn model_title(t: &str) -> bool {
    let t = t.trim();
    !t.is_empty() && t.chars().count() <= 256
}

fn model_term(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('P') else { return false };
    let (digits, max) = match (rest.strip_suffix('Y'), rest.strip_suffix('M')) {
        (Some(d), _) => (d, 5),
        (_, Some(d)) => (d, 60),
        _ => return false,
    };
    !digits.is_empty()
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n))
}

#[derive(Debug, PartialEq)]
enum PriceRefusal {
    Negative,
    TooManyDecimals,
    Other,
}

/// Money's documented rule: digits, an optional '.' and 1..=scale decimals, no sign, at most 10^13.
fn model_price(s: &str, scale: u8) -> Result<i64, PriceRefusal> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let refusal = || {
        if s.trim_start().starts_with('-') {
            PriceRefusal::Negative
        } else if digits(int) && frac.is_some_and(|f| digits(f) && f.len() > usize::from(scale)) {
            PriceRefusal::TooManyDecimals
        } else {
            PriceRefusal::Other
        }
    };
    if !digits(int) || frac.is_some_and(|f| !digits(f) || f.len() > usize::from(scale)) {
        return Err(refusal());
    }
    let int = int.trim_start_matches('0');
    if int.len() > 20 {
        return Err(refusal());
    }
    let frac = frac.unwrap_or("");
    let padded = format!("{frac:0<width$}", width = usize::from(scale));
    let pow = 10_u128.pow(u32::from(scale));
    let minor = int.parse::<u128>().unwrap_or(0) * pow + padded.parse::<u128>().unwrap_or(0);
    if minor > 10_000_000_000_000 * pow {
        return Err(refusal());
    }
    Ok(minor as i64)
}

/// The first refusal the rules give a generated document: the path and, where fixed, a part of the message.
fn model_refusal(products: &[GenProduct]) -> Option<(String, &'static str)> {
    let mut seen = std::collections::HashSet::new();
    for (i, p) in products.iter().enumerate() {
        let bare = format!("products[{i}]");
        if !model_id(&p.id) {
            return Some((format!("{bare}.id"), ""));
        }
        let path = format!("{bare} ({})", p.id);
        if !seen.insert(&p.id) {
            return Some((format!("{path}.id"), "duplicate product id"));
        }
        if !model_title(&p.title) {
            return Some((format!("{path}.title"), ""));
        }
        if !model_title(&p.publisher) {
            return Some((format!("{path}.publisherName"), ""));
        }
        if !TYPES.contains(&p.product_type.as_str()) {
            return Some((format!("{path}.productType"), "unknown product type"));
        }
        if p.days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Some((format!("{path}.cancellationPolicy.days"), "whole number of days"));
        }
        if let Some((available, list)) = &p.markets {
            let name = if *available { "availableMarkets" } else { "unavailableMarkets" };
            if let Some(k) = list.iter().position(|c| model_country(c).is_none()) {
                return Some((format!("{path}.{name}[{k}]"), "unknown country"));
            }
        }
        if p.skus.is_empty() {
            return Some((format!("{path}.skus"), "at least one SKU"));
        }
        let has_term = p.product_type != "perpetual_software";
        for (j, s) in p.skus.iter().enumerate() {
            let spath = format!("{path}.skus[{j}]");
            if !model_id(&s.id) {
                return Some((format!("{spath}.id"), ""));
            }
            if !model_title(&s.title) {
                return Some((format!("{spath}.title"), ""));
            }
            match (&s.term, has_term) {
                (Some(_), false) => return Some((format!("{spath}.termDuration"), "perpetual software has no term")),
                (None, true) => return Some((format!("{spath}.termDuration"), "missing")),
                (Some(t), true) if !model_term(t) => return Some((format!("{spath}.termDuration"), "unknown term")),
                _ => {}
            }
            let mut countries = Vec::new();
            for (k, q) in s.prices.iter().enumerate() {
                let ppath = format!("{spath}.prices[{k}]");
                let Some(c) = model_country(&q.country) else {
                    return Some((format!("{ppath}.country"), "unknown country"));
                };
                if countries.contains(&c) {
                    return Some((format!("{ppath}.country"), "a second price"));
                }
                countries.push(c);
                if !q.currency.eq_ignore_ascii_case(c.info().currency) {
                    return Some((format!("{ppath}.currencyCode"), "is not the currency of market"));
                }
                match model_price(&q.price, c.info().minor_units) {
                    Ok(_) => {}
                    Err(PriceRefusal::Negative) => return Some((format!("{ppath}.listPrice"), "must not be negative")),
                    Err(PriceRefusal::TooManyDecimals) => {
                        return Some((format!("{ppath}.listPrice"), "has more decimals than"))
                    }
                    Err(PriceRefusal::Other) => return Some((format!("{ppath}.listPrice"), "")),
                }
            }
            if p.skus[..j].iter().any(|earlier| earlier.id == s.id) {
                return Some((format!("{spath}.id"), "duplicate SKU id"));
            }
        }
    }
    None
}

/// Checks that an accepted document gives back exactly what was generated.
fn check_round_trip(generated: &[GenProduct], parsed: &[Product]) -> Result<(), TestCaseError> {
    prop_assert_eq!(parsed.len(), generated.len());
    for (g, p) in generated.iter().zip(parsed) {
        prop_assert_eq!(&p.id, &g.id);
        prop_assert_eq!(p.title.as_str(), g.title.trim());
        prop_assert_eq!(p.publisher_name.as_str(), g.publisher.trim());
        prop_assert_eq!(p.product_type.as_str(), g.product_type.as_str());
        let policy = match g.days {
            Some(d) => CancellationPolicy::Window { days: d as u32 },
            None => p.product_type.default_policy(),
        };
        prop_assert_eq!(p.policy, policy);
        let markets = g.markets.as_ref().map(|(available, list)| {
            let set: BTreeSet<MarketCode> = list.iter().filter_map(|c| model_country(c)).collect();
            (*available, set.into_iter().collect::<Vec<_>>())
        });
        match markets {
            None => prop_assert_eq!((&p.available_markets, &p.unavailable_markets), (&None, &None)),
            Some((true, list)) => {
                prop_assert_eq!((&p.available_markets, &p.unavailable_markets), (&Some(list), &None))
            }
            Some((false, list)) => {
                prop_assert_eq!((&p.available_markets, &p.unavailable_markets), (&None, &Some(list)))
            }
        }
        prop_assert_eq!(p.skus.len(), g.skus.len());
        for (gs, s) in g.skus.iter().zip(&p.skus) {
            prop_assert_eq!(&s.id, &gs.id);
            prop_assert_eq!(s.title.as_str(), gs.title.trim());
            prop_assert_eq!(s.term.map(Term::as_str), gs.term.as_deref());
            prop_assert_eq!(s.prices.len(), gs.prices.len());
            for (gq, q) in gs.prices.iter().zip(&s.prices) {
                let c = model_country(&gq.country).unwrap();
                let info = c.info();
                prop_assert_eq!(q.country, c);
                prop_assert_eq!(q.currency.as_str(), info.currency);
                let minor = model_price(&gq.price, info.minor_units).unwrap();
                prop_assert_eq!(q.list_price, Money { minor, scale: info.minor_units });
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(
            proptest::sample::select(vec![
                &b"{"[..], b"}", b"[", b"]", b"\"", b":", b",", b"\"products\"", b"\"id\"", b"\"skus\"",
                b"\"prices\"", b"\"listPrice\"", b"null", b"-1", b"1e999", b"\"\\ud800\"", b"\xff", b"\xc3", b"\x00",
            ]),
            0..64,
        )
        .prop_map(|parts| parts.concat()),
    ]) {
        check_refusal(&parse_catalog(&bytes, &market))?;
    }

    #[test]
    fn mutated_documents_never_panic(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let mut bytes = json!({"products": [sql(), office()]}).to_string().into_bytes();
        for m in mutations {
            let n = bytes.len().max(1);
            match m {
                Mutation::Flip(i, b) if !bytes.is_empty() => bytes[i % n] = b,
                Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
                Mutation::Delete(i) if !bytes.is_empty() => {
                    bytes.remove(i % n);
                }
                Mutation::Truncate(i) => bytes.truncate(i % n),
                _ => {}
            }
        }
        check_refusal(&parse_catalog(&bytes, &market))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn hostile_values_in_every_field(products in proptest::collection::vec(fuzzed_product(), 1..3)) {
        let doc = json!({"products": products}).to_string();
        let r = parse_catalog(doc.as_bytes(), &market);
        check_refusal(&r)?;
        if let Err(e) = r {
            prop_assert!(e.to_string().starts_with("products["), "{}", e);
        }
    }

    #[test]
    fn generated_catalogs_round_trip_or_name_the_path(products in prop_oneof![
        1 => Just(vec![]),
        30 => proptest::collection::vec(gen_product(), 1..4),
    ]) {
        let doc = gen_json(&products);
        match (parse(&doc), model_refusal(&products)) {
            (Ok(parsed), None) => check_round_trip(&products, &parsed)?,
            (Err(DomainError::InvalidRequest(m)), Some((path, fragment))) => {
                prop_assert!(m.starts_with("products["), "{}", m);
                prop_assert!(m.starts_with(&format!("{path}: ")), "expected {:?}, got {:?}", path, m);
                prop_assert!(m.contains(fragment), "expected {:?} in {:?}", fragment, m);
            }
            (got, expected) => prop_assert!(false, "expected {:?}, got {:?} for {}", expected, got, doc),
        }
    }
}

#[test]
fn deep_nesting_and_invalid_utf8_are_refused_without_overflow() {
    let not_json = |doc: &[u8]| -> String {
        match parse_catalog(doc, &market) {
            Err(DomainError::InvalidRequest(m)) => m,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    };
    let deep = |open: &str, n: usize| open.repeat(n).into_bytes();
    let wrap = |prefix: &str, inner: Vec<u8>, suffix: &str| [prefix.as_bytes(), &inner, suffix.as_bytes()].concat();
    for doc in [
        deep("[", 10_000),
        [deep("[", 10_000), deep("]", 10_000)].concat(),
        deep("{\"a\":", 10_000),
        wrap("{\"products\":", deep("[", 10_000), ""),
        wrap("{\"products\":[{\"id\":\"A\",\"x\":", [deep("[", 10_000), deep("]", 10_000)].concat(), "}]}"),
        wrap("{\"products\":[{\"id\":\"A\",\"x\":", deep("{\"a\":", 100_000), ""),
    ] {
        let m = not_json(&doc);
        assert!(m.starts_with("catalog: not a valid JSON document (recursion limit exceeded"), "{m}");
    }
    // Just inside serde_json's limit of 128: parsed, then refused for its shape.
    let inner = [deep("[", 125), deep("]", 125)].concat();
    assert_eq!(not_json(&wrap("{\"products\":[", inner, "]}")), "products[0]: expected an object");
    for doc in [
        &b"{\"products\":[{\"id\":\"\xff\"}]}"[..],
        b"\xef\xbb\xbf{\"products\":[]}",
        b"{\"products\":[{\"id\":\"\\ud800\"}]}",
        b"{\"products\":[]}\x00",
        b"\xc3",
        b"",
    ] {
        assert!(not_json(doc).starts_with("catalog: not a valid JSON document"), "{doc:?}");
    }
    let huge = json!({"products": [{"id": "A", "title": "x".repeat(1_000_000)}]}).to_string();
    assert!(not_json(huge.as_bytes()).starts_with("products[0] (A).title: must be at most 256 characters"));
}
