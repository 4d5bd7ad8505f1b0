//! Users' credentials, API tokens and user changes, as the store reads and writes them.

use domain::ids::{OperatorId, PartnerId, TokenId, UserId};
use domain::operator::{Operator, OperatorRoles};
use domain::partner::Partner;
use domain::role::RoleSet;
use domain::user::User;
use domain::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub roles: Option<RoleSet>,
    pub disabled: Option<bool>,
}

/// A live dashboard session as the store finds it by its token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub user: User,
    pub partner: Partner,
    pub csrf: String,
    pub last_seen: Timestamp,
    /// The user's chosen language for the pages (a BCP 47 tag); `None` follows the browser.
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: User,
    pub partner: Partner,
    pub password_hash: Option<String>,
}

/// An operator user's API token (its hash is stored apart, never read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorToken {
    pub id: TokenId,
    pub operator_id: OperatorId,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A change to an operator user. Disabling also ends its sessions and revokes its tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorPatch {
    pub display_name: Option<String>,
    pub roles: Option<OperatorRoles>,
    pub disabled: Option<bool>,
    /// A new argon2id hash.
    pub password_hash: Option<String>,
}

/// An operator's console session as the store finds it by its token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOperatorSession {
    pub operator: Operator,
    pub csrf: String,
    pub last_seen: Timestamp,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCredentials {
    pub operator: Operator,
    pub password_hash: Option<String>,
}
