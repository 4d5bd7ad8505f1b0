//! The SQLite redemption writer: group commit for downloads, as a component with one owner.
//!
//! SQLite has one writer connection, so committing every download alone would cost one fsync each. Instead
//! `redeem_link` hands each redemption to this writer ([`Redeemer::redeem`]), which takes every redemption queued
//! meanwhile (up to [`REDEEM_BATCH`]), counts each in one transaction (a refused one writes nothing), appends their
//! activity records per partner, commits once, and only then answers each request. PostgreSQL redeems in parallel
//! under row locks and has no such writer.
//!
//! The [`SqlStore`] that `connect` returns owns the writer (its queue's only sender); the writer's task holds a
//! second `SqlStore` on the same pools, without a writer of its own, and ends when the owner is dropped. It is
//! supervised: a batch that fails to commit answers each of its requests `NotCommitted`; a batch that panics is
//! logged at error level, its requests hear `StoreError::Stopped` (503, try again), and the next batch runs afresh.
//! A writer whose task is gone answers `Stopped` too, never `Corrupt`.

use super::*;
use domain::ids::DownloadLinkId;
use futures::future::BoxFuture;
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// Redemptions committed together at most.
const REDEEM_BATCH: usize = 128;

/// What callers hear when the writer cannot answer.
const STOPPED: StoreError = StoreError::Stopped("redemption writer");

/// A redemption waiting for the writer, and where its answer goes.
pub(super) struct RedeemJob {
    scope: PartnerScope,
    link: DownloadLinkId,
    now: Timestamp,
    transfer: Transfer,
    effects: Effects,
    reply: oneshot::Sender<StoreResult<LinkState>>,
}

/// The handle on the writer's task: its queue.
pub(super) struct Redeemer {
    queue: mpsc::UnboundedSender<RedeemJob>,
}

impl Redeemer {
    /// Starts the writer on `writer` (a store on the same pools, without a writer of its own).
    pub(super) fn start(writer: SqlStore) -> Redeemer {
        let writer = std::sync::Arc::new(writer);
        Redeemer::supervised(move |jobs| {
            let writer = writer.clone();
            async move { writer.commit_batch(jobs).await }.boxed()
        })
    }

    /// Runs `batch` on each batch taken from the queue, in one task, catching a panic of any batch.
    fn supervised<F>(batch: F) -> Redeemer
    where
        F: Fn(Vec<RedeemJob>) -> BoxFuture<'static, ()> + Send + 'static,
    {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(supervise(jobs, batch));
        Redeemer { queue }
    }

    /// Queues one redemption and waits for its batch to commit (or fail).
    pub(super) async fn redeem(
        &self,
        scope: PartnerScope,
        link: DownloadLinkId,
        now: Timestamp,
        transfer: Transfer,
        effects: Effects,
    ) -> StoreResult<LinkState> {
        let (reply, answer) = oneshot::channel();
        let job = RedeemJob { scope, link, now, transfer, effects, reply };
        self.queue.send(job).map_err(|_| {
            tracing::error!("the redemption writer is gone; downloads are refused with 503");
            STOPPED
        })?;
        // The writer dropped the job unanswered: its batch panicked (logged there), or the writer ended.
        answer.await.map_err(|_| STOPPED)?
    }
}

/// The writer's loop: takes what is queued (up to [`REDEEM_BATCH`]) and runs `batch` on it; a batch that panics is
/// logged and its jobs dropped (their callers hear `Stopped`), and the loop goes on with the next. It ends when the
/// queue's sender, the owning store, is dropped.
async fn supervise<F>(mut queue: mpsc::UnboundedReceiver<RedeemJob>, batch: F)
where
    F: Fn(Vec<RedeemJob>) -> BoxFuture<'static, ()>,
{
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < REDEEM_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let n = jobs.len();
        if let Err(panic) = AssertUnwindSafe(batch(jobs)).catch_unwind().await {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                redemptions = n,
                panic = %why,
                "the redemption writer panicked on a batch: its requests get 503, the writer goes on"
            );
        }
    }
}

