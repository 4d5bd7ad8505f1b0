//! The operator's own users (console and publisher API), their roles and API tokens, console sign-in, and the
//! operator activity log with its chain check.

use crate::auth::{hash_password, new_operator_token, token_hash, verify_password, Publisher};
use crate::idempotency::{completion, Keep};
use crate::sessions::{
    csrf_equal, new_csrf_token, FAILURE_WINDOW_MICROS, IDLE_MICROS, MAX_ACCOUNT_FAILURES, MAX_ADDRESS_FAILURES,
};
use crate::{Result, Services};
use domain::audit::{ChainVerifier, Verification};
use domain::customer::fold;
use domain::ids::{OperatorId, TokenId};
use domain::operator::{Operator, OperatorAction, OperatorOperation, OperatorRecord, OperatorRoles};
use domain::paging::{Cursor, Page, PageSize};
use domain::user::check_password;
use domain::DomainError;
use store::{Effects, OperatorPatch, OperatorToken};

/// A new operator user as a request gives it.
#[derive(Debug, Clone)]
pub struct OperatorDraft {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    /// Absent: the user cannot sign in until a password is set (API tokens still work).
    pub password: Option<String>,
}

/// An operator token as shown once, at creation.
#[derive(Debug, Clone)]
pub struct IssuedOperatorToken {
    pub token: OperatorToken,
    pub secret: String,
}

/// A change to an operator user, as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct OperatorChange {
    pub display_name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// A console session: the operator (as the proof every publisher use case takes) and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct OperatorSession {
    pub publisher: Publisher,
    operator: Operator,
    pub csrf: String,
    pub language: Option<String>,
}

impl OperatorSession {
    pub fn csrf_matches(&self, token: &str) -> bool {
        csrf_equal(&self.csrf, token)
    }
    /// The operator user signed in.
    pub fn operator(&self) -> &Operator {
        &self.operator
    }
}

/// Where `partnerhub operator create-admin` and the demo stand after bootstrapping.
#[derive(Debug, Clone)]
pub struct BootstrappedAdmin {
    pub operator: Operator,
    /// The password, when it was generated here (shown once).
    pub generated_password: Option<String>,
}

