//! Files and download links (R6, R7, R8): the publisher's uploads, the Software page's download options, "Get keys
//! and downloads" (admin agents), and serving a link — counted exactly, recorded in the activity log.

use crate::auth::Publisher;
use crate::blobs::{BlobError, ByteStream};
use crate::idempotency::{completion, Keep};
use crate::{Actor, Error, Result, Services};
use base64::Engine;
use domain::audit::{NewAuditRecord, OperationType};
use domain::customer::Customer;
use domain::download::{plan_transfer, sanitize_file_name, LinkState, Transfer};
use domain::ids::{ArtifactId, DownloadLinkId, SoftwareItemId, TenantId};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::software::{validate_label, Artifact, ArtifactSelection, DownloadOptions, SoftwareItem};
use domain::DomainError;
use rand::RngCore;
pub use store::ItemLink;
use store::{Effects, NewDownloadLink, PartnerScope};

/// The largest artifact accepted (a DVD image is a few GiB; this leaves room without letting a disk fill up).
pub const MAX_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// Where a request came from, for the activity log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    fn annotate(&self, mut record: NewAuditRecord) -> NewAuditRecord {
        if let Some(ip) = &self.ip {
            record = record.data("ipAddress", ip.clone());
        }
        if let Some(ua) = &self.user_agent {
            // Bounded: the header is the client's to fill.
            record = record.data("userAgent", ua.chars().take(512).collect::<String>());
        }
        record
    }
}

/// What the publisher says a file is.
#[derive(Debug, Clone)]
pub struct ArtifactUpload {
    pub product_id: String,
    pub version: String,
    pub language: String,
    pub file_type: String,
    pub file_name: String,
}

/// The operator record of a stored file.
fn upload_record(
    publisher: &Publisher,
    operation: domain::operator::OperatorOperation,
    a: &Artifact,
) -> domain::operator::NewOperatorRecord {
    publisher
        .record(operation, a.created_at)
        .data("productId", a.product_id.clone())
        .data("artifactId", a.id.to_string())
        .data("fileName", a.file_name.clone())
        .data("size", a.size.to_string())
        .data("sha256", a.sha256.clone())
}

/// One issued link, as "Get keys and downloads" shows it.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub id: DownloadLinkId,
    pub artifact: Artifact,
    pub uri: String,
    pub state: LinkState,
}

/// An issued link as listed, with where it stands on the partner's clock.
#[derive(Debug, Clone)]
pub struct ListedLink {
    pub link: ItemLink,
    pub status: domain::download::LinkStatus,
}

#[derive(Debug, Clone)]
pub struct KeysAndDownloads {
    pub item: SoftwareItem,
    pub activation_key: Option<String>,
    pub downloads: Vec<IssuedLink>,
}

/// A request for a link's file.
#[derive(Debug, Clone, Default)]
pub struct DownloadRequest {
    pub token: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    /// `HEAD`: answered like the `GET`, but never counted nor recorded.
    pub head: bool,
    pub client: ClientInfo,
}

/// What to send for a link: the file's facts, the part of it, and the bytes (none for `HEAD` or a 416).
pub struct Download {
    pub artifact: Artifact,
    pub transfer: Transfer,
    pub etag: String,
    pub body: Option<ByteStream>,
}

/// A software item found for an authorized actor, with what the use cases need next.
struct Found {
    scope: PartnerScope,
    customer: Customer,
    item: SoftwareItem,
    sealed_key: Option<Vec<u8>>,
}

/// A fresh link token: 256 random bits, URL-safe; only its SHA-256 is stored.
fn new_link_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = crate::auth::token_hash(&token);
    (token, hash)
}

/// A token we could have issued: 43 URL-safe base64 characters. Anything else is not looked up.
fn plausible_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn blob_error(e: BlobError) -> Error {
    match e {
        BlobError::TooLarge(limit) => DomainError::PayloadTooLarge(limit).into(),
        BlobError::Interrupted(e) => DomainError::invalid("body", format!("the upload was interrupted: {e}")).into(),
        BlobError::Storage(m) => Error::Internal(m.into()),
    }
}

