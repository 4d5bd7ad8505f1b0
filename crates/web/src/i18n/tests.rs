//! The catalogs stay complete: every key a template or handler uses is in every catalog, every catalog has the
//! same keys, and no catalog keeps a key nothing uses. Keys built at run time (`term-<code>`, `role-about-<role>`,
//! `topic-<code>`, `month-<n>`, `currency-<code>`) are checked as families against the domain's lists; an activity
//! record's `detail-<key>` names are optional (a key without one is written as words from its name), so they are
//! held only to being the same in every catalog.

use super::*;
use std::collections::BTreeSet;
use std::path::Path;

fn catalog_keys(locale: Locale) -> BTreeSet<String> {
    let (_, source) = LANGUAGES[locale.0];
    let resource = FluentResource::try_new(source.to_string()).expect("parses");
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

fn files(dir: &Path, ext: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(std::fs::read_to_string(&path).expect("utf-8"));
        }
    }
}

/// Every literal key: `"key"|t`, `"key"|t1(…)` in templates; `tr!("key"…)` in Rust.
fn used_keys() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut templates = Vec::new();
    files(&root.join("templates"), "html", &mut templates);
    let mut rust = Vec::new();
    files(&root.join("src"), "rs", &mut rust);
    let mut keys = BTreeSet::new();
    let key_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    for text in &templates {
        for (i, _) in text.match_indices("\"|t") {
            let after = text[i + 3..].chars().next();
            if after.is_some_and(|c| c.is_ascii_alphabetic()) {
                continue; // another filter, such as `|term`
            }
            let start = text[..i].rfind('"').expect("opening quote") + 1;
            keys.insert(text[start..i].to_string());
        }
    }
    for text in &rust {
        for (i, _) in text.match_indices("tr!(") {
            let Some(rest) = text[i + 4..].trim_start().strip_prefix('"') else { continue };
            let end = rest.find('"').expect("closing quote");
            let key = &rest[..end];
            if key != "key" && key.chars().all(key_char) {
                keys.insert(key.to_string());
            }
        }
    }
    // Used by this module itself.
    keys.insert("language-name".into());
    keys
}

/// The keys made at run time, from the domain's own lists.
fn family_keys() -> BTreeSet<String> {
    use domain::audit::OperationType;
    use domain::ledger::LedgerKind;
    use domain::order::{LineStatus, OrderStatus};
    use domain::role::Role;
    use domain::support::{RequestStatus, Severity, TOPICS};
    use domain::webhook::DeliveryStatus;
    let mut codes: Vec<&str> = Vec::new();
    codes.extend(Role::ALL.iter().map(|r| r.as_str()));
    codes.extend(OperationType::ALL.iter().map(|o| o.as_str()));
    codes.push(domain::webhook::TEST_EVENT);
    codes.extend([LineStatus::Active, LineStatus::Cancelled].map(LineStatus::as_str));
    codes.extend([OrderStatus::Completed, OrderStatus::Cancelled].map(OrderStatus::as_str));
    codes.extend(RequestStatus::ALL.iter().map(|s| s.as_str()));
    codes.extend(
        [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Failed].map(DeliveryStatus::as_str),
    );
    codes.extend(LedgerKind::ALL.iter().map(|k| k.as_str()));
    codes.extend(Severity::ALL.iter().map(|s| s.as_str()));
    codes.extend(domain::catalog::ProductType::ALL.iter().map(|t| t.as_str()));
    // The console's: operator roles and what the operator log records.
    codes.extend(domain::operator::OperatorRole::ALL.iter().map(|r| r.as_str()));
    codes.extend(domain::operator::OperatorOperation::ALL.iter().map(|o| o.as_str()));
    {
        use domain::pricelist::VersionStatus;
        codes.extend(
            [VersionStatus::Draft, VersionStatus::Scheduled, VersionStatus::Active, VersionStatus::Superseded]
                .map(VersionStatus::as_str),
        );
    }
    let mut keys: BTreeSet<String> = codes.iter().map(|c| format!("term-{}", c.replace('.', "-"))).collect();
    keys.extend(Role::ALL.iter().map(|r| format!("role-about-{}", r.as_str())));
    keys.extend(TOPICS.iter().map(|t| format!("topic-{}", t.code)));
    keys.extend((1..=12).map(|m| format!("month-{m}")));
    keys.extend(crate::ui::format::SYMBOLS.iter().map(|c| format!("currency-{c}")));
    keys
}

#[test]
fn every_catalog_has_the_same_keys() {
    let default = catalog_keys(Locale::DEFAULT);
    assert!(default.len() > 300, "the English catalog has {} keys", default.len());
    for locale in Locale::all() {
        let keys = catalog_keys(locale);
        let missing: Vec<_> = default.difference(&keys).collect();
        let extra: Vec<_> = keys.difference(&default).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, extra {extra:?}", locale.tag());
    }
}

#[test]
fn every_key_used_is_in_every_catalog() {
    let used: BTreeSet<String> = used_keys().union(&family_keys()).cloned().collect();
    assert!(used.len() > 300, "found only {} keys in use: is the scan still finding them?", used.len());
    for locale in Locale::all() {
        let keys = catalog_keys(locale);
        let missing: Vec<_> = used.difference(&keys).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", locale.tag());
    }
}

#[test]
fn no_catalog_keeps_a_key_nothing_uses() {
    let used: BTreeSet<String> = used_keys().union(&family_keys()).cloned().collect();
    // An activity record's detail keys come from the records themselves: any may appear, none must.
    let unused: Vec<_> =
        catalog_keys(Locale::DEFAULT).into_iter().filter(|k| !used.contains(k) && !k.starts_with("detail-")).collect();
    assert!(unused.is_empty(), "keys nothing uses: {unused:?}");
}

