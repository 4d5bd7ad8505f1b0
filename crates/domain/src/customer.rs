//! Customers (R3): validation of what a partner sends, parsed once into values that are valid wherever they go.

use crate::error::DomainError;
use crate::ids::TenantId;
use crate::market::MarketCode;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// A customer's billing address. `country` decides the customer's market (R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub city: String,
    pub address_line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// A customer as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub tenant_id: TenantId,
    pub company_name: String,
    pub domain: String,
    pub billing_email: String,
    pub billing_company_name: String,
    pub address: Address,
    pub market: MarketCode,
    pub created_at: Timestamp,
    /// The customer's number within its partner, in commit order (0 until stored); lists page by it.
    pub position: i64,
}

/// The raw fields of a create request, before validation.
#[derive(Debug, Clone, Default)]
pub struct CustomerDraft {
    pub tenant_id: Option<String>,
    pub company_name: String,
    pub domain: String,
    pub billing_email: String,
    pub billing_company_name: Option<String>,
    pub address: Address,
}

const MAX_NAME: usize = 256;

impl CustomerDraft {
    /// Validates every field, naming the first one that is wrong (with its JSON path).
    pub fn validate(self, created_at: Timestamp) -> Result<Customer, DomainError> {
        let tenant_id = match self.tenant_id.as_deref().map(str::trim) {
            None | Some("") => TenantId::new(),
            Some(s) => {
                TenantId::parse(s).ok_or_else(|| DomainError::invalid("companyProfile.tenantId", "must be a GUID"))?
            }
        };
        let company_name = text("companyProfile.companyName", &self.company_name, MAX_NAME)?;
        let domain = parse_domain(&self.domain).map_err(|m| DomainError::invalid("companyProfile.domain", m))?;
        let billing_email =
            parse_email(&self.billing_email).map_err(|m| DomainError::invalid("billingProfile.email", m))?;
        let billing_company_name = match self.billing_company_name.as_deref() {
            Some(n) if !n.trim().is_empty() => text("billingProfile.companyName", n, MAX_NAME)?,
            _ => company_name.clone(),
        };
        let mut address = self.address;
        let market = MarketCode::parse(&address.country).ok_or_else(|| {
            DomainError::invalid(
                "billingProfile.defaultAddress.country",
                format!("'{}' is not an ISO 3166-1 alpha-2 country code", address.country),
            )
        })?;
        address.country = market.as_str().to_string();
        address.city = text("billingProfile.defaultAddress.city", &address.city, MAX_NAME)?;
        address.address_line1 = text("billingProfile.defaultAddress.addressLine1", &address.address_line1, MAX_NAME)?;
        for (field, value) in [
            ("region", &mut address.region),
            ("addressLine2", &mut address.address_line2),
            ("addressLine3", &mut address.address_line3),
            ("postalCode", &mut address.postal_code),
            ("firstName", &mut address.first_name),
            ("lastName", &mut address.last_name),
            ("phoneNumber", &mut address.phone_number),
        ] {
            if let Some(v) = value.take() {
                let v = v.trim().to_string();
                if v.chars().count() > MAX_NAME {
                    return Err(DomainError::invalid(
                        &format!("billingProfile.defaultAddress.{field}"),
                        format!("at most {MAX_NAME} characters"),
                    ));
                }
                *value = (!v.is_empty()).then_some(v);
            }
        }
        Ok(Customer {
            tenant_id,
            company_name,
            domain,
            billing_email,
            billing_company_name,
            address,
            market,
            created_at,
            position: 0,
        })
    }
}

fn text(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if v.chars().count() > max {
        return Err(DomainError::invalid(field, format!("at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// Case-folding used for every case-insensitive comparison, done in Rust so both databases agree.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A DNS name such as `contoso.onmicrosoft.com`, lower-cased.
pub fn parse_domain(s: &str) -> Result<String, &'static str> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() {
        return Err("is required");
    }
    if d.len() > 253 {
        return Err("at most 253 characters");
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a domain name such as contoso.onmicrosoft.com");
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err("each part between dots must have 1 to 63 characters");
        }
        if !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') || l.starts_with('-') || l.ends_with('-') {
            return Err("may only contain letters, digits and inner hyphens");
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must be a domain name, not an IP address");
    }
    Ok(d)
}

/// An e-mail address: a local part and a valid domain. The domain is lower-cased; the local part kept.
pub fn parse_email(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    let (local, domain) = s.rsplit_once('@').ok_or("must be an e-mail address")?;
    if local.is_empty() || local.len() > 64 {
        return Err("must be an e-mail address");
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '<' || c == '>') {
        return Err("must be an e-mail address");
    }
    let domain = parse_domain(domain).map_err(|_| "must be an e-mail address with a valid domain")?;
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> CustomerDraft {
        CustomerDraft {
            tenant_id: None,
            company_name: " Contoso Ltd ".into(),
            domain: "Contoso.OnMicrosoft.com".into(),
            billing_email: "billing@Contoso.com".into(),
            billing_company_name: None,
            address: Address {
                country: "au".into(),
                city: "Sydney".into(),
                address_line1: "1 George St".into(),
                postal_code: Some("2000".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn valid_draft_is_normalised() {
        let c = draft().validate(Timestamp::from_micros(0)).unwrap();
        assert_eq!(c.company_name, "Contoso Ltd");
        assert_eq!(c.domain, "contoso.onmicrosoft.com");
        assert_eq!(c.billing_email, "billing@contoso.com");
        assert_eq!(c.market.as_str(), "AU");
        assert_eq!(c.address.country, "AU");
        assert_eq!(c.billing_company_name, "Contoso Ltd");
    }

    #[test]
    fn errors_name_the_field() {
        type Mutation = Box<dyn Fn(&mut CustomerDraft)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|d| d.tenant_id = Some("not-a-guid".into())), "companyProfile.tenantId"),
            (Box::new(|d| d.company_name = "  ".into()), "companyProfile.companyName"),
            (Box::new(|d| d.domain = "localhost".into()), "companyProfile.domain"),
            (Box::new(|d| d.domain = "bad_domain.com".into()), "companyProfile.domain"),
            (Box::new(|d| d.billing_email = "nobody".into()), "billingProfile.email"),
            (Box::new(|d| d.address.country = "ZZ".into()), "billingProfile.defaultAddress.country"),
            (Box::new(|d| d.address.city = "".into()), "billingProfile.defaultAddress.city"),
        ];
        for (mutate, field) in cases {
            let mut d = draft();
            mutate(&mut d);
            match d.validate(Timestamp::from_micros(0)) {
                Err(DomainError::InvalidRequest(m)) => {
                    assert!(m.starts_with(field), "{m} should name {field}")
                }
                other => panic!("expected invalid {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn domains_and_emails() {
        assert_eq!(parse_domain("a.b"), Ok("a.b".into()));
        assert!(parse_domain("-a.com").is_err());
        assert!(parse_domain("10.0.0.1").is_err());
        assert!(parse_domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(parse_email("a b@c.com").is_err());
        assert!(parse_email("@c.com").is_err());
        assert_eq!(parse_email("X.Y@C.COM"), Ok("X.Y@c.com".into()));
    }
}