impl Services {
    /// Publisher: stores a file for a product, streamed to blob storage with its size and SHA-256. A failed upload
    /// (too large, interrupted, or refused) leaves neither a file nor a row.
    #[tracing::instrument(skip_all)]
    pub async fn upload_artifact(
        &self,
        publisher: &Publisher,
        upload: ArtifactUpload,
        body: ByteStream,
    ) -> Result<Artifact> {
        publisher.authorize(domain::operator::OperatorAction::ManageCatalog)?;
        let artifact = self.store_upload(&upload, body).await?;
        let record = upload_record(publisher, domain::operator::OperatorOperation::UploadFile, &artifact);
        let added = self.store.add_artifact(&artifact, Effects::operator(record, None)).await;
        self.kept_or_removed(&artifact, added.map_err(Error::from)).await?;
        tracing::info!(artifact = %artifact.id, product = artifact.product_id, size = artifact.size, "artifact stored");
        Ok(artifact)
    }

    /// Publisher: a page of every product's files (withdrawn ones are not listed), oldest upload first.
    #[tracing::instrument(skip_all)]
    pub async fn page_files(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Artifact>> {
        publisher.authorize(domain::operator::OperatorAction::ViewPlatform)?;
        let rows = self.store.page_artifacts(size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |a| Cursor { at: a.created_at, id: a.id.to_string() }))
    }

    /// Publisher: one file (not withdrawn), whatever its product.
    #[tracing::instrument(skip_all)]
    pub async fn get_file(&self, publisher: &Publisher, id: ArtifactId) -> Result<Artifact> {
        publisher.authorize(domain::operator::OperatorAction::ViewPlatform)?;
        Ok(self.store.get_artifact(id).await?.ok_or(DomainError::NotFound)?)
    }

    /// Publisher: withdraws a product's file. It is no longer offered for new download links; links issued before
    /// keep working within their own 14 days / 50 downloads, so its bytes stay. An unknown (or already withdrawn)
    /// file: `NotFound`.
    #[tracing::instrument(skip_all)]
    pub async fn withdraw_artifact(&self, publisher: &Publisher, product_id: &str, id: ArtifactId) -> Result<()> {
        publisher.authorize(domain::operator::OperatorAction::ManageCatalog)?;
        let now = self.clock.now();
        let record = publisher
            .record(domain::operator::OperatorOperation::WithdrawFile, now)
            .data("productId", product_id)
            .data("artifactId", id.to_string());
        if !self.store.withdraw_artifact(product_id, id, now, Effects::operator(record, None)).await? {
            return Err(DomainError::NotFound.into());
        }
        Ok(())
    }

    /// Publisher: a new file in place of one of the product's files, streamed like an upload; the old one is
    /// withdrawn in the same transaction (as [`Self::withdraw_artifact`] does). A label of `upload` left empty is
    /// the old file's. Returns the new file.
    #[tracing::instrument(skip_all)]
    pub async fn replace_artifact(
        &self,
        publisher: &Publisher,
        old: ArtifactId,
        mut upload: ArtifactUpload,
        body: ByteStream,
    ) -> Result<Artifact> {
        publisher.authorize(domain::operator::OperatorAction::ManageCatalog)?;
        let current = self.store.list_artifacts(&upload.product_id).await?;
        let previous = current.iter().find(|a| a.id == old).ok_or(DomainError::NotFound)?;
        for (given, was) in [
            (&mut upload.version, &previous.version),
            (&mut upload.language, &previous.language),
            (&mut upload.file_type, &previous.file_type),
            (&mut upload.file_name, &previous.file_name),
        ] {
            if given.trim().is_empty() {
                *given = was.clone();
            }
        }
        let artifact = self.store_upload(&upload, body).await?;
        let record = upload_record(publisher, domain::operator::OperatorOperation::UploadFile, &artifact)
            .data("replaces", old.to_string());
        let replaced = match self.store.replace_artifact(&artifact, old, Effects::operator(record, None)).await {
            Ok(true) => Ok(()),
            // Withdrawn (or replaced) by someone else while this one was uploading.
            Ok(false) => Err(DomainError::NotFound.into()),
            Err(e) => Err(e.into()),
        };
        self.kept_or_removed(&artifact, replaced).await?;
        tracing::info!(artifact = %artifact.id, replaced = %old, size = artifact.size, "artifact replaced");
        Ok(artifact)
    }

