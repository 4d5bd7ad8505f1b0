//! SQLite's writer: group commit for every write.
//!
//! SQLite has one writer connection, and with `synchronous = FULL` each commit costs an `fsync`. So no write
//! transaction of the store commits alone: [`SqlStore::begin`](super::SqlStore) asks this writer for a turn
//! ([`Writer::begin`]), and the writer runs the turns of everyone queued in ONE transaction:
//!
//! 1. it takes the first request from its queue and begins the batch transaction;
//! 2. for each request, it marks `SAVEPOINT job` and lends the batch's connection to the request ([`Loan`]); the
//!    store method runs its statements on it, exactly as on a transaction of its own (its checks run there, inside
//!    the batch transaction, which is the one write lock every competing writer takes);
//! 3. the method gives the connection back: done (its `commit`), or abandoned (an error, a refusal, a panic, a
//!    cancelled request: the [`Loan`] is dropped), and then the writer rolls back to the job's savepoint: that job
//!    wrote nothing, the others keep their writes;
//! 4. the writer takes the next queued request, until the queue is empty, [`BATCH_JOBS`] ran or [`BATCH_TIME`]
//!    passed; then it commits once and only then answers each job that was done (its `commit` returns): a 201 is
//!    sent only for what is on disk.
//!
//! A job given back abandoned hears nothing more by default: its method returns its error at once. A refusal that
//! its caller acts on by reading again (a credit refused because another credit landed: the services work it out
//! again from the balance they read) must not reach the caller before what refused it is visible to readers, i.e.
//! before the batch commits; such methods end with [`Turn::abandon`] (`Tx::refused`), which waits for the batch.
//!
//! A batch that fails to commit answers each of its jobs `NotCommitted` (nothing of it was written). The writer is
//! supervised: a batch whose own code panics is logged at error level, its jobs hear `Stopped` (503, try again), and
//! the next batch runs afresh; a job that panics only abandons its own savepoint. A store whose writer task is gone
//! answers `Stopped`. PostgreSQL has no such writer: its writers run in parallel in pooled transactions, under row
//! locks (see `dialect.rs`).
//!
//! Counted downloads are the one write the writer runs itself rather than lending the connection for
//! ([`Writer::redeem`]): the request carries everything the redemption writes (the link, the partner's time, its
//! activity record), and the writer takes the redemptions queued one after another as one group: one savepoint, one
//! `UPDATE` that counts every link of the group under the exact limit, one `INSERT` of their activity records
//! (`downloads::redeem_group`). A group costs three statements however many downloads it holds, instead of three
//! statements and two hand-overs between tasks per download; each is answered after the batch's commit like any job.
//!
//! The batch transaction also carries what the jobs of one batch may share because nobody else writes meanwhile:
//! the head of each partner's activity chain ([`Batch::chain`]). A batch reads a partner's head once however many of
//! its jobs append to the chain, and writes it back once, just before the commit (the records themselves are
//! inserted by each job); a job rolled back to its savepoint restores the heads it had moved.

use super::*;
use domain::audit::NewAuditRecord;
use domain::download::LinkState;
use domain::ids::DownloadLinkId;
use futures::FutureExt;
use sqlx::Executor;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Jobs run in one batch at most.
pub(super) const BATCH_JOBS: usize = 256;
/// A batch takes no further job once it has run this long: under load, a job waits at most about this long plus
/// one commit for the batch before it.
pub(super) const BATCH_TIME: Duration = Duration::from_millis(15);

/// What callers hear when the writer cannot answer.
const STOPPED: StoreError = StoreError::Stopped("SQLite writer");

/// A job's head of a partner's activity chain, as the batch has written it so far.
#[derive(Debug, Clone)]
pub(super) struct ChainHead {
    pub(super) seq: i64,
    pub(super) head: String,
    pub(super) last_at: Timestamp,
}

