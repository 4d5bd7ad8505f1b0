//! The activity log (R8): append-only records, hash-chained per partner so tampering is detectable.

use crate::error::DomainError;
use crate::ids::{AuditRecordId, PartnerId, TenantId};
use crate::timestamp::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationType {
    CreateCustomer,
    UpdateCustomer,
    CreateUser,
    UpdateUser,
    CreateApiToken,
    RevokeApiToken,
    CreateOrder,
    UpdateOrder,
    GetSoftwareKey,
    GetSoftwareDownloadLink,
    DownloadSoftware,
    RevokeSoftwareDownloadLink,
    CreateServiceRequest,
    UpdateServiceRequest,
    AdvanceTestClock,
    CreateWebhook,
    DeleteWebhook,
}

impl OperationType {
    pub const ALL: [OperationType; 17] = [
        OperationType::CreateCustomer,
        OperationType::UpdateCustomer,
        OperationType::CreateUser,
        OperationType::UpdateUser,
        OperationType::CreateApiToken,
        OperationType::RevokeApiToken,
        OperationType::CreateOrder,
        OperationType::UpdateOrder,
        OperationType::GetSoftwareKey,
        OperationType::GetSoftwareDownloadLink,
        OperationType::DownloadSoftware,
        OperationType::RevokeSoftwareDownloadLink,
        OperationType::CreateServiceRequest,
        OperationType::UpdateServiceRequest,
        OperationType::AdvanceTestClock,
        OperationType::CreateWebhook,
        OperationType::DeleteWebhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::CreateCustomer => "create_customer",
            OperationType::UpdateCustomer => "update_customer",
            OperationType::CreateUser => "create_user",
            OperationType::UpdateUser => "update_user",
            OperationType::CreateApiToken => "create_api_token",
            OperationType::RevokeApiToken => "revoke_api_token",
            OperationType::CreateOrder => "create_order",
            OperationType::UpdateOrder => "update_order",
            OperationType::GetSoftwareKey => "get_software_key",
            OperationType::GetSoftwareDownloadLink => "get_software_download_link",
            OperationType::DownloadSoftware => "download_software",
            OperationType::RevokeSoftwareDownloadLink => "revoke_software_download_link",
            OperationType::CreateServiceRequest => "create_service_request",
            OperationType::UpdateServiceRequest => "update_service_request",
            OperationType::AdvanceTestClock => "advance_test_clock",
            OperationType::CreateWebhook => "create_webhook",
            OperationType::DeleteWebhook => "delete_webhook",
        }
    }

    pub fn parse(s: &str) -> Option<OperationType> {
        OperationType::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The resource a kind of operation acts on (Partner Center's `resourceType`).
    pub fn resource_type(self) -> &'static str {
        match self {
            OperationType::CreateCustomer | OperationType::UpdateCustomer => "customer",
            OperationType::CreateUser | OperationType::UpdateUser => "user",
            OperationType::CreateApiToken | OperationType::RevokeApiToken => "api_token",
            OperationType::CreateOrder | OperationType::UpdateOrder => "order",
            OperationType::GetSoftwareKey
            | OperationType::GetSoftwareDownloadLink
            | OperationType::DownloadSoftware
            | OperationType::RevokeSoftwareDownloadLink => "software",
            OperationType::CreateServiceRequest | OperationType::UpdateServiceRequest => "service_request",
            OperationType::AdvanceTestClock => "test_clock",
            OperationType::CreateWebhook | OperationType::DeleteWebhook => "webhook",
        }
    }
}

/// What a change records; the Store numbers and chains it in the change's own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord {
    pub id: AuditRecordId,
    pub customer_id: Option<TenantId>,
    pub customer_name: Option<String>,
    pub user_principal_name: String,
    pub operation_type: OperationType,
    pub operation_date: Timestamp,
    pub operation_status: String,
    pub customized_data: Vec<(String, String)>,
}

impl NewAuditRecord {
    pub fn succeeded(operation_type: OperationType, by: &str, at: Timestamp) -> NewAuditRecord {
        NewAuditRecord {
            id: AuditRecordId::new(),
            customer_id: None,
            customer_name: None,
            user_principal_name: by.to_string(),
            operation_type,
            operation_date: at,
            operation_status: "succeeded".into(),
            customized_data: Vec::new(),
        }
    }
    pub fn customer(mut self, id: TenantId, name: &str) -> Self {
        self.customer_id = Some(id);
        self.customer_name = Some(name.to_string());
        self
    }
    pub fn data(mut self, key: &str, value: impl Into<String>) -> Self {
        self.customized_data.push((key.to_string(), value.into()));
        self
    }
}

