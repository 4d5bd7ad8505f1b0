//! The console's catalog: products, SKUs and prices per market as tables; importing a catalog document in two
//! steps — the upload shows what would change (nothing is written), the confirmation imports the same document.

use super::forms::{expired, refused, upload_refused, CsrfQuery};
use super::{get_requiring, post_requiring, Console, ConsoleNav, ConsoleResult, OrConsole};
use crate::api::catalog_admin::CATALOG_LIMIT;
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Multipart, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use domain::catalog::ProductType;
use domain::catalog_diff::{CatalogDiff, ChangeKind, ChangeLevel, Tally};
use domain::operator::OperatorAction;
use serde::Deserialize;
use services::operators::OperatorSession;

pub struct ProductRow {
    pub id: String,
    pub title: String,
    pub product_type: String,
    pub policy: String,
    pub skus: usize,
}

pub struct PriceRow {
    pub product_id: String,
    pub sku_id: String,
    pub sku_title: String,
    pub term: String,
    pub country: String,
    pub price: String,
}

#[derive(Template)]
#[template(path = "operator/catalog.html")]
struct CatalogPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    can_manage: bool,
    notice: Option<String>,
    products: Vec<ProductRow>,
    prices: Vec<PriceRow>,
}

#[derive(Deserialize, Default)]
struct CatalogQuery {
    /// After an import: `products,skus,prices` as counted.
    #[serde(default)]
    imported: Option<String>,
}

fn policy_text(p: &domain::catalog::Product) -> String {
    use domain::cancellation::CancellationPolicy;
    match p.policy {
        CancellationPolicy::Window { days } => tr!("console-catalog-policy-window", days = days),
        CancellationPolicy::SupportRequest => tr!("console-catalog-policy-support-request"),
        CancellationPolicy::None => tr!("console-catalog-policy-none"),
    }
}

pub(super) fn type_text(t: ProductType) -> String {
    match t {
        ProductType::SoftwareSubscription => tr!("console-catalog-type-software-subscription"),
        ProductType::PerpetualSoftware => tr!("console-catalog-type-perpetual-software"),
        ProductType::ExtendedSecurityUpdate => tr!("console-catalog-type-extended-security-update"),
        ProductType::SoftwarePlan => tr!("console-catalog-type-software-plan"),
        ProductType::AzureReservation => tr!("console-catalog-type-azure-reservation"),
    }
}

async fn catalog(State(state): State<AppState>, Console(s): Console, Query(q): Query<CatalogQuery>) -> ConsoleResult {
    let (products, _) = state.services.publisher_catalog(&s.publisher).await.or_console(&s)?;
    let notice = q.imported.as_deref().and_then(|v| {
        let n: Vec<u64> = v.split(',').filter_map(|x| x.parse().ok()).collect();
        (n.len() == 3).then(|| tr!("console-catalog-imported", products = n[0], skus = n[1], prices = n[2]))
    });
    let rows = products
        .iter()
        .map(|p| ProductRow {
            id: p.id.clone(),
            title: p.title.clone(),
            product_type: type_text(p.product_type),
            policy: policy_text(p),
            skus: p.skus.len(),
        })
        .collect();
    let prices = products
        .iter()
        .flat_map(|p| {
            p.skus.iter().flat_map(move |sku| {
                sku.prices.iter().map(move |price| PriceRow {
                    product_id: p.id.clone(),
                    sku_id: sku.id.clone(),
                    sku_title: sku.title.clone(),
                    term: format::term(sku.term.map(|t| t.as_str())),
                    country: price.country.as_str().to_string(),
                    price: format::money(price.list_price, &price.currency),
                })
            })
        })
        .collect();
    Ok(page(&CatalogPage {
        title: tr!("console-nav-catalog"),
        section: "catalog",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        can_manage: s.publisher.may(OperatorAction::ManageCatalog),
        notice,
        products: rows,
        prices,
    }))
}

pub struct ChangeRow {
    pub level: String,
    pub kind: &'static str,
    pub kind_text: String,
    pub product_id: String,
    pub sku_id: String,
    pub country: String,
    pub fields: String,
    pub before: String,
    pub after: String,
}

pub struct TallyRow {
    pub level: String,
    pub added: usize,
    pub changed: usize,
    pub withdrawn: usize,
    pub unchanged: usize,
}

#[derive(Template)]
#[template(path = "operator/catalog_preview.html")]
struct PreviewPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    file_name: String,
    document: String,
    empty: bool,
    tallies: Vec<TallyRow>,
    changes: Vec<ChangeRow>,
}

fn level_text(level: ChangeLevel) -> String {
    match level {
        ChangeLevel::Product => tr!("console-catalog-level-product"),
        ChangeLevel::Sku => tr!("console-catalog-level-sku"),
        ChangeLevel::Price => tr!("console-catalog-level-price"),
    }
}

fn kind_text(kind: ChangeKind) -> String {
    match kind {
        ChangeKind::Added => tr!("console-catalog-added"),
        ChangeKind::Changed => tr!("console-catalog-changed"),
        ChangeKind::Withdrawn => tr!("console-catalog-withdrawn"),
    }
}