/// The batch transaction and what its jobs share.
pub(super) struct Batch {
    tx: Tx0,
    /// Chain heads moved in this batch, by partner: written to `partners` before the commit.
    chains: HashMap<PartnerId, ChainHead>,
    /// What the running job changed in `chains` (partner, head before): restored if the job is rolled back.
    undo: Vec<(PartnerId, Option<ChainHead>)>,
}

type Tx0 = sqlx::Transaction<'static, Any>;

impl Batch {
    /// The chain head of `partner` as this batch knows it (read by an earlier job of the batch).
    pub(super) fn chain(&self, partner: PartnerId) -> Option<&ChainHead> {
        self.chains.get(&partner)
    }

    /// Moves `partner`'s chain head (written to the partner's row before the batch commits).
    pub(super) fn set_chain(&mut self, partner: PartnerId, head: ChainHead) {
        let before = self.chains.insert(partner, head);
        self.undo.push((partner, before));
    }

    /// The running job was rolled back: the heads it moved are as before it.
    fn undo_job(&mut self) {
        while let Some((partner, before)) = self.undo.pop() {
            match before {
                Some(head) => self.chains.insert(partner, head),
                None => self.chains.remove(&partner),
            };
        }
    }

    /// The batch's connection, for what the writer runs itself.
    pub(super) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Writes the chain heads this batch moved into the partners' rows.
    async fn write_chains(&mut self) -> Result<(), sqlx::Error> {
        for (partner, c) in &self.chains {
            sqlx::query("UPDATE partners SET audit_seq = $1, audit_head = $2, audit_last_at = $3 WHERE id = $4")
                .bind(c.seq)
                .bind(&c.head)
                .bind(c.last_at.micros())
                .bind(partner.to_string())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}

/// A request to the writer: a turn in a batch (where the loan goes, and where the batch's outcome goes), or a
/// counted download the writer runs itself (answered with the link's state after the commit, or its refusal).
enum Request {
    Turn { loan: oneshot::Sender<Loan>, answer: oneshot::Sender<Result<(), String>> },
    Redeem { job: Redemption, answer: oneshot::Sender<StoreResult<LinkState>> },
}

/// A counted download, with everything it writes: the link counted if the partner's time `now` and the limits admit
/// it, and `records` appended to the partner's chain when it is.
pub(super) struct Redemption {
    pub(super) partner: PartnerId,
    pub(super) link: DownloadLinkId,
    pub(super) now: Timestamp,
    pub(super) records: Vec<NewAuditRecord>,
}

/// The batch's connection lent to one job. Dropping it gives it back as abandoned (the writer rolls back to the
/// job's savepoint); [`Loan::done`] gives it back as done.
pub(super) struct Loan {
    batch: Option<Batch>,
    back: Option<oneshot::Sender<(Batch, bool)>>,
}

impl Loan {
    pub(super) fn batch(&mut self) -> &mut Batch {
        #[allow(clippy::expect_used, reason = "the batch is taken only by done() and drop(), which consume the loan")]
        self.batch.as_mut().expect("a loan holds its batch until given back")
    }

    pub(super) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.batch().tx
    }

    pub(super) fn conn_ref(&self) -> &sqlx::AnyConnection {
        #[allow(clippy::expect_used, reason = "the batch is taken only by done() and drop(), which consume the loan")]
        &self.batch.as_ref().expect("a loan holds its batch until given back").tx
    }

    fn give_back(&mut self, done: bool) {
        if let (Some(batch), Some(back)) = (self.batch.take(), self.back.take()) {
            // The writer is gone (its batch panicked): dropping the batch rolls it back.
            let _ = back.send((batch, done));
        }
    }

    /// Gives the connection back with the job's writes kept.
    pub(super) fn done(mut self) {
        self.give_back(true);
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        self.give_back(false);
    }
}

/// One job's turn, as its store method holds it: the loan, and where the batch's outcome arrives.
pub(super) struct Turn {
    pub(super) loan: Loan,
    answer: oneshot::Receiver<Result<(), String>>,
}

impl Turn {
    /// Keeps this job's writes and waits for its batch to commit.
    pub(super) async fn commit(self) -> StoreResult<()> {
        let Turn { loan, answer } = self;
        loan.done();
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::NotCommitted(why)),
            // The batch's own code panicked (logged there), or the writer ended.
            Err(_) => Err(STOPPED),
        }
    }
}