/// A stored record. `resource_type` and `operation_type` are kept as text so that a record written by a newer
/// version still reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditRecordId,
    pub partner_id: PartnerId,
    pub seq: i64,
    pub customer_id: Option<TenantId>,
    pub customer_name: Option<String>,
    /// `customer_name` folded (`customer::fold`), as stored for CompanyName searches. Not part of the hash: it is
    /// derived from the hashed name, and [`ChainVerifier`] recomputes it, so an edited fold fails verification.
    pub customer_name_folded: Option<String>,
    pub user_principal_name: String,
    pub resource_type: String,
    pub operation_type: String,
    pub operation_date: Timestamp,
    pub operation_status: String,
    pub customized_data: Vec<(String, String)>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash before a partner's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditRecord {
    /// Seals a new record as the `seq`-th of its partner's chain, after `prev_hash`.
    pub fn seal(partner_id: PartnerId, seq: i64, prev_hash: &str, r: NewAuditRecord) -> AuditRecord {
        let mut record = AuditRecord {
            id: r.id,
            partner_id,
            seq,
            customer_id: r.customer_id,
            customer_name_folded: r.customer_name.as_deref().map(crate::customer::fold),
            customer_name: r.customer_name,
            user_principal_name: r.user_principal_name,
            resource_type: r.operation_type.resource_type().to_string(),
            operation_type: r.operation_type.as_str().to_string(),
            operation_date: r.operation_date,
            operation_status: r.operation_status,
            customized_data: r.customized_data,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// SHA-256 over the previous hash and every field, serialized as one JSON array (unambiguous).
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.prev_hash,
            self.partner_id,
            self.seq,
            self.id,
            self.customer_id,
            self.customer_name,
            self.user_principal_name,
            self.resource_type,
            self.operation_type,
            self.operation_date.micros(),
            self.operation_status,
            self.customized_data,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// A record of a hash chain (a partner's activity log, the operator's), as [`ChainVerifier`] walks it.
pub trait ChainLink {
    fn link_id(&self) -> AuditRecordId;
    fn link_seq(&self) -> i64;
    fn link_prev_hash(&self) -> &str;
    fn link_hash(&self) -> &str;
    /// The record matches its own hash, and whatever it stores besides is derived from what is hashed.
    fn is_sound(&self) -> bool;
}

impl ChainLink for AuditRecord {
    fn link_id(&self) -> AuditRecordId {
        self.id
    }
    fn link_seq(&self) -> i64 {
        self.seq
    }
    fn link_prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn link_hash(&self) -> &str {
        &self.hash
    }
    fn is_sound(&self) -> bool {
        self.compute_hash() == self.hash
            && self.customer_name_folded == self.customer_name.as_deref().map(crate::customer::fold)
    }
}

/// Result of walking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub valid: bool,
    pub record_count: i64,
    pub first_invalid_record_id: Option<AuditRecordId>,
}

/// Walks records in `seq` order, one at a time, in constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    count: i64,
    first_invalid: Option<AuditRecordId>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_seq: 1, prev_hash: GENESIS_HASH.to_string(), count: 0, first_invalid: None }
    }
}

impl ChainVerifier {
    /// A record is invalid when it is out of sequence, does not link to the previous hash, does not match its own
    /// hash, or its stored search fold is not the fold of its (hashed) customer name.
    pub fn feed(&mut self, r: &impl ChainLink) {
        self.count += 1;
        if self.first_invalid.is_none()
            && (r.link_seq() != self.expected_seq || r.link_prev_hash() != self.prev_hash || !r.is_sound())
        {
            self.first_invalid = Some(r.link_id());
        }
        self.expected_seq = r.link_seq() + 1;
        self.prev_hash = r.link_hash().to_string();
    }

    /// `head` is the (seq, hash) the partner row says the chain ends with; a truncated chain fails here.
    pub fn finish(self, head: (i64, &str), last_id: Option<AuditRecordId>) -> Verification {
        let mut first_invalid = self.first_invalid;
        if first_invalid.is_none() && (head.0 != self.expected_seq - 1 || head.1 != self.prev_hash) {
            first_invalid = last_id.or(Some(AuditRecordId(uuid::Uuid::nil())));
        }
        Verification {
            valid: first_invalid.is_none(),
            record_count: self.count,
            first_invalid_record_id: first_invalid,
        }
    }
}

/// `startDate`/`endDate` of an activity query: whole UTC days, inclusive (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Timestamp,
    /// Exclusive: the start of the day after `endDate`.
    pub until: Timestamp,
}

