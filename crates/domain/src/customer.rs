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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
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
    /// The billing profile's contact and locale (Partner Center's `CustomerBillingProfile`).
    pub billing: BillingContact,
    /// Bumped by every billing-profile change; the profile's ETag is made of it.
    pub profile_version: i64,
    pub market: MarketCode,
    pub created_at: Timestamp,
    /// The customer's number within its partner, in commit order (0 until stored); lists page by it.
    pub position: i64,
}

/// The billing profile's person and locale, beside its email, company name and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BillingContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// A language tag such as `en` (Partner Center's `language`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A culture such as `en-US` (Partner Center's `culture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culture: Option<String>,
}

/// A billing profile as a client sends it (create or replace), before validation.
#[derive(Debug, Clone, Default)]
pub struct BillingDraft {
    pub email: String,
    pub company_name: Option<String>,
    pub contact: BillingContact,
    pub address: Address,
}

/// What a valid billing profile is: email, company name, the contact and an address whose country is a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingProfile {
    pub email: String,
    pub company_name: String,
    pub contact: BillingContact,
    pub address: Address,
    pub market: MarketCode,
}

impl BillingDraft {
    /// Validates every field; `company_fallback` is the company profile's name, used when none is given. Errors
    /// name the field under `at` (`billingProfile.` in a customer, empty for the profile alone).
    pub fn validate(self, company_fallback: &str, at: &str) -> Result<BillingProfile, DomainError> {
        let email = parse_email(&self.email).map_err(|m| DomainError::invalid(&format!("{at}email"), m))?;
        let company_name = match self.company_name.as_deref() {
            Some(n) if !n.trim().is_empty() => text(&format!("{at}companyName"), n, MAX_NAME)?,
            _ => company_fallback.to_string(),
        };
        let mut contact = self.contact;
        for (field, value) in [("firstName", &mut contact.first_name), ("lastName", &mut contact.last_name)] {
            optional_text(&format!("{at}{field}"), value)?;
        }
        for (field, value) in [("language", &mut contact.language), ("culture", &mut contact.culture)] {
            optional_text(&format!("{at}{field}"), value)?;
            if let Some(v) = value.as_deref() {
                let tag = v.len() <= 35
                    && v.split('-')
                        .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()));
                if !tag {
                    return Err(DomainError::invalid(
                        &format!("{at}{field}"),
                        "must be a language tag such as en or en-US",
                    ));
                }
            }
        }
        let mut address = self.address;
        let market = MarketCode::parse(&address.country).ok_or_else(|| {
            DomainError::invalid(
                &format!("{at}defaultAddress.country"),
                format!("'{}' is not an ISO 3166-1 alpha-2 country code", address.country),
            )
        })?;
        address.country = market.as_str().to_string();
        address.city = text(&format!("{at}defaultAddress.city"), &address.city, MAX_NAME)?;
        address.address_line1 = text(&format!("{at}defaultAddress.addressLine1"), &address.address_line1, MAX_NAME)?;
        for (field, value) in [
            ("region", &mut address.region),
            ("state", &mut address.state),
            ("addressLine2", &mut address.address_line2),
            ("addressLine3", &mut address.address_line3),
            ("postalCode", &mut address.postal_code),
            ("firstName", &mut address.first_name),
            ("lastName", &mut address.last_name),
            ("phoneNumber", &mut address.phone_number),
        ] {
            optional_text(&format!("{at}defaultAddress.{field}"), value)?;
        }
        Ok(BillingProfile { email, company_name, contact, address, market })
    }
}

impl Customer {
    /// Replaces the billing profile (Partner Center's `PUT …/profiles/billing`). The country stays: it is the
    /// customer's market, which prices every order (R1, R4), as Partner Center does not let it change either.
    pub fn with_billing(&self, profile: BillingProfile) -> Result<Customer, DomainError> {
        if profile.market != self.market {
            return Err(DomainError::invalid(
                "defaultAddress.country",
                format!("cannot change from {} (the customer's market)", self.market.as_str()),
            ));
        }
        Ok(Customer {
            billing_email: profile.email,
            billing_company_name: profile.company_name,
            billing: profile.contact,
            address: profile.address,
            profile_version: self.profile_version + 1,
            ..self.clone()
        })
    }

