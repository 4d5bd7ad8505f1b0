//! The operator (the publisher running the platform): its users, their roles, what each role may do
//! ([`allowed`], an exhaustive match read by the one [`authorize`]), and the operator activity log, hash-chained
//! like a partner's (`audit.rs`) and verified by the same [`crate::audit::ChainVerifier`].

use crate::audit::{ChainLink, GENESIS_HASH};
use crate::customer::{fold, parse_email};
use crate::error::DomainError;
use crate::ids::{AuditRecordId, OperatorId, PartnerId};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Everything, and the operator's own users.
    OperatorAdmin,
    /// Catalog, prices, markets, availability, keys and files.
    CatalogManager,
    /// The support desk: notes and status (refunds and cancels need `billing_operator` too).
    SupportAgent,
    /// Refunds, desk cancels and invoice runs.
    BillingOperator,
}

impl OperatorRole {
    pub const ALL: [OperatorRole; 4] = [
        OperatorRole::OperatorAdmin,
        OperatorRole::CatalogManager,
        OperatorRole::SupportAgent,
        OperatorRole::BillingOperator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::OperatorAdmin => "operator_admin",
            OperatorRole::CatalogManager => "catalog_manager",
            OperatorRole::SupportAgent => "support_agent",
            OperatorRole::BillingOperator => "billing_operator",
        }
    }

    pub fn parse(s: &str) -> Option<OperatorRole> {
        OperatorRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A non-empty, sorted, de-duplicated set of operator roles, stored as `"billing_operator,support_agent"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OperatorRoles(Vec<OperatorRole>);

impl OperatorRoles {
    pub fn new(roles: impl IntoIterator<Item = OperatorRole>) -> Option<OperatorRoles> {
        let mut v: Vec<OperatorRole> = roles.into_iter().collect();
        v.sort();
        v.dedup();
        (!v.is_empty()).then_some(OperatorRoles(v))
    }
    pub fn contains(&self, role: OperatorRole) -> bool {
        self.0.contains(&role)
    }
    pub fn roles(&self) -> &[OperatorRole] {
        &self.0
    }
    pub fn to_stored(&self) -> String {
        self.0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
    pub fn from_stored(s: &str) -> Option<OperatorRoles> {
        let roles: Option<Vec<OperatorRole>> = s.split(',').map(OperatorRole::parse).collect();
        OperatorRoles::new(roles?)
    }
    /// Roles named in a request: each must be an operator role, at least one.
    pub fn parse_list(names: &[String]) -> Result<OperatorRoles, DomainError> {
        let mut roles = Vec::new();
        for name in names {
            let role = OperatorRole::parse(name.trim()).ok_or_else(|| {
                let all: Vec<&str> = OperatorRole::ALL.iter().map(|r| r.as_str()).collect();
                DomainError::invalid("roles", format!("'{name}' is not an operator role; roles are {}", all.join(", ")))
            })?;
            roles.push(role);
        }
        OperatorRoles::new(roles).ok_or_else(|| DomainError::invalid("roles", "give at least one role"))
    }
}

/// A user of the operator's console and publisher API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: OperatorId,
    pub email: String,
    pub display_name: String,
    pub roles: OperatorRoles,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl Operator {
    /// A new operator user from a request's values, validated.
    pub fn draft(
        email: &str,
        display_name: &str,
        roles: OperatorRoles,
        now: Timestamp,
    ) -> Result<Operator, DomainError> {
        Ok(Operator {
            id: OperatorId::new(),
            email: parse_email(email).map_err(|m| DomainError::invalid("email", m))?,
            display_name: crate::user::parse_display_name(display_name)?,
            roles,
            disabled: false,
            created_at: now,
        })
    }
    pub fn email_folded(&self) -> String {
        fold(&self.email)
    }
}

/// Everything the operator does, each declared on its routes and checked by [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorAction {
    /// Read-only views any operator may open: partners and their data, the catalog, markets, the front page.
    ViewPlatform,
    /// Its own account: password, language, its own API tokens.
    OwnAccount,
    /// The operator's users, their roles and tokens; the operator activity log.
    ManageOperators,
    /// Onboard partners, their users and tokens, a sandbox partner's clock.
    ManagePartners,
    /// Catalog import, markets and tax, availability, key stock and files.
    ManageCatalog,
    /// The desk's queue and requests.
    ViewDesk,
    /// Answer a request and change its status.
    AnswerDesk,
    /// Grant refunds and cancel lines from the desk (money leaves the publisher).
    GrantCredits,
    /// Invoice runs, issued invoices, the ledger check.
    Billing,
}

impl OperatorAction {
    pub const ALL: [OperatorAction; 9] = [
        OperatorAction::ViewPlatform,
        OperatorAction::OwnAccount,
        OperatorAction::ManageOperators,
        OperatorAction::ManagePartners,
        OperatorAction::ManageCatalog,
        OperatorAction::ViewDesk,
        OperatorAction::AnswerDesk,
        OperatorAction::GrantCredits,
        OperatorAction::Billing,
    ];
}

use OperatorRole::*;

/// Who may do what on the operator's side. An exhaustive `match`: an action that names no roles does not compile.
pub const fn allowed(action: OperatorAction) -> &'static [OperatorRole] {
    match action {
        OperatorAction::ViewPlatform | OperatorAction::OwnAccount => &OperatorRole::ALL,
        OperatorAction::ManageOperators | OperatorAction::ManagePartners => &[OperatorAdmin],
        OperatorAction::ManageCatalog => &[OperatorAdmin, CatalogManager],
        OperatorAction::ViewDesk => &[OperatorAdmin, SupportAgent, BillingOperator],
        OperatorAction::AnswerDesk => &[OperatorAdmin, SupportAgent],
        OperatorAction::GrantCredits | OperatorAction::Billing => &[OperatorAdmin, BillingOperator],
    }
}

pub fn permits(roles: &OperatorRoles, action: OperatorAction) -> bool {
    allowed(action).iter().any(|r| roles.contains(*r))
}

/// The one operator authorization decision: Ok, or 403 naming the roles that would do.
pub fn authorize(roles: &OperatorRoles, action: OperatorAction) -> Result<(), DomainError> {
    if permits(roles, action) {
        return Ok(());
    }
    Err(DomainError::Forbidden { allowed: allowed(action).iter().map(|r| r.as_str()).collect() })
}

/// What an operator did, as the operator activity log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorOperation {
    CreateOperator,
    UpdateOperator,
    CreateOperatorToken,
    RevokeOperatorToken,
    CreatePartner,
    CreatePartnerUser,
    CreatePartnerToken,
    RevokePartnerToken,
    AdvancePartnerClock,
    ImportCatalog,
    UpdateMarket,
    UpdateAvailability,
    ImportKeys,
    SetKeyThreshold,
    KeyStockLow,
    UploadFile,
    WithdrawFile,
    AnswerServiceRequest,
    GrantRefund,
    CancelFromDesk,
    RunInvoices,
    CreatePriceList,
    AddPriceListVersion,
    SchedulePriceListVersion,
    AssignPriceList,
    SetCreditLimit,
    SignIn,
}

impl OperatorOperation {
    pub const ALL: [OperatorOperation; 27] = [
        OperatorOperation::CreateOperator,
        OperatorOperation::UpdateOperator,
        OperatorOperation::CreateOperatorToken,
        OperatorOperation::RevokeOperatorToken,
        OperatorOperation::CreatePartner,
        OperatorOperation::CreatePartnerUser,
        OperatorOperation::CreatePartnerToken,
        OperatorOperation::RevokePartnerToken,
        OperatorOperation::AdvancePartnerClock,
        OperatorOperation::ImportCatalog,
        OperatorOperation::UpdateMarket,
        OperatorOperation::UpdateAvailability,
        OperatorOperation::ImportKeys,
        OperatorOperation::SetKeyThreshold,
        OperatorOperation::KeyStockLow,
        OperatorOperation::UploadFile,
        OperatorOperation::WithdrawFile,
        OperatorOperation::AnswerServiceRequest,
        OperatorOperation::GrantRefund,
        OperatorOperation::CancelFromDesk,
        OperatorOperation::RunInvoices,
        OperatorOperation::CreatePriceList,
        OperatorOperation::AddPriceListVersion,
        OperatorOperation::SchedulePriceListVersion,
        OperatorOperation::AssignPriceList,
        OperatorOperation::SetCreditLimit,
        OperatorOperation::SignIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorOperation::CreateOperator => "create_operator",
            OperatorOperation::UpdateOperator => "update_operator",
            OperatorOperation::CreateOperatorToken => "create_operator_token",
            OperatorOperation::RevokeOperatorToken => "revoke_operator_token",
            OperatorOperation::CreatePartner => "create_partner",
            OperatorOperation::CreatePartnerUser => "create_partner_user",
            OperatorOperation::CreatePartnerToken => "create_partner_token",
            OperatorOperation::RevokePartnerToken => "revoke_partner_token",
            OperatorOperation::AdvancePartnerClock => "advance_partner_clock",
            OperatorOperation::ImportCatalog => "import_catalog",
            OperatorOperation::UpdateMarket => "update_market",
            OperatorOperation::UpdateAvailability => "update_availability",
            OperatorOperation::ImportKeys => "import_keys",
            OperatorOperation::SetKeyThreshold => "set_key_threshold",
            OperatorOperation::KeyStockLow => "key_stock_low",
            OperatorOperation::UploadFile => "upload_file",
            OperatorOperation::WithdrawFile => "withdraw_file",
            OperatorOperation::AnswerServiceRequest => "answer_service_request",
            OperatorOperation::GrantRefund => "grant_refund",
            OperatorOperation::CancelFromDesk => "cancel_from_desk",
            OperatorOperation::RunInvoices => "run_invoices",
            OperatorOperation::CreatePriceList => "create_price_list",
            OperatorOperation::AddPriceListVersion => "add_price_list_version",
            OperatorOperation::SchedulePriceListVersion => "schedule_price_list_version",
            OperatorOperation::AssignPriceList => "assign_price_list",
            OperatorOperation::SetCreditLimit => "set_credit_limit",
            OperatorOperation::SignIn => "sign_in",
        }
    }
}

/// What an operator change records; the store numbers and chains it in the change's own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperatorRecord {
    pub id: AuditRecordId,
    /// The operator user, when one acted (the break-glass token and the command line have none).
    pub operator_id: Option<OperatorId>,
    /// Who, as people read it: the operator user's email, `break-glass token` or `command line`.
    pub principal: String,
    pub operation: OperatorOperation,
    pub partner_id: Option<PartnerId>,
    pub at: Timestamp,
    pub data: Vec<(String, String)>,
}

impl NewOperatorRecord {
    pub fn new(operation: OperatorOperation, operator_id: Option<OperatorId>, principal: &str, at: Timestamp) -> Self {
        NewOperatorRecord {
            id: AuditRecordId::new(),
            operator_id,
            principal: principal.to_string(),
            operation,
            partner_id: None,
            at,
            data: Vec::new(),
        }
    }
    pub fn partner(mut self, id: PartnerId) -> Self {
        self.partner_id = Some(id);
        self
    }
    pub fn data(mut self, key: &str, value: impl Into<String>) -> Self {
        self.data.push((key.to_string(), value.into()));
        self
    }
}

/// A stored operator record. The operation is text so that a record written by a newer version still reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub id: AuditRecordId,
    pub seq: i64,
    pub operator_id: Option<OperatorId>,
    pub principal: String,
    pub operation: String,
    pub partner_id: Option<PartnerId>,
    pub at: Timestamp,
    pub data: Vec<(String, String)>,
    pub prev_hash: String,
    pub hash: String,
}

impl OperatorRecord {
    /// Seals a new record as the `seq`-th of the operator's chain, after `prev_hash` ([`GENESIS_HASH`] first).
    pub fn seal(seq: i64, prev_hash: &str, r: NewOperatorRecord) -> OperatorRecord {
        let mut record = OperatorRecord {
            id: r.id,
            seq,
            operator_id: r.operator_id,
            principal: r.principal,
            operation: r.operation.as_str().to_string(),
            partner_id: r.partner_id,
            at: r.at,
            data: r.data,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// SHA-256 over the previous hash and every field, as one JSON array (unambiguous).
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            "operator",
            self.prev_hash,
            self.seq,
            self.id,
            self.operator_id,
            self.principal,
            self.operation,
            self.partner_id,
            self.at.micros(),
            self.data,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

impl ChainLink for OperatorRecord {
    fn link_id(&self) -> AuditRecordId {
        self.id
    }
    fn link_seq(&self) -> i64 {
        self.seq
    }
    fn link_prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn link_hash(&self) -> &str {
        &self.hash
    }
    fn is_sound(&self) -> bool {
        self.compute_hash() == self.hash
    }
}

/// The operator chain's head before its first record.
pub fn genesis() -> (i64, &'static str) {
    (0, GENESIS_HASH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::ChainVerifier;

    fn roles(rs: &[OperatorRole]) -> OperatorRoles {
        OperatorRoles::new(rs.iter().copied()).unwrap()
    }

    #[test]
    fn the_issue_rules_hold() {
        // A support agent answers the desk but grants no money; with billing_operator too, it may.
        assert!(permits(&roles(&[SupportAgent]), OperatorAction::AnswerDesk));
        assert!(!permits(&roles(&[SupportAgent]), OperatorAction::GrantCredits));
        assert!(permits(&roles(&[SupportAgent, BillingOperator]), OperatorAction::GrantCredits));
        // A catalog manager manages the catalog, not partners or operators.
        assert!(permits(&roles(&[CatalogManager]), OperatorAction::ManageCatalog));
        assert!(!permits(&roles(&[CatalogManager]), OperatorAction::ManagePartners));
        assert!(!permits(&roles(&[BillingOperator]), OperatorAction::ManageOperators));
        // The admin does everything.
        for a in OperatorAction::ALL {
            assert!(permits(&roles(&[OperatorAdmin]), a), "{a:?}");
        }
        let e = authorize(&roles(&[SupportAgent]), OperatorAction::Billing).unwrap_err();
        assert_eq!(e, DomainError::Forbidden { allowed: vec!["operator_admin", "billing_operator"] });
    }

    #[test]
    fn every_action_and_operation_is_listed_once() {
        for (i, a) in OperatorAction::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i, "{a:?}");
        }
        for (i, o) in OperatorOperation::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i, "{o:?}");
        }
        assert_eq!(OperatorOperation::ALL.len(), OperatorOperation::SignIn as usize + 1);
        assert_eq!(OperatorAction::ALL.len(), OperatorAction::Billing as usize + 1);
    }

    #[test]
    fn roles_parse_and_round_trip() {
        let r = OperatorRoles::parse_list(&["support_agent".into(), "billing_operator".into()]).unwrap();
        assert_eq!(r.to_stored(), "support_agent,billing_operator");
        assert_eq!(OperatorRoles::from_stored(&r.to_stored()), Some(r));
        assert!(OperatorRoles::parse_list(&["global_admin".into()]).is_err());
        assert!(OperatorRoles::parse_list(&[]).is_err());
    }

    #[test]
    fn the_chain_detects_an_edit_and_a_truncation() {
        let mut prev = GENESIS_HASH.to_string();
        let chain: Vec<OperatorRecord> = (1..=4)
            .map(|seq| {
                let r = OperatorRecord::seal(
                    seq,
                    &prev,
                    NewOperatorRecord::new(
                        OperatorOperation::GrantRefund,
                        None,
                        "a@b.com",
                        Timestamp::from_micros(seq),
                    )
                    .data("amount", "10.00"),
                );
                prev = r.hash.clone();
                r
            })
            .collect();
        let verify = |records: &[OperatorRecord], head: (i64, &str)| {
            let mut v = ChainVerifier::default();
            records.iter().for_each(|r| v.feed(r));
            v.finish(head, records.last().map(|r| r.id))
        };
        assert!(verify(&chain, (4, &chain[3].hash)).valid);
        let mut edited = chain.clone();
        edited[1].principal = "someone@else.com".into();
        assert_eq!(verify(&edited, (4, &chain[3].hash)).first_invalid_record_id, Some(chain[1].id));
        assert!(!verify(&chain[..3], (4, &chain[3].hash)).valid);
    }
}
