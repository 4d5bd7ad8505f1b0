//! Support requests (R11): topics, severities, statuses and the validation of what a partner files, parsed once
//! into values that are valid wherever they go.

use crate::customer::parse_email;
use crate::error::DomainError;
pub use crate::ids::{AttachmentId, NoteId, ServiceRequestId};
use crate::ids::{OrderId, TenantId};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// The largest attachment accepted, in bytes (10 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_NOTE: usize = 10_000;
pub const MAX_CONTACT_NAME: usize = 100;
pub const MAX_EMAIL: usize = 254;
pub const MIN_PHONE: usize = 3;
pub const MAX_PHONE: usize = 40;
pub const MAX_CUSTOMER_DOMAIN: usize = 255;
pub const MAX_SUBSCRIPTION_ID: usize = 100;
pub const MAX_REASON: usize = 2000;

/// The machine name of the refund topic ("CSP Purchase/Refund on behalf of customers").
pub const REFUND_TOPIC_ID: &str = "csp_purchase_refund";

/// A type of support request, as `GET /v1/servicerequests/supporttopics` lists it: Partner Center's `SupportTopic`
/// (an integer `id`, `name`, `description`) plus `code`, the stable machine name that earlier versions used as the
/// id. Both the id and the code are permanent: a topic is never renumbered or renamed, and a retired number is never
/// given to another topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SupportTopic {
    pub id: u32,
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const TOPICS: &[SupportTopic] = &[
    SupportTopic {
        id: 1,
        code: REFUND_TOPIC_ID,
        name: "CSP Purchase/Refund on behalf of customers",
        description: "A refund or a cancellation of a purchase made for a customer: name the customer, the order and \
                      the reason (in the refund fields, or in the description).",
    },
    SupportTopic {
        id: 2,
        code: "billing",
        name: "Billing and invoices",
        description: "Questions about an invoice, its lines, credits or totals.",
    },
    SupportTopic {
        id: 3,
        code: "orders",
        name: "Orders and cancellations",
        description: "Problems placing, reading or cancelling an order.",
    },
    SupportTopic {
        id: 4,
        code: "keys_and_downloads",
        name: "Activation keys and downloads",
        description: "An activation key that does not work, or a file or download link that fails.",
    },
    SupportTopic {
        id: 5,
        code: "account",
        name: "Partner account and users",
        description: "The partner account, its users, roles and API tokens.",
    },
    SupportTopic {
        id: 6,
        code: "technical",
        name: "Technical problem",
        description: "Anything else that does not work as expected.",
    },
];

/// The topic with this machine name (exact match).
pub fn topic(code: &str) -> Option<&'static SupportTopic> {
    TOPICS.iter().find(|t| t.code == code)
}

/// The topic a request names in `supportTopicId`: its integer id (as Partner Center sends it, a number or a string of
/// digits such as `"1"`), or, for integrations written before topics had numbers, its machine name.
pub fn find_topic(given: &str) -> Option<&'static SupportTopic> {
    let given = given.trim();
    if !given.is_empty() && given.bytes().all(|b| b.is_ascii_digit()) {
        let id: u32 = given.parse().ok()?;
        return TOPICS.iter().find(|t| t.id == id);
    }
    topic(given)
}

