//! Typed ids, so a user id can never be passed where a partner id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id. UUIDv7 keeps index locality (time-ordered) while staying unguessable enough for ids.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        /// The path parameters' parsing (`Path<OrderId>` at the web edge): a UUID in any of its usual forms.
        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(PartnerId);
id_type!(UserId);
id_type!(
    /// A user of the operator (the publisher): console and publisher API.
    OperatorId
);
id_type!(TokenId);
id_type!(AuditRecordId);
id_type!(CartId);
id_type!(OrderId);
id_type!(SoftwareItemId);
id_type!(KeyId);
id_type!(LedgerEntryId);
id_type!(ArtifactId);
id_type!(DownloadLinkId);
id_type!(InvoiceId);
id_type!(ServiceRequestId);
id_type!(
    /// A partner price list (issue 23).
    PriceListId
);
id_type!(
    /// A partner's markup rule: what its customers pay (issue 23).
    MarkupRuleId
);
id_type!(
    /// An endpoint that receives the partner's activity records (SPEC §3, webhooks).
    WebhookId
);
id_type!(
    /// One activity record (or test event) on its way to one endpoint; sent as `Partnerhub-Delivery`, the same on
    /// every retry, so receivers can drop duplicates.
    DeliveryId
);
id_type!(
    /// A file attached to a service request.
    AttachmentId
);
id_type!(
    /// A note (a message from either side) on a service request.
    NoteId
);
id_type!(
    /// A customer's id is its Azure AD tenant id (a GUID); unique per partner, not per server.
    TenantId
);
