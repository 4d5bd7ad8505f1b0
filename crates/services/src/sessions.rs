//! Dashboard sign-in (SPEC §6): email and password (argon2id), a session per sign-in found by the SHA-256 of its
//! cookie, expiry after inactivity, a CSRF token per session, and failed sign-ins slowed per account and per
//! address — counted in the database, so every server process sees them.

use crate::auth::{token_hash, verify_password};
use crate::{Actor, Result, Services};
use base64::Engine;
use domain::customer::fold;
use domain::DomainError;
use rand::RngCore;
use store::PartnerScope;
use subtle::ConstantTimeEq;

/// A session ends after this long without a request (real time).
pub const IDLE_MICROS: i64 = 30 * 60 * 1_000_000;
/// Failed sign-ins are counted over this window.
pub const FAILURE_WINDOW_MICROS: i64 = 15 * 60 * 1_000_000;
/// Failures allowed per account, and per address, within the window.
pub const MAX_ACCOUNT_FAILURES: i64 = 5;
pub const MAX_ADDRESS_FAILURES: i64 = 30;
/// A session's last activity is written at most this often (reads stay reads).
pub(crate) const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;

/// A new sign-in: the cookie value (shown once, stored hashed) and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// A signed-in request.
#[derive(Debug, Clone)]
pub struct SessionActor {
    pub actor: Actor,
    pub csrf: String,
    /// The language the user chose for the pages (a BCP 47 tag); `None` follows the browser.
    pub language: Option<String>,
}

impl SessionActor {
    /// Whether a form's CSRF token is this session's (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        csrf_equal(&self.csrf, token)
    }
}

/// Whether a form's CSRF token is the expected one, compared in constant time; an empty expected token matches
/// nothing. The signed-in forms compare with the session's token, the sign-in form with its pre-session cookie.
pub fn csrf_equal(expected: &str, token: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
}

/// A fresh CSRF token: 256 random bits, base64url.
pub fn new_csrf_token() -> String {
    random_token()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Services {
    /// Signs in with email and password. Wrong credentials say only that; after too many failures for the account
    /// or the address, 429 `rate_limited` until the window passes (even with the right password).
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&self, email: &str, password: &str, address: Option<&str>) -> Result<NewSession> {
        let now = self.clock.now();
        let folded = fold(email.trim());
        let account_key = format!("account:{folded}");
        let address_key = address.map(|a| format!("address:{a}"));
        let limited = DomainError::RateLimited { retry_after_secs: (FAILURE_WINDOW_MICROS / 1_000_000) as u64 };
        // Counted before the check, in one statement: parallel guesses cannot all slip under the limit. A
        // successful sign-in clears the account's count.
        if self.store.record_sign_in_failure(&account_key, now, FAILURE_WINDOW_MICROS).await? > MAX_ACCOUNT_FAILURES {
            return Err(limited.into());
        }
        if let Some(k) = &address_key {
            if self.store.sign_in_failures(k, now, FAILURE_WINDOW_MICROS).await? >= MAX_ADDRESS_FAILURES {
                return Err(limited.into());
            }
        }
        let found = self.store.credentials_by_email(&folded).await?;
        let ok = match &found {
            Some(c) if !c.user.disabled && c.password_hash.is_some() => {
                verify_password(password.to_string(), c.password_hash.clone().unwrap_or_default()).await
            }
            _ => {
                // Spend the same time as a real check, so timing does not tell which emails exist.
                let _ = verify_password(password.to_string(), DUMMY_HASH.to_string()).await;
                false
            }
        };
        let Some(credentials) = found.filter(|_| ok) else {
            if let Some(k) = &address_key {
                self.store.record_sign_in_failure(k, now, FAILURE_WINDOW_MICROS).await?;
            }
            return Err(DomainError::InvalidRequest("wrong email or password".into()).into());
        };
        self.store.clear_sign_in_failures(&account_key).await?;
        let session = NewSession { token: random_token(), csrf: random_token() };
        // The email and password just proved who this is: the session is the user's partner's.
        let scope = PartnerScope::authenticated(credentials.partner.id);
        self.store.create_session(scope, &token_hash(&session.token), credentials.user.id, &session.csrf, now).await?;
        Ok(session)
    }

    /// The session behind a cookie, if it is live; an idle one is ended here.
    #[tracing::instrument(skip_all)]
    pub async fn session(&self, token: &str) -> Result<Option<SessionActor>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let Some(store::LiveSession { user, partner, csrf, last_seen, language }) = self.store.session(&hash).await?
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        if now.micros() - last_seen.micros() >= IDLE_MICROS {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        }
        if now.micros() - last_seen.micros() >= TOUCH_EVERY_MICROS {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(SessionActor { actor: Actor::new(partner, user, None), csrf, language }))
    }

    /// Forgets idle sessions and old failure counts; run periodically by the server.
    #[tracing::instrument(skip_all)]
    pub async fn purge_sessions(&self) -> Result<u64> {
        let now = self.clock.now();
        Ok(self.store.purge_sessions(now.plus_micros(-IDLE_MICROS), now.plus_micros(-FAILURE_WINDOW_MICROS)).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        Ok(self.store.delete_session(&token_hash(token)).await?)
    }

    /// Whether a sign-in cookie must be `Secure`: the server is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// An argon2id hash of a random password, checked against when the email is unknown.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3kFBAI2yfVCDg6+JUc7wmeqB1pKKpGd9WBNl5MKyZ5Y";
