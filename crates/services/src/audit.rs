//! The activity log (R8): query by date range and filter, CSV export in constant memory, chain verification.

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::audit::{AuditRecord, ChainVerifier, DateRange, Verification};
use domain::filter::AuditFilter;
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use store::{AuditOrder, PartnerScope};

/// Rows fetched per round trip while exporting or verifying.
const CHUNK: u32 = 1000;

/// Where a page of the log starts: past a record towards older ones (Next), or towards newer ones (Previous).
#[derive(Debug, Clone)]
pub enum LogPosition {
    Older(Cursor),
    Newer(Cursor),
}

/// A page of the log, newest first, with the cursors of the pages beside it.
#[derive(Debug, Clone)]
pub struct LogPage {
    pub items: Vec<AuditRecord>,
    pub older: Option<Cursor>,
    pub newer: Option<Cursor>,
}

/// A validated activity query.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub range: DateRange,
    pub filter: Option<AuditFilter>,
}

impl Services {
    pub fn audit_query(
        &self,
        actor: &Actor,
        start: Option<&str>,
        end: Option<&str>,
        filter: Option<&str>,
    ) -> Result<AuditQuery> {
        actor.authorize(Action::ReadActivityLog)?;
        let today = self.partner_now(&actor.partner).date();
        Ok(AuditQuery {
            range: DateRange::parse(start, end, today)?,
            filter: filter.filter(|f| !f.trim().is_empty()).map(AuditFilter::parse).transpose()?,
        })
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_audit(
        &self,
        actor: &Actor,
        q: &AuditQuery,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<AuditRecord>> {
        let scope = actor.authorize(Action::ReadActivityLog)?;
        if after.as_ref().is_some_and(|c| c.id.parse::<i64>().is_err()) {
            return Err(
                domain::DomainError::invalid("MS-ContinuationToken", "is not a token this server issued").into()
            );
        }
        let rows = self
            .store
            .list_audit(scope, q.range, q.filter.as_ref(), size.get() + 1, after.as_ref(), AuditOrder::OldestFirst)
            .await?;
        Ok(Page::from_rows(rows, size, audit_cursor))
    }

    /// The log as people read it: newest first, a page at a time, with where the next older and the next newer
    /// pages start (`Previous` goes back towards the newest).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn activity_page(
        &self,
        actor: &Actor,
        q: &AuditQuery,
        size: PageSize,
        from: Option<LogPosition>,
    ) -> Result<LogPage> {
        let scope = actor.authorize(Action::ReadActivityLog)?;
        let n = size.get() as usize;
        let (after, order) = match &from {
            None => (None, AuditOrder::NewestFirst),
            Some(LogPosition::Older(c)) => (Some(c), AuditOrder::NewestFirst),
            Some(LogPosition::Newer(c)) => (Some(c), AuditOrder::OldestFirst),
        };
        let mut items = self.store.list_audit(scope, q.range, q.filter.as_ref(), size.get() + 1, after, order).await?;
        let more = items.len() > n;
        items.truncate(n);
        Ok(match from {
            // Towards older records (or the newest page): more means a Next page; coming from a newer page, there
            // is one to go back to.
            None | Some(LogPosition::Older(_)) => LogPage {
                older: if more { items.last().map(audit_cursor) } else { None },
                newer: if after.is_some() { items.first().map(audit_cursor) } else { None },
                items,
            },
            // Read oldest first from the cursor, shown newest first; the page came from an older one.
            Some(LogPosition::Newer(_)) => {
                items.reverse();
                LogPage {
                    newer: if more { items.first().map(audit_cursor) } else { None },
                    older: items.last().map(audit_cursor),
                    items,
                }
            }
        })
    }

    /// Every matching record, fetched a chunk at a time by keyset, so memory stays flat however many there are.
    pub fn export_audit(&self, actor: &Actor, q: AuditQuery) -> Result<BoxStream<'static, Result<AuditRecord>>> {
        let scope = actor.authorize(Action::ReadActivityLog)?;
        let store = self.store.clone();
        let chunks = stream::try_unfold(Some(None::<Cursor>), move |state| {
            let store = store.clone();
            let q = q.clone();
            async move {
                let Some(after) = state else { return Ok(None) };
                let rows = store
                    .list_audit(scope, q.range, q.filter.as_ref(), CHUNK, after.as_ref(), AuditOrder::OldestFirst)
                    .await?;
                let next = (rows.len() == CHUNK as usize).then(|| rows.last().map(audit_cursor));
                Ok::<_, crate::Error>(Some((stream::iter(rows.into_iter().map(Ok)), next.flatten().map(Some))))
            }
        });
        Ok(chunks.try_flatten().boxed())
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn verify_audit(&self, actor: &Actor) -> Result<Verification> {
        let scope = actor.authorize(Action::ReadActivityLog)?;
        self.verify_chain(scope).await
    }

    /// Operator: verifies one partner's chain (`partnerhub audit verify`).
    #[tracing::instrument(skip_all)]
    pub async fn verify_partner_chain(
        &self,
        publisher: &Publisher,
        partner: domain::ids::PartnerId,
    ) -> Result<Verification> {
        publisher.authorize(domain::operator::OperatorAction::ManageOperators)?;
        self.verify_chain(PartnerScope::authenticated(partner)).await
    }

    /// Walks a partner's whole chain in order.
    async fn verify_chain(&self, scope: PartnerScope) -> Result<Verification> {
        let (head_seq, head_hash) = self.store.audit_head(scope).await?;
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        let mut last_id = None;
        loop {
            let rows = self.store.audit_chain(scope, after, CHUNK).await?;
            for r in &rows {
                verifier.feed(r);
            }
            match rows.last() {
                Some(r) => {
                    after = r.seq;
                    last_id = Some(r.id);
                }
                None => break,
            }
            if rows.len() < CHUNK as usize {
                break;
            }
        }
        Ok(verifier.finish((head_seq, &head_hash), last_id))
    }
}

/// Activity pages by (operation_date, seq): the order records committed in (see the store's chain lock).
fn audit_cursor(r: &AuditRecord) -> Cursor {
    Cursor { at: r.operation_date, id: r.seq.to_string() }
}
