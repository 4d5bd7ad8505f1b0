//! Settings › Webhooks: a global admin's endpoints, their health, and each endpoint's deliveries with every
//! attempt (the same services as `/v1/webhooks`).

use super::format::filters;
use super::{page, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::i18n::tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use domain::audit::OperationType;
use domain::paging::PageSize;
use domain::webhook::{Delivery, WebhookEndpoint};
use services::sessions::SessionActor;

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub kinds: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: String,
    pub created: String,
}

impl From<&WebhookEndpoint> for EndpointRow {
    fn from(e: &WebhookEndpoint) -> EndpointRow {
        EndpointRow {
            id: e.id.to_string(),
            url: e.url.clone(),
            kinds: super::format::list(e.operation_types.iter().map(|o| super::format::words(o.as_str()))),
            enabled: e.disabled_at.is_none(),
            disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
            failing_since: e.failing_since.map(super::format::when).unwrap_or_default(),
            created: super::format::date(e.created_at.date()),
        }
    }
}

pub struct AttemptRow {
    pub at: String,
    pub outcome: String,
    pub duration_ms: u32,
}

pub struct DeliveryRow {
    pub id: String,
    pub kind: String,
    pub status: &'static str,
    pub created: String,
    pub next: String,
    pub attempts: Vec<AttemptRow>,
}

impl From<&Delivery> for DeliveryRow {
    fn from(d: &Delivery) -> DeliveryRow {
        DeliveryRow {
            id: d.id.to_string(),
            kind: super::format::words(&d.operation_type),
            status: d.status.as_str(),
            created: super::format::when(d.created_at),
            next: d.next_attempt_at.map(super::format::when).unwrap_or_default(),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptRow {
                    at: super::format::when(a.at),
                    outcome: match (a.status_code, &a.error) {
                        (Some(code), _) if a.succeeded() => code.to_string(),
                        (_, Some(e)) => e.clone(),
                        (Some(code), None) => code.to_string(),
                        (None, None) => tr!("webhook-no-answer"),
                    },
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    nav_csrf: String,
    new_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    endpoints: Vec<EndpointRow>,
    kinds: Vec<&'static str>,
}

async fn webhooks_page(
    state: &AppState,
    s: &SessionActor,
    new_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> UiResult {
    let endpoints = state.services.list_webhooks(&s.actor).await.or_page(s)?;
    Ok(page(&WebhooksPage {
        title: tr!("webhooks-heading"),
        section: "settings",
        nav: Some(Nav::of(s)),
        nav_csrf: s.csrf.clone(),
        new_secret,
        notice,
        error,
        endpoints: endpoints.iter().map(EndpointRow::from).collect(),
        kinds: OperationType::ALL.iter().map(|o| o.as_str()).collect(),
    }))
}

async fn webhooks(State(state): State<AppState>, Signed(s): Signed) -> UiResult {
    webhooks_page(&state, &s, None, None, None).await
}

async fn add_webhook(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<Vec<(String, String)>>,
) -> UiResult {
    let url = form.iter().find(|(k, _)| k == "url").map(|(_, v)| v.as_str()).unwrap_or_default();
    let kinds: Vec<String> = form.iter().filter(|(k, _)| k == "operationTypes").map(|(_, v)| v.clone()).collect();
    match state.services.create_webhook(&s.actor, url, &kinds, None).await {
        Ok(created) => webhooks_page(&state, &s, Some(created.secret), None, None).await,
        Err(services::Error::Domain(d @ domain::DomainError::InvalidRequest(_)))
        | Err(services::Error::Domain(d @ domain::DomainError::Conflict(_))) => {
            webhooks_page(&state, &s, None, None, Some(d.to_string())).await
        }
        Err(e) => Err(super::UiError(e, Some(Box::new(Nav::of(&s))))),
    }
}

async fn test_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm<serde::de::IgnoredAny>,
) -> UiResult {
    let delivery = state.services.test_webhook(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    let outcome = DeliveryRow::from(&delivery).attempts.pop().map(|a| a.outcome).unwrap_or_default();
    let message = match delivery.status {
        domain::webhook::DeliveryStatus::Succeeded => tr!("webhooks-test-delivered", outcome = outcome),
        _ => tr!("webhooks-test-failed", outcome = outcome),
    };
    webhooks_page(&state, &s, None, Some(message), None).await
}

async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm<serde::de::IgnoredAny>,
) -> UiResult {
    state.services.delete_webhook(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    Ok(Redirect::to("/settings/webhooks").into_response())
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryRow>,
}

/// One endpoint's latest deliveries (newest first) with every attempt.
async fn webhook(State(state): State<AppState>, Signed(s): Signed, Path(id): Path<String>) -> UiResult {
    let endpoint = state.services.get_webhook(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    let size = PageSize::parse(Some(100)).map_err(services::Error::from).or_page(&s)?;
    let deliveries =
        state.services.webhook_deliveries(&s.actor, parse_id(&id).or_page(&s)?, size, None).await.or_page(&s)?;
    Ok(page(&WebhookPage {
        title: tr!("webhook-deliveries"),
        section: "settings",
        nav: Some(Nav::of(&s)),
        endpoint: EndpointRow::from(&endpoint),
        deliveries: deliveries.items.iter().map(DeliveryRow::from).collect(),
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/settings/webhooks",
            get(webhooks).merge(super::post_requiring(domain::policy::Action::ManageWebhooks, add_webhook)),
        )
        .route("/settings/webhooks/{webhook_id}", get(webhook))
        .route(
            "/settings/webhooks/{webhook_id}/test",
            super::post_requiring(domain::policy::Action::ManageWebhooks, test_webhook),
        )
        .route(
            "/settings/webhooks/{webhook_id}/delete",
            super::post_requiring(domain::policy::Action::ManageWebhooks, delete_webhook),
        )
}
