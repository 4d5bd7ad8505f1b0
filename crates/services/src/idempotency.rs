//! Idempotent POST and PATCH (SPEC §5): the first response under a key is kept — written by the Store in the
//! same transaction as the change — and replayed for 24 hours of real time.

use crate::{Result, Services};
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

/// A response kept under an idempotency key, ready for the change's own transaction: made from the ticket and the
/// body the edge rendered ([`Services::completion`]), sealed when it carries a secret. Opaque: a use case hands it
/// to the store unread.
pub struct Completion(IdempotencyCompletion);

/// How a use case keeps its response under the request's key (SPEC §5): given its result, the edge renders the
/// response once and returns the completion the change writes in its transaction. A use case run without a key
/// (the dashboard, the CLI, a request without `MS-RequestId`) is given `None`.
pub trait Keep<T>: Send + Sync {
    /// An error fails the request (nothing is kept under the key) rather than storing a body a retry would replay.
    fn keep(&self, value: &T) -> Result<Completion>;
}

/// What a use case writes for its key: the completion of its result, when it runs under a key.
pub(crate) fn completion<T>(keep: Option<&dyn Keep<T>>, value: &T) -> Result<Option<IdempotencyCompletion>> {
    keep.map(|k| k.keep(value).map(|c| c.0)).transpose()
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

    /// The response to keep under `ticket`, as the edge rendered it: `status` is the edge's, kept and replayed as
    /// is; a `secret` response (a token, an activation key, a link, a webhook secret) is sealed with its owner.
    pub fn completion(&self, ticket: &IdemTicket, status: u16, body: Vec<u8>, secret: bool) -> Completion {
        Completion(IdempotencyCompletion {
            scope: ticket.scope.clone(),
            key: ticket.key.clone(),
            status,
            body: if secret { self.secrets.seal(&bind_owner(&ticket.owner, &body)) } else { body },
            encrypted: secret,
            lease_until: ticket.lease_until,
        })
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
