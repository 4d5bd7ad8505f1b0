//! Shared helpers: latency statistics, process memory, the set-up file, opening the services in-process.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Percentile (0..=100) of sorted durations, in milliseconds (nearest-rank).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Rounds to 3 decimals (the JSON stays readable; no figure needs more).
pub fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
pub fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let n = rest.trim().trim_end_matches("kB").trim();
            return n.parse().with_context(|| format!("parsing {field} in /proc/{pid}/status"));
        }
    }
    anyhow::bail!("{field} not found in /proc/{pid}/status")
}

pub fn kib_to_mib(kib: u64) -> f64 {
    r3(kib as f64 / 1024.0)
}

/// What `prepare` made and the other commands use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    pub product_id: String,
    pub sku_id: String,
    pub catalog_item_id: String,
    pub partners: Vec<SetupPartner>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupPartner {
    pub id: String,
    pub user_id: String,
    pub token: String,
    pub customers: Vec<String>,
}

impl Setup {
    pub fn read(path: &Path) -> anyhow::Result<Setup> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// The product's services on a database, the way `partnerhub` opens them (migrated, secret key from the data dir).
pub async fn open_services(database_url: &str, data_dir: &Path) -> anyhow::Result<services::Services> {
    Ok(open_services_and_store(database_url, data_dir).await?.0)
}

/// The services, and the store beneath them for the benchmarks that measure it alone.
pub async fn open_services_and_store(
    database_url: &str,
    data_dir: &Path,
) -> anyhow::Result<(services::Services, Arc<dyn store::Store>)> {
    let (services, store) = open_services_and_sql_store(database_url, data_dir).await?;
    Ok((services, store))
}

/// The same, with the concrete store (its SQLite writer's counters).
pub async fn open_services_and_sql_store(
    database_url: &str,
    data_dir: &Path,
) -> anyhow::Result<(services::Services, Arc<store::SqlStore>)> {
    let store =
        Arc::new(store::SqlStore::connect(database_url).await.with_context(|| format!("opening {database_url}"))?);
    store::Store::migrate(&*store).await.context("migrating")?;
    std::fs::create_dir_all(data_dir)?;
    let secrets = services::secrets::SecretBox::from_file(&data_dir.join("secret.key")).map_err(anyhow::Error::msg)?;
    let blobs = services::blobs::Blobs::local(&data_dir.join("blobs")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = services::Services::new(
        store.clone(),
        Arc::new(domain::clock::SystemClock),
        secrets,
        blobs,
        "http://127.0.0.1",
        None,
    );
    services.check_secret_key().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((services, store))
}

pub fn err(e: services::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// CPU seconds (user + system) used by process `pid` and the children it has reaped, plus its live children's
/// (PostgreSQL's postmaster: the backends it forked, ended or not). Linux's /proc, clock ticks of 1/100 s.
pub fn tree_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    // (ppid, utime + stime + cutime + cstime) of one process, or None when it is gone.
    fn stat(pid: &str) -> Option<(u32, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
        let rest = &text[text.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1)?.parse().ok()?;
        let ticks = f.get(11..15)?.iter().map(|x| x.parse::<u64>().unwrap_or(0)).sum();
        Some((ppid, ticks))
    }
    let (_, own) = stat(&pid.to_string()).with_context(|| format!("no process {pid}"))?;
    let mut ticks = own;
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.bytes().all(|b| b.is_ascii_digit()) {
            if let Some((ppid, t)) = stat(&name) {
                if ppid == pid {
                    ticks += t;
                }
            }
        }
    }
    Ok(ticks as f64 / 100.0)
}

/// CPU seconds of each of `pids` (see [`tree_cpu_seconds`]), summed.
pub fn cpu_seconds(pids: &[u32]) -> anyhow::Result<f64> {
    pids.iter().map(|&p| tree_cpu_seconds(p)).sum()
}

/// Counts the statements sqlx sends to the database (its `sqlx::query` events, one per statement executed), for
/// the statements-per-checkout figure. Installed as the process's only tracing subscriber.
pub struct StatementCounter;

static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl StatementCounter {
    pub fn install() -> anyhow::Result<()> {
        tracing::subscriber::set_global_default(StatementCounter).context("installing the statement counter")
    }

    /// Statements executed since the process started.
    pub fn count() -> u64 {
        STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Prints a JSON result on stdout (the script reads the last line).
pub fn emit(v: &serde_json::Value) {
    println!("{v}");
}
