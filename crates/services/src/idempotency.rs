//! Idempotent POST and PATCH (SPEC §5): the first response under a key is kept — written by the Store in the
//! same transaction as the change — and replayed for 24 hours of real time.

use crate::{Error, Result, Services};
use domain::DomainError;
use sha2::{Digest, Sha256};
use store::{ClaimOutcome, IdempotencyClaim, IdempotencyCompletion};

/// How long a key is remembered (real time).
pub const TTL_MICROS: i64 = 24 * 3600 * 1_000_000;
/// A claim not completed within this time belongs to a request that died; a retry may take it over.
pub const LEASE_MICROS: i64 = 60 * 1_000_000;

/// Permission to run a request under a key, held until the change commits with its response.
#[derive(Debug, Clone)]
pub struct IdemTicket {
    scope: String,
    /// Who within the scope asked (`user:{id}`, `publisher`): a stored secret is bound to it.
    owner: String,
    key: String,
    /// The lease the claim was taken with; it identifies this claim when completing it.
    lease_until: domain::Timestamp,
}

pub enum Claim {
    /// Run the request; the ticket completes the key in the change's transaction.
    Proceed(IdemTicket),
    /// The first response, to send again as it was.
    Replay { status: u16, body: Vec<u8> },
}

/// What a use case needs to store its response under the key: the ticket and how the caller renders the result.
pub struct Idem<'a, T> {
    pub ticket: &'a IdemTicket,
    pub status: u16,
    /// The response's body; an error fails the request (nothing is kept under the key) rather than storing an
    /// empty body that a retry would replay.
    pub render: &'a (dyn Fn(&T) -> serde_json::Result<Vec<u8>> + Send + Sync),
    /// The response carries a secret (a token, an activation key, a link): keep it encrypted.
    pub secret: bool,
}

/// SHA-256 over method, path and body: the same key with anything else is a different request.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path_and_query.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// A secret-bearing response is sealed together with its owner (`owner\n` before the body), so the seal vouches for
/// whom it may be replayed to.
fn bind_owner(owner: &str, body: &[u8]) -> Vec<u8> {
    let mut bound = Vec::with_capacity(owner.len() + 1 + body.len());
    bound.extend_from_slice(owner.as_bytes());
    bound.push(b'\n');
    bound.extend_from_slice(body);
    bound
}

/// The body of a bound response when `owner` is the one it was bound to.
fn unbind_owner<'a>(bound: &'a [u8], owner: &str) -> Option<&'a [u8]> {
    let rest = bound.strip_prefix(owner.as_bytes())?;
    rest.strip_prefix(b"\n")
}

pub fn validate_key(key: &str) -> std::result::Result<(), DomainError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid("MS-RequestId", "must be 1 to 255 visible ASCII characters, such as a UUID"));
    }
    Ok(())
}

impl Services {
    /// `scope` is the caller ("partner:{id}" or "publisher"): keys of different callers never meet. `owner` is who
    /// within it asks: any of the partner's users gets the first response again, except one that carries a secret
    /// (an API token, an activation key, a webhook secret), which only its owner gets; another user is told the key
    /// was used for a different request (409).
    #[tracing::instrument(skip_all)]
    pub async fn idempotency_claim(
        &self,
        scope: String,
        owner: String,
        key: &str,
        fingerprint: String,
    ) -> Result<Claim> {
        validate_key(key)?;
        let claim = IdempotencyClaim {
            scope,
            key: key.to_string(),
            fingerprint,
            now: self.clock.now(),
            lease_micros: LEASE_MICROS,
            ttl_micros: TTL_MICROS,
        };
        match self.store.claim_idempotency(&claim).await? {
            ClaimOutcome::Claimed => Ok(Claim::Proceed(IdemTicket {
                lease_until: claim.now.plus_micros(claim.lease_micros),
                scope: claim.scope,
                owner,
                key: claim.key,
            })),
            ClaimOutcome::Replay { status, body, encrypted } => {
                let body = if encrypted {
                    let opened = self
                        .secrets
                        .open(&body)
                        .ok_or_else(|| crate::Error::Internal("a stored response does not decrypt".into()))?;
                    match unbind_owner(&opened, &owner) {
                        Some(body) => body.to_vec(),
                        None => return Err(DomainError::IdempotencyKeyReused.into()),
                    }
                } else {
                    body
                };
                Ok(Claim::Replay { status, body })
            }
            ClaimOutcome::InProgress => Err(DomainError::RequestInProgress.into()),
            ClaimOutcome::Mismatch => Err(DomainError::IdempotencyKeyReused.into()),
        }
    }

    /// The request failed without a change: forget the claim so that a retry runs again.
    #[tracing::instrument(skip_all)]
    pub async fn idempotency_release(&self, ticket: &IdemTicket) {
        if let Err(e) = self.store.release_idempotency(&ticket.scope, &ticket.key).await {
            tracing::warn!(error = %e, "could not release an idempotency claim; it expires with its lease");
        }
    }

    pub(crate) fn completion<T>(&self, idem: Option<&Idem<'_, T>>, value: &T) -> Result<Option<IdempotencyCompletion>> {
        idem.map(|i| {
            let body =
                (i.render)(value).map_err(|e| Error::Internal(format!("rendering the response to keep: {e}")))?;
            Ok(IdempotencyCompletion {
                scope: i.ticket.scope.clone(),
                key: i.ticket.key.clone(),
                status: i.status,
                body: if i.secret { self.secrets.seal(&bind_owner(&i.ticket.owner, &body)) } else { body },
                encrypted: i.secret,
                lease_until: i.ticket.lease_until,
            })
        })
        .transpose()
    }

    /// Forgets keys older than 24 hours; run periodically by the server.
    #[tracing::instrument(skip_all)]
    pub async fn purge_idempotency(&self) -> Result<u64> {
        Ok(self.store.purge_idempotency(self.clock.now().plus_micros(-TTL_MICROS)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_separates_fields() {
        assert_ne!(fingerprint("POST", "/a", b"b"), fingerprint("POST", "/ab", b""));
        assert_ne!(fingerprint("POST", "/a", b"{}"), fingerprint("PATCH", "/a", b"{}"));
        assert_eq!(fingerprint("POST", "/a", b"{}"), fingerprint("POST", "/a", b"{}"));
    }

    #[test]
    fn a_bound_response_opens_only_for_its_owner() {
        let bound = bind_owner("user:a", b"{\"token\":\"s\"}");
        assert_eq!(unbind_owner(&bound, "user:a"), Some(&b"{\"token\":\"s\"}"[..]));
        assert_eq!(unbind_owner(&bound, "user:b"), None);
        assert_eq!(unbind_owner(&bound, "user:"), None);
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("has space").is_err());
        assert!(validate_key(&"a".repeat(256)).is_err());
    }
}
