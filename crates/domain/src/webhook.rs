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
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a 131-byte key (longer than a block) is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signatures_verify_within_five_minutes_and_only_for_their_body() {
        let header = signature_header(b"whsec_test", 1_767_225_600, br#"{"id":"1"}"#);
        assert!(header.starts_with("t=1767225600,v1="));
        assert!(verify_signature(b"whsec_test", &header, br#"{"id":"1"}"#, 1_767_225_600 + 300));
        assert!(!verify_signature(b"whsec_test", &header, br#"{"id":"1"}"#, 1_767_225_600 + 301), "too old");
        assert!(!verify_signature(b"whsec_test", &header, br#"{"id":"2"}"#, 1_767_225_600), "another body");
        assert!(!verify_signature(b"another", &header, br#"{"id":"1"}"#, 1_767_225_600), "another secret");
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1767225600,v1=zz"] {
            assert!(!verify_signature(b"whsec_test", bad, b"", 1_767_225_600), "{bad}");
        }
    }

    #[test]
    fn retries_back_off_and_stop_after_three_days() {
        let t0 = Timestamp::from_micros(0);
        let s = MICROS_PER_SECOND;
        // Middle jitter (500 per mille) is exactly the base delay.
        assert_eq!(next_attempt(t0, t0, 1, 500), Some(t0.plus_micros(30 * s)));
        assert_eq!(next_attempt(t0, t0, 2, 500), Some(t0.plus_micros(60 * s)));
        assert_eq!(next_attempt(t0, t0, 3, 0), Some(t0.plus_micros(96 * s)), "120 s − 20%");
        assert_eq!(next_attempt(t0, t0, 3, 1000), Some(t0.plus_micros(144 * s)), "120 s + 20%");
        assert_eq!(next_attempt(t0, t0, 30, 500), Some(t0.plus_micros(6 * 3600 * s)), "capped at 6 hours");
        let late = t0.plus_micros(RETRY_FOR_MICROS - 60 * s);
        assert_eq!(next_attempt(t0, late, 30, 500), None, "past three days: failed");
    }

    #[test]
    fn endpoints_must_be_https_unless_insecure_loopback_is_allowed() {
        assert_eq!(
            validate_endpoint_url(" https://hooks.example.com/ph ", false).unwrap(),
            "https://hooks.example.com/ph"
        );
        for (url, why) in [
            ("http://hooks.example.com/", "https://"),
            ("ftp://hooks.example.com/", "https://"),
            ("https://user:pw@hooks.example.com/", "password"),
            ("https://127.0.0.1/", "private"),
            ("https://10.1.2.3/", "private"),
            ("https://169.254.169.254/latest", "private"),
            ("https://[::1]/", "private"),
            ("https://[fd00::1]/", "private"),
            ("https://localhost/", "private"),
            ("https://localhost./", "private"),
            ("https://api.localhost/", "private"),
            ("https://[::ffff:127.0.0.1]/", "private"),
            ("https://[::ffff:169.254.169.254]/", "private"),
            ("https://100.64.0.1/", "private"),
            ("https://0.0.0.0/", "private"),
            ("https://[::127.0.0.1]/", "private"),
            ("https://[64:ff9b::7f00:1]/", "private"),
            ("https://[2002:7f00:1::]/", "private"),
            ("https://198.18.0.1/", "private"),
            ("https://224.0.0.1/", "private"),
            ("http://127.0.0.1:9/", "https://"),
            ("not a url", "not a URL"),
            ("", "at most"),
        ] {
            let err = validate_endpoint_url(url, false).unwrap_err().to_string();
            assert!(err.starts_with("url: ") && err.contains(why), "{url}: {err}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(validate_endpoint_url(&long, false).is_err());
        // Tests and local development: http:// to this machine only.
        assert!(validate_endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(validate_endpoint_url("http://localhost:9000/hook", true).is_ok());
        assert!(validate_endpoint_url("http://[::1]:9000/hook", true).is_ok());
        assert!(validate_endpoint_url("https://127.0.0.1:9000/hook", true).is_ok());
        let err = validate_endpoint_url("http://hooks.example.com/", true).unwrap_err().to_string();
        assert!(err.contains("only towards this machine"), "{err}");
    }

    #[test]
    fn only_globally_reachable_addresses_are_public() {
        for ip in ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::64", "::ffff:8.8.8.8"] {
            assert!(is_public_address(ip.parse().unwrap()), "{ip} is public");
        }
        for ip in [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.8.8",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "5f00::1",
        ] {
            assert!(!is_public_address(ip.parse().unwrap()), "{ip} is not public");
        }
        // Neighbours of the refused blocks stay public.
        for ip in ["100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0", "198.17.255.255", "198.20.0.0"] {
            assert!(is_public_address(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn a_partner_or_endpoint_at_its_cap_is_passed_over_not_waited_for() {
        let caps = SendCaps { total: 5, per_partner: 3, per_endpoint: 2 };
        let (hog, other) = (PartnerId::new(), PartnerId::new());
        let hog_endpoints = [WebhookId::new(), WebhookId::new()];
        let other_endpoint = WebhookId::new();
        // The hog's deliveries are the oldest due: six of them, then one of the other partner.
        let mut due: Vec<DueDelivery> = (0..6)
            .map(|i| DueDelivery { id: DeliveryId::new(), endpoint: hog_endpoints[i % 2], partner: hog })
            .collect();
        due.push(DueDelivery { id: DeliveryId::new(), endpoint: other_endpoint, partner: other });
        let mut slots = SendSlots::default();
        let taken = slots.take(&due, caps);
        assert_eq!(taken, vec![due[0].id, due[1].id, due[2].id, due[6].id], "three of the hog's, then the other's");
        assert_eq!(slots.in_flight(), 4);
        let (full_partners, full_endpoints) = slots.full(caps);
        assert_eq!(full_partners, vec![hog]);
        assert_eq!(full_endpoints, vec![hog_endpoints[0]], "two in flight on the first endpoint");
        // Nothing more for the hog until one of its attempts ends.
        assert!(slots.take(&due[3..6], caps).is_empty());
        slots.release(hog, hog_endpoints[1]);
        assert_eq!(slots.take(&due[3..6], caps), vec![due[3].id]);
        // The total cap holds too.
        let more: Vec<DueDelivery> = (0..3)
            .map(|_| DueDelivery { id: DeliveryId::new(), endpoint: WebhookId::new(), partner: PartnerId::new() })
            .collect();
        assert_eq!(slots.take(&more, caps), vec![more[0].id], "a fifth, then the total is reached");
        assert_eq!(slots.in_flight(), 5);
        // Releasing what was never taken changes nothing.
        slots.release(PartnerId::new(), WebhookId::new());
        assert_eq!(slots.in_flight(), 5);
    }

    #[test]
    fn operation_types_are_known_and_deduplicated() {
        let kinds = parse_operation_types(&["create_order".into(), "download_software".into(), "create_order".into()]);
        assert_eq!(kinds.unwrap(), vec![OperationType::CreateOrder, OperationType::DownloadSoftware]);
        assert!(parse_operation_types(&[]).unwrap_err().to_string().starts_with("operationTypes: "));
        let err = parse_operation_types(&["create_order".into(), "nope".into()]).unwrap_err().to_string();
        assert!(err.starts_with("operationTypes[1]: must be one of create_customer"), "{err}");
    }

    fn attempt(at: Timestamp, number: u32, status: Option<u16>) -> Attempt {
        Attempt { number, at, status_code: status, duration_ms: 5, error: status.is_none().then(|| "refused".into()) }
    }

    #[test]
    fn after_an_attempt_a_delivery_succeeds_retries_or_fails_and_its_endpoint_may_be_disabled() {
        let t0 = Timestamp::from_micros(0);
        let s = MICROS_PER_SECOND;
        let ok = after_attempt(&attempt(t0, 1, Some(204)), t0, Some(t0), false, 500);
        assert_eq!((ok.delivery, ok.retry_at, ok.endpoint), (DeliveryStatus::Succeeded, None, EndpointHealth::Healthy));
        for status in [None, Some(500), Some(302), Some(404)] {
            let failed = after_attempt(&attempt(t0, 1, status), t0, None, false, 500);
            assert_eq!(failed.delivery, DeliveryStatus::Pending, "{status:?}");
            assert_eq!(failed.retry_at, Some(t0.plus_micros(30 * s)));
            assert_eq!(failed.endpoint, EndpointHealth::Failing);
        }
        // A test event is tried once.
        let test = after_attempt(&attempt(t0, 1, Some(500)), t0, None, true, 500);
        assert_eq!((test.delivery, test.retry_at), (DeliveryStatus::Failed, None));
        // Past the three days of retries, the delivery fails, and its endpoint (no success since) is disabled.
        let late = t0.plus_micros(RETRY_FOR_MICROS - 10 * s);
        let done = after_attempt(&attempt(late, 20, Some(500)), t0, Some(t0), false, 500);
        assert_eq!(done.delivery, DeliveryStatus::Failed);
        assert!(matches!(done.endpoint, EndpointHealth::Disable(_)), "{:?}", done.endpoint);
        // ...unless the endpoint took other deliveries meanwhile: then only this one fails.
        let refused = after_attempt(&attempt(late, 20, Some(400)), t0, Some(late), false, 500);
        assert_eq!((refused.delivery, refused.endpoint), (DeliveryStatus::Failed, EndpointHealth::Failing));
        // An endpoint failing for three days is disabled, and says why.
        let now = t0.plus_micros(RETRY_FOR_MICROS);
        let off = after_attempt(&attempt(now, 3, None), now, Some(t0), false, 500);
        assert_eq!(off.delivery, DeliveryStatus::Failed);
        match off.endpoint {
            EndpointHealth::Disable(why) => {
                assert!(why.contains("no delivery succeeded since 1970-01-01") && why.contains("refused"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn event_bodies_carry_the_record_as_the_api_shows_it() {
        let partner = PartnerId::new();
        let new = crate::audit::NewAuditRecord::succeeded(
            OperationType::CreateOrder,
            "ann@contoso.com",
            Timestamp::from_micros(0),
        )
        .data("orderId", "o-1");
        let record = AuditRecord::seal(partner, 1, crate::audit::GENESIS_HASH, new);
        let body: serde_json::Value = serde_json::from_str(&event_body(&record)).unwrap();
        assert_eq!(body["id"], record.id.to_string());
        assert_eq!(body["partnerId"], partner.to_string());
        assert_eq!(body["operationType"], "create_order");
        assert_eq!(body["resourceType"], "order");
        assert_eq!(body["operationDate"], "1970-01-01T00:00:00Z");
        assert_eq!(body["customizedData"], serde_json::json!([{"key": "orderId", "value": "o-1"}]));
        assert!(body.get("hash").is_none() && body.get("seq").is_none());
    }

    proptest! {
        #[test]
        fn retries_never_come_sooner_than_24_seconds_nor_later_than_the_window(
            attempts in 1u32..100, jitter in 0u32..=1000, elapsed in 0i64..RETRY_FOR_MICROS,
        ) {
            let t0 = Timestamp::from_micros(1_000_000_000_000);
            let last = t0.plus_micros(elapsed);
            if let Some(next) = next_attempt(t0, last, attempts, jitter) {
                prop_assert!(next.micros() - last.micros() >= 24 * MICROS_PER_SECOND);
                prop_assert!(next.micros() - t0.micros() <= RETRY_FOR_MICROS);
            }
        }

        #[test]
        fn any_body_signed_verifies(secret in proptest::collection::vec(any::<u8>(), 1..100), body in proptest::collection::vec(any::<u8>(), 0..500)) {
            let header = signature_header(&secret, 1_800_000_000, &body);
            prop_assert!(verify_signature(&secret, &header, &body, 1_800_000_000));
        }
    }
}
