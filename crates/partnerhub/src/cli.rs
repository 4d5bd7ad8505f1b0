//! The command line: `partnerhub` and its commands, as clap reads them.

use crate::config::{self, ServeOptions, StoreOptions};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "partnerhub",
    version,
    about = "Sell software subscriptions, reservations and perpetual software \
    on behalf of customers (a CSP partner platform)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Blob storage (uploaded files).
    Blobs {
        #[command(subcommand)]
        command: BlobsCommand,
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
    /// The operator's own users (console and publisher API).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Activity log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check a month's reconciliation against the invoices: per partner and invoice, the partner-cost side of the
    /// rows billed on it adds up to its totals to the cent. Exits 1 naming every invoice that does not.
    Reconcile {
        /// The month, e.g. 2026-11.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        store: StoreOptions,
    },
    /// Partner price lists (what partners pay, per SKU and market).
    Pricelists {
        #[command(subcommand)]
        command: PricelistsCommand,
    },
    /// Money tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check the ledger's invariants: per order line, credits (cancels and refunds) never exceed the charge, net and
    /// tax; per invoice, the totals equal its rows, all of its partner and currency. Exits 1 naming every offending
    /// line or invoice.
    Verify {
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum PricelistsCommand {
    /// Add a version to a price list (created when no list has that name) from a CSV of explicit partner costs with
    /// the header `productId,skuId,country,currencyCode,cost`; the whole file is checked first, then written in one
    /// transaction.
    Import {
        /// The CSV file.
        #[arg(long)]
        csv: std::path::PathBuf,
        /// The list's name.
        #[arg(long)]
        list: String,
        /// When the version takes effect (RFC 3339 or YYYY-MM-DD); without it the version is a draft.
        #[arg(long)]
        effective_from: Option<String>,
        /// Percent off the list price for SKUs the file does not name ("12" for -12%).
        #[arg(long)]
        discount_percent: Option<String>,
        /// Make a new list the default list (of every partner without one).
        #[arg(long)]
        default: bool,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Upsert the products of a catalog document (the body of `PUT /v1/publisher/catalog`) from a JSON file.
    Import {
        /// The catalog document (JSON).
        file: std::path::PathBuf,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
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
pub enum ArtifactsCommand {
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
pub enum BlobsCommand {
    /// Copy every file from the configured blob store (--blob-store, by default file://<data-dir>/blobs) to
    /// another one, e.g. an S3 bucket, then read each copy back and check its SHA-256 against the source's. Files
    /// already there are verified, not copied again, so an interrupted run can be repeated. Servers may keep
    /// running on the old store meanwhile; switch them to the new one (and run again for files uploaded since).
    Migrate {
        /// The destination: `s3://BUCKET[/PREFIX]` (AWS_* variables as for --blob-store) or `file://PATH`.
        #[arg(long, value_parser = services::blobs::BlobLocation::parse)]
        to: services::blobs::BlobLocation,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum InvoicesCommand {
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
pub enum OperatorCommand {
    /// Create an operator admin (all operator roles' powers, and the operator's users): the first console user.
    /// Prints a one-time password, or reads the password from standard input with --password-stdin.
    CreateAdmin {
        /// The admin's email (its sign-in name).
        #[arg(long)]
        email: String,
        /// The name shown in the console and the operator log.
        #[arg(long, default_value = "Operator admin")]
        name: String,
        /// Read the password (12 to 256 characters) from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the operator activity log's hash chain and every partner's; exits 1 when any record was altered or
    /// removed.
    Verify {
        #[command(flatten)]
        store: StoreOptions,
    },
}
