//! Key stock (issue 19): per SKU of the key-bearing products, the keys in stock, assigned and revoked; key files;
//! low-stock thresholds; and the operator webhook that sends each `key_stock_low` record.
//!
//! A crossing (stock at or below the threshold) is found where it happens — by the checkout that took the keys,
//! in its own transaction, or when a threshold is set above the stock — and recorded once (`low_since` set by a
//! conditional update, cleared when keys are added above the threshold). The record goes into the operator
//! activity log, which is the operator webhook's outbox: [`Services::dispatch_operator_webhook`] sends the records
//! after its cursor to the configured receiver, signed as partner webhooks are, retried on the same schedule.

use crate::auth::Publisher;
use crate::webhooks::HOLD_MICROS;
use crate::{Result, Services};
use domain::catalog::Product;
use domain::keys::{parse_key_file, validate_threshold, KeyStock};
use domain::operator::{OperatorAction, OperatorOperation};
use domain::paging::{Cursor, Page, PageSize};
use domain::webhook::{next_attempt, operator_event_body, signature_header, validate_endpoint_url, OPERATOR_EVENTS};
use domain::{DomainError, Timestamp};
use rand::Rng;
use store::{Effects, OperatorWebhookOutcome};

/// One SKU of a key-bearing product with its stock.
#[derive(Debug, Clone)]
pub struct KeyStockRow {
    pub product_title: String,
    pub sku_title: String,
    pub stock: KeyStock,
}

/// Where the operator webhook goes and what it is signed with (`--operator-webhook-url`, `--operator-webhook-secret`).
#[derive(Debug, Clone)]
pub struct OperatorWebhook {
    pub url: String,
    pub secret: Vec<u8>,
}

/// How long one round may go on sending before it gives the hold up (an attempt may take the receiver's timeout).
const ROUND_MICROS: i64 = HOLD_MICROS - (domain::webhook::TIMEOUT_SECS as i64 + 1) * 1_000_000;
/// Records read per round.
const RECORD_BATCH: u32 = 100;

/// The product of a key-bearing SKU: `NotFound` for an unknown product or SKU, refused for a type without keys.
pub(crate) fn key_product<'a>(products: &'a [Product], product_id: &str, sku_id: &str) -> Result<&'a Product> {
    let product = products.iter().find(|p| p.id == product_id).ok_or(DomainError::NotFound)?;
    product.sku(sku_id).ok_or(DomainError::NotFound)?;
    if !product.product_type.has_keys() {
        return Err(DomainError::invalid(
            "productId",
            format!("{product_id} is a {} and has no activation keys", product.product_type.as_str()),
        )
        .into());
    }
    Ok(product)
}

/// A row's place in the key stock's order: product id, then SKU id (a unit separator between them sorts before any
/// character an id may hold).
fn stock_key(r: &KeyStockRow) -> String {
    format!("{}\u{1f}{}", r.stock.product_id, r.stock.sku_id)
}

