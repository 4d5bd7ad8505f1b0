//! Activation key lists as the publisher sends them: one key per line, or the first column of a CSV.

use crate::error::DomainError;
use crate::ids::PartnerId;
use crate::operator::{NewOperatorRecord, OperatorOperation};
use crate::timestamp::Timestamp;

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 256;

/// Parses a key file: blank lines and a `key` header are skipped; with commas, the first field is the key.
pub fn parse_key_file(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split(',').next().unwrap_or("").trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case("key"))
        .collect()
}

/// Validates a batch: 1 to 100,000 keys of visible ASCII, no key twice in the batch.
pub fn validate_keys(keys: &[String]) -> Result<(), DomainError> {
    if keys.is_empty() || keys.len() > 100_000 {
        return Err(DomainError::invalid("keys", "give 1 to 100000 keys"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if k.is_empty() || k.len() > MAX_KEY_CHARS || !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                &format!("keys[{i}]"),
                format!("a key is 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            ));
        }
        if !seen.insert(k.as_str()) {
            return Err(DomainError::invalid(&format!("keys[{i}]"), "appears twice in this batch"));
        }
    }
    Ok(())
}

/// The highest low-stock threshold accepted.
pub const MAX_THRESHOLD: i64 = 1_000_000;

/// A SKU's keys: in stock (not sold), assigned to an active item, revoked (assigned to a cancelled item), and the
/// publisher's low-stock threshold with when the stock last went to or below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStock {
    pub product_id: String,
    pub sku_id: String,
    pub in_stock: i64,
    pub assigned: i64,
    pub revoked: i64,
    pub threshold: Option<i64>,
    pub low_since: Option<Timestamp>,
}

impl KeyStock {
    pub fn empty(product_id: &str, sku_id: &str) -> KeyStock {
        KeyStock {
            product_id: product_id.to_string(),
            sku_id: sku_id.to_string(),
            in_stock: 0,
            assigned: 0,
            revoked: 0,
            threshold: None,
            low_since: None,
        }
    }

    /// Low: at or below its threshold (the next checkouts may fail with `insufficient_key_stock`).
    pub fn is_low(&self) -> bool {
        self.threshold.is_some_and(|t| is_low(self.in_stock, t))
    }
}

/// The rule: stock at or below the threshold is low.
pub fn is_low(in_stock: i64, threshold: i64) -> bool {
    in_stock <= threshold
}

/// A threshold as the publisher sets it: 0 to [`MAX_THRESHOLD`] keys, or none.
pub fn validate_threshold(threshold: Option<i64>) -> Result<Option<i64>, DomainError> {
    match threshold {
        Some(t) if !(0..=MAX_THRESHOLD).contains(&t) => {
            Err(DomainError::invalid("threshold", format!("give a number of keys from 0 to {MAX_THRESHOLD}, or null")))
        }
        t => Ok(t),
    }
}

/// Who the operator log names for a crossing found by a checkout (no operator acted).
pub const STOCK_WATCH_PRINCIPAL: &str = "key stock (system)";

/// The `key_stock_low` record: written once when a SKU's stock goes to or below its threshold (by a checkout, or
/// when a threshold is set above the stock), and sent as the operator webhook of that name.
pub fn stock_low_record(
    product_id: &str,
    sku_id: &str,
    in_stock: i64,
    threshold: i64,
    at: Timestamp,
    partner: Option<PartnerId>,
) -> NewOperatorRecord {
    let mut r = NewOperatorRecord::new(OperatorOperation::KeyStockLow, None, STOCK_WATCH_PRINCIPAL, at)
        .data("productId", product_id)
        .data("skuId", sku_id)
        .data("available", in_stock.to_string())
        .data("threshold", threshold.to_string());
    r.partner_id = partner;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_is_at_or_below_the_threshold() {
        let mut s = KeyStock::empty("P", "S");
        assert!(!s.is_low(), "no threshold, never low");
        s.threshold = Some(5);
        s.in_stock = 6;
        assert!(!s.is_low());
        s.in_stock = 5;
        assert!(s.is_low());
        assert_eq!(validate_threshold(Some(0)), Ok(Some(0)));
        assert_eq!(validate_threshold(None), Ok(None));
        assert!(validate_threshold(Some(-1)).is_err());
        assert!(validate_threshold(Some(MAX_THRESHOLD + 1)).is_err());
        let r = stock_low_record("P", "S", 5, 5, Timestamp::from_micros(0), None);
        assert_eq!(r.operation, OperatorOperation::KeyStockLow);
        assert_eq!(r.data[2], ("available".to_string(), "5".to_string()));
    }

    #[test]
    fn key_files_and_batches() {
        let keys = parse_key_file("key,note\nAAAAA-BBBBB,first\n\n  CCCCC-DDDDD  \n\"EEEEE\"\n");
        assert_eq!(keys, ["AAAAA-BBBBB", "CCCCC-DDDDD", "EEEEE"]);
        assert!(validate_keys(&keys).is_ok());
        assert!(validate_keys(&[]).is_err());
        assert!(validate_keys(&["A B".into()]).is_err());
        let dup = validate_keys(&["X".into(), "Y".into(), "X".into()]).unwrap_err();
        assert!(dup.to_string().starts_with("keys[2]"), "{dup}");
    }

    // ---- Hostile input (property tests) ----

    use proptest::prelude::*;

    /// The documented rule for one line: the first comma-separated field, trimmed, outer quotes removed;
    /// blank and `key` header lines are skipped.
    fn model_key(line: &str) -> Option<String> {
        let first = match line.find(',') {
            Some(i) => &line[..i],
            None => line,
        };
        let k = first.trim().trim_start_matches('"').trim_end_matches('"');
        (!k.is_empty() && !k.eq_ignore_ascii_case("key")).then(|| k.to_string())
    }

    /// The documented batch rule: the index of the first key that is not 1 to 256 visible ASCII characters or
    /// repeats an earlier one.
    fn first_bad(keys: &[String]) -> Option<usize> {
        (0..keys.len()).find(|&i| {
            let k = &keys[i];
            k.is_empty() || k.len() > MAX_KEY_CHARS || !k.chars().all(|c| c.is_ascii_graphic()) || keys[..i].contains(k)
        })
    }

    /// Runs the pair on a file and checks the outcome against the rules.
    fn check_file(text: &str) -> Result<Vec<String>, TestCaseError> {
        let keys = parse_key_file(text);
        for k in &keys {
            prop_assert!(!k.is_empty() && !k.contains(['\n', ',']), "{:?}", k);
            prop_assert!(!k.eq_ignore_ascii_case("key"));
        }
        match (validate_keys(&keys), first_bad(&keys)) {
            (Ok(()), None) => {
                prop_assert!(!keys.is_empty());
                let mut seen = std::collections::HashSet::new();
                for k in &keys {
                    prop_assert_eq!(k.trim(), k.as_str());
                    prop_assert!(!k.chars().any(|c| c.is_control() || !c.is_ascii()), "{:?}", k);
                    prop_assert!(k.len() <= MAX_KEY_CHARS);
                    prop_assert!(seen.insert(k.as_str()), "{:?} twice", k);
                }
            }
            (Err(DomainError::InvalidRequest(m)), _) if keys.is_empty() => {
                prop_assert!(m.starts_with("keys: "), "{}", m);
            }
            (Err(DomainError::InvalidRequest(m)), Some(i)) => {
                prop_assert!(m.starts_with(&format!("keys[{i}]: ")), "{} for {:?}", m, keys);
            }
            (other, bad) => prop_assert!(false, "{:?} (first bad key {:?}) for {:?}", other, bad, keys),
        }
        Ok(keys)
    }

    const HOSTILE: [&str; 12] = [
        "\u{0}",
        "\u{7f}",
        "\u{1b}[2J",
        "\u{202E}",
        "\u{2066}",
        "\u{feff}",
        "\u{a0}",
        "\t",
        "\r",
        "é",
        "Ｋ",
        "\u{200b}",
    ];

    /// One line of a key file: keys, headers, notes, quotes, padding and hostile characters.
    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            6 => "[A-Z0-9]{5}(-[A-Z0-9]{5}){0,4}",
            2 => "[!-~]{1,12}",
            1 => proptest::sample::select(vec!["key", "KEY", "Key", "A", "B", "AAAAA-BBBBB"]).prop_map(String::from),
            1 => ("[A-Z]{0,4}", proptest::sample::select(HOSTILE.to_vec()), "[A-Z]{0,4}")
                .prop_map(|(a, h, b)| format!("{a}{h}{b}")),
            1 => (255_usize..259).prop_map(|n| "K".repeat(n)),
            1 => Just(String::new()),
        ];
        let pad = proptest::sample::select(vec!["", "", " ", "  ", "\t", "\u{3000}", "\u{a0}"]);
        (pad.clone(), any::<bool>(), key, any::<bool>(), pad, proptest::option::of("[ -~]{0,10}")).prop_map(
            |(before, quoted, key, inner_pad, after, note)| {
                let key = if inner_pad { format!(" {key}") } else { key };
                let key = if quoted { format!("\"{key}\"") } else { key };
                match note {
                    Some(n) => format!("{before}{key}{after},{n}"),
                    None => format!("{before}{key}{after}"),
                }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn arbitrary_key_files_never_panic(text in prop_oneof![
            any::<String>(),
            "[\\x00-\\x1F\\x7F ,\"a-zA-Z0-9\\u{202A}-\\u{202E}\\u{2066}-\\u{2069}\\u{feff}-]{0,200}",
        ]) {
            let keys = check_file(&text)?;
            prop_assert_eq!(keys, text.lines().filter_map(model_key).collect::<Vec<_>>());
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_key_files_follow_the_rules(
            lines in proptest::collection::vec(line(), 0..40),
            header in any::<bool>(),
            crlf in any::<bool>(),
            trailing_newline in any::<bool>(),
        ) {
            let mut all = Vec::new();
            if header {
                all.push("key,note".to_string());
            }
            all.extend(lines);
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut text = all.join(newline);
            if trailing_newline {
                text.push_str(newline);
            }
            let keys = check_file(&text)?;
            prop_assert_eq!(keys, all.iter().filter_map(|l| model_key(l)).collect::<Vec<_>>());
        }

        #[test]
        fn batches_of_arbitrary_keys_are_checked(keys in proptest::collection::vec(
            prop_oneof![any::<String>(), "[!-~]{1,3}", (250_usize..260).prop_map(|n| "Z".repeat(n))],
            0..20,
        )) {
            match (validate_keys(&keys), first_bad(&keys)) {
                (Ok(()), None) => prop_assert!(!keys.is_empty()),
                (Err(e), _) if keys.is_empty() => prop_assert!(e.to_string().starts_with("keys: ")),
                (Err(DomainError::InvalidRequest(m)), Some(i)) => {
                    prop_assert!(m.starts_with(&format!("keys[{i}]: ")), "{}", m)
                }
                (other, bad) => prop_assert!(false, "{:?} (first bad key {:?}) for {:?}", other, bad, keys),
            }
        }
    }

    #[test]
    fn batch_size_limits() {
        let many: Vec<String> = (0..100_001).map(|i| format!("K{i}")).collect();
        assert!(validate_keys(&many[..100_000]).is_ok());
        let e = validate_keys(&many).unwrap_err();
        assert_eq!(e.error_name(), "invalid_request");
        assert!(e.to_string().starts_with("keys: "), "{e}");
        let text = "\u{0}\n".repeat(1_000) + &"K".repeat(1_000_000);
        let keys = parse_key_file(&text);
        assert_eq!(keys.len(), 1_001);
        assert!(validate_keys(&keys).unwrap_err().to_string().starts_with("keys[0]: "));
    }
}
