//! Webhook rules (SPEC §3): the signature a receiver checks, and when a failed delivery is tried again.

use crate::audit::{AuditRecord, OperationType};
use crate::error::DomainError;
use crate::ids::{AuditRecordId, DeliveryId, PartnerId, WebhookId};
use crate::timestamp::{Timestamp, MICROS_PER_SECOND};
use sha2::{Digest, Sha256};

/// How long a delivery keeps being retried before it is marked failed (and its endpoint, if it never answered
/// in that time, disabled).
pub const RETRY_FOR_MICROS: i64 = 3 * 24 * 3600 * MICROS_PER_SECOND;
/// Receivers should refuse a signature older than this (replays).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 5 * 60;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// The `Partnerhub-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub fn signature_header(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut message = format!("{unix_seconds}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={unix_seconds},v1={}", hex::encode(hmac_sha256(secret, &message)))
}

/// What a receiver does: the header parses, the timestamp is within the tolerance of `now`, and the MAC matches
/// (compared without early exit).
pub fn verify_signature(secret: &[u8], header: &str, body: &[u8], now_unix_seconds: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now_unix_seconds - t).abs() > SIGNATURE_TOLERANCE_SECS || v1.len() != 32 {
        return false;
    }
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let expected = hmac_sha256(secret, &message);
    expected.iter().zip(&v1).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// When attempt `attempts + 1` is due after `attempts` failures, given a jitter draw in `0..1000` (per mille):
/// 30 s doubling per failure, capped at 6 hours, ±20% jitter. `None` once the next attempt would fall more than
/// three days after the first one: the delivery has failed.
pub fn next_attempt(
    first_attempt: Timestamp,
    last_attempt: Timestamp,
    attempts: u32,
    jitter_per_mille: u32,
) -> Option<Timestamp> {
    let base = 30 * MICROS_PER_SECOND;
    let cap = 6 * 3600 * MICROS_PER_SECOND;
    let delay = base.saturating_mul(1i64 << attempts.saturating_sub(1).min(20)).min(cap);
    // ±20%: a draw of 0 gives 80%, 1000 gives 120%.
    let factor = 800 + i64::from(jitter_per_mille.min(1000)) * 400 / 1000;
    let next = last_attempt.plus_micros(delay / 1000 * factor);
    (next.micros() - first_attempt.micros() <= RETRY_FOR_MICROS).then_some(next)
}

/// A partner may register at most this many endpoints.
pub const MAX_ENDPOINTS_PER_PARTNER: usize = 10;
/// Longest accepted endpoint URL.
pub const MAX_URL_LEN: usize = 2048;
/// A receiver must answer within this many seconds, or the attempt fails.
pub const TIMEOUT_SECS: u64 = 10;

/// A registered endpoint. It receives, as JSON `POST`s, the partner's activity records of the kinds it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub partner_id: PartnerId,
    pub url: String,
    pub operation_types: Vec<OperationType>,
    pub created_by: String,
    pub created_at: Timestamp,
    /// The first failed attempt since the last success; three days of failures disable the endpoint.
    pub failing_since: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
    /// Why it was disabled, for the partner to read.
    pub disabled_reason: Option<String>,
}

impl WebhookEndpoint {
    pub fn wants(&self, operation_type: &str) -> bool {
        self.operation_types.iter().any(|o| o.as_str() == operation_type)
    }
}