    /// The billing profile's ETag (Partner Center's `attributes.etag` and `If-Match`): opaque to clients, changed by
    /// every change of the profile.
    pub fn billing_etag(&self) -> String {
        format!("{}.{}", self.tenant_id.to_string().replace('-', ""), self.profile_version)
    }
}

/// Trims an optional text field, dropping it when empty; over [`MAX_NAME`] characters is refused.
fn optional_text(field: &str, value: &mut Option<String>) -> Result<(), DomainError> {
    if let Some(v) = value.take() {
        let v = v.trim().to_string();
        if v.chars().count() > MAX_NAME {
            return Err(DomainError::invalid(field, format!("at most {MAX_NAME} characters")));
        }
        *value = (!v.is_empty()).then_some(v);
    }
    Ok(())
}

/// The raw fields of a create request, before validation.
#[derive(Debug, Clone, Default)]
pub struct CustomerDraft {
    pub tenant_id: Option<String>,
    pub company_name: String,
    pub domain: String,
    pub billing: BillingDraft,
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
        let billing = self.billing.validate(&company_name, "billingProfile.")?;
        Ok(Customer {
            tenant_id,
            company_name,
            domain,
            billing_email: billing.email,
            billing_company_name: billing.company_name,
            address: billing.address,
            billing: billing.contact,
            profile_version: 1,
            market: billing.market,
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
            billing: BillingDraft {
                email: "billing@Contoso.com".into(),
                company_name: None,
                contact: BillingContact { culture: Some(" en-AU ".into()), ..Default::default() },
                address: Address {
                    country: "au".into(),
                    city: "Sydney".into(),
                    address_line1: "1 George St".into(),
                    postal_code: Some("2000".into()),
                    state: Some("NSW".into()),
                    ..Default::default()
                },
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
        assert_eq!(c.billing.culture.as_deref(), Some("en-AU"));
        assert_eq!(c.address.state.as_deref(), Some("NSW"));
        assert_eq!(c.profile_version, 1);
    }

    #[test]
    fn a_billing_profile_is_replaced_but_its_country_stays() {
        let c = draft().validate(Timestamp::from_micros(0)).unwrap();
        let mut edit = draft().billing;
        edit.email = "accounts@contoso.com".into();
        edit.contact.first_name = Some("Ada".into());
        let changed = c.with_billing(edit.clone().validate(&c.company_name, "").unwrap()).unwrap();
        assert_eq!((changed.billing_email.as_str(), changed.profile_version), ("accounts@contoso.com", 2));
        assert_eq!(changed.billing.first_name.as_deref(), Some("Ada"));
        assert_ne!(changed.billing_etag(), c.billing_etag());
        assert_eq!((changed.tenant_id, changed.market, changed.position), (c.tenant_id, c.market, c.position));
        edit.address.country = "NZ".into();
        let err = c.with_billing(edit.validate(&c.company_name, "").unwrap()).unwrap_err().to_string();
        assert!(err.starts_with("defaultAddress.country: cannot change from AU"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        type Mutation = Box<dyn Fn(&mut CustomerDraft)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|d| d.tenant_id = Some("not-a-guid".into())), "companyProfile.tenantId"),
            (Box::new(|d| d.company_name = "  ".into()), "companyProfile.companyName"),
            (Box::new(|d| d.domain = "localhost".into()), "companyProfile.domain"),
            (Box::new(|d| d.domain = "bad_domain.com".into()), "companyProfile.domain"),
            (Box::new(|d| d.billing.email = "nobody".into()), "billingProfile.email"),
            (Box::new(|d| d.billing.address.country = "ZZ".into()), "billingProfile.defaultAddress.country"),
            (Box::new(|d| d.billing.address.city = "".into()), "billingProfile.defaultAddress.city"),
            (Box::new(|d| d.billing.contact.culture = Some("en_US!".into())), "billingProfile.culture"),
            (Box::new(|d| d.billing.address.state = Some("x".repeat(300))), "billingProfile.defaultAddress.state"),
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
