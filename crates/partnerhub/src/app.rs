//! The application's one wiring, shared by the binary (`serve`, `demo` and every command) and the integration
//! tests' harness: open and migrate the store, build the services on it, serve the router.

use anyhow::Context;
use domain::clock::Clock;
use services::blobs::{BlobLocation, Blobs};
use services::secrets::SecretBox;
use services::Services;
use std::sync::Arc;
use store::{SqlStore, Store};

/// What the application is built from; the binary fills it from its settings, the tests from their fixtures.
pub struct AppConfig<'a> {
    pub database_url: &'a str,
    /// How the URL is shown in errors (without its password).
    pub database_label: &'a str,
    /// Real time in the binary, a `ManualClock` in tests.
    pub clock: Arc<dyn Clock>,
    /// Read once the store is open (the binary reads or creates `secret.key`; a store that cannot be opened
    /// leaves no key file behind).
    pub secrets: Box<dyn FnOnce() -> anyhow::Result<SecretBox> + Send + 'a>,
    /// Where blobs (artifacts, attachments) live: `file://<data_dir>/blobs` unless configured otherwise.
    pub blob_store: &'a BlobLocation,
    /// The public address download links start with.
    pub base_url: &'a str,
    pub publisher_token: Option<&'a str>,
    pub allow_insecure_webhooks: bool,
}

/// The store (migrated) and the services over it.
pub struct App {
    pub store: Arc<dyn Store>,
    pub services: Services,
}

impl App {
    /// Opens the store at `database_url`, migrates it and builds the services. The secret key is not checked here:
    /// the binary checks it before any command ([`Services::check_secret_key`]).
    pub async fn open(config: AppConfig<'_>) -> anyhow::Result<App> {
        let store = SqlStore::connect(config.database_url)
            .await
            .with_context(|| format!("opening {}", config.database_label))?;
        store.migrate().await.context("migrating the database")?;
        let secrets = (config.secrets)()?;
        let store: Arc<dyn Store> = Arc::new(store);
        let blobs = Blobs::open(config.blob_store).with_context(|| format!("blob storage at {}", config.blob_store))?;
        let services =
            Services::new(store.clone(), config.clock, secrets, blobs, config.base_url, config.publisher_token)
                .allow_insecure_webhooks(config.allow_insecure_webhooks);
        Ok(App { store, services })
    }
}

/// Serves the application's router (the API, its OpenAPI document and the dashboard) on `listener` until
/// `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    services: Services,
    limits: web::ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    web::serve(listener, services, limits, shutdown).await
}
