//! Use cases over the domain rules, the Store and the clock. The API, the dashboard and the CLI all call these;
//! every partner use case starts with the one authorization check ([`auth::Actor::authorize`]).

pub mod audit;
pub mod auth;
pub mod blobs;
pub mod cancellations;
pub mod catalog;
pub mod console;
pub mod credit_limits;
pub mod customer_prices;
pub mod customers;
pub mod downloads;
pub mod error;
pub mod idempotency;
pub mod invoices;
pub mod keystock;
pub mod markets;
pub mod operators;
pub mod orders;
pub mod partners;
pub mod pricelists;
pub mod reconciliation;
pub mod secrets;
pub mod sessions;
pub mod software;
pub mod subscriptions;
pub mod support;
pub mod users;
pub mod webhook_list;
pub mod webhooks;

pub use auth::{Actor, Caller, Publisher};
pub use error::{Error, Result};
// `PartnerScope` is deliberately not re-exported: the web crate cannot name it, so no handler can build a scope for
// a partner it did not authenticate.
pub use store::{ApiToken, Backend, CatalogCounts, OperatorToken};

use domain::clock::Clock;
use std::sync::Arc;
use store::Store;

/// Everything a use case needs, shared by all requests.
#[derive(Clone)]
pub struct Services {
    /// Private: what the store allows is reached through the use cases, which take an actor or a proof.
    store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<secrets::SecretBox>,
    pub blobs: blobs::Blobs,
    /// The public address download links start with, without a trailing slash.
    pub base_url: Arc<str>,
    pub webhooks: webhooks::WebhookSettings,
    catalog_cache: catalog::CatalogCache,
    customer_cache: customers::CustomerCache,
    publisher_token_hash: Option<[u8; 32]>,
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: secrets::SecretBox,
        blobs: blobs::Blobs,
        base_url: &str,
        publisher_token: Option<&str>,
    ) -> Services {
        Services {
            store,
            clock,
            secrets: Arc::new(secrets),
            blobs,
            base_url: base_url.trim_end_matches('/').into(),
            webhooks: webhooks::WebhookSettings::default(),
            catalog_cache: Default::default(),
            customer_cache: Default::default(),
            publisher_token_hash: publisher_token.filter(|t| !t.is_empty()).map(auth::sha256),
        }
    }

    /// Readiness: the database answers.
    #[tracing::instrument(skip_all)]
    /// SQLite's group commit so far: (batches committed, writes in them); `None` on PostgreSQL. For `/metrics`.
    pub fn write_batches(&self) -> Option<(u64, u64)> {
        self.store.write_batches()
    }

    pub async fn ping(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Readiness: blob storage answers (a listing of its top level).
    #[tracing::instrument(skip_all)]
    pub async fn blobs_ready(&self) -> Result<()> {
        self.blobs.check().await.map_err(|e| Error::Unavailable(crate::error::Cause::of(e)))
    }

    /// `partnerhub backup`: a consistent copy of a live SQLite database (the operator's, on the server's machine).
    #[tracing::instrument(skip_all)]
    pub async fn backup_to(&self, _operator: &Publisher, path: &str) -> Result<()> {
        Ok(self.store.backup_to(path).await?)
    }

    /// Accepts `http://` webhook endpoints on this machine (`--allow-insecure-webhooks`: tests, local development).
    pub fn allow_insecure_webhooks(mut self, allow: bool) -> Services {
        self.webhooks.allow_insecure = allow;
        self
    }

    /// Sends each `key_stock_low` operator record to `url`, signed with `secret` (`--operator-webhook-url`,
    /// `--operator-webhook-secret`); the address is judged as a partner endpoint's is.
    pub fn operator_webhook(mut self, url: &str, secret: &str) -> Result<Services> {
        let url = domain::webhook::validate_endpoint_url(url, self.webhooks.allow_insecure)?;
        if secret.len() < 16 {
            return Err(domain::DomainError::invalid("operatorWebhookSecret", "give at least 16 characters").into());
        }
        let hook = keystock::OperatorWebhook { url, secret: secret.as_bytes().to_vec() };
        self.webhooks.operator = Some(Arc::new(hook));
        Ok(self)
    }

    /// Host names webhook deliveries resolve before the system's resolver (like `/etc/hosts`); what they name is
    /// judged like any resolved address. For tests, which need a name that resolves to loopback.
    pub fn webhook_hosts(mut self, hosts: std::collections::HashMap<String, Vec<std::net::IpAddr>>) -> Services {
        self.webhooks = self.webhooks.with_hosts(hosts);
        self
    }
}
