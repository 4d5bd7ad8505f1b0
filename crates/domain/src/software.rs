//! The Software page (R6): every software item bought for a customer, with its status and term.

use crate::catalog::{ProductType, Term};
use crate::error::DomainError;
use crate::ids::{ArtifactId, OrderId, SoftwareItemId, TenantId};
use crate::order::LineStatus;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareItem {
    pub id: SoftwareItemId,
    pub customer_id: TenantId,
    pub order_id: OrderId,
    pub line_number: u32,
    pub product_id: String,
    pub sku_id: String,
    pub title: String,
    pub product_type: ProductType,
    pub term: Option<Term>,
    pub status: LineStatus,
    pub purchased_at: Timestamp,
    /// An activation key from stock was assigned at checkout.
    pub has_key: bool,
}

impl SoftwareItem {
    /// The last day of the term: the same date one term later on the UTC calendar (none for perpetual software).
    pub fn expiry_date(&self) -> Option<time::Date> {
        self.term.map(|t| t.end_date(self.purchased_at.date()))
    }

    /// A key can be shown only for an item that holds one and is not cancelled (R10).
    pub fn key_available(&self) -> bool {
        self.has_key && self.status == LineStatus::Active
    }
}

/// A file the publisher uploaded for a product: one version, language and file type (R6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: ArtifactId,
    pub product_id: String,
    pub version: String,
    pub language: String,
    pub file_type: String,
    /// Sanitised (see `download::sanitize_file_name`); used only in `Content-Disposition`, never as a path.
    pub file_name: String,
    pub size: u64,
    /// Lowercase hex of the file's SHA-256, computed while it was stored.
    pub sha256: String,
    /// Where blob storage keeps the bytes.
    pub blob_key: String,
    pub created_at: Timestamp,
}

/// An artifact's version, language or file type: a short label the dashboard shows in a list.
pub fn validate_label(field: &str, value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must have 1 to 64 characters and no control characters"));
    }
    Ok(v.to_string())
}

/// Reads one label of an artifact.
type FieldOf = fn(&Artifact) -> &str;

/// What "Submit" selects on the Software page: each field given narrows the files (case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactSelection {
    pub version: Option<String>,
    pub language: Option<String>,
    pub file_type: Option<String>,
}

impl ArtifactSelection {
    pub fn matches(&self, a: &Artifact) -> bool {
        let field =
            |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.trim().eq_ignore_ascii_case(have));
        field(&self.version, &a.version) && field(&self.language, &a.language) && field(&self.file_type, &a.file_type)
    }

    /// The files to issue links for. A selection that names nothing takes every file; one that matches nothing
    /// while the product has files is a mistake worth a 400 rather than a key with no links.
    pub fn select<'a>(&self, artifacts: &'a [Artifact]) -> Result<Vec<&'a Artifact>, DomainError> {
        let chosen: Vec<&Artifact> = artifacts.iter().filter(|a| self.matches(a)).collect();
        if chosen.is_empty() && !artifacts.is_empty() {
            // Name the first field whose value no file has; otherwise it is the combination that is missing.
            let fields: [(&str, &Option<String>, FieldOf); 3] = [
                ("version", &self.version, |a| &a.version),
                ("language", &self.language, |a| &a.language),
                ("fileType", &self.file_type, |a| &a.file_type),
            ];
            let unknown = fields.iter().find(|(_, want, have)| {
                want.as_deref().is_some_and(|w| !artifacts.iter().any(|a| w.trim().eq_ignore_ascii_case(have(a))))
            });
            return Err(match unknown {
                Some((field, want, _)) => DomainError::invalid(
                    field,
                    format!("no file has '{}'; see the item's downloadoptions", want.as_deref().unwrap_or("")),
                ),
                None => DomainError::invalid(
                    "version",
                    "no file has this version, language and file type together; see the item's downloadoptions",
                ),
            });
        }
        Ok(chosen)
    }
}

/// The choices the Software page offers for an item: each list sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadOptions {
    pub versions: Vec<String>,
    pub languages: Vec<String>,
    pub file_types: Vec<String>,
    pub artifacts: Vec<Artifact>,
}

