//! R2 as data: every partner action and the roles that may do it. The one [`authorize`] function reads this
//! table; tests walk it to check every (route, role) pair.

use crate::error::DomainError;
use crate::role::{Role, RoleSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ListCustomers,
    ViewCustomer,
    CreateCustomer,
    /// Change a customer's billing profile (Partner Center lets whoever may add customers edit them).
    UpdateCustomer,
    ViewCatalog,
    BuyForCustomer,
    ViewOrders,
    ViewSoftware,
    GetKeysAndDownloads,
    CancelPurchase,
    ReadActivityLog,
    ReadInvoices,
    ManageUsers,
    ManageWebhooks,
    SupportRequests,
    OwnProfile,
    TestClock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    AnyRole,
    Roles(&'static [Role]),
}

use Role::*;

/// Who may do what (SPEC R2).
pub const POLICY: &[(Action, Allowed)] = &[
    (Action::ListCustomers, Allowed::AnyRole),
    (Action::ViewCustomer, Allowed::AnyRole),
    (Action::CreateCustomer, Allowed::Roles(&[GlobalAdmin, AdminAgent, SalesAgent])),
    (Action::UpdateCustomer, Allowed::Roles(&[GlobalAdmin, AdminAgent, SalesAgent])),
    (Action::ViewCatalog, Allowed::AnyRole),
    (Action::BuyForCustomer, Allowed::Roles(&[GlobalAdmin, AdminAgent])),
    (Action::ViewOrders, Allowed::AnyRole),
    (Action::ViewSoftware, Allowed::AnyRole),
    (Action::GetKeysAndDownloads, Allowed::Roles(&[AdminAgent])),
    (Action::CancelPurchase, Allowed::Roles(&[AdminAgent])),
    (Action::ReadActivityLog, Allowed::Roles(&[GlobalAdmin, AccountAdmin, ReferralAdmin, MarketingContentAdmin])),
    (Action::ReadInvoices, Allowed::Roles(&[GlobalAdmin, BillingAdmin])),
    (Action::ManageUsers, Allowed::Roles(&[GlobalAdmin])),
    (Action::ManageWebhooks, Allowed::Roles(&[GlobalAdmin])),
    (Action::SupportRequests, Allowed::AnyRole),
    (Action::OwnProfile, Allowed::AnyRole),
    (Action::TestClock, Allowed::AnyRole),
];

pub fn allowed(action: Action) -> Allowed {
    POLICY
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, allowed)| *allowed)
        // Unlisted actions are denied to everyone: failing closed is the safe default.
        .unwrap_or(Allowed::Roles(&[]))
}

pub fn permits(roles: &RoleSet, action: Action) -> bool {
    match allowed(action) {
        Allowed::AnyRole => true,
        Allowed::Roles(rs) => rs.iter().any(|r| roles.contains(*r)),
    }
}

/// The one authorization decision: Ok, or 403 naming the roles that would do.
pub fn authorize(roles: &RoleSet, action: Action) -> Result<(), DomainError> {
    if permits(roles, action) {
        return Ok(());
    }
    let allowed = match allowed(action) {
        Allowed::AnyRole => Role::ALL.to_vec(),
        Allowed::Roles(rs) => rs.to_vec(),
    };
    Err(DomainError::Forbidden { allowed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(r: Role) -> RoleSet {
        RoleSet::new([r]).unwrap()
    }

    #[test]
    fn article_rules_hold() {
        // Only an admin agent sees keys and cancels; a global admin alone may not.
        assert!(permits(&only(AdminAgent), Action::GetKeysAndDownloads));
        assert!(!permits(&only(GlobalAdmin), Action::GetKeysAndDownloads));
        assert!(!permits(&only(GlobalAdmin), Action::CancelPurchase));
        // An admin agent alone may not read the activity log.
        assert!(!permits(&only(AdminAgent), Action::ReadActivityLog));
        assert!(permits(&only(MarketingContentAdmin), Action::ReadActivityLog));
        // A sales agent may create customers but not buy.
        assert!(permits(&only(SalesAgent), Action::CreateCustomer));
        assert!(!permits(&only(SalesAgent), Action::BuyForCustomer));
        assert!(!permits(&only(HelpdeskAgent), Action::CreateCustomer));
        // Any role may list customers.
        for r in Role::ALL {
            assert!(permits(&only(r), Action::ListCustomers));
        }
    }

    #[test]
    fn several_roles_combine() {
        let roles = RoleSet::new([HelpdeskAgent, BillingAdmin]).unwrap();
        assert!(permits(&roles, Action::ReadInvoices));
        assert!(!permits(&roles, Action::ManageUsers));
    }

    #[test]
    fn refusal_names_the_roles() {
        let err = authorize(&only(HelpdeskAgent), Action::ReadInvoices).unwrap_err();
        assert_eq!(err, DomainError::Forbidden { allowed: vec![GlobalAdmin, BillingAdmin] });
    }

    #[test]
    fn every_action_is_in_the_table_once() {
        for (i, (a, _)) in POLICY.iter().enumerate() {
            assert_eq!(POLICY.iter().filter(|(b, _)| b == a).count(), 1, "{a:?} at {i}");
        }
    }
}