/// Where an endpoint may point. Only `https://`; with `allow_insecure` (tests, local development) also `http://`
/// to this machine. Never credentials in the URL (they would show in every listing), and never, without
/// `allow_insecure`, an address literal of this machine or a private network (the server would otherwise post to
/// its own neighbours on a partner's say-so).
pub fn validate_endpoint_url(raw: &str, allow_insecure: bool) -> Result<String, DomainError> {
    let bad = |why: &str| DomainError::invalid("url", why);
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(bad(&format!("must be an https:// URL of at most {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    let host = url.host().ok_or_else(|| bad("must name a host"))?;
    // An IPv6 address that maps an IPv4 one (`::ffff:127.0.0.1`) is judged as that IPv4 address.
    let host = match host {
        url::Host::Ipv6(ip) => ip.to_ipv4_mapped().map(url::Host::Ipv4).unwrap_or(url::Host::Ipv6(ip)),
        other => other,
    };
    let loopback = match &host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let internal = loopback
        || match &host {
            url::Host::Domain(_) => false,
            url::Host::Ipv4(ip) => !is_public_address(std::net::IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => !is_public_address(std::net::IpAddr::V6(*ip)),
        };
    match url.scheme() {
        "https" if !internal || allow_insecure => Ok(url.to_string()),
        "https" => Err(bad("must not point at this machine or a private network")),
        "http" if allow_insecure && loopback => Ok(url.to_string()),
        "http" if allow_insecure => Err(bad("may use http:// only towards this machine (127.0.0.1, ::1, localhost)")),
        _ => Err(bad("must start with https://")),
    }
}

/// Whether a delivery may connect to `ip`: only globally reachable unicast addresses, as IANA's special-purpose
/// address registries (RFC 6890 and successors) say, for both families. Everything else — this machine, private
/// and shared networks, link-local, documentation, benchmarking, multicast, reserved — is refused, and so is every
/// IPv6 address that embeds or translates to an IPv4 one (IPv4-compatible, NAT64, 6to4, Teredo) except the
/// IPv4-mapped form, which is judged as the IPv4 address it maps.
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => {
            let [a, b, c, _] = ip.octets();
            !(a == 0 // "this network"
                || a == 10
                || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2) // TEST-NET-1
                || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
                || (a == 192 && b == 168)
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || (a == 198 && b == 51 && c == 100) // TEST-NET-2
                || (a == 203 && b == 0 && c == 113) // TEST-NET-3
                || a >= 224) // multicast, reserved, broadcast
        }
        std::net::IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_address(std::net::IpAddr::V4(v4));
            }
            let s = ip.segments();
            // Global unicast is 2000::/3; the rest of the space (loopback, unspecified, IPv4-compatible, NAT64
            // 64:ff9b::/96 and 64:ff9b:1::/48, discard, unique local, link-local, multicast) is not reachable.
            let global_unicast = (s[0] & 0xe000) == 0x2000;
            let special = match s[0] {
                // 2001::/23: IETF protocol assignments (Teredo, benchmarking, ORCHID); 2001:db8::/32: documentation.
                0x2001 => s[1] < 0x0200 || s[1] == 0x0db8,
                0x2002 => true,          // 6to4
                0x3fff => s[1] < 0x1000, // 3fff::/20, documentation
                _ => false,
            };
            global_unicast && !special
        }
    }
}

/// How many deliveries one dispatcher sends at once: in all, per partner, per endpoint. The caps keep one partner's
/// endpoints that never answer from holding every sending slot: the others' deliveries keep going out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCaps {
    pub total: u32,
    pub per_partner: u32,
    pub per_endpoint: u32,
}

pub const SEND_CAPS: SendCaps = SendCaps { total: 32, per_partner: 8, per_endpoint: 4 };

/// A due delivery the dispatcher may take, oldest due first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub endpoint: WebhookId,
    pub partner: PartnerId,
}

/// What one dispatcher is sending now, counted against [`SendCaps`].
#[derive(Debug, Default, Clone)]
pub struct SendSlots {
    total: u32,
    partners: std::collections::HashMap<PartnerId, u32>,
    endpoints: std::collections::HashMap<WebhookId, u32>,
}

impl SendSlots {
    pub fn in_flight(&self) -> u32 {
        self.total
    }

    /// Partners and endpoints with no slot left (the store need not offer their deliveries).
    pub fn full(&self, caps: SendCaps) -> (Vec<PartnerId>, Vec<WebhookId>) {
        let partners = self.partners.iter().filter(|(_, n)| **n >= caps.per_partner).map(|(p, _)| *p).collect();
        let endpoints = self.endpoints.iter().filter(|(_, n)| **n >= caps.per_endpoint).map(|(e, _)| *e).collect();
        (partners, endpoints)
    }

    /// Takes slots for the due deliveries, oldest first, as far as the caps allow, and returns those taken. A
    /// delivery whose partner or endpoint is full is passed over, not waited for: it does not hold up the rest.
    pub fn take(&mut self, due: &[DueDelivery], caps: SendCaps) -> Vec<DeliveryId> {
        let mut taken = Vec::new();
        for d in due {
            if self.total >= caps.total {
                break;
            }
            let partner = self.partners.get(&d.partner).copied().unwrap_or(0);
            let endpoint = self.endpoints.get(&d.endpoint).copied().unwrap_or(0);
            if partner < caps.per_partner && endpoint < caps.per_endpoint {
                self.total += 1;
                *self.partners.entry(d.partner).or_default() += 1;
                *self.endpoints.entry(d.endpoint).or_default() += 1;
                taken.push(d.id);
            }
        }
        taken
    }

    /// Gives back the slot of a delivery whose attempt ended (or that was not claimed after all).
    pub fn release(&mut self, partner: PartnerId, endpoint: WebhookId) {
        fn down<K: std::hash::Hash + Eq>(map: &mut std::collections::HashMap<K, u32>, key: K) {
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        if self.partners.contains_key(&partner) && self.endpoints.contains_key(&endpoint) {
            self.total -= 1;
            down(&mut self.partners, partner);
            down(&mut self.endpoints, endpoint);
        }
    }
}

/// The kinds an endpoint asks for: at least one, each a known `operationType`, duplicates dropped.
pub fn parse_operation_types(raw: &[String]) -> Result<Vec<OperationType>, DomainError> {
    if raw.is_empty() {
        return Err(DomainError::invalid("operationTypes", "must name at least one kind of activity record"));
    }
    let mut kinds = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let kind = OperationType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = OperationType::ALL.iter().map(|o| o.as_str()).collect();
            DomainError::invalid(&format!("operationTypes[{i}]"), format!("must be one of {}", known.join(", ")))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// What a delivery's JSON body is: the activity record exactly as `GET /v1/auditrecords` shows it.
pub fn event_body(r: &AuditRecord) -> String {
    let data: Vec<_> = r.customized_data.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})).collect();
    serde_json::json!({
        "id": r.id,
        "partnerId": r.partner_id,
        "customerId": r.customer_id,
        "customerName": r.customer_name,
        "userPrincipalName": r.user_principal_name,
        "resourceType": r.resource_type,
        "operationType": r.operation_type,
        "operationDate": r.operation_date.to_rfc3339(),
        "operationStatus": r.operation_status,
        "customizedData": data,
        "attributes": {"objectType": "AuditRecord"},
    })
    .to_string()
}

