//! `partnerhub`: the server and its operator commands. Commands that change data work directly through the
//! services with `serve`'s configuration; no server needs to be running.

mod config;
mod demo;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{ServeOptions, Settings, StoreOptions};
use domain::clock::SystemClock;
use futures::StreamExt;
use services::blobs::Blobs;
use services::secrets::SecretBox;
use services::Services;
use std::sync::Arc;
use std::time::Duration;
use store::{SqlStore, Store};

#[derive(Debug, Parser)]
#[command(
    name = "partnerhub",
    version,
    about = "Sell software subscriptions, reservations and perpetual software \
    on behalf of customers (a CSP partner platform)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (API, dashboard, downloads).
    Serve {
        #[command(flatten)]
        store: StoreOptions,
        #[command(flatten)]
        serve: ServeOptions,
    },
    /// Start the server with demo data in ./partnerhub-demo (created when missing, reused, never wiped).
    Demo {
        /// Address to listen on.
        #[arg(long, env = "PARTNERHUB_LISTEN", default_value = config::DEFAULT_LISTEN)]
        listen: String,
        /// Set up the demo data, print the sign-in details and exit without serving.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        limits: config::LimitOptions,
    },
    /// Apply database migrations and seed reference data, then exit.
    Migrate {
        #[command(flatten)]
        store: StoreOptions,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Catalog tools.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Activation key stock.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Files customers download (artifacts).
    Artifacts {
        #[command(subcommand)]
        command: ArtifactsCommand,
    },
    /// Monthly invoices.
    Invoices {
        #[command(subcommand)]
        command: InvoicesCommand,
    },
    /// Copy the database to a file while the server runs (SQLite; for PostgreSQL use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        output: std::path::PathBuf,
        #[command(flatten)]
        store: StoreOptions,
    },
    /// Activity log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Money tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Check the ledger's invariants: per order line, credits (cancels and refunds) never exceed the charge, net and
    /// tax; per invoice, the totals equal its rows, all of its partner and currency. Exits 1 naming every offending
    /// line or invoice.
    Verify {
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Upsert the products of a catalog document (the body of `PUT /v1/publisher/catalog`) from a JSON file.
    Import {
        /// The catalog document (JSON).
        file: std::path::PathBuf,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add activation keys to a SKU's stock from a file: one key per line, or a CSV whose first column is the key
    /// (a `key` header is skipped). The file is checked whole first; then keys are added in batches of 500, each
    /// all or nothing, and a key already known stops the import, saying how many were added.
    Import {
        /// The key file.
        file: std::path::PathBuf,
        /// The product the keys are for.
        #[arg(long)]
        product: String,
        /// The SKU the keys are for.
        #[arg(long)]
        sku: String,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
enum ArtifactsCommand {
    /// Upload a file for a product, streamed into blob storage with its size and SHA-256 (prints its id).
    Upload {
        /// The file to upload.
        file: std::path::PathBuf,
        /// The product the file belongs to.
        #[arg(long)]
        product: String,
        /// Version, as the Software page lists it (e.g. 2019).
        #[arg(long)]
        version: String,
        /// Language (e.g. en-us).
        #[arg(long)]
        language: String,
        /// File type or OS (e.g. ISO, x64).
        #[arg(long)]
        file_type: String,
        /// The name it is downloaded under; default: the file's own name.
        #[arg(long)]
        file_name: Option<String>,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
enum InvoicesCommand {
    /// Issue the invoices of a month (YYYY-MM) for every partner whose clock has passed its end; idempotent.
    Run {
        /// The month, e.g. 2026-11.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify every partner's activity hash chain; exits 1 when any record was altered or removed.
    Verify {
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARTNERHUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { store, serve } => {
            let settings = Settings::resolve(&store, Some(&serve))?;
            serve_with(settings).await
        }
        Command::Demo { listen, no_serve, limits } => demo::run(&listen, no_serve, &limits).await,
        Command::Migrate { store } => {
            let settings = Settings::resolve(&store, None)?;
            open_services(&settings).await?;
            println!("migrated {}", settings.redacted_database_url());
            Ok(())
        }
        Command::Config { command: ConfigCommand::Example } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Artifacts {
            command: ArtifactsCommand::Upload { file, product, version, language, file_type, file_name, store },
        } => {
            let settings = Settings::resolve(&store, None)?;
            let opened = tokio::fs::File::open(&file).await.with_context(|| format!("opening {}", file.display()))?;
            let size = opened.metadata().await?.len();
            let file_name = match file_name {
                Some(n) => n,
                None => file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            let services = open_services(&settings).await?;
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = bar.clone();
            let body = tokio_util::io::ReaderStream::with_capacity(opened, 256 * 1024)
                .inspect(move |chunk| {
                    if let Ok(c) = chunk {
                        progress.inc(c.len() as u64);
                    }
                })
                .boxed();
            let upload =
                services::downloads::ArtifactUpload { product_id: product, version, language, file_type, file_name };
            match services.upload_artifact(&services.operator_on_this_machine(), upload, body).await {
                Ok(a) => {
                    bar.finish();
                    println!("{}\t{} bytes\tsha256 {}\t{}", a.id, a.size, a.sha256, a.file_name);
                    Ok(())
                }
                Err(e) => {
                    bar.abandon();
                    anyhow::bail!("{}: {e}", file.display())
                }
            }
        }
        Command::Backup { output, store } => {
            let settings = Settings::resolve(&store, None)?;
            if output.exists() {
                anyhow::bail!("{} exists already; choose a new file", output.display());
            }
            let services = open_services(&settings).await?;
            let path = output.to_str().ok_or_else(|| anyhow::anyhow!("the output path must be UTF-8"))?;
            services.backup_to(&services.operator_on_this_machine(), path).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("backed up {} to {}", settings.redacted_database_url(), output.display());
            println!(
                "keep it with {} (the secret key: without it activation keys cannot be read) and {} (uploaded files)",
                settings.data_dir.join("secret.key").display(),
                settings.data_dir.join("blobs").display()
            );
            Ok(())
        }
        Command::Invoices { command: InvoicesCommand::Run { period, store } } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let run = services
                .run_invoices(&services.operator_on_this_machine(), &period)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for i in &run.invoices {
                println!(
                    "{}\tpartner {}\t{}\t{} lines\ttotal {}",
                    i.id,
                    i.partner_id,
                    i.currency,
                    i.line_count,
                    i.total_charges.format()
                );
            }
            println!(
                "{}: {} invoices; {} partners not due yet (their clock has not reached the end of the month)",
                run.period,
                run.invoices.len(),
                run.partners_not_due
            );
            Ok(())
        }
        Command::Keys { command: KeysCommand::Import { file, product, sku, store } } => {
            let settings = Settings::resolve(&store, None)?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let keys = domain::keys::parse_key_file(&text);
            domain::keys::validate_keys(&keys).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let services = open_services(&settings).await?;
            let bar = indicatif::ProgressBar::new(keys.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} keys ({eta} left)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let mut available = 0;
            for (n, chunk) in keys.chunks(500).enumerate() {
                match services
                    .add_keys(&services.operator_on_this_machine(), &product, &sku, chunk.to_vec(), None)
                    .await
                {
                    Ok((_, now_available)) => available = now_available,
                    Err(e) => {
                        bar.abandon();
                        anyhow::bail!("stopped after {} keys were added: batch from key {}: {e}", n * 500, n * 500);
                    }
                }
                bar.inc(chunk.len() as u64);
            }
            bar.finish();
            println!("added {} keys to {product}:{sku}; {available} in stock", keys.len());
            Ok(())
        }
        Command::Catalog { command: CatalogCommand::Import { file, store } } => {
            let settings = Settings::resolve(&store, None)?;
            let document = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let services = open_services(&settings).await?;
            let counts = services
                .import_catalog(&services.operator_on_this_machine(), &document)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "imported {} products, {} SKUs, {} prices from {}",
                counts.products,
                counts.skus,
                counts.prices,
                file.display()
            );
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { store } } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let mut all_valid = true;
            for partner in services.list_partners().await? {
                let v = services
                    .verify_partner_chain(&services.operator_on_this_machine(), partner.id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                all_valid &= v.valid;
                match v.first_invalid_record_id {
                    None => println!("{} {:?}: valid, {} records", partner.id, partner.name, v.record_count),
                    Some(bad) => println!(
                        "{} {:?}: INVALID at record {bad} ({} records)",
                        partner.id, partner.name, v.record_count
                    ),
                }
            }
            if !all_valid {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Ledger { command: LedgerCommand::Verify { store } } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let v = services
                .verify_ledger(&services.operator_on_this_machine())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for violation in &v.violations {
                println!("INVALID {}: {violation}", violation.kind());
            }
            println!(
                "ledger: {} ({} order lines, {} invoices checked, {} violations)",
                if v.valid() { "valid" } else { "INVALID" },
                v.lines_checked,
                v.invoices_checked,
                v.violations.len()
            );
            if !v.valid() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// Opens the store (migrating it) and the secret key, and builds the services on real time.
pub async fn open_services(settings: &Settings) -> anyhow::Result<Services> {
    let store = SqlStore::connect(&settings.database_url)
        .await
        .with_context(|| format!("opening {}", settings.redacted_database_url()))?;
    store.migrate().await.context("migrating the database")?;
    let secrets = match &settings.secret_key {
        Some(k) => SecretBox::from_base64(k).map_err(anyhow::Error::msg)?,
        None => SecretBox::from_file(&settings.data_dir.join("secret.key")).map_err(anyhow::Error::msg)?,
    };
    let store: Arc<dyn Store> = Arc::new(store);
    let blobs = Blobs::local(&settings.data_dir.join("blobs")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = Services::new(
        store,
        Arc::new(SystemClock),
        secrets,
        blobs,
        &settings.base_url,
        settings.publisher_token.as_deref(),
    )
    .allow_insecure_webhooks(settings.allow_insecure_webhooks);
    services.check_secret_key().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(services)
}

pub async fn serve_with(settings: Settings) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let services = open_services(&settings).await?;
    if settings.publisher_token.is_none() {
        tracing::warn!(
            "no publisher token set (--publisher-token / PARTNERHUB_PUBLISHER_TOKEN): /v1/publisher is closed"
        );
    }
    spawn_housekeeping(services.clone());
    if settings.allow_insecure_webhooks {
        tracing::warn!("--allow-insecure-webhooks: http:// endpoints on this machine are accepted; not for production");
    }
    // The activity log's outbox: new records become signed deliveries to the partners' endpoints.
    tokio::spawn(services.clone().run_webhook_dispatcher());
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(
        listen = %settings.listen,
        database = %settings.redacted_database_url(),
        ready_ms = started.elapsed().as_millis() as u64,
        "partnerhub ready"
    );
    // After the signal, requests in flight get a while to finish (a long download would otherwise hold the stop).
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = web::serve(listener, services, settings.limits, async move {
        shutdown_signal().await;
        let _ = stopping.send(());
    });
    tokio::select! {
        served = server => served?,
        () = async {
            if stopped.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "requests still running after the grace period; stopping"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long requests in flight may run on after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Periodic clean-up: idempotency keys older than 24 hours, idle sessions, finished webhook deliveries after 30 days.
fn spawn_housekeeping(services: Services) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match services.purge_idempotency().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
            }
            match services.purge_sessions().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "idle sessions and old sign-in failures removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
            match services.purge_deliveries().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "webhook deliveries older than 30 days removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery purge failed"),
            }
        }
    });
}

/// SIGTERM or Ctrl-C: stop accepting, finish the requests in flight, then exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