impl Turn {
    /// Gives the connection back abandoned (the job is rolled back to its savepoint), then waits until the batch
    /// has committed or failed, so what the other jobs of the batch wrote is visible to readers when this returns.
    pub(super) async fn abandon(self) {
        let Turn { loan, answer } = self;
        drop(loan);
        let _ = answer.await;
    }
}

/// Counters the benchmarks read: batches committed and jobs committed in them.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    jobs: AtomicU64,
}

impl WriterStats {
    /// (batches committed, jobs committed in them) since the store was opened.
    pub fn snapshot(&self) -> (u64, u64) {
        (self.commits.load(Ordering::Relaxed), self.jobs.load(Ordering::Relaxed))
    }
}

/// The handle on the writer's task: its queue, and its counters.
pub(super) struct Writer {
    queue: mpsc::UnboundedSender<Request>,
    pub(super) stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer on the write pool (of one connection). The task ends when this handle is dropped.
    pub(super) fn start(pool: AnyPool) -> Writer {
        Writer::with_limits(pool, BATCH_JOBS, BATCH_TIME)
    }

    /// A writer whose batches end after `jobs` jobs or `time`.
    fn with_limits(pool: AnyPool, jobs: usize, time: Duration) -> Writer {
        let (queue, requests) = mpsc::unbounded_channel();
        let stats = Arc::new(WriterStats::default());
        tokio::spawn(supervise(pool, requests, stats.clone(), (jobs, time)));
        Writer { queue, stats }
    }

    /// Waits for this job's turn in a batch.
    pub(super) async fn begin(&self) -> StoreResult<Turn> {
        self.enqueue()?.turn().await
    }

    /// Counts a download in a batch (with the redemptions queued next to it, as one group) and answers once the
    /// batch has committed: the link's state after the count, or why it was refused (nothing written).
    pub(super) async fn redeem(&self, job: Redemption) -> StoreResult<LinkState> {
        let (answer, answered) = oneshot::channel();
        self.send(Request::Redeem { job, answer })?;
        // Dropped unanswered: the batch's own code panicked (logged there), or the writer ended.
        answered.await.map_err(|_| STOPPED)?
    }

    /// Takes a place in the queue.
    fn enqueue(&self) -> StoreResult<Queued> {
        let (loan, lent) = oneshot::channel();
        let (answer, answered) = oneshot::channel();
        self.send(Request::Turn { loan, answer })?;
        Ok(Queued { lent, answered })
    }

    fn send(&self, request: Request) -> StoreResult<()> {
        self.queue.send(request).map_err(|_| {
            tracing::error!("the SQLite writer is gone; writes are refused with 503");
            STOPPED
        })
    }
}

/// A place in the writer's queue.
struct Queued {
    lent: oneshot::Receiver<Loan>,
    answered: oneshot::Receiver<Result<(), String>>,
}

impl Queued {
    async fn turn(self) -> StoreResult<Turn> {
        // Dropped unanswered: the batch could not begin (logged there), or its own code panicked.
        let loan = self.lent.await.map_err(|_| STOPPED)?;
        Ok(Turn { loan, answer: self.answered })
    }
}

/// The writer's loop: one batch per turn, a batch that panics logged (its jobs hear `Stopped`); it ends when the
/// queue's sender, the owning store, is dropped.
async fn supervise(
    pool: AnyPool,
    mut requests: mpsc::UnboundedReceiver<Request>,
    stats: Arc<WriterStats>,
    limits: (usize, Duration),
) {
    while let Some(first) = requests.recv().await {
        if let Err(panic) = AssertUnwindSafe(batch(&pool, first, &mut requests, &stats, limits)).catch_unwind().await {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %why, "the SQLite writer panicked on a batch: its jobs get 503, the writer goes on");
        }
    }
}

