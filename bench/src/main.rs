//! The benchmark driver that `scripts/bench` runs (SPEC §4, BENCHMARKS.md): set-up through the product's services,
//! bulk seeding, the in-process Store baseline and the HTTP load generators. Each measuring command prints one JSON
//! line on stdout; progress goes to stderr.

mod audit;
mod checkout;
mod footprint;
mod invoices;
mod prepare;
mod redeem;
mod util;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "partnerhub-bench", about = "Partnerhub benchmarks (run through scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bench catalog, partners (all-roles user + API token each), US customers and key stock; writes the set-up JSON.
    Prepare {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 8)]
        partners: usize,
        #[arg(long, default_value_t = 4)]
        customers: usize,
        #[arg(long, default_value_t = 0)]
        keys: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Checkout writes through the Store in-process (the baseline).
    StoreCheckout {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        setup: PathBuf,
        #[arg(long)]
        orders: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// The database server's process (PostgreSQL's postmaster), whose CPU is reported.
        #[arg(long)]
        db_pid: Option<u32>,
    },
    /// Checkout through the HTTP API (create cart, check out).
    ApiCheckout {
        #[arg(long)]
        url: String,
        #[arg(long)]
        setup: PathBuf,
        #[arg(long)]
        orders: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// The server's process, whose CPU is reported.
        #[arg(long)]
        pid: Option<u32>,
        /// The database server's process (PostgreSQL's postmaster), whose CPU is reported.
        #[arg(long)]
        db_pid: Option<u32>,
    },
    /// Uploads identical artifacts, buys the product and issues download links; writes their paths.
    RedeemSetup {
        #[arg(long)]
        url: String,
        #[arg(long)]
        publisher_token: String,
        #[arg(long)]
        setup: PathBuf,
        /// The file to upload (1 KiB).
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value_t = 50)]
        files: usize,
        #[arg(long)]
        links: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Appends activity records to the first bench partner's log (SQLite, bulk SQL).
    SeedAudit {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        setup: PathBuf,
        #[arg(long)]
        records: i64,
        #[arg(long, default_value_t = 10_000)]
        per_day: i64,
    },
    /// First-page latency of date-range queries of the activity log.
    AuditQuery {
        #[arg(long)]
        url: String,
        #[arg(long)]
        setup: PathBuf,
        #[arg(long)]
        records: i64,
        #[arg(long, default_value_t = 10_000)]
        per_day: i64,
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        #[arg(long, default_value_t = 30)]
        window_days: i64,
    },
    /// The CSV export of `records` records, with the server's peak RSS.
    AuditExport {
        #[arg(long)]
        url: String,
        #[arg(long)]
        setup: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        per_day: i64,
        #[arg(long)]
        records: i64,
        /// The server's process id (its /proc/PID/status is read).
        #[arg(long)]
        pid: u32,
    },
    /// Seeds partners and ledger lines, then times the invoice run of last month.
    InvoiceRun {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 1000)]
        partners: usize,
        #[arg(long)]
        lines: i64,
    },
    /// Spawns the server command given after `--` and measures readiness and idle RSS.
    Footprint {
        /// host:port the server listens on.
        #[arg(long)]
        listen: String,
        #[arg(long, default_value_t = 3)]
        idle_s: u64,
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Waits until http://ADDR/PATH answers 200.
    WaitReady {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value = "/readyz")]
        path: String,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use util::Setup;
    match Cli::parse().command {
        Command::Prepare { database_url, data_dir, partners, customers, keys, out } => {
            prepare::run(prepare::Options {
                database_url: &database_url,
                data_dir: &data_dir,
                partners,
                customers_per_partner: customers,
                keys,
                out: &out,
            })
            .await
        }
        Command::StoreCheckout { database_url, data_dir, setup, orders, concurrency, db_pid } => {
            checkout::store_checkout(&database_url, &data_dir, &Setup::read(&setup)?, orders, concurrency, db_pid).await
        }
        Command::ApiCheckout { url, setup, orders, concurrency, pid, db_pid } => {
            checkout::api_checkout(&url, &Setup::read(&setup)?, orders, concurrency, pid, db_pid).await
        }
        Command::RedeemSetup { url, publisher_token, setup, file, files, links, out } => {
            redeem::run(&url, &publisher_token, &Setup::read(&setup)?, &file, files, links, &out).await
        }
        Command::SeedAudit { database_url, setup, records, per_day } => {
            audit::seed(&database_url, &Setup::read(&setup)?, records, per_day).await
        }
        Command::AuditQuery { url, setup, records, per_day, requests, window_days } => {
            audit::query(&url, &Setup::read(&setup)?, records, per_day, requests, window_days).await
        }
        Command::AuditExport { url, setup, per_day, records, pid } => {
            audit::export(&url, &Setup::read(&setup)?, per_day, records, pid).await
        }
        Command::InvoiceRun { database_url, data_dir, partners, lines } => {
            invoices::run(&database_url, &data_dir, partners, lines).await
        }
        Command::Footprint { listen, idle_s, command } => footprint::footprint(&listen, idle_s, &command),
        Command::WaitReady { addr, path, timeout_s } => footprint::wait_ready(&addr, &path, timeout_s),
    }
}
