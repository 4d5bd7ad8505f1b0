//! Webhooks (SPEC §3): a partner's endpoints, and the dispatcher that turns the activity log into signed,
//! retried deliveries.
//!
//! The activity log is the outbox: each endpoint keeps a cursor in its partner's chain. The dispatcher (one per
//! server process, any number of processes) writes a delivery for each new record an endpoint asked for while
//! moving the cursor, in one transaction, then sends what is due. Only committed records exist to be read, so
//! nothing is sent that did not happen; a process that dies mid-send leaves the delivery to be sent again, with the
//! same `Partnerhub-Delivery` id, once its hold runs out. Delivery is at least once.

use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::ids::{DeliveryId, WebhookId};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::webhook::{
    after_attempt, event_body, is_public_address, parse_operation_types, signature_header, test_event_body,
    validate_endpoint_url, Attempt, Delivery, DeliveryStatus, SendSlots, WebhookEndpoint, SEND_CAPS, TEST_EVENT,
    TIMEOUT_SECS,
};
use domain::{DomainError, Timestamp};
use futures::StreamExt;
use rand::{Rng, RngCore};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{ClaimedDelivery, Effects, FinishedAttempt, NewDelivery, PartnerScope};

/// A dispatcher holds a delivery it is sending this long (real time): longer than the receiver's timeout, so it is
/// never sent twice at once, and short, so a crashed process's deliveries go out again soon.
pub const HOLD_MICROS: i64 = (TIMEOUT_SECS as i64 + 5) * 1_000_000;
/// Finished deliveries (and their attempts) are kept this long for the partner to read, then purged.
pub const DELIVERY_RETENTION_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;
/// How often the dispatcher looks for new records and due retries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Due deliveries read per look, from which the dispatcher takes what its free slots allow ([`SEND_CAPS`]). It
/// holds only what it sends at once, so each delivery is sent as soon as it is held (one waiting its turn could
/// outlast its hold and be taken over by another process).
const DUE_BATCH: u32 = 256;
/// Records read per endpoint per pass.
const RECORD_BATCH: u32 = 500;
/// At most this many error characters are kept per attempt.
const MAX_ERROR_CHARS: usize = 300;

/// A new endpoint with its signing secret, which is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// What one round of the dispatcher did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchRound {
    pub enqueued: usize,
    pub attempted: usize,
}

/// A sending slot, given back when the attempt's task ends, however it ends.
struct Slot {
    slots: Arc<Mutex<SendSlots>>,
    partner: domain::ids::PartnerId,
    endpoint: WebhookId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).release(self.partner, self.endpoint);
    }
}

/// How this server sends deliveries.
#[derive(Clone, Default)]
pub struct WebhookSettings {
    /// `--allow-insecure-webhooks`: `http://` to loopback is accepted (tests, local development), and so is a host
    /// name that resolves to this machine or a private network.
    pub allow_insecure: bool,
    /// Names answered before the system's resolver, like `/etc/hosts` (tests name a host that resolves to
    /// loopback). What they resolve to is judged like any other address.
    hosts: std::sync::Arc<std::collections::HashMap<String, Vec<std::net::IpAddr>>>,
    /// Built at the first delivery: a server without endpoints never loads TLS roots.
    http: std::sync::Arc<std::sync::OnceLock<reqwest::Client>>,
    /// The operator's receiver of `key_stock_low` (`--operator-webhook-url`), if any.
    pub(crate) operator: Option<std::sync::Arc<crate::keystock::OperatorWebhook>>,
}

impl WebhookSettings {
    pub(crate) fn with_hosts(mut self, hosts: std::collections::HashMap<String, Vec<std::net::IpAddr>>) -> Self {
        self.hosts = std::sync::Arc::new(hosts.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect());
        self
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            delivery_client(PublicOnly { allow_internal: self.allow_insecure, hosts: self.hosts.clone() })
        })
    }
}

