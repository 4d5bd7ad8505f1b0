//! R2: every partner action and the roles that may do it ([`allowed`], an exhaustive match). The one
//! [`authorize`] function reads it; tests walk [`Action::ALL`] to check every (route, role) pair.

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
    /// Set what the partner's customers pay: markup rules and per-customer prices (issue 23).
    ManagePrices,
    /// See the partner's cost and margin beside the customer price (the roles that see billing).
    ViewMargins,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    AnyRole,
    Roles(&'static [Role]),
}

use Role::*;

/// Who may do what (SPEC R2). An exhaustive `match`: a new action that names no roles does not compile.
pub const fn allowed(action: Action) -> Allowed {
    match action {
        Action::ListCustomers
        | Action::ViewCustomer
        | Action::ViewCatalog
        | Action::ViewOrders
        | Action::ViewSoftware
        | Action::SupportRequests
        | Action::OwnProfile
        | Action::TestClock => Allowed::AnyRole,
        Action::CreateCustomer | Action::UpdateCustomer => Allowed::Roles(&[GlobalAdmin, AdminAgent, SalesAgent]),
        Action::BuyForCustomer => Allowed::Roles(&[GlobalAdmin, AdminAgent]),
        Action::GetKeysAndDownloads | Action::CancelPurchase => Allowed::Roles(&[AdminAgent]),
        Action::ReadActivityLog => Allowed::Roles(&[GlobalAdmin, AccountAdmin, ReferralAdmin, MarketingContentAdmin]),
        Action::ReadInvoices | Action::ViewMargins => Allowed::Roles(&[GlobalAdmin, BillingAdmin]),
        Action::ManagePrices => Allowed::Roles(&[GlobalAdmin, BillingAdmin, AdminAgent]),
        Action::ManageUsers | Action::ManageWebhooks => Allowed::Roles(&[GlobalAdmin]),
    }
}

impl Action {
    /// Every action, for tests that walk the policy (each must have a route).
    pub const ALL: [Action; 19] = [
        Action::ListCustomers,
        Action::ViewCustomer,
        Action::CreateCustomer,
        Action::UpdateCustomer,
        Action::ViewCatalog,
        Action::BuyForCustomer,
        Action::ViewOrders,
        Action::ViewSoftware,
        Action::GetKeysAndDownloads,
        Action::CancelPurchase,
        Action::ReadActivityLog,
        Action::ReadInvoices,
        Action::ManageUsers,
        Action::ManageWebhooks,
        Action::SupportRequests,
        Action::OwnProfile,
        Action::TestClock,
        Action::ManagePrices,
        Action::ViewMargins,
    ];
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
    let allowed = allowed.into_iter().map(Role::as_str).collect();
    Err(DomainError::Forbidden { allowed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(r: Role) -> RoleSet {
        RoleSet::new([r]).unwrap()
    }

    #[test]
    fn every_action_is_listed_once_in_declaration_order() {
        // New actions are declared last and appended to ALL; `allowed` (an exhaustive match) must name their roles.
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i, "{a:?}");
        }
        assert_eq!(Action::ALL.len(), Action::ViewMargins as usize + 1);
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
        assert_eq!(err, DomainError::Forbidden { allowed: vec!["global_admin", "billing_admin"] });
    }
}
