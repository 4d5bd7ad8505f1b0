//! `partnerhub`: the server and its operator commands. Commands that change data work directly through the
//! services with `serve`'s configuration; no server needs to be running.

mod blobs;
mod cli;
mod config;
mod demo;
mod server;

use anyhow::Context;
use clap::Parser;
use cli::{
    ArtifactsCommand, AuditCommand, BlobsCommand, CatalogCommand, Cli, Command, ConfigCommand, InvoicesCommand,
    KeysCommand, LedgerCommand, OperatorCommand, PricelistsCommand,
};
use config::Settings;
use futures::StreamExt;
use server::{open_services, serve_with};

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
                settings.blob_store
            );
            Ok(())
        }
        Command::Blobs { command: BlobsCommand::Migrate { to, store } } => {
            let settings = Settings::resolve(&store, None)?;
            blobs::migrate(&settings.blob_store, &to).await
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
        Command::Operator { command: OperatorCommand::CreateAdmin { email, name, password_stdin, store } } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let admin = services
                .bootstrap_admin(&services.operator_on_this_machine(), &email, &name, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created operator admin {} ({})", admin.operator.email, admin.operator.id);
            if let Some(p) = admin.generated_password {
                println!("one-time password (shown once; sign in at /operator/login and change it): {p}");
            }
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { store } } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let operator = services
                .verify_operator_chain(&services.operator_on_this_machine())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut all_valid = operator.valid;
            match operator.first_invalid_record_id {
                None => println!("operator log: valid, {} records", operator.record_count),
                Some(bad) => println!("operator log: INVALID at record {bad} ({} records)", operator.record_count),
            }
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
        Command::Reconcile { period, store } => {
            let settings = Settings::resolve(&store, None)?;
            let services = open_services(&settings).await?;
            let all = services
                .reconcile_all(&services.operator_on_this_machine(), &period)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (mut invoices, mut bad) = (0, 0);
            for (partner, r) in &all {
                for c in r.checks() {
                    invoices += 1;
                    let i = &c.invoice;
                    let verdict = if c.matches() { "ok" } else { "MISMATCH" };
                    if !c.matches() {
                        bad += 1;
                    }
                    println!(
                        "{verdict}\t{partner}\tinvoice {}\t{}\t{} rows: net {} tax {} total {}\tinvoice: {} lines, net {} tax {} total {}",
                        i.id,
                        i.currency,
                        c.rows,
                        c.subtotal.format(),
                        c.tax.format(),
                        c.total.format(),
                        i.line_count,
                        i.subtotal.format(),
                        i.tax_total.format(),
                        i.total_charges.format()
                    );
                }
                let unbilled = r.rows.iter().filter(|row| row.invoice_id.is_none()).count();
                if unbilled > 0 {
                    println!("unbilled\t{partner}\t{unbilled} rows dated in {period} not invoiced yet");
                }
            }
            println!("{period}: {invoices} invoices, {bad} mismatched");
            if bad > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Pricelists {
            command: PricelistsCommand::Import { csv, list, effective_from, discount_percent, default, store },
        } => {
            let settings = Settings::resolve(&store, None)?;
            let prices = read_cost_csv(&csv)?;
            let count = prices.len();
            let services = open_services(&settings).await?;
            let draft = services::pricelists::VersionDraft { effective_from, discount_percent, prices };
            let imported = services
                .import_price_list(&services.operator_on_this_machine(), &list, default, draft)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
            let number = imported.versions.last().map(|v| v.number).unwrap_or_default();
            let status =
                imported.versions.last().map(|v| imported.status_of(v, services.now()).as_str()).unwrap_or_default();
            println!("price list {} ({}): version {number} ({status}) with {count} prices", imported.name, imported.id);
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

/// The rows of a price list CSV (`productId,skuId,country,currencyCode,cost`), unvalidated (the services check them,
/// naming the row as `prices[i]`).
fn read_cost_csv(path: &std::path::Path) -> anyhow::Result<Vec<domain::pricelist::CostPriceDraft>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    services::pricelists::parse_cost_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