impl DateRange {
    /// Partner Center defaults: `endDate` today, `startDate` 30 days before it.
    pub fn parse(start: Option<&str>, end: Option<&str>, today: time::Date) -> Result<DateRange, DomainError> {
        let parse = |field: &str, s: &str| {
            time::Date::parse(s.get(..10).unwrap_or(s), time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| DomainError::invalid(field, "expected a date YYYY-MM-DD"))
        };
        let end_date = match end {
            Some(s) if !s.is_empty() => parse("endDate", s)?,
            _ => today,
        };
        let start_date = match start {
            Some(s) if !s.is_empty() => parse("startDate", s)?,
            _ => end_date.saturating_sub(time::Duration::days(30)),
        };
        if start_date > end_date {
            return Err(DomainError::invalid("startDate", "must not be after endDate"));
        }
        Ok(DateRange {
            from: Timestamp::start_of_day(start_date),
            until: Timestamp::start_of_day(end_date.next_day().unwrap_or(end_date)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let partner = PartnerId::new();
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let r = AuditRecord::seal(
                    partner,
                    seq,
                    &prev,
                    NewAuditRecord::succeeded(OperationType::CreateCustomer, "a@b.com", Timestamp::from_micros(seq))
                        .data("k", "v"),
                );
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head: (i64, &str)) -> Verification {
        let mut v = ChainVerifier::default();
        records.iter().for_each(|r| v.feed(r));
        v.finish(head, records.last().map(|r| r.id))
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let v = verify(&c, (5, &c[4].hash));
        assert_eq!(v, Verification { valid: true, record_count: 5, first_invalid_record_id: None });
        assert!(verify(&[], (0, GENESIS_HASH)).valid);
    }

    #[test]
    fn any_edit_is_detected_at_that_record() {
        let c = chain(5);
        let head = (5, c[4].hash.clone());
        let mut edited = c.clone();
        edited[2].customized_data[0].1 = "tampered".into();
        assert_eq!(verify(&edited, (head.0, &head.1)).first_invalid_record_id, Some(c[2].id));
        let mut edited = c.clone();
        edited[1].operation_date = Timestamp::from_micros(99);
        assert_eq!(verify(&edited, (head.0, &head.1)).first_invalid_record_id, Some(c[1].id));
        // Removing a record in the middle breaks the next one's link.
        let mut removed = c.clone();
        removed.remove(2);
        assert_eq!(verify(&removed, (head.0, &head.1)).first_invalid_record_id, Some(c[3].id));
        // Removing the tail is caught by the head kept on the partner.
        assert!(!verify(&c[..4], (head.0, &head.1)).valid);
    }

    /// Issue 16 item 12: the search fold is outside the hash, so the verifier recomputes it.
    #[test]
    fn an_edited_search_fold_is_detected() {
        let partner = PartnerId::new();
        let r = AuditRecord::seal(
            partner,
            1,
            GENESIS_HASH,
            NewAuditRecord::succeeded(OperationType::CreateCustomer, "a@b.com", Timestamp::from_micros(1))
                .customer(TenantId::new(), "  Contoso LTD "),
        );
        assert_eq!(r.customer_name_folded.as_deref(), Some("contoso ltd"));
        assert!(verify(std::slice::from_ref(&r), (1, &r.hash)).valid);
        for fold in [Some("hidden".to_string()), None] {
            let mut edited = r.clone();
            edited.customer_name_folded = fold;
            assert_eq!(verify(&[edited], (1, &r.hash)).first_invalid_record_id, Some(r.id));
        }
    }

    #[test]
    fn date_range_defaults_and_bounds() {
        let today = date!(2026 - 11 - 24);
        let r = DateRange::parse(None, None, today).unwrap();
        assert_eq!(r.from, Timestamp::start_of_day(date!(2026 - 10 - 25)));
        assert_eq!(r.until, Timestamp::start_of_day(date!(2026 - 11 - 25)));
        assert!(DateRange::parse(Some("2026-11-25"), Some("2026-11-24"), today).is_err());
        assert!(DateRange::parse(Some("yesterday"), None, today).is_err());
        let one = DateRange::parse(Some("2026-01-01"), Some("2026-01-01"), today).unwrap();
        assert_eq!(one.until.micros() - one.from.micros(), crate::timestamp::MICROS_PER_DAY);
    }

    #[test]
    fn operation_names_round_trip() {
        for o in OperationType::ALL {
            assert_eq!(OperationType::parse(o.as_str()), Some(o));
        }
    }
}
