//! The tenant proof every read and write of a partner's data takes.

use domain::ids::PartnerId;

/// Proof that a request was authenticated for one partner. Every read and write of a partner's data takes one,
/// so forgetting the tenant does not compile. Only the services build it (authentication, and the operator's own
/// commands); the services crate does not re-export it, so the web crate cannot even name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerScope(PartnerId);

impl PartnerScope {
    /// For the services' authentication (and the publisher acting on one partner); nothing else should call it.
    pub fn authenticated(partner: PartnerId) -> PartnerScope {
        PartnerScope(partner)
    }
    pub fn partner_id(&self) -> PartnerId {
        self.0
    }
}
