//! Download links as the store writes them and as serving a download reads them.

use domain::download::LinkState;
use domain::ids::{ArtifactId, DownloadLinkId, SoftwareItemId, TenantId};
use domain::partner::Partner;
use domain::software::{Artifact, SoftwareItem};

/// A download link to write; its token is known only by its SHA-256.
#[derive(Debug, Clone)]
pub struct NewDownloadLink {
    pub id: DownloadLinkId,
    pub token_hash: String,
    pub customer_id: TenantId,
    pub artifact_id: ArtifactId,
    /// The user principal who issued it (the activity log says who).
    pub issued_by: String,
    pub state: LinkState,
}

/// A software item with its sealed activation key, when it holds one.
#[derive(Debug, Clone)]
pub struct SoftwareItemWithKey {
    pub item: SoftwareItem,
    pub sealed_key: Option<Vec<u8>>,
}

/// What serving a download needs: the link, its file, and whose it is (the partner's clock, the activity record).
#[derive(Debug, Clone)]
pub struct LinkForDownload {
    pub id: DownloadLinkId,
    pub partner: Partner,
    pub customer_id: TenantId,
    pub customer_name: String,
    pub software_item_id: SoftwareItemId,
    pub artifact: Artifact,
    pub state: LinkState,
}

/// A link as the Software tab lists it: its file, who issued it, and how much of it is used (never its token,
/// which is kept only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLink {
    pub id: DownloadLinkId,
    pub artifact: Artifact,
    pub issued_by: String,
    pub state: LinkState,
}
