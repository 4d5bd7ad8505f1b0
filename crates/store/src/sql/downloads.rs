//! Files and download links (R6, R7): the rows, and the one conditional UPDATE that counts a download.

use super::*;
use domain::ids::{ArtifactId, DownloadLinkId, SoftwareItemId};
use domain::DomainError;
use std::sync::LazyLock;

/// The statements of every download, written once per process rather than once per request.
static COUNT_DOWNLOAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE download_links SET downloads = downloads + 1 WHERE id = $1 AND partner_id = $3 \
         AND revoked_at IS NULL AND expires_at > $2 AND downloads < max_downloads RETURNING {}",
        link_state_cols("")
    )
});
/// [`COUNT_DOWNLOAD`] for a group of downloads: `j` lists each link with its partner and the partner's time. A link
/// listed twice is counted once (rounds keep a group's links distinct; padding repeats the last row).
static COUNT_DOWNLOADS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0..=GROUP_SIZES)
        .map(|k| {
            format!(
                "WITH j (id, partner_id, now) AS (VALUES {}) \
                 UPDATE download_links SET downloads = downloads + 1 FROM j \
                 WHERE download_links.id = j.id AND download_links.partner_id = j.partner_id \
                 AND revoked_at IS NULL AND expires_at > j.now AND downloads < max_downloads \
                 RETURNING download_links.id AS dl_id, {}",
                anonymous_rows("(?, ?, ?)", 1 << k),
                link_state_cols("")
            )
        })
        .collect()
});
/// Group statements are padded to a power of two rows up to `1 << GROUP_SIZES` (the writer's batch limit), so
/// that a few prepared statements serve every group size.
const GROUP_SIZES: u32 = writer::BATCH_JOBS.ilog2();
static LINK_STATE: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {} FROM download_links dl WHERE dl.id = $1 AND dl.partner_id = $2", link_state_cols("dl."))
});
static FIND_LINK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT dl.id AS dl_id, dl.customer_id AS dl_customer_id, dl.software_item_id AS dl_item_id, \
         c.company_name AS c_name, {}, {ARTIFACT_COLS}, {PARTNER_COLS} FROM download_links dl \
         JOIN artifacts a ON a.id = dl.artifact_id JOIN partners p ON p.id = dl.partner_id \
         JOIN customers c ON c.partner_id = dl.partner_id AND c.tenant_id = dl.customer_id \
         WHERE dl.token_hash = $1",
        link_state_cols("dl.")
    )
});

impl SqlStore {
    /// One redemption's count (or a resume's check) inside a transaction. A refusal (`StoreError::Refused`) has
    /// written nothing.
    pub(super) async fn admit_in(
        &self,
        tx: &mut Tx,
        scope: PartnerScope,
        link: DownloadLinkId,
        now: Timestamp,
        transfer: Transfer,
    ) -> StoreResult<LinkState> {
        let taken = if transfer.counts() {
            // The whole limit in one statement: on PostgreSQL a concurrent redeemer waits for this row's lock and
            // re-checks the condition; SQLite has one writer. Either way the 51st finds no row to update.
            let row = sqlx::query(&COUNT_DOWNLOAD)
                .bind(link.to_string())
                .bind(now.micros())
                .bind(scope.partner_id().to_string())
                .fetch_optional(&mut **tx)
                .await?;
            row.map(|r| link_state_from(&r)).transpose()?
        } else {
            None
        };
        match taken {
            Some(state) => Ok(state),
            None => judge(tx, scope.partner_id(), link, now, transfer).await?,
        }
    }

