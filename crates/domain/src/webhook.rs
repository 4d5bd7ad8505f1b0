//! Webhook rules (SPEC §3): the signature a receiver checks, and when a failed delivery is tried again.

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
