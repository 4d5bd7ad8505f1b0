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
mod tests;
