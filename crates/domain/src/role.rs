//! Partner roles of R2.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    GlobalAdmin,
    AdminAgent,
    SalesAgent,
    HelpdeskAgent,
    AccountAdmin,
    BillingAdmin,
    ReferralAdmin,
    MarketingContentAdmin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::GlobalAdmin,
        Role::AdminAgent,
        Role::SalesAgent,
        Role::HelpdeskAgent,
        Role::AccountAdmin,
        Role::BillingAdmin,
        Role::ReferralAdmin,
        Role::MarketingContentAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::GlobalAdmin => "global_admin",
            Role::AdminAgent => "admin_agent",
            Role::SalesAgent => "sales_agent",
            Role::HelpdeskAgent => "helpdesk_agent",
            Role::AccountAdmin => "account_admin",
            Role::BillingAdmin => "billing_admin",
            Role::ReferralAdmin => "referral_admin",
            Role::MarketingContentAdmin => "marketing_content_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A non-empty, sorted, de-duplicated set of roles, as stored (`"admin_agent,global_admin"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleSet(Vec<Role>);

impl RoleSet {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Option<RoleSet> {
        let mut v: Vec<Role> = roles.into_iter().collect();
        v.sort();
        v.dedup();
        (!v.is_empty()).then_some(RoleSet(v))
    }
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }
    pub fn roles(&self) -> &[Role] {
        &self.0
    }
    pub fn to_stored(&self) -> String {
        self.0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
    pub fn from_stored(s: &str) -> Option<RoleSet> {
        let roles: Option<Vec<Role>> = s.split(',').map(Role::parse).collect();
        RoleSet::new(roles?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_match_serde() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert_eq!(Role::parse("Admin_Agent"), None);
    }

    #[test]
    fn role_set_is_sorted_deduplicated_and_non_empty() {
        let s = RoleSet::new([Role::SalesAgent, Role::GlobalAdmin, Role::SalesAgent]).unwrap();
        assert_eq!(s.to_stored(), "global_admin,sales_agent");
        assert_eq!(RoleSet::from_stored(&s.to_stored()), Some(s));
        assert_eq!(RoleSet::new([]), None);
        assert_eq!(RoleSet::from_stored("global_admin,bogus"), None);
    }
}