#[test]
fn every_message_formats_in_every_language() {
    let mut args = FluentArgs::new();
    for name in ["n", "lines", "left", "days", "line", "seconds", "max", "shown", "more"] {
        args.set(name, FluentValue::from(2));
    }
    for locale in Locale::all() {
        let bundle = &BUNDLES[locale.0];
        for key in catalog_keys(locale) {
            let pattern = bundle.get_message(&key).and_then(|m| m.value()).expect("a value");
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
            assert!(!text.trim().is_empty(), "{} {key} is empty", locale.tag());
            // Only unknown variables may be reported (the test does not know every message's variables).
            assert!(
                errors.iter().all(|e| matches!(
                    e,
                    fluent_bundle::FluentError::ResolverError(fluent_bundle::resolver::ResolverError::Reference(_))
                )),
                "{} {key}: {errors:?}",
                locale.tag()
            );
        }
    }
}

#[test]
fn plurals_follow_each_language() {
    let en = Locale::parse("en").unwrap();
    let zh = Locale::parse("zh-TW").unwrap();
    let cart = |l, n: i64| {
        let mut args = FluentArgs::new();
        args.set("lines", FluentValue::from(n));
        message(l, "tab-cart", Some(&args))
    };
    assert_eq!(cart(en, 1), "Cart (1 line)");
    assert_eq!(cart(en, 3), "Cart (3 lines)");
    assert_eq!(cart(zh, 1), "購物車（1 項）");
    assert_eq!(cart(zh, 3), "購物車（3 項）");
}

#[test]
fn the_browser_s_languages_choose_by_weight_then_by_language() {
    let tag = |h: &str| Locale::from_accept_language(h).map(Locale::tag);
    assert_eq!(tag("zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7"), Some("zh-TW"));
    assert_eq!(tag("en-US,en;q=0.9,zh-TW;q=0.8"), Some("en"));
    assert_eq!(tag("fr-FR, zh-Hant-TW;q=0.5, en;q=0.4"), Some("zh-TW"));
    assert_eq!(tag("zh-HK"), Some("zh-TW"));
    assert_eq!(tag("en;q=0.2, zh-tw;q=0.9"), Some("zh-TW"));
    assert_eq!(tag("zh-TW;q=0, en"), Some("en"));
    assert_eq!(tag("fr, de"), None);
    assert_eq!(tag("*"), None);
    assert_eq!(tag(""), None);
    assert_eq!(Locale::parse("ZH-tw").map(Locale::tag), Some("zh-TW"));
    assert_eq!(Locale::parse("xx"), None);
}

#[test]
fn outside_a_request_the_pages_speak_english_and_a_scope_switches() {
    assert_eq!(current(), Locale::DEFAULT);
    assert_eq!(t("nav-customers"), "Customers");
    let zh = Locale::parse("zh-TW").unwrap();
    assert_eq!(sync_scope(zh, || t("nav-customers")), "客戶");
    assert_eq!(sync_scope(zh, || tr!("order-title", id = "42")), "訂單 42");
    // A key no catalog has shows as itself rather than failing the page.
    assert_eq!(t("no-such-key"), "no-such-key");
}

/// What a template says on its own, outside the catalogs: text between tags and the visible attributes
/// (`aria-label`, `placeholder`, `title`, `alt`, `data-confirm`), after removing every `{{ … }}` and `{% … %}`.
fn words_outside_the_catalogs(template: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut rest = template;
    while let Some(start) = rest.find(['{']) {
        plain.push_str(&rest[..start]);
        let after = &rest[start..];
        let close = match &after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                plain.push('{');
                rest = &after[1..];
                continue;
            }
        };
        let end = after.find(close).expect("a closed template tag") + 2;
        rest = &after[end..];
    }
    plain.push_str(rest);
    let mut found = Vec::new();
    let mut text = plain.as_str();
    while !text.is_empty() {
        let (before, tag) = match text.find('<') {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        found.push(before.to_string());
        let Some(end) = tag.find('>') else { break };
        let inside = &tag[..end];
        for attr in ["aria-label=\"", "placeholder=\"", "title=\"", "alt=\"", "data-confirm=\""] {
            if let Some(i) = inside.find(attr) {
                let value = &inside[i + attr.len()..];
                found.push(value[..value.find('"').unwrap_or(value.len())].to_string());
            }
        }
        text = &tag[end + 1..];
    }
    // Names and notations that read the same in every language.
    // Longest first, so that a short one does not cut a longer one.
    const SAME_EVERYWHERE: [&str; 8] = [
        "GET /v1/invoices/unbilled/lineitems",
        "https://hooks.example.com/partnerhub",
        "Partnerhub-Signature",
        "Partnerhub",
        "SHA-256",
        "GUID",
        "URL",
        "ms",
    ];
    found
        .into_iter()
        .flat_map(|t| {
            let mut t = t;
            for same in SAME_EVERYWHERE {
                t = t.replace(same, "");
            }
            (t.chars().any(|c| c.is_alphabetic())).then(|| t.trim().to_string())
        })
        .collect()
}

#[test]
fn templates_say_nothing_outside_the_catalogs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut found = Vec::new();
    // The dashboard's templates and, in `operator/`, the console's.
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for words in words_outside_the_catalogs(&text) {
                found.push(format!("{}: {words:?}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "words in templates rather than catalogs:\n{}", found.join("\n"));
    // The check finds what it looks for.
    let caught = words_outside_the_catalogs("<p title=\"Hello\">{{ \"k\"|t }} Save</p>");
    assert_eq!(caught, ["Hello", "Save"]);
}