impl DownloadOptions {
    pub fn of(artifacts: Vec<Artifact>) -> DownloadOptions {
        let distinct = |f: fn(&Artifact) -> &String| {
            let set: std::collections::BTreeSet<String> = artifacts.iter().map(|a| f(a).clone()).collect();
            set.into_iter().collect::<Vec<_>>()
        };
        DownloadOptions {
            versions: distinct(|a| &a.version),
            languages: distinct(|a| &a.language),
            file_types: distinct(|a| &a.file_type),
            artifacts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn item(term: Option<Term>, status: LineStatus, has_key: bool) -> SoftwareItem {
        SoftwareItem {
            id: SoftwareItemId::new(),
            customer_id: TenantId::new(),
            order_id: OrderId::new(),
            line_number: 0,
            product_id: "P".into(),
            sku_id: "S".into(),
            title: "T".into(),
            product_type: ProductType::SoftwareSubscription,
            term,
            status,
            purchased_at: Timestamp::from_datetime(datetime!(2024-02-29 23:30 UTC)),
            has_key,
        }
    }

    fn artifact(version: &str, language: &str, file_type: &str) -> Artifact {
        Artifact {
            id: ArtifactId::new(),
            product_id: "P".into(),
            version: version.into(),
            language: language.into(),
            file_type: file_type.into(),
            file_name: "setup.iso".into(),
            size: 1,
            sha256: String::new(),
            blob_key: String::new(),
            created_at: Timestamp::from_micros(0),
        }
    }

    #[test]
    fn a_selection_narrows_by_each_field_given() {
        let files =
            vec![artifact("2019", "en-us", "ISO"), artifact("2019", "de-de", "ISO"), artifact("2022", "en-us", "ZIP")];
        let pick = |v: Option<&str>, l: Option<&str>, f: Option<&str>| {
            let sel = ArtifactSelection {
                version: v.map(Into::into),
                language: l.map(Into::into),
                file_type: f.map(Into::into),
            };
            sel.select(&files).map(|c| c.len())
        };
        assert_eq!(pick(None, None, None), Ok(3));
        assert_eq!(pick(Some("2019"), None, None), Ok(2));
        assert_eq!(pick(Some("2019"), Some("EN-US"), Some("iso")), Ok(1));
        assert!(pick(Some("2016"), None, None).is_err());
        let named = |v: Option<&str>, l: Option<&str>| {
            let sel = ArtifactSelection { version: v.map(Into::into), language: l.map(Into::into), file_type: None };
            sel.select(&files).unwrap_err().to_string()
        };
        assert!(named(Some("2019"), Some("fr-fr")).starts_with("language: no file has 'fr-fr'"));
        assert!(named(Some("2022"), Some("de-de")).starts_with("version: no file has this version, language"));
        assert_eq!(ArtifactSelection { version: Some("x".into()), ..Default::default() }.select(&[]), Ok(vec![]));
        let options = DownloadOptions::of(files.clone());
        assert_eq!(options.versions, vec!["2019", "2022"]);
        assert_eq!(options.languages, vec!["de-de", "en-us"]);
        assert_eq!(options.file_types, vec!["ISO", "ZIP"]);
    }

    #[test]
    fn labels_are_short_and_printable() {
        assert_eq!(validate_label("version", " 2019 "), Ok("2019".into()));
        assert!(validate_label("version", "").is_err());
        assert!(validate_label("version", "a\nb").is_err());
        assert!(validate_label("version", &"x".repeat(65)).is_err());
    }

    #[test]
    fn expiry_follows_the_calendar_and_keys_follow_status() {
        assert_eq!(item(Some(Term::P1Y), LineStatus::Active, true).expiry_date(), Some(date!(2025 - 02 - 28)));
        assert_eq!(item(Some(Term::P3Y), LineStatus::Active, true).expiry_date(), Some(date!(2027 - 02 - 28)));
        assert_eq!(item(None, LineStatus::Active, true).expiry_date(), None);
        assert!(item(None, LineStatus::Active, true).key_available());
        assert!(!item(None, LineStatus::Cancelled, true).key_available());
        assert!(!item(None, LineStatus::Active, false).key_available());
    }
}
