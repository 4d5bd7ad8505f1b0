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
}