impl Services {
    /// Every SKU of the key-bearing products with its stock (any operator), by product and SKU id.
    #[tracing::instrument(skip_all)]
    pub async fn key_stock(&self, publisher: &Publisher) -> Result<Vec<KeyStockRow>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let products = self.store.list_products().await?;
        let levels = self.store.key_stock_levels().await?;
        let mut rows = Vec::new();
        for p in products.iter().filter(|p| p.product_type.has_keys()) {
            for s in &p.skus {
                let stock = levels
                    .iter()
                    .find(|l| l.product_id == p.id && l.sku_id == s.id)
                    .cloned()
                    .unwrap_or_else(|| KeyStock::empty(&p.id, &s.id));
                rows.push(KeyStockRow { product_title: p.title.clone(), sku_title: s.title.clone(), stock });
            }
        }
        rows.sort_by_key(stock_key);
        Ok(rows)
    }

    /// A page of [`Self::key_stock`], by product and SKU id: a SKU added meanwhile is neither skipped nor repeated.
    #[tracing::instrument(skip_all)]
    pub async fn page_key_stock(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<KeyStockRow>> {
        let rows = self.key_stock(publisher).await?;
        let after = after.map(|c| c.id);
        let rows: Vec<KeyStockRow> = rows
            .into_iter()
            .filter(|r| after.as_deref().is_none_or(|a| stock_key(r).as_str() > a))
            .take(size.get() as usize + 1)
            .collect();
        Ok(Page::from_rows(rows, size, |r| Cursor { at: Timestamp::from_micros(0), id: stock_key(r) }))
    }

    /// The SKUs at or below their threshold (the console's front page): only the SKUs marked low are counted, so
    /// the page does not read the whole key stock. Their assigned and revoked counts are not read (0).
    #[tracing::instrument(skip_all)]
    pub async fn low_key_stock(&self, publisher: &Publisher) -> Result<Vec<KeyStockRow>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let low = self.store.low_key_stock().await?;
        if low.is_empty() {
            return Ok(Vec::new());
        }
        let products = self.store.list_products().await?;
        let rows = low
            .into_iter()
            .filter(KeyStock::is_low)
            .filter_map(|stock| {
                let p = products.iter().find(|p| p.id == stock.product_id)?;
                let s = p.sku(&stock.sku_id)?;
                Some(KeyStockRow { product_title: p.title.clone(), sku_title: s.title.clone(), stock })
            })
            .collect();
        Ok(rows)
    }

    /// Sets (or with `None` removes) a SKU's low-stock threshold (catalog managers); returns the SKU's stock.
    #[tracing::instrument(skip_all)]
    pub async fn set_key_threshold(
        &self,
        publisher: &Publisher,
        product_id: &str,
        sku_id: &str,
        threshold: Option<i64>,
    ) -> Result<KeyStockRow> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let threshold = validate_threshold(threshold)?;
        key_product(&self.store.list_products().await?, product_id, sku_id)?;
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::SetKeyThreshold, now)
            .data("productId", product_id)
            .data("skuId", sku_id)
            .data("threshold", threshold.map(|t| t.to_string()).unwrap_or_else(|| "none".into()));
        self.store.set_key_threshold(product_id, sku_id, threshold, now, Effects::operator(record, None)).await?;
        self.key_stock(publisher)
            .await?
            .into_iter()
            .find(|r| r.stock.product_id == product_id && r.stock.sku_id == sku_id)
            .ok_or_else(|| DomainError::NotFound.into())
    }

    /// A key file (text, one key per line, or the first column of a CSV) added to a SKU's stock, all or none;
    /// returns (added, available).
    #[tracing::instrument(skip_all)]
    pub async fn import_key_file(
        &self,
        publisher: &Publisher,
        product_id: &str,
        sku_id: &str,
        text: &str,
    ) -> Result<(usize, i64)> {
        self.add_keys(publisher, product_id, sku_id, parse_key_file(text), None).await
    }

    /// Sends to the operator webhook, when one is configured, the `key_stock_low` records written since the last
    /// one it took; one round, for the dispatcher's loop and for tests. A failed attempt stops the round and is
    /// tried again on the partner webhooks' schedule (30 s doubling, up to three days, then passed over and
    /// logged). Several processes share the one cursor by a hold, as partner deliveries are held. Returns how many
    /// were sent.
    #[tracing::instrument(skip_all)]
    pub async fn dispatch_operator_webhook(&self) -> Result<usize> {
        let Some(hook) = self.webhooks.operator.clone() else { return Ok(0) };
        let started = self.clock.now();
        let Some(hold) = self.store.claim_operator_webhook(started, started.plus_micros(HOLD_MICROS)).await? else {
            return Ok(0);
        };
        let records = self.store.operator_chain(hold.cursor_seq, RECORD_BATCH).await?;
        let mut outcome = OperatorWebhookOutcome {
            cursor_seq: hold.cursor_seq,
            attempts: 0,
            first_attempt_at: None,
            next_attempt_at: Timestamp::from_micros(0),
            last_error: None,
        };
        let mut sent = 0;
        for r in &records {
            if !OPERATOR_EVENTS.iter().any(|o| o.as_str() == r.operation) {
                outcome.cursor_seq = r.seq;
                continue;
            }
            let at = self.clock.now();
            if at.micros() - started.micros() > ROUND_MICROS {
                break;
            }
            match self.send_operator_event(&hook, r, at).await {
                Ok(()) => {
                    outcome.cursor_seq = r.seq;
                    sent += 1;
                }
                Err(error) => {
                    // The same record as the last round's failures only when the cursor has not moved since.
                    let again = outcome.cursor_seq == hold.cursor_seq;
                    let attempts = if again { hold.attempts + 1 } else { 1 };
                    let first = if again { hold.first_attempt_at.unwrap_or(at) } else { at };
                    let jitter = rand::thread_rng().gen_range(0..=1000);
                    match next_attempt(first, at, attempts, jitter) {
                        Some(next) => {
                            outcome.attempts = attempts;
                            outcome.first_attempt_at = Some(first);
                            outcome.next_attempt_at = next;
                            outcome.last_error = Some(error);
                            break;
                        }
                        None => {
                            tracing::error!(record = %r.id, error, "operator webhook: gave up on a record after three days");
                            outcome.cursor_seq = r.seq;
                        }
                    }
                }
            }
        }
        if !self.store.finish_operator_webhook(&hold, &outcome).await? {
            tracing::warn!("operator webhook: the hold ran out before the round ended; another process goes on");
        }
        Ok(sent)
    }

    /// One POST of an operator record, signed as partner webhooks are (`Partnerhub-Signature`).
    async fn send_operator_event(
        &self,
        hook: &OperatorWebhook,
        r: &domain::operator::OperatorRecord,
        at: Timestamp,
    ) -> std::result::Result<(), String> {
        validate_endpoint_url(&hook.url, self.webhooks.allow_insecure).map_err(|e| format!("not sent: {e}"))?;
        let body = operator_event_body(r);
        let signature = signature_header(&hook.secret, at.micros().div_euclid(1_000_000), body.as_bytes());
        let res = self
            .webhooks
            .client()
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Partnerhub-Signature", signature)
            .header("Partnerhub-Delivery", r.id.to_string())
            .header("Partnerhub-Event", r.operation.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "operator webhook not delivered");
                crate::webhooks::NOT_DELIVERED.to_string()
            })?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("the endpoint answered {}", res.status().as_u16()))
        }
    }
}
