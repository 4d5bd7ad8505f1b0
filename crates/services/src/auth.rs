//! Authentication (bearer token → caller) and the actor that carries the one authorization check.

use crate::{Error, Result, Services};
use base64::Engine;
use domain::ids::TokenId;
use domain::operator::{self, NewOperatorRecord, Operator, OperatorAction, OperatorOperation};
use domain::partner::Partner;
use domain::policy::{self, Action};
use domain::user::User;
use domain::{DomainError, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::PartnerScope;
use subtle::ConstantTimeEq;

/// A signed-in partner user: the partner, the user and its roles.
#[derive(Debug, Clone)]
pub struct Actor {
    pub partner: Partner,
    pub user: User,
    /// The API token used, if any (a dashboard session has none).
    pub token: Option<TokenId>,
    scope: PartnerScope,
}

impl Actor {
    /// Only authentication (a token or a session) and [`Services::act_as`] make an actor.
    pub(crate) fn new(partner: Partner, user: User, token: Option<TokenId>) -> Actor {
        let scope = PartnerScope::authenticated(partner.id);
        Actor { partner, user, token, scope }
    }

    /// The one gate of every partner use case: the scope is handed out only when the roles allow the action.
    pub fn authorize(&self, action: Action) -> Result<PartnerScope> {
        policy::authorize(&self.user.roles, action)?;
        Ok(self.scope)
    }

    /// The name activity records show for this actor.
    pub fn principal(&self) -> &str {
        &self.user.email
    }
}

/// Proof that the publisher (the operator) is acting, and who: an operator user (through its token or a console
/// session), the break-glass token (`--publisher-token`), or the command line. Every publisher use case takes one
/// and starts with [`Publisher::authorize`], so a route or command that forgot to authenticate the operator does
/// not compile. Minted only by [`Services::authenticate`], [`Services::operator_session`] and
/// [`Services::operator_on_this_machine`]; its fields are private: no other code can make one.
#[derive(Debug, Clone)]
pub struct Publisher {
    via: PublisherVia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PublisherVia {
    /// An operator user, by its API token (`Some`) or a console session.
    Operator(Box<Operator>, Option<TokenId>),
    /// The configured publisher token: every action, each one logged as the break-glass token's.
    BreakGlass,
    CommandLine,
}

/// How operator records name the break-glass token and the command line.
pub const BREAK_GLASS_PRINCIPAL: &str = "publisher token (break-glass)";
pub const COMMAND_LINE_PRINCIPAL: &str = "operator (command line)";

impl Publisher {
    pub(crate) fn operator(operator: Operator, token: Option<TokenId>) -> Publisher {
        Publisher { via: PublisherVia::Operator(Box::new(operator), token) }
    }

    /// The name operator records show: the operator user's email, or the break-glass token, or the command line.
    pub fn principal(&self) -> &str {
        match &self.via {
            PublisherVia::Operator(o, _) => &o.email,
            PublisherVia::BreakGlass => BREAK_GLASS_PRINCIPAL,
            PublisherVia::CommandLine => COMMAND_LINE_PRINCIPAL,
        }
    }

    /// The operator user acting, if one is (the break-glass token and the command line are nobody's).
    pub fn user(&self) -> Option<&Operator> {
        match &self.via {
            PublisherVia::Operator(o, _) => Some(o),
            _ => None,
        }
    }

    /// The one gate of every publisher use case: an operator user's roles must allow the action (the
    /// operator's policy table); the break-glass token and the command line may do everything.
    pub fn authorize(&self, action: OperatorAction) -> Result<()> {
        match &self.via {
            PublisherVia::Operator(o, _) => Ok(operator::authorize(&o.roles, action)?),
            PublisherVia::BreakGlass | PublisherVia::CommandLine => Ok(()),
        }
    }

    /// Whether the action is allowed, without refusing (what the console offers).
    pub fn may(&self, action: OperatorAction) -> bool {
        self.authorize(action).is_ok()
    }

    /// A record of the operator activity log, naming who acted.
    pub fn record(&self, operation: OperatorOperation, at: Timestamp) -> NewOperatorRecord {
        NewOperatorRecord::new(operation, self.user().map(|o| o.id), self.principal(), at)
    }
}

/// Who is calling: a partner user, or the publisher (the operator).
#[derive(Debug, Clone)]
pub enum Caller {
    Partner(Box<Actor>),
    Publisher(Publisher),
}

pub(crate) fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// A new API token: 256 random bits, shown once; only its SHA-256 is stored (the token's entropy makes a slow
/// hash unnecessary, and lookups stay one indexed read).
pub fn new_api_token() -> (String, String) {
    new_token_with("ph_")
}

/// Operator users' API tokens start with this, so a request names which kind it carries (one lookup).
pub const OPERATOR_TOKEN_PREFIX: &str = "pho_";

/// A new operator API token (as [`new_api_token`], with the operator prefix).
pub fn new_operator_token() -> (String, String) {
    new_token_with(OPERATOR_TOKEN_PREFIX)
}

fn new_token_with(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(sha256(token))
}

impl Services {
    /// The operator's proof for commands run on the server's machine (`partnerhub catalog import`, `keys import`,
    /// `invoices run`, …), which open the database and the secret key directly. The web crate must not call this
    /// (its clippy.toml forbids it): a request proves the publisher only by its token.
    pub fn operator_on_this_machine(&self) -> Publisher {
        Publisher { via: PublisherVia::CommandLine }
    }

    /// Acts as one of a partner's users, for the operator's tools (the demo data, the benchmarks' set-up): what
    /// the user may do is still decided by its roles.
    pub fn act_as(&self, _operator: &Publisher, partner: Partner, user: User) -> Actor {
        Actor::new(partner, user, None)
    }

    /// Resolves a bearer token. Unknown, revoked, or a disabled user: 401.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller> {
        let bearer = bearer.trim();
        if bearer.is_empty() || bearer.len() > 512 {
            return Err(DomainError::Unauthorized.into());
        }
        if let Some(expected) = &self.publisher_token_hash {
            if bool::from(sha256(bearer).ct_eq(expected)) {
                tracing::warn!("the break-glass publisher token was used");
                return Ok(Caller::Publisher(Publisher { via: PublisherVia::BreakGlass }));
            }
        }
        if bearer.starts_with(OPERATOR_TOKEN_PREFIX) {
            return match self.store.authenticate_operator(&token_hash(bearer)).await? {
                Some((token, operator)) => Ok(Caller::Publisher(Publisher::operator(operator, Some(token)))),
                None => Err(DomainError::Unauthorized.into()),
            };
        }
        match self.store.authenticate(&token_hash(bearer)).await? {
            Some((token, user, partner)) => Ok(Caller::Partner(Box::new(Actor::new(partner, user, Some(token))))),
            None => Err(DomainError::Unauthorized.into()),
        }
    }

    /// The partner's current time: real time, or the sandbox partner's test clock.
    pub fn partner_now(&self, partner: &Partner) -> Timestamp {
        partner.now(self.clock.now())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// Argon2id password hashing, run off the async runtime (it takes tens of milliseconds on purpose).
#[tracing::instrument(skip_all)]
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}").into()))
    })
    .await
    .map_err(|e| Error::Internal(crate::error::Cause::caused("the password hashing task", e)))?
}

#[tracing::instrument(skip_all)]
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash)
            .map(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = new_api_token();
        let (b, _) = new_api_token();
        assert_ne!(a, b);
        assert!(a.len() >= 43 + 3);
        assert_eq!(ha, token_hash(&a));
        assert_ne!(ha, a);
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
    }
}