/// The impact the partner gives a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Moderate,
    Minimal,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Moderate, Severity::Minimal];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Moderate => "moderate",
            Severity::Minimal => "minimal",
        }
    }

    /// Exact, lower-case names only.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request stands. Any status may move to any other, except that nothing leaves `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 4] =
        [RequestStatus::Open, RequestStatus::InProgress, RequestStatus::Resolved, RequestStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::InProgress => "in_progress",
            RequestStatus::Resolved => "resolved",
            RequestStatus::Closed => "closed",
        }
    }

    /// Exact, lower-case names only.
    pub fn parse(s: &str) -> Option<RequestStatus> {
        RequestStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a request in this status may move to `to` (see [`can_move`]).
    pub fn can_move_to(self, to: RequestStatus) -> bool {
        can_move(self, to)
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any status may move to any other, except that nothing leaves `closed`; moving to the same status is a no-op and
/// always allowed.
pub fn can_move(from: RequestStatus, to: RequestStatus) -> bool {
    from == to || from != RequestStatus::Closed
}

/// The partner's contact for a request, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Optional, as in Partner Center's `ServiceRequestContact`.
    #[serde(default)]
    pub phone_number: Option<String>,
}

impl Contact {
    /// The contact of a request filed without `primaryContact` (as Partner Center allows): the user who files it.
    /// The display name is split at its last space into first and last name (one word: no last name).
    pub fn of_user(display_name: &str, email: &str) -> Contact {
        let name = display_name.trim();
        let (first, last) = match name.rsplit_once(char::is_whitespace) {
            Some((first, last)) => (first.trim(), last.trim()),
            None => (name, ""),
        };
        Contact {
            first_name: first.to_string(),
            last_name: last.to_string(),
            email: email.to_string(),
            phone_number: None,
        }
    }
}

/// The customer a refund request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    TenantId(TenantId),
    /// A domain name, trimmed and ASCII lower-cased.
    Domain(String),
}

/// The purchase a refund request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    OrderId(OrderId),
    SubscriptionId(String),
}

/// The refund block of a request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub customer: CustomerRef,
    pub order: OrderRef,
    pub reason: String,
    /// In the currency of `currency_code`, with its decimals; always > 0.
    pub amount_requested: Option<Money>,
    /// Three upper-case letters; always present when `amount_requested` is.
    pub currency_code: Option<String>,
}

/// The contact as it comes from JSON (`primaryContact`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContactDraft {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

/// The refund block as it comes from JSON (`refund`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RefundDraft {
    pub customer_id: Option<String>,
    pub customer_domain: Option<String>,
    pub order_id: Option<String>,
    pub subscription_id: Option<String>,
    pub reason: Option<String>,
    pub amount_requested: Option<String>,
    pub currency_code: Option<String>,
}

/// The body of `POST /v1/servicerequests/{locale}`, before validation. Missing fields deserialize as empty, so
/// that validation (not the JSON parser) names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceRequestDraft {
    pub title: String,
    pub description: String,
    pub severity: String,
    /// A topic's integer id (as digits) or, from older integrations, its machine name.
    pub support_topic_id: String,
    /// `None`: the user filing the request is the contact (see [`Contact::of_user`]).
    #[serde(rename = "primaryContact")]
    pub contact: Option<ContactDraft>,
    pub refund: Option<RefundDraft>,
}

/// A request ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceRequest {
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub topic: &'static SupportTopic,
    pub contact: Contact,
    pub refund: Option<RefundRequest>,
}

/// Validates a draft, naming the first wrong field by its JSON path (`title`, `primaryContact.email`,
/// `refund.amountRequested`, …). `currency_scale` gives a currency's number of decimals, `None` if unknown;
/// `filer` is the contact when the draft names none.
///
/// The refund block is optional for every topic, `csp_purchase_refund` included: Partner Center's `ServiceRequest`
/// has no such block and its clients write the details in `description`. When given, it is validated whole.
pub fn validate_request(
    d: ServiceRequestDraft,
    currency_scale: &dyn Fn(&str) -> Option<u8>,
    filer: Contact,
) -> Result<NewServiceRequest, DomainError> {
    let title = single_line("title", &d.title, MAX_TITLE)?;
    let description = multi_line("description", &d.description, MAX_DESCRIPTION)?;
    let severity = Severity::parse(d.severity.trim())
        .ok_or_else(|| DomainError::invalid("severity", "must be one of critical, moderate, minimal"))?;
    let topic_id = d.support_topic_id.trim();
    if topic_id.is_empty() {
        return Err(DomainError::invalid("supportTopicId", "is required"));
    }
    let topic = find_topic(topic_id).ok_or_else(|| {
        DomainError::invalid(
            "supportTopicId",
            format!("unknown support topic '{topic_id}' (see GET /v1/servicerequests/supporttopics)"),
        )
    })?;
    let contact = match d.contact {
        Some(c) => validate_contact(c)?,
        None => filer,
    };
    let refund = d.refund.map(|r| validate_refund(r, currency_scale)).transpose()?;
    Ok(NewServiceRequest { title, description, severity, topic, contact, refund })
}

