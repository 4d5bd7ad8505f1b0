//! The console's key stock: per SKU the keys in stock, assigned and revoked, its low-stock threshold; importing a
//! key file (a plain multipart post, or with JavaScript in chunks with a progress bar) and setting a threshold.

use super::forms::{expired, refused, upload_refused, CsrfQuery};
use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, Router};
use domain::operator::OperatorAction;
use serde::Deserialize;

/// The largest key file taken by the form (100,000 keys of up to ~80 characters).
const KEY_FILE_LIMIT: usize = 8 * 1024 * 1024;
/// The largest chunk the page's script posts.
const CHUNK_LIMIT: usize = 1024 * 1024;

pub struct StockRow {
    /// `product:sku`, what the forms' SKU choice sends.
    pub value: String,
    pub product_id: String,
    pub product_title: String,
    pub sku_id: String,
    pub sku_title: String,
    pub in_stock: i64,
    pub assigned: i64,
    pub revoked: i64,
    pub threshold: String,
    pub low: bool,
    pub low_since: String,
}

pub fn stock_row(r: &services::keystock::KeyStockRow) -> StockRow {
    let s = &r.stock;
    StockRow {
        value: format!("{}:{}", s.product_id, s.sku_id),
        product_id: s.product_id.clone(),
        product_title: r.product_title.clone(),
        sku_id: s.sku_id.clone(),
        sku_title: r.sku_title.clone(),
        in_stock: s.in_stock,
        assigned: s.assigned,
        revoked: s.revoked,
        threshold: s.threshold.map(|t| t.to_string()).unwrap_or_default(),
        low: s.is_low(),
        low_since: s.low_since.map(format::when).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "operator/keys.html")]
struct KeysPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    can_manage: bool,
    notice: Option<String>,
    rows: Vec<StockRow>,
}

#[derive(Deserialize, Default)]
struct KeysQuery {
    #[serde(default)]
    added: Option<usize>,
    #[serde(default)]
    threshold: Option<String>,
}

async fn keys(State(state): State<AppState>, Console(s): Console, Query(q): Query<KeysQuery>) -> ConsoleResult {
    let rows = state.services.key_stock(&s.publisher).await.or_console(&s)?;
    let notice = match (q.added, q.threshold.as_deref()) {
        (Some(n), _) => Some(tr!("console-keys-added", count = n)),
        (None, Some(sku)) => Some(tr!("console-keys-threshold-saved", sku = sku)),
        _ => None,
    };
    Ok(page(&KeysPage {
        title: tr!("console-nav-keys"),
        section: "keys",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        can_manage: s.publisher.may(OperatorAction::ManageCatalog),
        notice,
        rows: rows.iter().map(stock_row).collect(),
    }))
}

/// `product:sku` as the forms send it.
fn split_sku(value: &str) -> Result<(&str, &str), services::Error> {
    value
        .split_once(':')
        .filter(|(p, k)| !p.is_empty() && !k.is_empty())
        .ok_or_else(|| domain::DomainError::invalid("sku", tr!("console-keys-choose-sku")).into())
}

/// The key file form without JavaScript: multipart (`sku`, then `file`), the CSRF token in the address since the
/// body is the file. All keys or none are added.
async fn import(
    State(state): State<AppState>,
    Console(s): Console,
    Query(q): Query<CsrfQuery>,
    mut multipart: Multipart,
) -> ConsoleResult {
    if !s.csrf_matches(&q.csrf) {
        return Ok(expired(&s));
    }
    let (mut sku, mut text) = (String::new(), None);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("sku") => sku = field.text().await.unwrap_or_default(),
                Some("file") => match field.text().await {
                    Ok(t) => text = Some(t),
                    Err(e) => {
                        return Ok(upload_refused(
                            &s,
                            e.status(),
                            KEY_FILE_LIMIT,
                            "file",
                            tr!("console-keys-upload-failed"),
                        ))
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                return Ok(upload_refused(&s, e.status(), KEY_FILE_LIMIT, "file", tr!("console-keys-upload-failed")))
            }
        }
    }
    let (product, sku) = split_sku(&sku).or_console(&s)?;
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        let e = domain::DomainError::invalid("file", tr!("console-keys-choose-file"));
        return Ok(refused(&s, e, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let (added, _) = state.services.import_key_file(&s.publisher, product, sku, &text).await.or_console(&s)?;
    Ok(Redirect::to(&format!("/operator/keys?added={added}")).into_response())
}

#[derive(Deserialize, Default)]
struct ChunkQuery {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    sku: String,
}

/// One chunk of a key file from the page's script (text, one key per line): `{added, available}`, or the error
/// body with the message the page shows.
async fn chunk(
    State(state): State<AppState>,
    Console(s): Console,
    Query(q): Query<ChunkQuery>,
    body: Bytes,
) -> Response {
    if !s.csrf_matches(&q.csrf) {
        return (StatusCode::FORBIDDEN, Json(serde_json::json!({"message": tr!("error-form-expired")})))
            .into_response();
    }
    let answer = async {
        let (product, sku) = split_sku(&q.sku)?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| domain::DomainError::invalid("file", tr!("console-keys-upload-failed")))?;
        state.services.import_key_file(&s.publisher, product, sku, text).await
    }
    .await;
    match answer {
        Ok((added, available)) => Json(serde_json::json!({"added": added, "available": available})).into_response(),
        Err(e) => {
            let (status, _, message) = crate::ui::error_parts(&e);
            (status, Json(serde_json::json!({"message": message}))).into_response()
        }
    }
}

#[derive(Deserialize)]
struct ThresholdForm {
    sku: String,
    #[serde(default)]
    threshold: String,
}

async fn threshold(State(state): State<AppState>, f: ConsoleForm<ThresholdForm>) -> ConsoleResult {
    let s = &f.session;
    let (product, sku) = split_sku(&f.form.sku).or_console(s)?;
    let threshold = match f.form.threshold.trim() {
        "" => None,
        t => Some(
            t.parse::<i64>()
                .map_err(|_| {
                    services::Error::from(domain::DomainError::invalid(
                        "threshold",
                        tr!("console-keys-threshold-number"),
                    ))
                })
                .or_console(s)?,
        ),
    };
    state.services.set_key_threshold(&s.publisher, product, sku, threshold).await.or_console(s)?;
    let value: String = form_urlencoded::byte_serialize(f.form.sku.as_bytes()).collect();
    Ok(Redirect::to(&format!("/operator/keys?threshold={value}")).into_response())
}

pub fn routes() -> Router<AppState> {
    let file_limit = axum::extract::DefaultBodyLimit::max(KEY_FILE_LIMIT + 64 * 1024);
    let chunk_limit = axum::extract::DefaultBodyLimit::max(CHUNK_LIMIT);
    Router::new()
        .route("/operator/keys", get_requiring(OperatorAction::ViewPlatform, keys))
        .route("/operator/keys/import", post_requiring(OperatorAction::ManageCatalog, import).layer(file_limit))
        .route("/operator/keys/chunk", post_requiring(OperatorAction::ManageCatalog, chunk).layer(chunk_limit))
        .route("/operator/keys/threshold", post_requiring(OperatorAction::ManageCatalog, threshold))
}
