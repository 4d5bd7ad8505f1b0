//! Partner Center's list filters: URL-encoded JSON `{"Field": …, "Value": …, "Operator": …}`.

use crate::error::DomainError;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOperator {
    StartsWith,
    Substring,
    Equals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerField {
    CompanyName,
    Domain,
    TenantId,
}

/// A customer search (R3); `value` is already case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFilter {
    pub field: CustomerField,
    pub operator: FilterOperator,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditField {
    CustomerId,
    CompanyName,
    ResourceType,
    OperationType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub field: AuditField,
    pub operator: FilterOperator,
    pub value: String,
}

#[derive(Deserialize)]
struct RawFilter {
    #[serde(rename = "Field", alias = "field")]
    field: String,
    #[serde(rename = "Value", alias = "value")]
    value: serde_json::Value,
    #[serde(rename = "Operator", alias = "operator", default)]
    operator: Option<String>,
}

const MAX_VALUE: usize = 256;

fn parse_raw(s: &str) -> Result<(String, FilterOperator, String), DomainError> {
    let raw: RawFilter = serde_json::from_str(s).map_err(|e| {
        DomainError::invalid("filter", format!("expected {{\"Field\", \"Value\", \"Operator\"}} as JSON ({e})"))
    })?;
    let operator = match raw.operator.as_deref() {
        None | Some("equals") => FilterOperator::Equals,
        Some("starts_with") => FilterOperator::StartsWith,
        Some("substring") => FilterOperator::Substring,
        Some(other) => {
            return Err(DomainError::invalid(
                "filter.Operator",
                format!("'{other}' is not one of starts_with, substring, equals"),
            ))
        }
    };
    let value = match raw.value {
        serde_json::Value::String(s) => s,
        _ => return Err(DomainError::invalid("filter.Value", "must be a string")),
    };
    let value = crate::customer::fold(&value);
    if value.is_empty() || value.chars().count() > MAX_VALUE {
        return Err(DomainError::invalid("filter.Value", format!("must have 1 to {MAX_VALUE} characters")));
    }
    Ok((raw.field, operator, value))
}

impl CustomerFilter {
    pub fn parse(s: &str) -> Result<CustomerFilter, DomainError> {
        let (field, operator, value) = parse_raw(s)?;
        let field = match field.as_str() {
            "CompanyName" => CustomerField::CompanyName,
            "Domain" => CustomerField::Domain,
            "TenantId" => CustomerField::TenantId,
            other => {
                return Err(DomainError::invalid(
                    "filter.Field",
                    format!("'{other}' is not one of CompanyName, Domain, TenantId"),
                ))
            }
        };
        Ok(CustomerFilter { field, operator, value })
    }
}

impl AuditFilter {
    pub fn parse(s: &str) -> Result<AuditFilter, DomainError> {
        let (field, operator, value) = parse_raw(s)?;
        let field = match field.as_str() {
            "CustomerId" => AuditField::CustomerId,
            "CompanyName" => AuditField::CompanyName,
            "ResourceType" => AuditField::ResourceType,
            "OperationType" => AuditField::OperationType,
            other => {
                return Err(DomainError::invalid(
                    "filter.Field",
                    format!("'{other}' is not one of CustomerId, CompanyName, ResourceType, OperationType"),
                ))
            }
        };
        Ok(AuditFilter { field, operator, value })
    }
}

/// A SQL `LIKE` pattern for the operator, with `\` escaping the wildcards in the value.
pub fn like_pattern(operator: FilterOperator, folded_value: &str) -> String {
    let escaped = folded_value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    match operator {
        FilterOperator::Equals => escaped,
        FilterOperator::StartsWith => format!("{escaped}%"),
        FilterOperator::Substring => format!("%{escaped}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partner_center_filters() {
        let f = CustomerFilter::parse(r#"{"Field":"CompanyName","Value":"ConTo","Operator":"starts_with"}"#).unwrap();
        assert_eq!(
            f,
            CustomerFilter {
                field: CustomerField::CompanyName,
                operator: FilterOperator::StartsWith,
                value: "conto".into()
            }
        );
        let f = CustomerFilter::parse(r#"{"Field":"Domain","Value":"x.com"}"#).unwrap();
        assert_eq!(f.operator, FilterOperator::Equals);
    }

    #[test]
    fn junk_is_refused_with_the_field() {
        for (input, field) in [
            ("not json", "filter"),
            (r#"{"Field":"Nope","Value":"x"}"#, "filter.Field"),
            (r#"{"Field":"Domain","Value":"x","Operator":"like"}"#, "filter.Operator"),
            (r#"{"Field":"Domain","Value":3}"#, "filter.Value"),
            (r#"{"Field":"Domain","Value":"  "}"#, "filter.Value"),
        ] {
            match CustomerFilter::parse(input) {
                Err(DomainError::InvalidRequest(m)) => {
                    assert!(m.starts_with(field), "{input}: {m}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern(FilterOperator::Substring, "50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern(FilterOperator::StartsWith, "a"), "a%");
        assert_eq!(like_pattern(FilterOperator::Equals, "a"), "a");
    }

    // ---- Hostile input (property tests) ----

    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    /// What either parser must do with one input: the refused field's prefix, or the accepted triple.
    #[derive(Debug, PartialEq)]
    enum Outcome {
        Refused(&'static str),
        Accepted(String, FilterOperator, String),
    }

    fn outcome<T>(r: Result<T, DomainError>, ok: impl FnOnce(T) -> (String, FilterOperator, String)) -> Outcome {
        match r {
            Ok(t) => {
                let (f, o, v) = ok(t);
                Outcome::Accepted(f, o, v)
            }
            Err(DomainError::InvalidRequest(m)) => {
                for field in ["filter.Field", "filter.Value", "filter.Operator", "filter"] {
                    if m.starts_with(&format!("{field}: ")) {
                        return Outcome::Refused(field);
                    }
                }
                panic!("an invalid_request that names no filter field: {m:?}")
            }
            Err(other) => panic!("expected invalid_request, got {other:?}"),
        }
    }

    fn customer(s: &str) -> Outcome {
        outcome(CustomerFilter::parse(s), |f| (format!("{:?}", f.field), f.operator, f.value))
    }

    fn audit(s: &str) -> Outcome {
        outcome(AuditFilter::parse(s), |f| (format!("{:?}", f.field), f.operator, f.value))
    }

    /// Checks an accepted value: folded, 1 to 256 characters.
    fn check_accepted(o: &Outcome) -> Result<(), TestCaseError> {
        if let Outcome::Accepted(_, _, v) = o {
            prop_assert_eq!(v, &crate::customer::fold(v));
            prop_assert!(!v.is_empty() && v.chars().count() <= MAX_VALUE, "{:?}", v);
        }
        Ok(())
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        AnyRun,
        AnyOne,
    }

    /// How a database reads a `LIKE … ESCAPE '\'` pattern; `None` for a dangling escape.
    fn read_like(pattern: &str) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            out.push(match c {
                '\\' => Tok::Lit(chars.next()?),
                '%' => Tok::AnyRun,
                '_' => Tok::AnyOne,
                c => Tok::Lit(c),
            });
        }
        Some(out)
    }

    const INJECTIONS: [&str; 16] = [
        "' OR 1=1 --",
        "' or '1'='1",
        "%",
        "_",
        "\\",
        "\\%",
        "%%__\\\\",
        "\"; DROP TABLE customers; --",
        "'; DELETE FROM audit_records WHERE '' = '",
        "1; SELECT * FROM users",
        "\u{0}",
        "a\u{0}b",
        "\u{202E}moc.osotnoc",
        "\u{2066}x\u{2069}",
        "\u{1b}[31mred",
        "*/ UNION SELECT password FROM users /*",
    ];

    /// Strings a caller might use to break out of a query or a terminal.
    fn hostile_string() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => any::<String>(),
            2 => proptest::sample::select(INJECTIONS.to_vec()).prop_map(String::from),
            2 => "[\\x00-\\x1F\\x7F'\"%_\\\\;=*/ a-zA-Z0-9\\u{200E}\\u{200F}\\u{202A}-\\u{202E}\\u{2066}-\\u{2069}İẞ-]{0,40}",
            1 => (250_usize..270).prop_map(|n| "ab%".repeat(n / 3 + 1)[..n].to_string()),
            1 => (0_usize..300).prop_map(|n| "\u{130}".repeat(n)),
        ]
    }

    /// Any JSON value, with hostile strings at the leaves.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            hostile_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(hostile_string(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[derive(Debug, Clone)]
    enum Member {
        Absent,
        Present(Value),
    }

    fn member_of(names: &'static [&'static str]) -> impl Strategy<Value = Member> {
        prop_oneof![
            1 => Just(Member::Absent),
            4 => proptest::sample::select(names.to_vec()).prop_map(|s| Member::Present(json!(s))),
            2 => hostile_string().prop_map(|s| Member::Present(json!(s))),
            1 => any_json().prop_map(Member::Present),
        ]
    }

    const FIELDS: &[&str] =
        &["CompanyName", "Domain", "TenantId", "CustomerId", "ResourceType", "OperationType", "companyname"];
    const OPERATORS: &[&str] = &["starts_with", "substring", "equals", "Equals", "like", ""];

    /// The expected outcome of a JSON-shaped filter, from the documented rules and their order.
    fn expected(field: &Member, value: &Member, operator: &Member, known: &[&str]) -> Outcome {
        let (Member::Present(field), Member::Present(value)) = (field, value) else {
            return Outcome::Refused("filter");
        };
        let Some(field) = field.as_str() else { return Outcome::Refused("filter") };
        let operator = match operator {
            Member::Absent | Member::Present(Value::Null) => FilterOperator::Equals,
            Member::Present(Value::String(s)) => match s.as_str() {
                "equals" => FilterOperator::Equals,
                "starts_with" => FilterOperator::StartsWith,
                "substring" => FilterOperator::Substring,
                _ => return Outcome::Refused("filter.Operator"),
            },
            Member::Present(_) => return Outcome::Refused("filter"),
        };
        let Some(value) = value.as_str() else { return Outcome::Refused("filter.Value") };
        let folded = value.trim().to_lowercase();
        if folded.is_empty() || folded.chars().count() > 256 {
            return Outcome::Refused("filter.Value");
        }
        if !known.contains(&field) {
            return Outcome::Refused("filter.Field");
        }
        Outcome::Accepted(field.to_string(), operator, folded)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn arbitrary_strings_never_panic(s in prop_oneof![any::<String>(), hostile_string()]) {
            let (c, a) = (customer(&s), audit(&s));
            check_accepted(&c)?;
            check_accepted(&a)?;
        }

        #[test]
        fn json_shaped_filters_follow_the_rules(
            field in member_of(FIELDS),
            value in prop_oneof![
                1 => Just(Member::Absent),
                6 => hostile_string().prop_map(|s| Member::Present(json!(s))),
                2 => any_json().prop_map(Member::Present),
            ],
            operator in member_of(OPERATORS),
            lower_case_keys in any::<bool>(),
        ) {
            let mut obj = Map::new();
            let names = if lower_case_keys { ["field", "value", "operator"] } else { ["Field", "Value", "Operator"] };
            for (name, m) in names.into_iter().zip([&field, &value, &operator]) {
                if let Member::Present(v) = m {
                    obj.insert(name.to_string(), v.clone());
                }
            }
            let s = Value::Object(obj).to_string();
            let c = customer(&s);
            let a = audit(&s);
            prop_assert_eq!(&c, &expected(&field, &value, &operator, &["CompanyName", "Domain", "TenantId"]), "{}", s);
            prop_assert_eq!(
                &a,
                &expected(&field, &value, &operator, &["CustomerId", "CompanyName", "ResourceType", "OperationType"]),
                "{}",
                s
            );
        }

        #[test]
        fn injection_attempts_are_literal_values(
            prefix in "[a-z0-9 ]{0,8}",
            attack in proptest::sample::select(INJECTIONS.to_vec()),
            suffix in "[a-zA-Z0-9 %_\\\\']{0,8}",
            operator in proptest::sample::select(vec!["starts_with", "substring", "equals"]),
        ) {
            let raw = format!("{prefix}{attack}{suffix}");
            let s = json!({"Field": "CompanyName", "Value": raw, "Operator": operator}).to_string();
            let f = CustomerFilter::parse(&s);
            let folded = crate::customer::fold(&raw);
            if folded.is_empty() {
                prop_assert!(f.unwrap_err().to_string().starts_with("filter.Value: "));
            } else {
                let f = f.unwrap();
                prop_assert_eq!(&f.value, &folded);
                let toks = read_like(&like_pattern(f.operator, &f.value)).unwrap();
                let lit: Vec<Tok> = folded.chars().map(Tok::Lit).collect();
                let want = match f.operator {
                    FilterOperator::Equals => lit,
                    FilterOperator::StartsWith => [lit, vec![Tok::AnyRun]].concat(),
                    FilterOperator::Substring => [vec![Tok::AnyRun], lit, vec![Tok::AnyRun]].concat(),
                };
                prop_assert_eq!(toks, want);
            }
        }

        #[test]
        fn like_patterns_only_have_the_operators_wildcards(value in hostile_string()) {
            for (operator, lead, tail) in [
                (FilterOperator::Equals, 0, 0),
                (FilterOperator::StartsWith, 0, 1),
                (FilterOperator::Substring, 1, 1),
            ] {
                let pattern = like_pattern(operator, &value);
                let toks = read_like(&pattern);
                prop_assert!(toks.is_some(), "dangling escape in {:?}", pattern);
                let toks = toks.unwrap();
                prop_assert_eq!(toks.len(), value.chars().count() + lead + tail);
                prop_assert!(toks[..lead].iter().chain(&toks[toks.len() - tail..]).all(|t| *t == Tok::AnyRun));
                let inner: String = toks[lead..toks.len() - tail]
                    .iter()
                    .map(|t| match t {
                        Tok::Lit(c) => Ok(*c),
                        wildcard => Err(*wildcard),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|w| TestCaseError::fail(format!("{w:?} from {value:?}")))?;
                prop_assert_eq!(inner, value.clone());
            }
        }
    }

    #[test]
    fn deeply_nested_and_huge_filters_are_refused() {
        let deep = |open: &str, n: usize| open.repeat(n);
        for input in [
            deep("[", 10_000),
            deep("{\"Field\":", 10_000),
            format!("{{\"Field\":\"Domain\",\"Value\":{}", deep("[", 10_000)),
            format!("{{\"Field\":\"Domain\",\"Value\":{}1{}}}", deep("[", 10_000), deep("]", 10_000)),
            format!("{{\"Field\":\"Domain\",\"Value\":{}", deep("{\"a\":", 10_000)),
            // Unknown members are skipped without recursion; the unclosed one still fails cleanly.
            format!("{{\"Field\":\"Domain\",\"Value\":\"x\",\"Extra\":{}1{}}}", deep("[", 10_000), deep("]", 10_000)),
            format!("{{\"Field\":\"Domain\",\"Value\":\"x\",\"Extra\":{}", deep("[", 10_000)),
        ] {
            for o in [customer(&input), audit(&input)] {
                assert!(matches!(o, Outcome::Refused(_) | Outcome::Accepted(..)), "{o:?}");
            }
        }
        let skipped =
            format!("{{\"Field\":\"Domain\",\"Value\":\"x\",\"Extra\":{}1{}}}", deep("[", 10_000), deep("]", 10_000));
        assert_eq!(customer(&skipped), Outcome::Accepted("Domain".into(), FilterOperator::Equals, "x".into()));
        let nested = format!("{{\"Field\":\"Domain\",\"Value\":{}1{}}}", deep("[", 10_000), deep("]", 10_000));
        match CustomerFilter::parse(&nested) {
            Err(DomainError::InvalidRequest(m)) => assert!(m.contains("recursion limit exceeded"), "{m}"),
            other => panic!("{other:?}"),
        }
        for n in [257, 10_000, 1_000_000] {
            let s = json!({"Field": "Domain", "Value": "a".repeat(n)}).to_string();
            assert_eq!(customer(&s), Outcome::Refused("filter.Value"), "{n}");
        }
        let s = json!({"Field": "Domain", "Value": "a".repeat(256)}).to_string();
        assert!(matches!(customer(&s), Outcome::Accepted(..)));
        let s = json!({"Field": "x".repeat(1_000_000), "Value": "a"}).to_string();
        assert_eq!(customer(&s), Outcome::Refused("filter.Field"));
    }
}