    /// The checks of an upload, then its bytes streamed to blob storage; the file as it would be recorded.
    async fn store_upload(&self, upload: &ArtifactUpload, body: ByteStream) -> Result<Artifact> {
        let version = validate_label("version", &upload.version)?;
        let language = validate_label("language", &upload.language)?;
        let file_type = validate_label("fileType", &upload.file_type)?;
        let file_name = sanitize_file_name(&upload.file_name)?;
        let products = self.store.list_products().await?;
        let product = products.iter().find(|p| p.id == upload.product_id).ok_or(DomainError::NotFound)?;
        if !product.product_type.has_downloads() {
            return Err(DomainError::invalid(
                "productId",
                format!("{} is a {} and has no files", product.id, product.product_type.as_str()),
            )
            .into());
        }
        let id = ArtifactId::new();
        let blob_key = format!("artifacts/{id}");
        let stored = self.blobs.put(&blob_key, body, MAX_ARTIFACT_BYTES).await.map_err(blob_error)?;
        Ok(Artifact {
            id,
            product_id: product.id.clone(),
            version,
            language,
            file_type,
            file_name,
            size: stored.size,
            sha256: stored.sha256,
            blob_key,
            created_at: self.clock.now(),
        })
    }

    /// A stored upload whose row could not be written: its bytes are removed too.
    async fn kept_or_removed(&self, artifact: &Artifact, written: Result<()>) -> Result<()> {
        if written.is_err() {
            if let Err(d) = self.blobs.delete(&artifact.blob_key).await {
                tracing::warn!(error = %d, key = artifact.blob_key, "could not remove the file of a failed upload");
            }
        }
        written
    }

    /// One of the customer's software items, once `action` is allowed.
    async fn software_item(
        &self,
        actor: &Actor,
        action: Action,
        customer_id: TenantId,
        id: SoftwareItemId,
    ) -> Result<Found> {
        let scope = actor.authorize(action)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let found = self.store.get_software_item(scope, customer.tenant_id, id).await?.ok_or(DomainError::NotFound)?;
        Ok(Found { scope, customer, item: found.item, sealed_key: found.sealed_key })
    }