/// One batch, from `first` on: each job in its savepoint, one commit, then the answers.
async fn batch(
    pool: &AnyPool,
    first: Request,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    stats: &WriterStats,
    (max_jobs, max_time): (usize, Duration),
) {
    let tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            // The job's begin() hears Stopped (503): nothing was written.
            tracing::error!(error = %e, "the SQLite writer cannot begin a batch");
            return;
        }
    };
    let started = Instant::now();
    let mut batch = Batch { tx, chains: HashMap::new(), undo: Vec::new() };
    let mut done: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    // The abandoned jobs' callers that wait for the batch (`Turn::abandon`): told when it has ended.
    let mut abandoned: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    // Redemptions counted in this batch (answered after the commit) and refused (answered after it too).
    let mut redeemed: Vec<(oneshot::Sender<StoreResult<LinkState>>, StoreResult<LinkState>)> = Vec::new();
    let mut ran = 0;
    let mut next = Some(first);
    let failed = loop {
        let Some(request) = next.take() else { break None };
        // Savepoints of one name nest; `ROLLBACK TO job` undoes the latest, the running job's. They are all
        // released by the commit.
        if let Err(e) = batch.tx.execute("SAVEPOINT job").await {
            break Some(e.to_string());
        }
        match request {
            Request::Turn { loan, answer } => {
                let (back, returned) = oneshot::channel();
                let lent = Loan { batch: Some(batch), back: Some(back) };
                // A caller gone meanwhile (its request cancelled) drops the loan, which comes straight back.
                drop(loan.send(lent));
                let Ok((returned, kept)) = returned.await else {
                    // Unreachable: a loan always comes back (dropping it sends it). Its batch is gone with it.
                    for answer in done {
                        let _ = answer.send(Err("the batch was lost".into()));
                    }
                    return;
                };
                batch = returned;
                ran += 1;
                if kept {
                    done.push(answer);
                } else {
                    abandoned.push(answer);
                    if let Err(e) = rollback_job(&mut batch).await {
                        break Some(e);
                    }
                }
            }
            Request::Redeem { job, answer } => {
                // The redemptions queued right behind this one join its group (a turn found there runs next).
                let mut group = vec![(job, answer)];
                while ran + group.len() < max_jobs {
                    match requests.try_recv() {
                        Ok(Request::Redeem { job, answer }) => group.push((job, answer)),
                        Ok(turn) => {
                            next = Some(turn);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                // A caller gone meanwhile (its request cancelled) is not counted.
                group.retain(|(_, answer)| !answer.is_closed());
                ran += group.len();
                let (mut jobs, answers): (Vec<Redemption>, Vec<_>) = group.into_iter().unzip();
                match SqlStore::redeem_group(&mut batch, &mut jobs).await {
                    Ok(outcomes) => redeemed.extend(answers.into_iter().zip(outcomes)),
                    Err(e) => {
                        tracing::error!(error = %e, jobs = answers.len(), "a group of downloads failed");
                        let why = e.to_string();
                        for answer in answers {
                            let _ = answer.send(Err(StoreError::NotCommitted(why.clone())));
                        }
                        if let Err(e) = rollback_job(&mut batch).await {
                            break Some(e);
                        }
                    }
                }
            }
        }
        batch.undo.clear();
        if next.is_none() && ran < max_jobs && started.elapsed() < max_time {
            next = requests.try_recv().ok();
        }
    };
    let outcome = match failed {
        None => match batch.write_chains().await {
            Ok(()) => batch.tx.commit().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        // Dropping the transaction rolls the whole batch back.
        Some(why) => Err(why),
    };
    let counted = redeemed.iter().filter(|(_, r)| r.is_ok()).count();
    let kept = done.len() + counted;
    match &outcome {
        Ok(()) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(kept as u64, Ordering::Relaxed);
        }
        Err(e) => tracing::error!(error = %e, jobs = kept, "a batch of SQLite writes failed to commit"),
    }
    for answer in done {
        let _ = answer.send(outcome.clone().map_err(|e| format!("a batch of writes: {e}")));
    }
    for (answer, result) in redeemed {
        let _ = answer.send(match (&outcome, result) {
            (Err(e), Ok(_)) => Err(StoreError::NotCommitted(format!("a batch of writes: {e}"))),
            (_, result) => result,
        });
    }
    for answer in abandoned {
        let _ = answer.send(Ok(()));
    }
}

/// The running job wrote nothing after all: its savepoint rolled back, the chain heads it moved restored.
async fn rollback_job(batch: &mut Batch) -> Result<(), String> {
    batch.undo_job();
    batch.tx.execute("ROLLBACK TO job").await.map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::any::AnyPoolOptions;

    /// A writer on a fresh SQLite file with a table `t (x)` and `child (x)` whose foreign key is checked at commit.
    async fn writer() -> (Writer, AnyPool, std::path::PathBuf) {
        sqlx::any::install_default_drivers();
        let path = std::env::temp_dir().join(format!("partnerhub-writer-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = AnyPoolOptions::new().max_connections(1).after_connect(sqlite_pragmas).connect(&url).await.unwrap();
        for ddl in [
            "CREATE TABLE t (x INTEGER PRIMARY KEY)",
            "CREATE TABLE child (x INTEGER REFERENCES t (x) DEFERRABLE INITIALLY DEFERRED)",
        ] {
            pool.execute(ddl).await.unwrap();
        }
        // No time bound: a test's batch ends when the queue is empty, however slow the machine.
        (Writer::with_limits(pool.clone(), BATCH_JOBS, Duration::from_secs(3600)), pool, path)
    }

    async fn close(writer: Writer, pool: AnyPool, path: std::path::PathBuf) {
        drop(writer);
        pool.close().await;
        let _ = std::fs::remove_file(path);
    }

    async fn insert(turn: &mut Turn, table: &str, x: i64) {
        sqlx::query(&format!("INSERT INTO {table} (x) VALUES ($1)")).bind(x).execute(turn.loan.conn()).await.unwrap();
    }

    async fn rows(pool: &AnyPool) -> Vec<i64> {
        let rows = sqlx::query("SELECT x FROM t ORDER BY x").fetch_all(pool).await.unwrap();
        rows.iter().map(|r| r.get::<i64, _>(0)).collect()
    }

    /// Jobs queued while one runs share its batch: one commit for all. A job refused inside the batch (its turn
    /// dropped after writing) rolls back to its own savepoint; a job whose task panics while holding its turn
    /// does the same; the others commit, and hear so only after the commit.
    #[tokio::test]
    async fn jobs_queued_together_commit_once_and_a_refused_or_panicking_job_writes_nothing() {
        let (writer, pool, path) = writer().await;
        let first = writer.enqueue().unwrap();
        let refused = writer.enqueue().unwrap();
        let panicking = writer.enqueue().unwrap();
        let last = writer.enqueue().unwrap();

        let mut turn = first.turn().await.unwrap();
        insert(&mut turn, "t", 1).await;
        let first = tokio::spawn(turn.commit());

        let mut turn = refused.turn().await.unwrap();
        insert(&mut turn, "t", 2).await;
        drop(turn);

        let panicked = tokio::spawn(async move {
            let mut turn = panicking.turn().await.unwrap();
            insert(&mut turn, "t", 3).await;
            panic!("a job that panics while holding its turn");
        });
        assert!(panicked.await.unwrap_err().is_panic());

        let mut turn = last.turn().await.unwrap();
        insert(&mut turn, "t", 4).await;
        turn.commit().await.unwrap();
        first.await.unwrap().unwrap();

        assert_eq!(rows(&pool).await, vec![1, 4]);
        assert_eq!(writer.stats.snapshot(), (1, 2), "one commit for the two jobs kept");

        // The writer goes on: the next job is a batch of its own.
        let mut turn = writer.begin().await.unwrap();
        insert(&mut turn, "t", 5).await;
        turn.commit().await.unwrap();
        assert_eq!(rows(&pool).await, vec![1, 4, 5]);
        assert_eq!(writer.stats.snapshot(), (1 + 1, 2 + 1));
        close(writer, pool, path).await;
    }

    /// A batch whose commit fails (here a foreign key checked at commit) writes nothing, and every job of it hears
    /// `NotCommitted`, the innocent ones too; the next batch commits.
    #[tokio::test]
    async fn a_batch_that_fails_to_commit_answers_each_job_not_committed() {
        let (writer, pool, path) = writer().await;
        let innocent = writer.enqueue().unwrap();
        let culprit = writer.enqueue().unwrap();

        let mut turn = innocent.turn().await.unwrap();
        insert(&mut turn, "t", 1).await;
        let innocent = tokio::spawn(turn.commit());
        let mut turn = culprit.turn().await.unwrap();
        insert(&mut turn, "child", 99).await;
        assert!(matches!(turn.commit().await, Err(StoreError::NotCommitted(_))));
        assert!(matches!(innocent.await.unwrap(), Err(StoreError::NotCommitted(_))));
        assert_eq!(rows(&pool).await, Vec::<i64>::new());

        let mut turn = writer.begin().await.unwrap();
        insert(&mut turn, "t", 2).await;
        turn.commit().await.unwrap();
        assert_eq!(rows(&pool).await, vec![2]);
        close(writer, pool, path).await;
    }

    /// A request whose caller went away before its turn (a cancelled HTTP request) is skipped; the batch goes on.
    #[tokio::test]
    async fn a_job_whose_caller_is_gone_is_skipped() {
        let (writer, pool, path) = writer().await;
        let first = writer.enqueue().unwrap();
        drop(writer.enqueue().unwrap());
        let last = writer.enqueue().unwrap();
        let mut turn = first.turn().await.unwrap();
        insert(&mut turn, "t", 1).await;
        let first = tokio::spawn(turn.commit());
        let mut turn = last.turn().await.unwrap();
        insert(&mut turn, "t", 3).await;
        turn.commit().await.unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(rows(&pool).await, vec![1, 3]);
        assert_eq!(writer.stats.snapshot(), (1, 2));
        close(writer, pool, path).await;
    }

    /// A job that abandons its turn with `abandon` (a refusal its caller acts on by reading again) returns only once
    /// the batch has committed: a reader then sees what the batch's earlier jobs wrote.
    #[tokio::test]
    async fn an_abandoned_turn_that_waits_returns_after_the_commit() {
        let (writer, pool, path) = writer().await;
        let url = format!("sqlite://{}", path.display());
        let reader = AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let first = writer.enqueue().unwrap();
        let refused = writer.enqueue().unwrap();
        let mut turn = first.turn().await.unwrap();
        insert(&mut turn, "t", 1).await;
        let first = tokio::spawn(turn.commit());
        let mut turn = refused.turn().await.unwrap();
        insert(&mut turn, "t", 2).await;
        turn.abandon().await;
        assert_eq!(rows(&reader).await, vec![1], "the batch committed before the refusal was heard");
        first.await.unwrap().unwrap();
        reader.close().await;
        close(writer, pool, path).await;
    }

    /// A writer whose task is gone answers `Stopped` at once.
    #[tokio::test]
    async fn a_writer_that_is_gone_answers_stopped() {
        let (queue, requests) = mpsc::unbounded_channel();
        drop(requests);
        let writer = Writer { queue, stats: Arc::default() };
        assert!(matches!(writer.begin().await, Err(StoreError::Stopped("SQLite writer"))));
    }
}
