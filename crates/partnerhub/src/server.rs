//! Serving: the services on the configured store, the HTTP server, housekeeping and a graceful stop.

use crate::config::Settings;
use anyhow::Context;
use domain::clock::SystemClock;
use partnerhub::app::{App, AppConfig};
use services::secrets::SecretBox;
use services::Services;
use std::sync::Arc;
use std::time::Duration;

/// Opens the store (migrating it) and the secret key, and builds the services on real time: the app builder with
/// the settings, then the check that the key belongs to the database.
pub async fn open_services(settings: &Settings) -> anyhow::Result<Services> {
    let App { services, .. } = App::open(AppConfig {
        database_url: &settings.database_url,
        database_label: &settings.redacted_database_url(),
        clock: Arc::new(SystemClock),
        secrets: Box::new(|| match &settings.secret_key {
            Some(k) => SecretBox::from_base64(k).map_err(anyhow::Error::msg),
            None => SecretBox::from_file(&settings.data_dir.join("secret.key")).map_err(anyhow::Error::msg),
        }),
        blob_store: &settings.blob_store,
        base_url: &settings.base_url,
        publisher_token: settings.publisher_token.as_deref(),
        allow_insecure_webhooks: settings.allow_insecure_webhooks,
    })
    .await?;
    services.check_secret_key().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match &settings.operator_webhook {
        Some((url, secret)) => {
            services.operator_webhook(url, secret).map_err(|e| anyhow::anyhow!("operator webhook: {e}"))
        }
        None => Ok(services),
    }
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
        blob_store = %settings.blob_store,
        ready_ms = started.elapsed().as_millis() as u64,
        "partnerhub ready"
    );
    // After the signal, requests in flight get a while to finish (a long download would otherwise hold the stop).
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = partnerhub::app::serve(listener, services, settings.limits, async move {
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
