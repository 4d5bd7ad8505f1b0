//! Partner users and their API tokens. The publisher creates a partner's first users; a global admin manages the
//! rest (R2); every user manages its own tokens.

use crate::auth::Publisher;
use crate::auth::{hash_password, new_api_token};
use crate::idempotency::{completion, Keep};
use crate::support::PUBLISHER_PRINCIPAL;
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::ids::{PartnerId, TokenId, UserId};
use domain::operator::{OperatorAction, OperatorOperation};
use domain::paging::{Cursor, Page, PageSize};
use domain::partner::Partner;
use domain::policy::Action;
use domain::role::Role;
use domain::user::{check_password, new_user, parse_display_name, parse_roles, User};
use domain::DomainError;
use store::{ApiToken, Effects, PartnerScope, StoreError, UserPatch};

/// The one answer to a new user whose email is already in use anywhere on the server (SECURITY.md).
pub const EMAIL_TAKEN: &str = "this email address cannot be used for a new user; choose another";

/// The fields of a new user, as the API takes them.
#[derive(Debug, Clone)]
pub struct UserDraft {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub password: Option<String>,
}

/// Who adds a user or issues a token: a partner's user (named in the partner's log), or the publisher (named
/// "publisher" there, and by its operator user in the operator log).
#[derive(Clone, Copy)]
enum IssuedBy<'a> {
    Partner(&'a str),
    Publisher(&'a Publisher),
}

impl IssuedBy<'_> {
    fn principal(&self) -> &str {
        match self {
            IssuedBy::Partner(p) => p,
            IssuedBy::Publisher(_) => PUBLISHER_PRINCIPAL,
        }
    }
}

/// A token as shown once, at creation.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

impl Services {
    async fn insert_user(
        &self,
        scope: PartnerScope,
        partner: &Partner,
        draft: UserDraft,
        by: IssuedBy<'_>,
        keep: Option<&dyn Keep<User>>,
    ) -> Result<User> {
        let now = self.partner_now(partner);
        let user = new_user(partner.id, &draft.email, &draft.display_name, &draft.roles, now)?;
        let hash = match draft.password {
            Some(p) => {
                check_password(&p)?;
                Some(hash_password(p).await?)
            }
            None => None,
        };
        let audit = NewAuditRecord::succeeded(OperationType::CreateUser, by.principal(), now)
            .data("userId", user.id.to_string())
            .data("email", user.email.clone())
            .data("roles", user.roles.to_stored());
        let mut effects = Effects { audit: vec![audit], idempotency: completion(keep, &user)?, ..Effects::default() };
        if let IssuedBy::Publisher(p) = by {
            effects = effects.and_operator(
                p.record(OperatorOperation::CreatePartnerUser, self.clock.now())
                    .partner(partner.id)
                    .data("userId", user.id.to_string())
                    .data("roles", user.roles.to_stored()),
            );
        }
        match self.store.create_user(scope, &user, hash.as_deref(), effects).await {
            // Emails are unique on the whole server. The answer is the same whichever partner holds the address
            // (this one or another), and neither echoes the address nor says whose it is.
            Err(StoreError::Conflict(_)) => Err(DomainError::Conflict(EMAIL_TAKEN.into()).into()),
            other => Ok(other.map(|_| user)?),
        }
    }

    /// Publisher: adds a user to a partner.
    #[tracing::instrument(skip_all)]
    pub async fn publisher_create_user(
        &self,
        publisher: &Publisher,
        partner: PartnerId,
        draft: UserDraft,
        keep: Option<&dyn Keep<User>>,
    ) -> Result<User> {
        publisher.authorize(OperatorAction::ManagePartners)?;
        let (partner, scope) = self.publisher_scope(partner).await?;
        self.insert_user(scope, &partner, draft, IssuedBy::Publisher(publisher), keep).await
    }

    /// Publisher: issues an API token for one of a partner's users.
    #[tracing::instrument(skip_all)]
    pub async fn publisher_create_token(
        &self,
        publisher: &Publisher,
        partner: PartnerId,
        user: UserId,
        name: &str,
        keep: Option<&dyn Keep<IssuedToken>>,
    ) -> Result<IssuedToken> {
        publisher.authorize(OperatorAction::ManagePartners)?;
        let (partner, scope) = self.publisher_scope(partner).await?;
        let user = self.user_in(scope, user).await?;
        self.insert_token(scope, &partner, &user, name, IssuedBy::Publisher(publisher), keep).await
    }

    async fn user_in(&self, scope: PartnerScope, id: UserId) -> Result<User> {
        self.store.get_user(scope, id).await?.ok_or_else(|| DomainError::NotFound.into())
    }

