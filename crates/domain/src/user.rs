//! Partner users: unique e-mail (case-folded across the server), display name, roles.

use crate::customer::{fold, parse_email};
use crate::error::DomainError;
use crate::ids::{PartnerId, UserId};
use crate::role::{Role, RoleSet};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub partner_id: PartnerId,
    pub email: String,
    pub display_name: String,
    pub roles: RoleSet,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl User {
    /// The key that makes e-mail unique on the server.
    pub fn email_folded(&self) -> String {
        fold(&self.email)
    }
}

pub fn parse_roles(roles: &[String]) -> Result<RoleSet, DomainError> {
    let parsed: Result<Vec<Role>, DomainError> = roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                DomainError::invalid(
                    "roles",
                    format!(
                        "'{r}' is not a role; roles are {}",
                        Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        })
        .collect();
    RoleSet::new(parsed?).ok_or_else(|| DomainError::invalid("roles", "give at least one role"))
}

pub fn parse_display_name(s: &str) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
        return Err(DomainError::invalid("displayName", "must have 1 to 256 printable characters"));
    }
    Ok(s.to_string())
}

/// Passwords: long enough to resist guessing, short enough that hashing stays cheap.
pub fn check_password(p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if !(12..=256).contains(&n) {
        return Err(DomainError::invalid("password", "must have 12 to 256 characters"));
    }
    Ok(())
}

pub fn new_user(
    partner_id: PartnerId,
    email: &str,
    display_name: &str,
    roles: &[String],
    now: Timestamp,
) -> Result<User, DomainError> {
    Ok(User {
        id: UserId::new(),
        partner_id,
        email: parse_email(email).map_err(|m| DomainError::invalid("email", m))?,
        display_name: parse_display_name(display_name)?,
        roles: parse_roles(roles)?,
        disabled: false,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_validation() {
        let now = Timestamp::from_micros(0);
        let u = new_user(PartnerId::new(), "Ann@Contoso.com", "Ann", &["admin_agent".into()], now).unwrap();
        assert_eq!(u.email_folded(), "ann@contoso.com");
        assert!(new_user(PartnerId::new(), "ann", "Ann", &["admin_agent".into()], now).is_err());
        assert!(new_user(PartnerId::new(), "a@b.com", "Ann", &[], now).is_err());
        assert!(new_user(PartnerId::new(), "a@b.com", "Ann", &["root".into()], now).is_err());
        assert!(new_user(PartnerId::new(), "a@b.com", "", &["admin_agent".into()], now).is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough passphrase").is_ok());
    }
}