fn tally_row(level: ChangeLevel, t: Tally) -> TallyRow {
    TallyRow {
        level: level_text(level),
        added: t.added,
        changed: t.changed,
        withdrawn: t.withdrawn,
        unchanged: t.unchanged,
    }
}

fn preview_page(s: &OperatorSession, file_name: String, document: String, diff: &CatalogDiff) -> Response {
    page(&PreviewPage {
        title: tr!("console-catalog-preview-heading"),
        section: "catalog",
        nav: Some(ConsoleNav::of(s)),
        csrf: s.csrf.clone(),
        file_name,
        document,
        empty: diff.is_empty(),
        tallies: vec![
            tally_row(ChangeLevel::Product, diff.products),
            tally_row(ChangeLevel::Sku, diff.skus),
            tally_row(ChangeLevel::Price, diff.prices),
        ],
        changes: diff
            .changes
            .iter()
            .map(|c| ChangeRow {
                level: level_text(c.level),
                kind: c.kind.as_str(),
                kind_text: kind_text(c.kind),
                product_id: c.product_id.clone(),
                sku_id: c.sku_id.clone().unwrap_or_default(),
                country: c.country.map(|m| m.as_str().to_string()).unwrap_or_default(),
                fields: c.fields.join(", "),
                before: c.before.clone().unwrap_or_default(),
                after: c.after.clone().unwrap_or_default(),
            })
            .collect(),
    })
}

/// Step one: the uploaded document (multipart, field `document`; the CSRF token in the address, since the body is
/// the file) is checked and compared with the stored catalog. Nothing is written.
async fn preview(
    State(state): State<AppState>,
    Console(s): Console,
    Query(q): Query<CsrfQuery>,
    mut multipart: Multipart,
) -> ConsoleResult {
    if !s.csrf_matches(&q.csrf) {
        return Ok(expired(&s));
    }
    let mut found = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("document") => {
                let name = field.file_name().unwrap_or_default().to_string();
                match field.bytes().await {
                    Ok(bytes) => found = Some((name, bytes)),
                    Err(e) => {
                        return Ok(upload_refused(
                            &s,
                            e.status(),
                            CATALOG_LIMIT,
                            "document",
                            tr!("console-catalog-upload-failed"),
                        ))
                    }
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                return Ok(upload_refused(
                    &s,
                    e.status(),
                    CATALOG_LIMIT,
                    "document",
                    tr!("console-catalog-upload-failed"),
                ))
            }
        }
    }
    let Some((file_name, bytes)) = found.filter(|(_, b)| !b.is_empty()) else {
        let e = domain::DomainError::invalid("document", tr!("console-catalog-choose-file"));
        return Ok(refused(&s, e, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let Ok(document) = String::from_utf8(bytes.to_vec()) else {
        let e = domain::DomainError::invalid("document", tr!("console-catalog-not-text"));
        return Ok(refused(&s, e, StatusCode::BAD_REQUEST));
    };
    if document.contains('\0') {
        let e = domain::DomainError::invalid("document", tr!("console-catalog-not-text"));
        return Ok(refused(&s, e, StatusCode::BAD_REQUEST));
    }
    let diff = state.services.preview_catalog(&s.publisher, document.as_bytes()).await.or_console(&s)?;
    Ok(preview_page(&s, file_name, document, &diff))
}

/// Step two: the confirmation posts the previewed document back (a url-encoded form, which may be larger than the
/// console's other forms) and it is imported.
async fn import(State(state): State<AppState>, req: Request) -> ConsoleResult {
    let (mut parts, body) = req.into_parts();
    let s = match Console::from_request_parts(&mut parts, &state).await {
        Ok(Console(s)) => s,
        Err(refused) => return Ok(refused),
    };
    // Percent-encoding at most triples a document's bytes.
    let Ok(bytes) = axum::body::to_bytes(body, 3 * CATALOG_LIMIT + 4096).await else {
        return Ok(refused(
            &s,
            domain::DomainError::PayloadTooLarge(CATALOG_LIMIT as u64),
            StatusCode::PAYLOAD_TOO_LARGE,
        ));
    };
    let field = |name: &str| form_urlencoded::parse(&bytes).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if !field("csrf").is_some_and(|c| s.csrf_matches(&c)) {
        return Ok(expired(&s));
    }
    let document = field("document").unwrap_or_default();
    let counts = state.services.import_catalog(&s.publisher, document.as_bytes()).await.or_console(&s)?;
    Ok(Redirect::to(&format!("/operator/catalog?imported={},{},{}", counts.products, counts.skus, counts.prices))
        .into_response())
}

pub fn routes() -> Router<AppState> {
    // The multipart envelope adds a little to the document.
    let upload_limit = axum::extract::DefaultBodyLimit::max(CATALOG_LIMIT + 64 * 1024);
    let confirm_limit = axum::extract::DefaultBodyLimit::max(3 * CATALOG_LIMIT + 4096);
    Router::new()
        .route("/operator/catalog", get_requiring(OperatorAction::ViewPlatform, catalog))
        .route("/operator/catalog/preview", post_requiring(OperatorAction::ManageCatalog, preview).layer(upload_limit))
        .route("/operator/catalog/import", post_requiring(OperatorAction::ManageCatalog, import).layer(confirm_limit))
}