/// What an operator webhook's body is (`key_stock_low`): the operator activity record as
/// `GET /v1/publisher/activity` shows it.
pub fn operator_event_body(r: &crate::operator::OperatorRecord) -> String {
    let data: serde_json::Map<String, serde_json::Value> =
        r.data.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::json!({
        "id": r.id,
        "seq": r.seq,
        "operation": r.operation,
        "operationDate": r.at.to_rfc3339(),
        "principal": r.principal,
        "partnerId": r.partner_id,
        "data": data,
        "attributes": {"objectType": "OperatorRecord"},
    })
    .to_string()
}

/// The operator records sent to the operator webhook.
pub const OPERATOR_EVENTS: [crate::operator::OperatorOperation; 1] = [crate::operator::OperatorOperation::KeyStockLow];

/// The body of `POST /v1/webhooks/{id}/test`: not an activity record, and says so.
pub fn test_event_body(endpoint: WebhookId, delivery: DeliveryId, at: Timestamp) -> String {
    serde_json::json!({
        "id": delivery,
        "webhookId": endpoint,
        "operationType": TEST_EVENT,
        "operationDate": at.to_rfc3339(),
        "attributes": {"objectType": "WebhookTest"},
    })
    .to_string()
}

/// The `operationType` of a test delivery.
pub const TEST_EVENT: &str = "webhook_test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Succeeded,
    /// No 2xx within three days (or the endpoint was disabled or the test failed).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub number: u32,
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub duration_ms: u32,
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A delivery as the partner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    /// The activity record it carries; `None` for a test event.
    pub record_id: Option<AuditRecordId>,
    pub operation_type: String,
    pub status: DeliveryStatus,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: Vec<Attempt>,
}

/// What follows an attempt, for the delivery and for its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub delivery: DeliveryStatus,
    /// When the next attempt is due (only while `Pending`).
    pub retry_at: Option<Timestamp>,
    pub endpoint: EndpointHealth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointHealth {
    /// It answered 2xx: no longer failing (and enabled again, when this was a test).
    Healthy,
    /// It failed; failing since the earlier of its stored instant and now.
    Failing,
    /// It has failed for three days: disabled, with the reason the partner reads.
    Disable(String),
}

/// The rules after an attempt at `now`: retry on the schedule of [`next_attempt`] for three days after the first
/// attempt, and disable an endpoint that has had no success for three days. A test delivery is tried once.
pub fn after_attempt(
    attempt: &Attempt,
    first_attempt: Timestamp,
    failing_since: Option<Timestamp>,
    is_test: bool,
    jitter_per_mille: u32,
) -> AttemptOutcome {
    if attempt.succeeded() {
        return AttemptOutcome {
            delivery: DeliveryStatus::Succeeded,
            retry_at: None,
            endpoint: EndpointHealth::Healthy,
        };
    }
    let now = attempt.at;
    let since = failing_since.unwrap_or(now).min(now);
    // Three days without a success: either this attempt comes three days after the endpoint began failing, or this
    // delivery has used up its three days of retries (its last one may fall a little short of the 72 hours) and
    // the endpoint has not succeeded since its first attempt. One payload an endpoint keeps refusing while it takes
    // others does not disable it.
    let gave_up = !is_test
        && since <= first_attempt
        && next_attempt(first_attempt, now, attempt.number, jitter_per_mille).is_none();
    let endpoint = if now.micros() - since.micros() >= RETRY_FOR_MICROS || gave_up {
        let why = attempt.error.clone().unwrap_or_else(|| "no answer".into());
        EndpointHealth::Disable(format!(
            "disabled at {}: no delivery succeeded since {} (last error: {why})",
            now.to_rfc3339(),
            since.to_rfc3339()
        ))
    } else {
        EndpointHealth::Failing
    };
    let retry_at = match (&endpoint, is_test) {
        (EndpointHealth::Failing, false) => next_attempt(first_attempt, now, attempt.number, jitter_per_mille),
        _ => None,
    };
    let delivery = if retry_at.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Failed };
    AttemptOutcome { delivery, retry_at, endpoint }
}

#[cfg(test)]
mod tests;