/// Validates the text of a note added to a request (`newNote.text`), returned trimmed.
pub fn validate_note(text: &str) -> Result<String, DomainError> {
    multi_line("newNote.text", text, MAX_NOTE)
}

fn validate_contact(c: ContactDraft) -> Result<Contact, DomainError> {
    let first_name = single_line("primaryContact.firstName", c.first_name.as_deref().unwrap_or(""), MAX_CONTACT_NAME)?;
    let last_name = single_line("primaryContact.lastName", c.last_name.as_deref().unwrap_or(""), MAX_CONTACT_NAME)?;
    let email = validate_email("primaryContact.email", c.email.as_deref().unwrap_or(""))?;
    let phone_number = given(&c.phone_number).map(|p| validate_phone("primaryContact.phoneNumber", p)).transpose()?;
    Ok(Contact { first_name, last_name, email, phone_number })
}

fn validate_refund(r: RefundDraft, currency_scale: &dyn Fn(&str) -> Option<u8>) -> Result<RefundRequest, DomainError> {
    let customer = match (given(&r.customer_id), given(&r.customer_domain)) {
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid(
                "refund.customerId",
                "give either customerId or customerDomain, not both",
            ));
        }
        (None, None) => {
            return Err(DomainError::invalid("refund.customerId", "customerId or customerDomain is required"))
        }
        (Some(id), None) => CustomerRef::TenantId(
            TenantId::parse(id).ok_or_else(|| DomainError::invalid("refund.customerId", "must be a GUID"))?,
        ),
        (None, Some(domain)) => {
            CustomerRef::Domain(single_line("refund.customerDomain", domain, MAX_CUSTOMER_DOMAIN)?.to_ascii_lowercase())
        }
    };
    if let CustomerRef::Domain(d) = &customer {
        if d.chars().any(char::is_whitespace) {
            return Err(DomainError::invalid("refund.customerDomain", "must not contain spaces"));
        }
    }
    let order = match (given(&r.order_id), given(&r.subscription_id)) {
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid("refund.orderId", "give either orderId or subscriptionId, not both"));
        }
        (None, None) => return Err(DomainError::invalid("refund.orderId", "orderId or subscriptionId is required")),
        (Some(id), None) => OrderRef::OrderId(
            OrderId::parse(id).ok_or_else(|| DomainError::invalid("refund.orderId", "must be a GUID"))?,
        ),
        (None, Some(sub)) => OrderRef::SubscriptionId(single_line("refund.subscriptionId", sub, MAX_SUBSCRIPTION_ID)?),
    };
    let reason = multi_line("refund.reason", r.reason.as_deref().unwrap_or(""), MAX_REASON)?;
    let currency = match given(&r.currency_code) {
        None => None,
        Some(code) => {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(DomainError::invalid("refund.currencyCode", "must be 3 upper-case letters such as USD"));
            }
            let scale = currency_scale(code)
                .ok_or_else(|| DomainError::invalid("refund.currencyCode", format!("unknown currency '{code}'")))?;
            Some((code.to_string(), scale))
        }
    };
    let amount_requested = match given(&r.amount_requested) {
        None => None,
        Some(s) => {
            let (_, scale) = currency.as_ref().ok_or_else(|| {
                DomainError::invalid("refund.currencyCode", "is required when amountRequested is given")
            })?;
            let amount = Money::parse(s, *scale).map_err(|m| DomainError::invalid("refund.amountRequested", m))?;
            if amount.minor <= 0 {
                return Err(DomainError::invalid("refund.amountRequested", "must be greater than 0"));
            }
            Some(amount)
        }
    };
    Ok(RefundRequest { customer, order, reason, amount_requested, currency_code: currency.map(|(code, _)| code) })
}