/// A fresh one-time password for a bootstrapped admin: 24 characters from 144 random bits.
pub fn generate_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Services {
    /// Adds an operator user (operator admins only).
    #[tracing::instrument(skip_all)]
    pub async fn create_operator(
        &self,
        publisher: &Publisher,
        draft: OperatorDraft,
        keep: Option<&dyn Keep<Operator>>,
    ) -> Result<Operator> {
        publisher.authorize(OperatorAction::ManageOperators)?;
        let now = self.clock.now();
        let roles = OperatorRoles::parse_list(&draft.roles)?;
        let operator = Operator::draft(&draft.email, &draft.display_name, roles, now)?;
        let hash = match draft.password {
            Some(p) => {
                check_password(&p)?;
                Some(hash_password(p).await?)
            }
            None => None,
        };
        let record = publisher
            .record(OperatorOperation::CreateOperator, now)
            .data("operatorId", operator.id.to_string())
            .data("email", operator.email.clone())
            .data("roles", operator.roles.to_stored());
        let effects = Effects::operator(record, completion(keep, &operator)?);
        self.store.create_operator(&operator, hash.as_deref(), effects).await?;
        Ok(operator)
    }

    /// `partnerhub operator create-admin` (and the demo): an operator admin with the given password, or a
    /// generated one returned to be shown once.
    pub async fn bootstrap_admin(
        &self,
        publisher: &Publisher,
        email: &str,
        display_name: &str,
        password: Option<String>,
    ) -> Result<BootstrappedAdmin> {
        let generated = password.is_none().then(generate_password);
        let password = password.or_else(|| generated.clone());
        let draft = OperatorDraft {
            email: email.to_string(),
            display_name: display_name.to_string(),
            roles: vec!["operator_admin".into()],
            password,
        };
        let operator = self.create_operator(publisher, draft, None).await?;
        Ok(BootstrappedAdmin { operator, generated_password: generated })
    }

    #[tracing::instrument(skip_all)]
    pub async fn page_operators(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Operator>> {
        publisher.authorize(OperatorAction::ManageOperators)?;
        let rows = self.store.page_operators(size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |o| Cursor { at: o.created_at, id: o.id.to_string() }))
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_operator(&self, publisher: &Publisher, id: OperatorId) -> Result<Operator> {
        if publisher.user().map(|o| o.id) != Some(id) {
            publisher.authorize(OperatorAction::ManageOperators)?;
        }
        Ok(self.store.get_operator(id).await?.ok_or(DomainError::NotFound)?)
    }

    /// Changes an operator user's name, roles or whether it is disabled. An admin cannot disable itself or take
    /// its own admin role away (the platform would be left without one).
    #[tracing::instrument(skip_all)]
    pub async fn update_operator(
        &self,
        publisher: &Publisher,
        id: OperatorId,
        change: OperatorChange,
        keep: Option<&dyn Keep<Operator>>,
    ) -> Result<Operator> {
        publisher.authorize(OperatorAction::ManageOperators)?;
        let roles = change.roles.as_deref().map(OperatorRoles::parse_list).transpose()?;
        if publisher.user().map(|o| o.id) == Some(id) {
            if change.disabled == Some(true) {
                return Err(DomainError::Conflict("you cannot disable yourself".into()).into());
            }
            if roles.as_ref().is_some_and(|r| !r.contains(domain::operator::OperatorRole::OperatorAdmin)) {
                return Err(DomainError::Conflict("you cannot take your own operator_admin role away".into()).into());
            }
        }
        let display_name = change.display_name.as_deref().map(domain::user::parse_display_name).transpose()?;
        let now = self.clock.now();
        let mut record = publisher.record(OperatorOperation::UpdateOperator, now).data("operatorId", id.to_string());
        if let Some(r) = &roles {
            record = record.data("roles", r.to_stored());
        }
        if let Some(d) = change.disabled {
            record = record.data("disabled", d.to_string());
        }
        let patch = OperatorPatch { display_name, roles, disabled: change.disabled, password_hash: None };
        // The answer is built from the stored row the update returns; the kept response is the same value.
        let current = self.store.get_operator(id).await?.ok_or(DomainError::NotFound)?;
        let mut expected = current.clone();
        if let Some(n) = &patch.display_name {
            expected.display_name = n.clone();
        }
        if let Some(r) = &patch.roles {
            expected.roles = r.clone();
        }
        if let Some(d) = patch.disabled {
            expected.disabled = d;
        }
        let effects = Effects::operator(record, completion(keep, &expected)?);
        Ok(self.store.update_operator(id, &patch, now, effects).await?)
    }

    /// Sets the signed-in operator user's own password (the current one must be given); ends its other sessions.
    #[tracing::instrument(skip_all)]
    pub async fn change_operator_password(&self, publisher: &Publisher, current: &str, new: &str) -> Result<()> {
        publisher.authorize(OperatorAction::OwnAccount)?;
        let me = publisher.user().ok_or(DomainError::NotFound)?;
        let found = self.store.operator_credentials(&me.email_folded()).await?.ok_or(DomainError::NotFound)?;
        let ok = match found.password_hash {
            Some(h) => verify_password(current.to_string(), h).await,
            None => false,
        };
        if !ok {
            return Err(DomainError::invalid("currentPassword", "is not your password").into());
        }
        check_password(new)?;
        let hash = hash_password(new.to_string()).await?;
        let now = self.clock.now();
        let record = publisher.record(OperatorOperation::UpdateOperator, now).data("change", "password");
        let patch = OperatorPatch { password_hash: Some(hash), ..OperatorPatch::default() };
        self.store.update_operator(me.id, &patch, now, Effects::operator(record, None)).await?;
        Ok(())
    }

    /// Issues an API token for an operator user: its own, or anyone's for an operator admin. Shown once.
    #[tracing::instrument(skip_all)]
    pub async fn create_operator_token(
        &self,
        publisher: &Publisher,
        id: OperatorId,
        name: &str,
        keep: Option<&dyn Keep<IssuedOperatorToken>>,
    ) -> Result<IssuedOperatorToken> {
        self.own_or_admin(publisher, id)?;
        let name = token_name(name)?;
        let now = self.clock.now();
        let (secret, hash) = new_operator_token();
        let token = OperatorToken { id: TokenId::new(), operator_id: id, name, created_at: now, revoked_at: None };
        let issued = IssuedOperatorToken { token: token.clone(), secret };
        let record = publisher
            .record(OperatorOperation::CreateOperatorToken, now)
            .data("operatorId", id.to_string())
            .data("tokenId", token.id.to_string());
        let effects = Effects::operator(record, completion(keep, &issued)?);
        self.store.create_operator_token(&token, &hash, effects).await?;
        Ok(issued)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_operator_tokens(&self, publisher: &Publisher, id: OperatorId) -> Result<Vec<OperatorToken>> {
        self.own_or_admin(publisher, id)?;
        Ok(self.store.list_operator_tokens(id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_operator_token(&self, publisher: &Publisher, id: OperatorId, token: TokenId) -> Result<()> {
        self.own_or_admin(publisher, id)?;
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::RevokeOperatorToken, now)
            .data("operatorId", id.to_string())
            .data("tokenId", token.to_string());
        Ok(self.store.revoke_operator_token(id, token, now, Effects::operator(record, None)).await?)
    }

    fn own_or_admin(&self, publisher: &Publisher, id: OperatorId) -> Result<()> {
        if publisher.user().map(|o| o.id) == Some(id) {
            publisher.authorize(OperatorAction::OwnAccount)
        } else {
            publisher.authorize(OperatorAction::ManageOperators)
        }
    }

    /// The operator activity log, newest first (operator admins). The cursor's id is the last record's `seq`.
    #[tracing::instrument(skip_all)]
    pub async fn operator_log(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<OperatorRecord>> {
        publisher.authorize(OperatorAction::ManageOperators)?;
        let before = match &after {
            Some(c) => Some(
                c.id.parse::<i64>()
                    .map_err(|_| DomainError::invalid("MS-ContinuationToken", "is not a token this server issued"))?,
            ),
            None => None,
        };
        let rows = self.store.operator_log(size.get() + 1, before).await?;
        Ok(Page::from_rows(rows, size, |r| Cursor { at: r.at, id: r.seq.to_string() }))
    }

    /// Walks the whole operator chain in constant memory (`partnerhub audit verify`, the API).
    #[tracing::instrument(skip_all)]
    pub async fn verify_operator_chain(&self, publisher: &Publisher) -> Result<Verification> {
        publisher.authorize(OperatorAction::ManageOperators)?;
        let head = self.store.operator_chain_head().await?;
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        let mut last = None;
        loop {
            let page = self.store.operator_chain(after, 1000).await?;
            let Some(end) = page.last() else { break };
            after = end.seq;
            last = Some(end.id);
            page.iter().for_each(|r| verifier.feed(r));
        }
        Ok(verifier.finish((head.0, &head.1), last))
    }

    /// Console sign-in: as the partners' ([`Services::sign_in`]), against the operator users, throttled under
    /// keys of their own; the sign-in is an operator record.
    #[tracing::instrument(skip_all)]
    pub async fn operator_sign_in(
        &self,
        email: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<crate::sessions::NewSession> {
        let now = self.clock.now();
        let folded = fold(email.trim());
        let account_key = format!("operator:{folded}");
        let address_key = address.map(|a| format!("address:{a}"));
        let limited = DomainError::RateLimited { retry_after_secs: (FAILURE_WINDOW_MICROS / 1_000_000) as u64 };
        if self.store.record_sign_in_failure(&account_key, now, FAILURE_WINDOW_MICROS).await? > MAX_ACCOUNT_FAILURES {
            return Err(limited.into());
        }
        if let Some(k) = &address_key {
            if self.store.sign_in_failures(k, now, FAILURE_WINDOW_MICROS).await? >= MAX_ADDRESS_FAILURES {
                return Err(limited.into());
            }
        }
        let found = self.store.operator_credentials(&folded).await?;
        let hash = found
            .as_ref()
            .filter(|c| !c.operator.disabled)
            .and_then(|c| c.password_hash.clone())
            .unwrap_or_else(|| crate::sessions::DUMMY_HASH.to_string());
        // The same work whether or not the email exists, so timing does not tell.
        let ok = verify_password(password.to_string(), hash).await
            && found.as_ref().is_some_and(|c| !c.operator.disabled && c.password_hash.is_some());
        let Some(credentials) = found.filter(|_| ok) else {
            if let Some(k) = &address_key {
                self.store.record_sign_in_failure(k, now, FAILURE_WINDOW_MICROS).await?;
            }
            return Err(DomainError::InvalidRequest("wrong email or password".into()).into());
        };
        self.store.clear_sign_in_failures(&account_key).await?;
        let session = crate::sessions::NewSession { token: new_csrf_token(), csrf: new_csrf_token() };
        let publisher = Publisher::operator(credentials.operator.clone(), None);
        let record = publisher.record(OperatorOperation::SignIn, now);
        self.store
            .create_operator_session(
                &token_hash(&session.token),
                credentials.operator.id,
                &session.csrf,
                now,
                Effects::operator(record, None),
            )
            .await?;
        Ok(session)
    }

    /// The console session behind a cookie, if it is live; an idle one is ended here.
    #[tracing::instrument(skip_all)]
    pub async fn operator_session(&self, token: &str) -> Result<Option<OperatorSession>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let Some(live) = self.store.operator_session(&hash).await? else { return Ok(None) };
        let now = self.clock.now();
        if now.micros() - live.last_seen.micros() >= IDLE_MICROS {
            self.store.delete_operator_session(&hash).await?;
            return Ok(None);
        }
        if now.micros() - live.last_seen.micros() >= crate::sessions::TOUCH_EVERY_MICROS {
            self.store.touch_operator_session(&hash, now).await?;
        }
        Ok(Some(OperatorSession {
            publisher: Publisher::operator(live.operator.clone(), None),
            operator: live.operator,
            csrf: live.csrf,
            language: live.language,
        }))
    }

    pub async fn operator_sign_out(&self, token: &str) -> Result<()> {
        Ok(self.store.delete_operator_session(&token_hash(token)).await?)
    }

    /// Saves the signed-in operator user's language for the console (`None`: follow the browser).
    pub async fn save_operator_language(&self, publisher: &Publisher, language: Option<&str>) -> Result<()> {
        publisher.authorize(OperatorAction::OwnAccount)?;
        let me = publisher.user().ok_or(DomainError::NotFound)?;
        Ok(self.store.set_operator_language(me.id, language).await?)
    }
}

fn token_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must have 1 to 100 printable characters").into());
    }
    Ok(name.to_string())
}