    /// Counts a group of downloads inside the writer's batch, in the writer's own task (SQLite; see `writer`): one
    /// `UPDATE` counts every link of the group under the exact limit (a link twice in the group: once per round),
    /// one `INSERT` writes the activity records of those counted, on their partners' chains as the batch has moved
    /// them. Returns each job's outcome in order: its link's state, or its refusal (it wrote nothing). An error is
    /// the group's: the writer rolls the whole group back to its savepoint.
    pub(super) async fn redeem_group(
        batch: &mut writer::Batch,
        jobs: &mut [writer::Redemption],
    ) -> StoreResult<Vec<StoreResult<LinkState>>> {
        let mut outcomes: Vec<Option<StoreResult<LinkState>>> = jobs.iter().map(|_| None).collect();
        let mut counted = Vec::with_capacity(jobs.len());
        let mut pending: Vec<usize> = (0..jobs.len()).collect();
        while !pending.is_empty() {
            let mut seen = std::collections::HashSet::with_capacity(pending.len());
            let (round, later): (Vec<usize>, Vec<usize>) = pending.iter().partition(|&&i| seen.insert(jobs[i].link));
            pending = later;
            let k = round.len().next_power_of_two().ilog2();
            let sql = COUNT_DOWNLOADS.get(k as usize).ok_or_else(|| corrupt("a group larger than a batch"))?;
            let mut q = sqlx::query(sql);
            for n in 0..1usize << k {
                let job = &jobs[round[n.min(round.len() - 1)]];
                q = q.bind(job.link.to_string()).bind(job.partner.to_string()).bind(job.now.micros());
            }
            let mut taken = std::collections::HashMap::with_capacity(round.len());
            for row in q.fetch_all(batch.conn()).await? {
                taken.insert(DownloadLinkId(uuid_col(&row, "dl_id")?), link_state_from(&row)?);
            }
            for i in round {
                let job = &jobs[i];
                outcomes[i] = Some(match taken.remove(&job.link) {
                    Some(state) => {
                        counted.push(i);
                        Ok(state)
                    }
                    None => judge(batch.conn(), job.partner, job.link, job.now, Transfer::Full).await?,
                });
            }
        }
        let mut records = Vec::with_capacity(counted.len());
        for i in counted {
            let job = &mut jobs[i];
            let mut chain = match batch.chain(job.partner) {
                Some(head) => head.clone(),
                None => audit::read_chain_head(batch.conn(), job.partner, "").await?,
            };
            records.extend(chain.seal(job.partner, std::mem::take(&mut job.records)));
            batch.set_chain(job.partner, chain);
        }
        audit::insert_audits(batch.conn(), &records, true).await?;
        outcomes.into_iter().map(|o| o.ok_or_else(|| corrupt("a download left unjudged"))).collect()
    }
}

/// Whether `transfer` of `link` is admitted at the partner's time `now`, from the link's row (read in the write's
/// transaction): a counted transfer gets here only when its count found no row, so this says why it was refused;
/// a resume is checked here. `Ok(Err(_))` is the refusal; `Err(_)` a failed read.
async fn judge(
    conn: &mut sqlx::AnyConnection,
    partner: PartnerId,
    link: DownloadLinkId,
    now: Timestamp,
    transfer: Transfer,
) -> StoreResult<StoreResult<LinkState>> {
    let row = sqlx::query(&LINK_STATE).bind(link.to_string()).bind(partner.to_string()).fetch_optional(conn).await?;
    let Some(row) = row else { return Ok(Err(StoreError::NotFound)) };
    let state = link_state_from(&row)?;
    Ok(match state.admits(now, transfer) {
        Err(e) => Err(StoreError::Refused(e)),
        Ok(()) if transfer.counts() => Err(StoreError::Refused(DomainError::LinkExpired)),
        Ok(()) => Ok(state),
    })
}