/// The HTTP client deliveries go out with: the receiver's timeout, no redirects (a 3xx is a failed attempt;
/// following it would let an endpoint send the server anywhere), and a resolver that hands the connector only
/// public addresses, so the address judged is the address connected to (a name that resolves to 127.0.0.1 is
/// refused at delivery time, whatever it resolved to at registration).
fn delivery_client(resolver: PublicOnly) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(TIMEOUT_SECS))
        .connect_timeout(Duration::from_secs(TIMEOUT_SECS))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(resolver))
        .user_agent(concat!("Partnerhub-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Resolves an endpoint's host name and keeps only the addresses [`is_public_address`] allows (all of them with
/// `--allow-insecure-webhooks`). Address literals never reach a resolver; [`validate_endpoint_url`] judges them,
/// by the same rule, before each send.
struct PublicOnly {
    allow_internal: bool,
    hosts: std::sync::Arc<std::collections::HashMap<String, Vec<std::net::IpAddr>>>,
}

/// Why a host name was not connected to (for the server's log; the partner reads only "could not deliver").
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses deliveries may not reach ({addresses})")]
struct RefusedAddress {
    host: String,
    addresses: String,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let listed = self.hosts.get(&host).cloned();
        let allow_internal = self.allow_internal;
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = match listed {
                Some(ips) => ips.into_iter().map(|ip| std::net::SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed: Vec<std::net::SocketAddr> =
                found.iter().copied().filter(|a| allow_internal || is_public_address(a.ip())).collect();
            if allowed.is_empty() {
                let addresses = found.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Box::new(RefusedAddress { host, addresses }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Services {
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        operation_types: &[String],
        keep: Option<&dyn Keep<CreatedWebhook>>,
    ) -> Result<CreatedWebhook> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        let url = validate_endpoint_url(url, self.webhooks.allow_insecure)?;
        let operation_types = parse_operation_types(operation_types)?;
        let now = self.partner_now(&actor.partner);
        let endpoint = WebhookEndpoint {
            id: WebhookId::new(),
            partner_id: actor.partner.id,
            url,
            operation_types,
            created_by: actor.principal().to_string(),
            created_at: now,
            failing_since: None,
            disabled_at: None,
            disabled_reason: None,
        };
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let created = CreatedWebhook { secret: format!("whsec_{}", hex::encode(bytes)), endpoint };
        let kinds: Vec<&str> = created.endpoint.operation_types.iter().map(|o| o.as_str()).collect();
        let audit = NewAuditRecord::succeeded(OperationType::CreateWebhook, actor.principal(), now)
            .data("webhookId", created.endpoint.id.to_string())
            .data("url", created.endpoint.url.clone())
            .data("operationTypes", kinds.join(","));
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &created)?, ..Effects::default() };
        let sealed = self.secrets.seal(created.secret.as_bytes());
        self.store.create_webhook(scope, &created.endpoint, &sealed, effects).await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<WebhookEndpoint>> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        Ok(self.store.list_webhooks(scope).await?)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_webhook(&self, actor: &Actor, id: WebhookId) -> Result<WebhookEndpoint> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        self.endpoint(scope, id).await
    }

    async fn endpoint(&self, scope: PartnerScope, id: WebhookId) -> Result<WebhookEndpoint> {
        Ok(self.store.get_webhook(scope, id).await?.ok_or(DomainError::NotFound)?)
    }

    /// Deletes an endpoint; what was still waiting for it is not sent.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<()> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        let endpoint = self.endpoint(scope, id).await?;
        let audit = NewAuditRecord::succeeded(
            OperationType::DeleteWebhook,
            actor.principal(),
            self.partner_now(&actor.partner),
        )
        .data("webhookId", endpoint.id.to_string())
        .data("url", endpoint.url);
        self.store.delete_webhook(scope, endpoint.id, Effects::audit(audit)).await?;
        Ok(())
    }

    /// An endpoint's deliveries and their attempts, newest first.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Delivery>> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        let endpoint = self.endpoint(scope, id).await?;
        let rows = self.store.list_deliveries(scope, endpoint.id, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |d| Cursor { at: d.created_at, id: d.id.to_string() }))
    }

    /// Sends a test event to an endpoint now, once, and returns the delivery with its attempt. A disabled endpoint
    /// that answers 2xx is enabled again.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn test_webhook(&self, actor: &Actor, id: WebhookId) -> Result<Delivery> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        let endpoint = self.endpoint(scope, id).await?;
        let now = self.clock.now();
        let delivery_id = DeliveryId::new();
        let new = NewDelivery {
            id: delivery_id,
            record_id: None,
            operation_type: TEST_EVENT.into(),
            body: test_event_body(endpoint.id, delivery_id, now),
        };
        let claimed = self.store.add_test_delivery(scope, endpoint.id, &new, now, now.plus_micros(HOLD_MICROS)).await?;
        let (attempt, status, retry_at) = self.attempt(claimed).await?;
        Ok(Delivery {
            id: delivery_id,
            webhook_id: endpoint.id,
            record_id: None,
            operation_type: TEST_EVENT.into(),
            status,
            created_at: now,
            next_attempt_at: retry_at,
            attempts: vec![attempt],
        })
    }

    /// Housekeeping: forgets finished deliveries older than [`DELIVERY_RETENTION_MICROS`] (real time).
    #[tracing::instrument(skip_all)]
    pub async fn purge_deliveries(&self) -> Result<u64> {
        Ok(self.store.purge_deliveries(self.clock.now().plus_micros(-DELIVERY_RETENTION_MICROS)).await?)
    }

    /// Runs the dispatcher until the process ends. Every [`POLL_INTERVAL`] it turns new records into deliveries;
    /// then, and whenever an attempt ends, it takes what is due as far as [`SEND_CAPS`] allow and sends each on its
    /// own task: nothing waits for a batch, and a partner whose endpoints hang holds at most its own slots. Errors
    /// are logged and the next round tries again (a delivery not recorded as sent is sent again: at least once).
    pub async fn run_webhook_dispatcher(self) {
        if self.webhooks.operator.is_some() {
            let operator = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(POLL_INTERVAL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = operator.dispatch_operator_webhook().await {
                        tracing::warn!(error = %e, "operator webhook round failed; retrying");
                    }
                }
            });
        }
        let slots = Arc::new(Mutex::new(SendSlots::default()));
        let mut sending = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.enqueue_new_records().await {
                        tracing::warn!(error = %e, "webhook enqueue failed; retrying");
                    }
                }
                Some(ended) = sending.join_next(), if !sending.is_empty() => {
                    match ended {
                        Ok(Err(e)) => tracing::warn!(error = %e, "webhook attempt not recorded; it will be sent again"),
                        Err(e) => tracing::error!(error = %e, "webhook sending task failed"),
                        Ok(Ok(())) => {}
                    }
                }
            }
            match self.take_due(&slots).await {
                Ok(claimed) => {
                    for d in claimed {
                        let slot = Slot { slots: slots.clone(), partner: d.partner_id, endpoint: d.endpoint_id };
                        let services = self.clone();
                        sending.spawn(async move {
                            let _slot = slot;
                            services.attempt(d).await.map(|_| ())
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "webhook dispatch failed; retrying"),
            }
        }
    }

    /// One round, for tests and tools: turn new activity records into deliveries, then send what is due (as far as
    /// [`SEND_CAPS`] allow) and wait for those attempts.
    #[tracing::instrument(skip_all)]
    pub async fn dispatch_webhooks(&self) -> Result<DispatchRound> {
        let mut round = DispatchRound { enqueued: self.enqueue_new_records().await?, attempted: 0 };
        let claimed = self.take_due(&Mutex::new(SendSlots::default())).await?;
        round.attempted = claimed.len();
        let results: Vec<Result<_>> = futures::stream::iter(claimed)
            .map(|d| self.attempt(d))
            .buffer_unordered(SEND_CAPS.total as usize)
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(round)
    }

    /// Holds the due deliveries the free slots allow, counting them in `slots` (the caller gives each slot back
    /// when its attempt ends).
    async fn take_due(&self, slots: &Mutex<SendSlots>) -> Result<Vec<ClaimedDelivery>> {
        let (full_partners, full_endpoints) = {
            let slots = slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.in_flight() >= SEND_CAPS.total {
                return Ok(Vec::new());
            }
            slots.full(SEND_CAPS)
        };
        let now = self.clock.now();
        let due =
            self.store.due_deliveries(now, DUE_BATCH, SEND_CAPS.per_endpoint, &full_partners, &full_endpoints).await?;
        let taken = slots.lock().unwrap_or_else(|e| e.into_inner()).take(&due, SEND_CAPS);
        let claimed = self.store.claim_deliveries(&taken, now, now.plus_micros(HOLD_MICROS)).await;
        // Slots taken for deliveries not held after all (another process took them, or the claim failed) go back.
        let held: std::collections::HashSet<DeliveryId> =
            claimed.as_ref().map(|c| c.iter().map(|d| d.id).collect()).unwrap_or_default();
        let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
        for d in due.iter().filter(|d| taken.contains(&d.id) && !held.contains(&d.id)) {
            slots.release(d.partner, d.endpoint);
        }
        Ok(claimed?)
    }

    /// For every endpoint behind its partner's chain: the deliveries for the records it asked for, written while
    /// its cursor moves past them.
    async fn enqueue_new_records(&self) -> Result<usize> {
        let mut enqueued = 0;
        for (endpoint, cursor) in self.store.webhooks_behind(100).await? {
            let scope = PartnerScope::authenticated(endpoint.partner_id);
            let records = self.store.audit_chain(scope, cursor, RECORD_BATCH).await?;
            let Some(last) = records.last() else { continue };
            let deliveries: Vec<NewDelivery> = records
                .iter()
                .filter(|r| endpoint.wants(&r.operation_type))
                .map(|r| NewDelivery {
                    id: DeliveryId::new(),
                    record_id: Some(r.id),
                    operation_type: r.operation_type.clone(),
                    body: event_body(r),
                })
                .collect();
            if self.store.enqueue_deliveries(endpoint.id, cursor, last.seq, &deliveries, self.clock.now()).await? {
                enqueued += deliveries.len();
            }
        }
        Ok(enqueued)
    }

    /// Sends a held delivery once and records the attempt and what follows.
    async fn attempt(&self, d: ClaimedDelivery) -> Result<(Attempt, DeliveryStatus, Option<Timestamp>)> {
        let at = self.clock.now();
        let started = Instant::now();
        let (status_code, error) = self.send(&d, at).await;
        let attempt = Attempt {
            number: d.attempts + 1,
            at,
            status_code,
            duration_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
            error: error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect()),
        };
        let jitter = rand::thread_rng().gen_range(0..=1000);
        let outcome = after_attempt(&attempt, d.first_attempt_at.unwrap_or(at), d.failing_since, d.is_test, jitter);
        if let domain::webhook::EndpointHealth::Disable(reason) = &outcome.endpoint {
            tracing::warn!(webhook = %d.endpoint_id, reason, "webhook endpoint disabled");
        }
        let (status, retry_at) = (outcome.delivery, outcome.retry_at);
        self.store
            .finish_attempt(&FinishedAttempt {
                delivery: d.id,
                held_until: d.held_until,
                endpoint: d.endpoint_id,
                attempt: attempt.clone(),
                outcome,
            })
            .await?;
        Ok((attempt, status, retry_at))
    }

    /// One HTTP POST: the receiver's status, or why there was none.
    async fn send(&self, d: &ClaimedDelivery, at: Timestamp) -> (Option<u16>, Option<String>) {
        // The server's settings may have changed since registration (say, insecure URLs no longer allowed).
        if let Err(e) = validate_endpoint_url(&d.url, self.webhooks.allow_insecure) {
            return (None, Some(format!("not sent: this server does not allow the endpoint's address ({e})")));
        }
        let Some(secret) = self.secrets.open(&d.sealed_secret) else {
            return (None, Some("not sent: the signing secret does not decrypt with this server's key".into()));
        };
        let signature = signature_header(&secret, at.micros().div_euclid(1_000_000), d.body.as_bytes());
        let sent = self
            .webhooks
            .client()
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Partnerhub-Signature", signature)
            .header("Partnerhub-Delivery", d.id.to_string())
            .header("Partnerhub-Event", d.operation_type.as_str())
            .body(d.body.clone())
            .send()
            .await;
        match sent {
            Ok(res) => {
                let status = res.status().as_u16();
                let error = (!res.status().is_success()).then(|| format!("the endpoint answered {status}"));
                (Some(status), error)
            }
            Err(e) if e.is_timeout() => (None, Some(format!("no answer within {TIMEOUT_SECS} s"))),
            Err(e) => {
                // Which transport step failed (refused address, connection refused, TLS, reset) would tell the
                // partner what listens where; it goes to the server's log only.
                tracing::warn!(webhook = %d.endpoint_id, delivery = %d.id, error = %root_cause(&e), "webhook delivery not delivered");
                (None, Some(NOT_DELIVERED.into()))
            }
        }
    }
}

/// What the partner reads when no HTTP answer came back (other than a timeout).
pub const NOT_DELIVERED: &str = "could not deliver: no HTTP answer from the endpoint";

/// The innermost error's text ("Connection refused (os error 111)"), which says more than reqwest's outer one.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