    async fn insert_token(
        &self,
        scope: PartnerScope,
        partner: &Partner,
        user: &User,
        name: &str,
        by: IssuedBy<'_>,
        keep: Option<&dyn Keep<IssuedToken>>,
    ) -> Result<IssuedToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::invalid("name", "must have 1 to 100 characters").into());
        }
        let (secret, hash) = new_api_token();
        let now = self.partner_now(partner);
        let token = ApiToken {
            id: TokenId::new(),
            partner_id: partner.id,
            user_id: user.id,
            name: name.to_string(),
            created_at: now,
            revoked_at: None,
        };
        let issued = IssuedToken { token, secret };
        let audit = NewAuditRecord::succeeded(OperationType::CreateApiToken, by.principal(), now)
            .data("userId", user.id.to_string())
            .data("tokenId", issued.token.id.to_string())
            .data("name", name);
        let mut effects = Effects { audit: vec![audit], idempotency: completion(keep, &issued)?, ..Effects::default() };
        if let IssuedBy::Publisher(p) = by {
            effects = effects.and_operator(
                p.record(OperatorOperation::CreatePartnerToken, self.clock.now())
                    .partner(partner.id)
                    .data("userId", user.id.to_string())
                    .data("tokenId", issued.token.id.to_string()),
            );
        }
        self.store.create_token(scope, &issued.token, &hash, effects).await?;
        Ok(issued)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_user(&self, actor: &Actor, draft: UserDraft, keep: Option<&dyn Keep<User>>) -> Result<User> {
        let scope = actor.authorize(Action::ManageUsers)?;
        self.insert_user(scope, &actor.partner, draft, IssuedBy::Partner(actor.principal()), keep).await
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_users(&self, actor: &Actor, size: PageSize, after: Option<Cursor>) -> Result<Page<User>> {
        let scope = actor.authorize(Action::ManageUsers)?;
        let rows = self.store.list_users(scope, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |u| Cursor { at: u.created_at, id: u.id.to_string() }))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        let scope = actor.authorize(Action::ManageUsers)?;
        self.user_in(scope, id).await
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        display_name: Option<&str>,
        roles: Option<&[String]>,
        disabled: Option<bool>,
        keep: Option<&dyn Keep<User>>,
    ) -> Result<User> {
        let scope = actor.authorize(Action::ManageUsers)?;
        let target = self.user_in(scope, id).await?;
        let patch = UserPatch {
            display_name: display_name.map(parse_display_name).transpose()?,
            roles: roles.map(parse_roles).transpose()?,
            disabled,
        };
        // A global admin cannot lock itself out; another global admin must do it.
        if target.id == actor.user.id {
            if patch.disabled == Some(true) {
                return Err(DomainError::invalid("disabled", "you cannot disable yourself").into());
            }
            if patch.roles.as_ref().is_some_and(|r| !r.contains(Role::GlobalAdmin)) {
                return Err(DomainError::invalid("roles", "you cannot remove your own global_admin role").into());
            }
        }
        let now = self.partner_now(&actor.partner);
        let mut audit = NewAuditRecord::succeeded(OperationType::UpdateUser, actor.principal(), now)
            .data("userId", target.id.to_string());
        if let Some(r) = &patch.roles {
            audit = audit.data("roles", r.to_stored());
        }
        if let Some(d) = patch.disabled {
            audit = audit.data("disabled", d.to_string());
        }
        if patch.disabled == Some(true) {
            // Disabling ends the user's sessions and revokes its API tokens in the same transaction; enabling
            // again restores neither (the user signs in again and makes new tokens).
            audit = audit.data("sessionsEnded", "true").data("tokensRevoked", "true");
        }
        // The response is rendered from the user as it will be after the change.
        let mut after = target.clone();
        if let Some(n) = &patch.display_name {
            after.display_name = n.clone();
        }
        if let Some(r) = &patch.roles {
            after.roles = r.clone();
        }
        if let Some(d) = patch.disabled {
            after.disabled = d;
        }
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &after)?, ..Effects::default() };
        Ok(self.store.update_user(scope, target.id, &patch, now, effects).await?)
    }

    pub fn me(&self, actor: &Actor) -> Result<User> {
        actor.authorize(Action::OwnProfile)?;
        Ok(actor.user.clone())
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_my_tokens(&self, actor: &Actor, size: PageSize, after: Option<Cursor>) -> Result<Page<ApiToken>> {
        let scope = actor.authorize(Action::OwnProfile)?;
        let rows = self.store.list_tokens(scope, actor.user.id, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |t| Cursor { at: t.created_at, id: t.id.to_string() }))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_my_token(
        &self,
        actor: &Actor,
        name: &str,
        keep: Option<&dyn Keep<IssuedToken>>,
    ) -> Result<IssuedToken> {
        let scope = actor.authorize(Action::OwnProfile)?;
        self.insert_token(scope, &actor.partner, &actor.user, name, IssuedBy::Partner(actor.principal()), keep).await
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn revoke_my_token(&self, actor: &Actor, id: TokenId) -> Result<()> {
        let scope = actor.authorize(Action::OwnProfile)?;
        let now = self.partner_now(&actor.partner);
        let audit = NewAuditRecord::succeeded(OperationType::RevokeApiToken, actor.principal(), now)
            .data("tokenId", id.to_string());
        self.store.revoke_token(scope, actor.user.id, id, now, Effects::audit(audit)).await?;
        Ok(())
    }

    /// Saves the language the signed-in user reads the pages in (`None`: follow the browser). The web layer offers
    /// only the languages it has; this checks the shape of a BCP 47 tag (`en`, `zh-TW`).
    pub async fn save_language(&self, actor: &Actor, language: Option<&str>) -> Result<()> {
        let scope = actor.authorize(Action::OwnProfile)?;
        if let Some(tag) = language {
            let shaped = (2..=35).contains(&tag.len())
                && tag.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
            if !shaped {
                return Err(DomainError::invalid("language", "must be a language tag such as en or zh-TW").into());
            }
        }
        self.store.set_user_language(scope, actor.user.id, language).await?;
        Ok(())
    }
}