/// The trimmed value of an optional field, `None` when absent or blank.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn length(field: &str, v: &str, max: usize) -> Result<(), DomainError> {
    if v.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if v.chars().count() > max {
        return Err(DomainError::invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

/// Trimmed, 1..=max characters, no control characters at all.
fn single_line(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    length(field, v, max)?;
    if v.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// Trimmed, 1..=max characters, no control characters but line breaks (`\n`, `\r`) and tabs.
fn multi_line(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    length(field, v, max)?;
    if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(DomainError::invalid(field, "must not contain control characters other than line breaks and tabs"));
    }
    Ok(v.to_string())
}

fn validate_email(field: &str, value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if v.len() > MAX_EMAIL {
        return Err(DomainError::invalid(field, format!("at most {MAX_EMAIL} characters")));
    }
    parse_email(v).map_err(|m| DomainError::invalid(field, m))
}

fn validate_phone(field: &str, value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    let n = v.chars().count();
    if !(MIN_PHONE..=MAX_PHONE).contains(&n) {
        return Err(DomainError::invalid(field, format!("must have {MIN_PHONE} to {MAX_PHONE} characters")));
    }
    if !v.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.'))
        || !v.chars().any(|c| c.is_ascii_digit())
    {
        return Err(DomainError::invalid(field, "may only contain digits, spaces and + ( ) - ."));
    }
    Ok(v.to_string())
}

/// A stored service request, with its conversation and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    pub id: ServiceRequestId,
    pub partner_id: crate::ids::PartnerId,
    pub locale: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub topic: &'static SupportTopic,
    pub status: RequestStatus,
    pub contact: Contact,
    /// The partner's customer the request is about (from its refund block), if any.
    pub customer_id: Option<TenantId>,
    /// The refund block as filed (JSON, camelCase), for display and for the publisher's decision.
    pub refund: Option<serde_json::Value>,
    pub created_by: String,
    pub created_at: crate::timestamp::Timestamp,
    pub updated_at: crate::timestamp::Timestamp,
    /// When the request was closed (`closed` is final, so at most once).
    pub closed_at: Option<crate::timestamp::Timestamp>,
    /// Oldest first; empty in lists.
    pub notes: Vec<Note>,
    pub attachments: Vec<Attachment>,
}

/// A message on a request, from the partner or the publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: NoteId,
    pub author: String,
    pub by_publisher: bool,
    pub text: String,
    pub created_at: crate::timestamp::Timestamp,
}

/// A file attached to a request; the bytes are in blob storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub blob_key: String,
    pub uploaded_by: String,
    pub created_at: crate::timestamp::Timestamp,
}