impl SqlStore {
    /// One batch: counts each (a refused one writes nothing), appends their activity records, commits once, then
    /// answers each.
    async fn commit_batch(&self, jobs: Vec<RedeemJob>) {
        let mut answers = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        let committed = async {
            let mut tx = self.begin().await?;
            // The activity records of the admitted ones, appended per partner after the counts: one chain read and
            // one head update per partner and batch.
            let mut chains: Vec<(PartnerId, Effects)> = Vec::new();
            for job in jobs.by_ref() {
                let result = self.admit_in(&mut tx, job.scope, job.link, job.now, job.transfer).await;
                match &result {
                    Ok(_) => {
                        // Redemptions carry no idempotency completion; only activity records are merged.
                        debug_assert!(job.effects.idempotency.is_none());
                        let partner = job.scope.partner_id();
                        match chains.iter_mut().find(|(p, _)| *p == partner) {
                            Some((_, effects)) => effects.audit.extend(job.effects.audit),
                            None => chains.push((partner, job.effects)),
                        }
                    }
                    // A refusal, or a link that is gone: this one's answer; it wrote nothing.
                    Err(StoreError::Refused(_)) | Err(StoreError::NotFound) => {}
                    // Anything else fails the batch: nothing of it commits, and every request hears so.
                    Err(e) => {
                        let failed = StoreError::NotCommitted(e.to_string());
                        answers.push((job.reply, result));
                        return Err(failed);
                    }
                }
                answers.push((job.reply, result));
            }
            for (partner, effects) in chains {
                self.apply_effects(&mut tx, partner, effects).await?;
            }
            tx.commit().await?;
            StoreResult::Ok(())
        }
        .await;
        // Jobs a failed batch never reached are answered with its failure too.
        answers.extend(jobs.map(|job| (job.reply, Err(StoreError::NotFound))));
        match committed {
            Ok(()) => {
                for (reply, result) in answers {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a batch of redemptions failed to commit");
                for (reply, _) in answers {
                    let _ = reply.send(Err(StoreError::NotCommitted(format!("a batch of redemptions: {e}"))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> LinkState {
        let at = Timestamp::from_micros(1_000_000);
        LinkState {
            issued_at: at,
            expires_at: at.plus_micros(1_000_000),
            downloads: 1,
            max_downloads: 50,
            revoked: false,
        }
    }

    async fn redeem(writer: &Redeemer) -> StoreResult<LinkState> {
        let at = Timestamp::from_micros(1_500_000);
        let scope = PartnerScope::authenticated(PartnerId::new());
        writer.redeem(scope, DownloadLinkId::new(), at, Transfer::Full, Effects::default()).await
    }

    /// A batch that panics answers its requests `Stopped` (503), not `Corrupt`, and the writer goes on: the next
    /// redemption is answered by a fresh batch.
    #[tokio::test]
    async fn a_batch_that_panics_answers_stopped_and_the_writer_goes_on() {
        let batches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = batches.clone();
        let writer = Redeemer::supervised(move |jobs| {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                assert!(n > 0, "the first batch fails");
                for job in jobs {
                    let _ = job.reply.send(Ok(state()));
                }
            }
            .boxed()
        });
        assert!(matches!(redeem(&writer).await, Err(StoreError::Stopped("redemption writer"))));
        assert_eq!(redeem(&writer).await.unwrap(), state());
        assert_eq!(batches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// A writer whose task is gone answers `Stopped` at once.
    #[tokio::test]
    async fn a_writer_that_is_gone_answers_stopped() {
        let (queue, jobs) = mpsc::unbounded_channel();
        drop(jobs);
        let writer = Redeemer { queue };
        assert!(matches!(redeem(&writer).await, Err(StoreError::Stopped("redemption writer"))));
    }
}
