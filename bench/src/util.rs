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
    let store: Arc<dyn store::Store> =
        Arc::new(store::SqlStore::connect(database_url).await.with_context(|| format!("opening {database_url}"))?);
    store.migrate().await.context("migrating")?;
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

/// Prints a JSON result on stdout (the script reads the last line).
pub fn emit(v: &serde_json::Value) {
    println!("{v}");
}