/// A locale in the path of `POST /v1/servicerequests/{locale}` (`en-US`, `de`, `pt-BR`): 2–3 letters, optionally a
/// region of 2 letters or 3 digits.
pub fn validate_locale(locale: &str) -> Result<String, DomainError> {
    let ok = match locale.split_once('-') {
        None => (2..=3).contains(&locale.len()) && locale.bytes().all(|b| b.is_ascii_alphabetic()),
        Some((lang, region)) => {
            (2..=3).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_alphabetic())
                && ((region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
                    || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit())))
        }
    };
    if !ok {
        return Err(DomainError::invalid("locale", format!("'{locale}' is not a locale such as en-US")));
    }
    Ok(locale.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "4b1c2f0e-8a3d-4e5f-9a6b-7c8d9e0f1a2b";
    const ORDER: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    fn scale(code: &str) -> Option<u8> {
        match code {
            "USD" | "EUR" | "AUD" => Some(2),
            "JPY" => Some(0),
            "BHD" => Some(3),
            _ => None,
        }
    }

    fn contact() -> ContactDraft {
        ContactDraft {
            first_name: Some(" Ada ".into()),
            last_name: Some("Lovelace".into()),
            email: Some("ada@Contoso.com".into()),
            phone_number: Some("+61 (2) 9999-0000".into()),
        }
    }

    fn refund() -> RefundDraft {
        RefundDraft {
            customer_id: Some(TENANT.into()),
            order_id: Some(ORDER.into()),
            reason: Some("Bought by mistake.\nPlease refund.".into()),
            amount_requested: Some("120.50".into()),
            currency_code: Some("USD".into()),
            ..Default::default()
        }
    }

    fn draft() -> ServiceRequestDraft {
        ServiceRequestDraft {
            title: "  Refund SQL Server  ".into(),
            description: "The customer ordered the wrong edition.\n\tThanks".into(),
            severity: "moderate".into(),
            support_topic_id: REFUND_TOPIC_ID.into(),
            contact: Some(contact()),
            refund: Some(refund()),
        }
    }

    fn filer() -> Contact {
        Contact::of_user("Grace Brewster Hopper", "grace@partner.example")
    }

    fn check(d: ServiceRequestDraft) -> Result<NewServiceRequest, DomainError> {
        validate_request(d, &scale, filer())
    }

    /// The field path an invalid_request error names.
    fn field_of(d: ServiceRequestDraft) -> String {
        let e = check(d).expect_err("should be refused");
        assert_eq!(e.error_name(), "invalid_request");
        let msg = e.to_string();
        msg.split_once(": ").expect("message starts with the field").0.to_string()
    }

    fn with_refund(f: impl FnOnce(&mut RefundDraft)) -> ServiceRequestDraft {
        let mut d = draft();
        f(d.refund.as_mut().unwrap());
        d
    }

    #[test]
    fn a_good_request_passes_and_is_normalised() {
        let r = check(draft()).unwrap();
        assert_eq!(r.title, "Refund SQL Server");
        assert_eq!(r.description, "The customer ordered the wrong edition.\n\tThanks");
        assert_eq!(r.severity, Severity::Moderate);
        assert_eq!((r.topic.id, r.topic.code), (1, REFUND_TOPIC_ID));
        assert_eq!(r.topic.name, "CSP Purchase/Refund on behalf of customers");
        assert_eq!(
            r.contact,
            Contact {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                email: "ada@contoso.com".into(),
                phone_number: Some("+61 (2) 9999-0000".into()),
            }
        );
        let refund = r.refund.unwrap();
        assert_eq!(refund.customer, CustomerRef::TenantId(TenantId::parse(TENANT).unwrap()));
        assert_eq!(refund.order, OrderRef::OrderId(OrderId::parse(ORDER).unwrap()));
        assert_eq!(refund.reason, "Bought by mistake.\nPlease refund.");
        assert_eq!(refund.amount_requested, Some(Money { minor: 12050, scale: 2 }));
        assert_eq!(refund.currency_code.as_deref(), Some("USD"));
    }

    #[test]
    fn other_topics_need_no_refund() {
        let mut d = draft();
        d.support_topic_id = "technical".into();
        d.refund = None;
        let r = check(d).unwrap();
        assert_eq!(r.topic.code, "technical");
        assert!(r.refund.is_none());
    }

    #[test]
    fn the_refund_topic_may_come_without_a_refund_block() {
        // Partner Center's way: the details are in the description.
        let mut d = draft();
        d.refund = None;
        let r = check(d).unwrap();
        assert_eq!(r.topic.code, REFUND_TOPIC_ID);
        assert!(r.refund.is_none());
    }

    #[test]
    fn topics_are_numbered_and_keep_their_machine_names() {
        assert_eq!(TOPICS[0].id, 1);
        assert_eq!(TOPICS[0].code, "csp_purchase_refund");
        assert_eq!(TOPICS[0].name, "CSP Purchase/Refund on behalf of customers");
        assert_eq!(topic("billing").unwrap().name, "Billing and invoices");
        assert!(topic("nope").is_none());
        // These numbers are part of the API: they never change.
        let numbered: Vec<_> = TOPICS.iter().map(|t| (t.id, t.code)).collect();
        assert_eq!(
            numbered,
            [
                (1, "csp_purchase_refund"),
                (2, "billing"),
                (3, "orders"),
                (4, "keys_and_downloads"),
                (5, "account"),
                (6, "technical")
            ]
        );
        for t in TOPICS {
            assert!(!t.description.is_empty(), "{} has a description", t.code);
            assert_eq!(find_topic(&t.id.to_string()), Some(t));
            assert_eq!(find_topic(&format!(" 0{} ", t.id)), Some(t), "digits, trimmed, leading zeros");
            assert_eq!(find_topic(t.code), Some(t));
        }
        for unknown in ["", "0", "7", "99999999999999999999", "-1", "1.0", "Billing", "32444671"] {
            assert_eq!(find_topic(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn a_request_without_a_contact_names_the_filer() {
        let mut d = draft();
        d.contact = None;
        assert_eq!(
            check(d).unwrap().contact,
            Contact {
                first_name: "Grace Brewster".into(),
                last_name: "Hopper".into(),
                email: "grace@partner.example".into(),
                phone_number: None,
            }
        );
        assert_eq!(Contact::of_user(" Cher ", "c@x.example").first_name, "Cher");
        assert_eq!(Contact::of_user(" Cher ", "c@x.example").last_name, "");
    }

    #[test]
    fn title_rules() {
        for bad in ["", "   ", &"x".repeat(201), "a\nb"] {
            let mut d = draft();
            d.title = bad.to_string();
            assert_eq!(field_of(d), "title", "{bad:?}");
        }
        let mut d = draft();
        d.title = "é".repeat(200);
        assert!(check(d).is_ok(), "200 characters (not bytes) are fine");
    }

    #[test]
    fn description_rules() {
        for bad in ["".to_string(), " \n ".to_string(), "x".repeat(10_001), "bell\u{7}".to_string()] {
            let mut d = draft();
            d.description = bad;
            assert_eq!(field_of(d), "description");
        }
        let mut d = draft();
        d.description = "x".repeat(10_000);
        assert!(check(d).is_ok());
    }

    #[test]
    fn severity_rules() {
        for bad in ["", "high", "Critical"] {
            let mut d = draft();
            d.severity = bad.into();
            assert_eq!(field_of(d), "severity", "{bad:?}");
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            let mut d = draft();
            d.severity = s.as_str().into();
            assert_eq!(check(d).unwrap().severity, s);
        }
    }

    #[test]
    fn topic_rules() {
        for bad in ["", "refunds", "0", "42"] {
            let mut d = draft();
            d.support_topic_id = bad.into();
            assert_eq!(field_of(d), "supportTopicId", "{bad:?}");
        }
        for (given, code) in [("1", "csp_purchase_refund"), ("6", "technical"), ("billing", "billing")] {
            let mut d = draft();
            d.support_topic_id = given.into();
            assert_eq!(check(d).unwrap().topic.code, code);
        }
    }

    #[test]
    fn contact_name_rules() {
        for bad in [None, Some(""), Some("  "), Some(&*"n".repeat(101)), Some("a\tb")] {
            let mut d = draft();
            d.contact.as_mut().unwrap().first_name = bad.map(String::from);
            assert_eq!(field_of(d), "primaryContact.firstName", "{bad:?}");
            let mut d = draft();
            d.contact.as_mut().unwrap().last_name = bad.map(String::from);
            assert_eq!(field_of(d), "primaryContact.lastName", "{bad:?}");
        }
        let mut d = draft();
        d.contact.as_mut().unwrap().last_name = Some("n".repeat(100));
        assert!(check(d).is_ok());
    }

    #[test]
    fn contact_email_rules() {
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        for bad in [
            None,
            Some(""),
            Some("ada"),
            Some("@contoso.com"),
            Some("ada@"),
            Some("ada@contoso"),
            Some("a@b@contoso.com"),
            Some("ada lovelace@contoso.com"),
            Some(long.as_str()),
        ] {
            let mut d = draft();
            d.contact.as_mut().unwrap().email = bad.map(String::from);
            assert_eq!(field_of(d), "primaryContact.email", "{bad:?}");
        }
    }

    #[test]
    fn contact_phone_rules() {
        for bad in ["12", &*"1".repeat(41), "555-CALL", "+()-.", "1\n23"] {
            let mut d = draft();
            d.contact.as_mut().unwrap().phone_number = Some(bad.into());
            assert_eq!(field_of(d), "primaryContact.phoneNumber", "{bad:?}");
        }
        for good in ["123", "+1 (555) 010-0000", "02.9999.0000", &"1".repeat(40)] {
            let mut d = draft();
            d.contact.as_mut().unwrap().phone_number = Some(good.into());
            assert!(check(d).is_ok(), "{good:?}");
        }
        // Optional, as in Partner Center: absent or blank is no phone.
        for none in [None, Some(""), Some("  ")] {
            let mut d = draft();
            d.contact.as_mut().unwrap().phone_number = none.map(String::from);
            assert_eq!(check(d).unwrap().contact.phone_number, None);
        }
    }

    #[test]
    fn refund_customer_is_exactly_one_of_id_or_domain() {
        let both = with_refund(|r| r.customer_domain = Some("contoso.com".into()));
        assert!(check(both.clone()).unwrap_err().to_string().contains("not both"));
        assert_eq!(field_of(both), "refund.customerId");
        let neither = with_refund(|r| r.customer_id = None);
        assert_eq!(field_of(neither), "refund.customerId");
        let blank = with_refund(|r| r.customer_id = Some("  ".into()));
        assert_eq!(field_of(blank), "refund.customerId", "a blank value counts as absent");
        let not_guid = with_refund(|r| r.customer_id = Some("contoso".into()));
        assert_eq!(field_of(not_guid), "refund.customerId");

        let by_domain = with_refund(|r| {
            r.customer_id = None;
            r.customer_domain = Some(" Contoso.OnMicrosoft.com ".into());
        });
        assert_eq!(
            check(by_domain).unwrap().refund.unwrap().customer,
            CustomerRef::Domain("contoso.onmicrosoft.com".into())
        );
        for bad in ["d".repeat(256), "con toso.com".to_string()] {
            let d = with_refund(|r| {
                r.customer_id = None;
                r.customer_domain = Some(bad);
            });
            assert_eq!(field_of(d), "refund.customerDomain");
        }
    }

    #[test]
    fn refund_order_is_exactly_one_of_order_or_subscription() {
        let both = with_refund(|r| r.subscription_id = Some("sub-1".into()));
        assert_eq!(field_of(both), "refund.orderId");
        let neither = with_refund(|r| r.order_id = None);
        assert_eq!(field_of(neither), "refund.orderId");
        let not_guid = with_refund(|r| r.order_id = Some("order-1".into()));
        assert_eq!(field_of(not_guid), "refund.orderId");

        let by_sub = with_refund(|r| {
            r.order_id = None;
            r.subscription_id = Some(" sub-1 ".into());
        });
        assert_eq!(check(by_sub).unwrap().refund.unwrap().order, OrderRef::SubscriptionId("sub-1".into()));
        let too_long = with_refund(|r| {
            r.order_id = None;
            r.subscription_id = Some("s".repeat(101));
        });
        assert_eq!(field_of(too_long), "refund.subscriptionId");
    }

    #[test]
    fn refund_reason_rules() {
        for bad in [None, Some(String::new()), Some("r".repeat(2001)), Some("esc\u{1b}".into())] {
            let d = with_refund(|r| r.reason = bad);
            assert_eq!(field_of(d), "refund.reason");
        }
        let d = with_refund(|r| r.reason = Some("r".repeat(2000)));
        assert!(check(d).is_ok());
    }

    #[test]
    fn refund_amount_is_optional_but_needs_a_currency() {
        let no_amount = with_refund(|r| {
            r.amount_requested = None;
            r.currency_code = None;
        });
        let refund = check(no_amount).unwrap().refund.unwrap();
        assert_eq!((refund.amount_requested, refund.currency_code), (None, None));

        let no_currency = with_refund(|r| r.currency_code = None);
        assert_eq!(field_of(no_currency), "refund.currencyCode");
        for bad in ["usd", "US", "USDD", "XXX"] {
            let d = with_refund(|r| r.currency_code = Some(bad.into()));
            assert_eq!(field_of(d), "refund.currencyCode", "{bad:?}");
        }
        for bad in ["0", "0.00", "-5", "abc", "1.234", "1e3"] {
            let d = with_refund(|r| r.amount_requested = Some(bad.into()));
            assert_eq!(field_of(d), "refund.amountRequested", "{bad:?}");
        }
    }

    #[test]
    fn refund_amount_follows_the_currency_decimals() {
        let jpy_fraction = with_refund(|r| {
            r.amount_requested = Some("10.5".into());
            r.currency_code = Some("JPY".into());
        });
        assert_eq!(field_of(jpy_fraction), "refund.amountRequested");
        let jpy = with_refund(|r| {
            r.amount_requested = Some("1000".into());
            r.currency_code = Some("JPY".into());
        });
        assert_eq!(check(jpy).unwrap().refund.unwrap().amount_requested, Some(Money { minor: 1000, scale: 0 }));
        let bhd = with_refund(|r| {
            r.amount_requested = Some("1.5".into());
            r.currency_code = Some("BHD".into());
        });
        assert_eq!(check(bhd).unwrap().refund.unwrap().amount_requested, Some(Money { minor: 1500, scale: 3 }));
    }

    #[test]
    fn a_refund_on_another_topic_is_still_validated() {
        let mut d = with_refund(|r| r.reason = None);
        d.support_topic_id = "billing".into();
        assert_eq!(field_of(d), "refund.reason");
    }

    #[test]
    fn only_the_first_error_is_reported() {
        let mut d = draft();
        d.title = String::new();
        d.severity = "bad".into();
        assert_eq!(field_of(d), "title");
    }

    #[test]
    fn drafts_deserialize_from_the_api_json() {
        let d: ServiceRequestDraft = serde_json::from_value(serde_json::json!({
            "title": "t", "description": "d", "severity": "critical", "supportTopicId": "csp_purchase_refund",
            "primaryContact": {"firstName": "Ada", "lastName": "L", "email": "a@b.co", "phoneNumber": "123"},
            "refund": {"customerDomain": "contoso.com", "subscriptionId": "s1", "reason": "r",
                       "amountRequested": "5", "currencyCode": "EUR"}
        }))
        .unwrap();
        let r = check(d).unwrap();
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(r.refund.unwrap().amount_requested, Some(Money { minor: 500, scale: 2 }));
        let empty: ServiceRequestDraft = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(field_of(empty), "title");
    }

    #[test]
    fn note_rules() {
        assert_eq!(validate_note("  thanks\nbye ").unwrap(), "thanks\nbye");
        for bad in ["".to_string(), "   ".to_string(), "x".repeat(10_001), "nul\u{0}".to_string()] {
            let e = validate_note(&bad).unwrap_err();
            assert!(e.to_string().starts_with("newNote.text: "), "{e}");
        }
        assert!(validate_note(&"x".repeat(10_000)).is_ok());
    }

    #[test]
    fn status_names_round_trip() {
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        assert_eq!(RequestStatus::InProgress.as_str(), "in_progress");
        assert_eq!(RequestStatus::parse("Open"), None);
    }

    #[test]
    fn nothing_leaves_closed_and_everything_else_moves_freely() {
        use RequestStatus::*;
        for from in RequestStatus::ALL {
            for to in RequestStatus::ALL {
                let expected = from != Closed || to == Closed;
                assert_eq!(can_move(from, to), expected, "{from} -> {to}");
                assert_eq!(from.can_move_to(to), expected);
            }
        }
        assert!(can_move(Resolved, Open), "a resolved request may be reopened");
        assert!(can_move(Open, Closed));
        assert!(!can_move(Closed, Open));
    }

    #[test]
    fn ids_parse_and_display_hyphenated() {
        let id = ServiceRequestId::new();
        assert_eq!(ServiceRequestId::parse(&id.to_string()), Some(id));
        assert_eq!(id.to_string().len(), 36);
        assert!(AttachmentId::parse("nope").is_none());
        assert_ne!(NoteId::new(), NoteId::new());
    }

    #[test]
    fn attachment_limit_is_ten_mebibytes() {
        assert_eq!(MAX_ATTACHMENT_BYTES, 10_485_760);
    }

    #[test]
    fn locales_are_language_and_region_tags() {
        for ok in ["en-US", "de", "pt-BR", "es-419", "fil"] {
            assert!(validate_locale(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "en-USA", "en-", "../x", "en-U1"] {
            assert!(validate_locale(bad).is_err(), "{bad}");
        }
    }
}