#[async_trait]
impl DownloadStore for SqlStore {
    async fn list_item_links(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
    ) -> StoreResult<Vec<ItemLink>> {
        let sql = format!(
            "SELECT dl.id AS dl_id, dl.issued_by AS dl_issued_by, {}, {ARTIFACT_COLS} FROM download_links dl \
             JOIN artifacts a ON a.id = dl.artifact_id \
             WHERE dl.partner_id = $1 AND dl.customer_id = $2 AND dl.software_item_id = $3 \
             ORDER BY dl.issued_at DESC, dl.id DESC",
            link_state_cols("dl.")
        );
        let rows = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(item.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ItemLink {
                    id: DownloadLinkId(uuid_col(r, "dl_id")?),
                    artifact: artifact_from(r)?,
                    issued_by: r.try_get("dl_issued_by")?,
                    state: link_state_from(r)?,
                })
            })
            .collect()
    }

    /// One conditional `UPDATE`: a download counted meanwhile either committed before it (and stays counted) or
    /// finds the link revoked. Only when no row changed is the link looked up, to tell "already revoked" from
    /// "no such link".
    async fn revoke_link(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        item: SoftwareItemId,
        link: DownloadLinkId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE download_links SET revoked_at = $1 WHERE id = $2 AND partner_id = $3 AND customer_id = $4 \
             AND software_item_id = $5 AND revoked_at IS NULL",
        )
        .bind(now.micros())
        .bind(link.to_string())
        .bind(scope.partner_id().to_string())
        .bind(customer.to_string())
        .bind(item.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists = sqlx::query(
                "SELECT 1 AS one FROM download_links WHERE id = $1 AND partner_id = $2 AND customer_id = $3 \
                 AND software_item_id = $4",
            )
            .bind(link.to_string())
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(item.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            return if exists.is_some() { Ok(false) } else { Err(StoreError::NotFound) };
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(true)
    }

    async fn get_software_item(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: SoftwareItemId,
    ) -> StoreResult<Option<SoftwareItemWithKey>> {
        let sql = format!(
            "SELECT {}, k.sealed AS sealed FROM software_items s JOIN order_lines l ON l.order_id = s.order_id \
             AND l.line_number = s.line_number LEFT JOIN activation_keys k ON k.id = s.key_id \
             WHERE s.partner_id = $1 AND s.customer_id = $2 AND s.id = $3",
            SOFTWARE_COLS
        );
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(SoftwareItemWithKey { item: software_from(&r)?, sealed_key: r.try_get::<Option<Vec<u8>>, _>("sealed")? })
        })
        .transpose()
    }

    async fn issue_links(
        &self,
        scope: PartnerScope,
        item: SoftwareItemId,
        links: &[NewDownloadLink],
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Read under lock: a cancellation committing meanwhile either precedes this (refused) or waits for it
        // (and then revokes these links too).
        let sql = format!("SELECT status FROM software_items WHERE id = $1 AND partner_id = $2{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(item.to_string())
            .bind(scope.partner_id().to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if row.try_get::<String, _>("status")? != domain::order::LineStatus::Active.as_str() {
            return Err(StoreError::Refused(DomainError::ItemCancelled));
        }
        for link in links {
            sqlx::query(
                "INSERT INTO download_links (id, token_hash, partner_id, customer_id, software_item_id, artifact_id, \
                 issued_by, issued_at, expires_at, max_downloads, downloads, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
            )
            .bind(link.id.to_string())
            .bind(&link.token_hash)
            .bind(scope.partner_id().to_string())
            .bind(link.customer_id.to_string())
            .bind(item.to_string())
            .bind(link.artifact_id.to_string())
            .bind(&link.issued_by)
            .bind(link.state.issued_at.micros())
            .bind(link.state.expires_at.micros())
            .bind(link.state.max_downloads)
            .bind(link.state.downloads)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_with(tx, scope.partner_id(), effects).await
    }

    /// On SQLite, like every write, a turn in the writer's batch (group commit: one fsync for all the downloads
    /// that arrived while the previous batch was being written), answered only after its batch commits. PostgreSQL
    /// takes them in parallel under row locks.
    async fn redeem_link(
        &self,
        scope: PartnerScope,
        link: DownloadLinkId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState> {
        if let Some(writer) = self.writer.as_ref().filter(|_| transfer.counts() && effects.idempotency.is_none()) {
            // SQLite: the writer counts it with the downloads queued next to it (`redeem_group`).
            let job = writer::Redemption { partner: scope.partner_id(), link, now, records: effects.audit };
            return writer.redeem(job).await;
        }
        let mut tx = self.begin().await?;
        let state = self.admit_in(&mut tx, scope, link, now, transfer).await?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(state)
    }
}

#[async_trait]
impl ArtifactStore for SqlStore {
    async fn add_artifact(&self, a: &Artifact, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_artifact(&mut tx, a).await?;
        self.commit_operator(tx, effects).await
    }

    async fn list_artifacts(&self, product_id: &str) -> StoreResult<Vec<Artifact>> {
        let sql = format!(
            "SELECT {ARTIFACT_COLS} FROM artifacts a WHERE a.product_id = $1 AND a.withdrawn_at IS NULL \
             ORDER BY a.version, a.language, a.file_type, a.created_at, a.id"
        );
        let rows = sqlx::query(&sql).bind(product_id).fetch_all(&self.read).await?;
        rows.iter().map(artifact_from).collect()
    }

    async fn page_artifacts(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Artifact>> {
        let mut sql = format!("SELECT {ARTIFACT_COLS} FROM artifacts a WHERE a.withdrawn_at IS NULL");
        if after.is_some() {
            sql.push_str(&keyset("a.created_at", "a.id", 1));
        }
        sql.push_str(&format!(" ORDER BY a.created_at, a.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql);
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(artifact_from).collect()
    }

    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Option<Artifact>> {
        let sql = format!("SELECT {ARTIFACT_COLS} FROM artifacts a WHERE a.id = $1 AND a.withdrawn_at IS NULL");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(artifact_from).transpose()
    }

    async fn withdraw_artifact(
        &self,
        product_id: &str,
        id: ArtifactId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !withdraw(&mut tx, product_id, id, now).await? {
            return Ok(false);
        }
        self.commit_operator(tx, effects).await?;
        Ok(true)
    }

    async fn replace_artifact(&self, new: &Artifact, old: ArtifactId, effects: Effects) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !withdraw(&mut tx, &new.product_id, old, new.created_at).await? {
            return Ok(false);
        }
        insert_artifact(&mut tx, new).await?;
        self.commit_operator(tx, effects).await?;
        Ok(true)
    }
}

/// Marks a file of a product withdrawn, once.
async fn withdraw(tx: &mut Tx, product_id: &str, id: ArtifactId, now: Timestamp) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE artifacts SET withdrawn_at = $3 WHERE id = $1 AND product_id = $2 AND withdrawn_at IS NULL",
    )
    .bind(id.to_string())
    .bind(product_id)
    .bind(now.micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

async fn insert_artifact(tx: &mut Tx, a: &Artifact) -> StoreResult<()> {
    let size = i64::try_from(a.size).map_err(|_| StoreError::Refused(DomainError::invalid("body", "too large")))?;
    {
        sqlx::query(
            "INSERT INTO artifacts (id, product_id, version, language, file_type, file_name, size, sha256, blob_key, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id.to_string())
        .bind(&a.product_id)
        .bind(&a.version)
        .bind(&a.language)
        .bind(&a.file_type)
        .bind(&a.file_name)
        .bind(size)
        .bind(&a.sha256)
        .bind(&a.blob_key)
        .bind(a.created_at.micros())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl LinkLookup for SqlStore {
    async fn find_link(&self, token_hash: &str) -> StoreResult<Option<LinkForDownload>> {
        let row = match &self.lookups {
            Some(lookups) => lookups.fetch_optional(&FIND_LINK, token_hash, &self.read).await?,
            None => sqlx::query(&FIND_LINK).bind(token_hash).fetch_optional(&self.read).await?,
        };
        row.map(|r| {
            Ok(LinkForDownload {
                id: DownloadLinkId(uuid_col(&r, "dl_id")?),
                partner: partner_from(&r)?,
                customer_id: TenantId(uuid_col(&r, "dl_customer_id")?),
                customer_name: r.try_get("c_name")?,
                software_item_id: SoftwareItemId(uuid_col(&r, "dl_item_id")?),
                artifact: artifact_from(&r)?,
                state: link_state_from(&r)?,
            })
        })
        .transpose()
    }
}