    /// The versions, languages and file types the publisher uploaded for an item's product (any role).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn download_options(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        item_id: SoftwareItemId,
    ) -> Result<DownloadOptions> {
        let Found { item, .. } = self.software_item(actor, Action::ViewSoftware, customer_id, item_id).await?;
        Ok(DownloadOptions::of(self.store.list_artifacts(&item.product_id).await?))
    }

    /// The Software page with each item's download options, reading each product's files once (not once per item).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn software_with_options(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        size: domain::paging::PageSize,
    ) -> Result<Vec<(SoftwareItem, DownloadOptions)>> {
        let page = self.list_software(actor, customer_id, size, None).await?;
        let mut by_product: std::collections::HashMap<String, DownloadOptions> = Default::default();
        let mut out = Vec::with_capacity(page.items.len());
        for item in page.items {
            if !by_product.contains_key(&item.product_id) {
                let options = DownloadOptions::of(self.store.list_artifacts(&item.product_id).await?);
                by_product.insert(item.product_id.clone(), options);
            }
            let options = by_product[&item.product_id].clone();
            out.push((item, options));
        }
        Ok(out)
    }

    /// "Get keys and downloads" (R7, admin agents): the item's key, and a fresh link per selected file, each good
    /// for 14 days or 50 downloads on the partner's clock. The links, the activity records (a key view and each
    /// link issued) and the idempotent response commit together.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn keys_and_downloads(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        item_id: SoftwareItemId,
        selection: &ArtifactSelection,
        client: &ClientInfo,
        keep: Option<&dyn Keep<KeysAndDownloads>>,
    ) -> Result<KeysAndDownloads> {
        let Found { scope, customer, item, sealed_key } =
            self.software_item(actor, Action::GetKeysAndDownloads, customer_id, item_id).await?;
        if item.status != domain::order::LineStatus::Active {
            return Err(DomainError::ItemCancelled.into());
        }
        let activation_key = match &sealed_key {
            Some(sealed) => Some(
                self.secrets
                    .open(sealed)
                    .and_then(|k| String::from_utf8(k).ok())
                    .ok_or_else(|| Error::Internal("an activation key does not decrypt".into()))?,
            ),
            None => None,
        };
        let artifacts = self.store.list_artifacts(&item.product_id).await?;
        let chosen = selection.select(&artifacts)?;
        let now = self.partner_now(&actor.partner);
        let mut rows = Vec::with_capacity(chosen.len());
        let mut downloads = Vec::with_capacity(chosen.len());
        let mut audit = Vec::new();
        let on_item = |op: OperationType| {
            client.annotate(
                NewAuditRecord::succeeded(op, actor.principal(), now)
                    .customer(customer.tenant_id, &customer.company_name)
                    .data("softwareItemId", item.id.to_string())
                    .data("orderId", item.order_id.to_string())
                    .data("productId", item.product_id.clone()),
            )
        };
        if activation_key.is_some() {
            audit.push(on_item(OperationType::GetSoftwareKey));
        }
        for artifact in chosen {
            let (token, token_hash) = new_link_token();
            let link = NewDownloadLink {
                id: DownloadLinkId::new(),
                token_hash,
                customer_id: customer.tenant_id,
                artifact_id: artifact.id,
                issued_by: actor.principal().to_string(),
                state: LinkState::issued(now),
            };
            audit.push(
                on_item(OperationType::GetSoftwareDownloadLink)
                    .data("linkId", link.id.to_string())
                    .data("artifactId", artifact.id.to_string())
                    .data("fileName", artifact.file_name.clone())
                    .data("expiresAt", link.state.expires_at.to_rfc3339()),
            );
            downloads.push(IssuedLink {
                id: link.id,
                artifact: artifact.clone(),
                uri: format!("{}/download/{token}", self.base_url),
                state: link.state,
            });
            rows.push(link);
        }
        let result = KeysAndDownloads { item, activation_key, downloads };
        let effects = Effects { audit, idempotency: completion(keep, &result)?, ..Effects::default() };
        self.store.issue_links(scope, result.item.id, &rows, effects).await?;
        Ok(result)
    }

    /// The links issued for an item, newest first, with downloads used and left (admin agents: whoever may issue
    /// them). The tokens are not among them: only their hashes are kept.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn item_links(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        item_id: SoftwareItemId,
    ) -> Result<Vec<ListedLink>> {
        let Found { scope, customer, item, .. } =
            self.software_item(actor, Action::GetKeysAndDownloads, customer_id, item_id).await?;
        let now = self.partner_now(&actor.partner);
        let links = self.store.list_item_links(scope, customer.tenant_id, item.id).await?;
        Ok(links.into_iter().map(|link| ListedLink { status: link.state.status(now), link }).collect())
    }

    /// Revokes one link of an item (admin agents), for example one sent to the wrong person: from then on it
    /// answers `link_revoked`, and the activity log records who revoked it. Revoking a revoked link changes nothing
    /// and records nothing; `false` says so.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn revoke_link(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        item_id: SoftwareItemId,
        link: DownloadLinkId,
        client: &ClientInfo,
    ) -> Result<bool> {
        let Found { scope, customer, item, .. } =
            self.software_item(actor, Action::GetKeysAndDownloads, customer_id, item_id).await?;
        let now = self.partner_now(&actor.partner);
        let record = client.annotate(
            NewAuditRecord::succeeded(OperationType::RevokeSoftwareDownloadLink, actor.principal(), now)
                .customer(customer.tenant_id, &customer.company_name)
                .data("softwareItemId", item.id.to_string())
                .data("orderId", item.order_id.to_string())
                .data("productId", item.product_id.clone())
                .data("linkId", link.to_string()),
        );
        Ok(self.store.revoke_link(scope, customer.tenant_id, item.id, link, now, Effects::audit(record)).await?)
    }

    /// A replayed "Get keys and downloads" showed the key again: record that view (SPEC §5, Idempotency).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn record_replayed_key_view(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        item_id: SoftwareItemId,
        client: &ClientInfo,
    ) -> Result<()> {
        let Found { scope, customer, item, sealed_key } =
            self.software_item(actor, Action::GetKeysAndDownloads, customer_id, item_id).await?;
        // R10 wins over replaying: a cancelled item's key is not shown again, even from a stored response.
        if item.status != domain::order::LineStatus::Active {
            return Err(DomainError::ItemCancelled.into());
        }
        if sealed_key.is_none() {
            return Ok(());
        }
        let record = client.annotate(
            NewAuditRecord::succeeded(
                OperationType::GetSoftwareKey,
                actor.principal(),
                self.partner_now(&actor.partner),
            )
            .customer(customer.tenant_id, &customer.company_name)
            .data("softwareItemId", item.id.to_string())
            .data("orderId", item.order_id.to_string())
            .data("productId", item.product_id.clone())
            .data("replay", "true"),
        );
        self.store.record_activity(scope, Effects::audit(record)).await?;
        Ok(())
    }

    /// Where a link stands now, for the page a customer sees when it no longer serves (no authentication: the
    /// token is the credential, and only the reason is told). `None` for a token never issued.
    #[tracing::instrument(skip_all)]
    pub async fn link_status(&self, token: &str) -> Result<Option<domain::download::LinkStatus>> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let link = self.store.find_link(&crate::auth::token_hash(token)).await?;
        Ok(link.map(|l| l.state.status(l.partner.now(self.clock.now()))))
    }

    /// Serves a link (no authentication: the token is the credential). A transfer from byte 0 takes one of the
    /// link's 50 downloads; a resume does not, and is served while the link is within its 14 days. Each served
    /// `GET` is recorded (`download_software`, with IP and user agent) in the transaction that counts it.
    #[tracing::instrument(skip_all)]
    pub async fn open_download(&self, req: DownloadRequest) -> Result<Download> {
        if !plausible_token(&req.token) {
            return Err(DomainError::NotFound.into());
        }
        let link = self.store.find_link(&crate::auth::token_hash(&req.token)).await?.ok_or(DomainError::NotFound)?;
        let artifact = link.artifact.clone();
        let etag = format!("\"{}\"", artifact.sha256);
        // If-Range with a date, or another entity tag, means the client's partial copy is stale: send it all.
        let if_range_matches = req.if_range.as_deref().is_none_or(|v| v.trim() == etag);
        let transfer = plan_transfer(req.range.as_deref(), if_range_matches, artifact.size);
        let now = link.partner.now(self.clock.now());
        if req.head || transfer == Transfer::Unsatisfiable {
            link.state.admits(now, transfer)?;
            return Ok(Download { artifact, transfer, etag, body: None });
        }
        let range = match transfer {
            Transfer::Partial { start, end } => Some(start..end + 1),
            _ => None,
        };
        // Open the file before counting: a download that cannot be served must not use up one of the 50.
        let body = self.blobs.get(&artifact.blob_key, range).await.map_err(blob_error)?;
        let mut record = req
            .client
            .annotate(
                NewAuditRecord::succeeded(OperationType::DownloadSoftware, "download link", now)
                    .customer(link.customer_id, &link.customer_name)
                    .data("linkId", link.id.to_string())
                    .data("softwareItemId", link.software_item_id.to_string())
                    .data("artifactId", artifact.id.to_string())
                    .data("fileName", artifact.file_name.clone()),
            )
            .data("counted", transfer.counts().to_string());
        if let Transfer::Partial { start, end } = transfer {
            record = record.data("range", format!("bytes={start}-{end}"));
        }
        // The link's token is the credential: the redemption is the link's partner's.
        let scope = PartnerScope::authenticated(link.partner.id);
        self.store.redeem_link(scope, link.id, now, transfer, Effects::audit(record)).await?;
        Ok(Download { artifact, transfer, etag, body: Some(body) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_carry_256_bits_and_only_their_hash_is_kept() {
        let (a, ha) = new_link_token();
        let (b, _) = new_link_token();
        assert_ne!(a, b);
        assert!(plausible_token(&a) && plausible_token(&b));
        assert_eq!(ha, crate::auth::token_hash(&a));
        assert_ne!(ha, a);
        assert!(!plausible_token("../etc/passwd") && !plausible_token(&format!("{a}x")));
    }
}
