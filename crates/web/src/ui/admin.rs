//! The Activity log, Billing and Settings pages.

use super::format::{self, filters};
use super::{page, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::i18n::{self, tr};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use domain::paging::{Cursor, PageSize};
use domain::policy::Action;
use domain::role::Role;
use serde::Deserialize;
use services::audit::LogPosition;

pub struct RecordRow {
    pub date: String,
    pub who: String,
    pub kind: String,
    pub customer: String,
    /// What the record says in words (file, amount, status…).
    pub details: Vec<(String, String)>,
    /// Ids, address and user agent: behind a disclosure.
    pub more: Vec<(String, String)>,
}

/// Whether a record's detail is for tracing rather than reading: ids, the caller's address and user agent.
fn technical(key: &str) -> bool {
    key.ends_with("Id") || matches!(key, "ipAddress" | "userAgent" | "replay" | "counted")
}

impl RecordRow {
    fn of(r: &domain::audit::AuditRecord) -> RecordRow {
        let (more, details): (Vec<_>, Vec<_>) =
            r.customized_data.iter().map(|(k, v)| (k.as_str(), v.clone())).partition(|(k, _)| technical(k));
        let words = |v: Vec<(&str, String)>| v.into_iter().map(|(k, v)| (format::key_words(k), v)).collect();
        RecordRow {
            date: format::when(r.operation_date),
            who: r.user_principal_name.clone(),
            kind: format::words(&r.operation_type),
            customer: r.customer_name.clone().unwrap_or_default(),
            details: words(details),
            more: words(more),
        }
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    start: String,
    end: String,
    kind: String,
    kinds: Vec<(&'static str, String)>,
    records: Vec<RecordRow>,
    csv: String,
    /// Older records (Next) and newer ones (Previous): the log reads newest first.
    next_page: Option<String>,
    previous_page: Option<String>,
    /// A refused date range, said next to the dates (which are kept as typed).
    problem: Option<super::FieldProblem>,
}

#[derive(Deserialize, Default)]
struct ActivityQuery {
    start: Option<String>,
    end: Option<String>,
    kind: Option<String>,
    /// Records older than this cursor (Next).
    after: Option<String>,
    /// Records newer than this cursor (Previous).
    before: Option<String>,
}

/// The kinds the page filters by, in words; key views and downloads by default, as in the article.
fn kinds() -> Vec<(&'static str, String)> {
    vec![
        ("software", tr!("activity-kind-software")),
        ("all", tr!("activity-kind-all")),
        ("create_order", tr!("activity-kind-create-order")),
        ("update_order", tr!("activity-kind-update-order")),
        ("get_software_key", tr!("activity-kind-get-software-key")),
        ("download_software", tr!("activity-kind-download-software")),
        ("create_service_request", tr!("activity-kind-create-service-request")),
        ("update_service_request", tr!("activity-kind-update-service-request")),
        ("create_customer", tr!("activity-kind-create-customer")),
    ]
}

/// The kind asked for, when the page knows it; key views and downloads otherwise.
fn chosen_kind(asked: &Option<String>) -> String {
    asked.clone().filter(|k| kinds().iter().any(|(v, _)| v == k)).unwrap_or_else(|| "software".into())
}

fn kind_filter(kind: &str) -> Option<String> {
    match kind {
        "all" => None,
        "software" => Some(r#"{"Field": "ResourceType", "Value": "software", "Operator": "equals"}"#.to_string()),
        k => Some(serde_json::json!({"Field": "OperationType", "Value": k, "Operator": "equals"}).to_string()),
    }
}

fn query_string(q: &ActivityQuery, kind: &str, position: Option<(&str, &Cursor)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("start", q.start.as_deref().unwrap_or("")).append_pair("end", q.end.as_deref().unwrap_or(""));
    s.append_pair("kind", kind);
    if let Some((name, cursor)) = position {
        s.append_pair(name, &cursor.encode());
    }
    s.finish()
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn activity(State(state): State<AppState>, Signed(s): Signed, Query(q): Query<ActivityQuery>) -> UiResult {
    let kind = chosen_kind(&q.kind);
    let query =
        match state.services.audit_query(&s.actor, blank(&q.start), blank(&q.end), kind_filter(&kind).as_deref()) {
            Ok(query) => query,
            Err(e) => {
                let Some(mut problem) = super::form_problem(&e) else { return Err(e).or_page(&s) };
                problem.field = "dates".into();
                let status = problem.status;
                let res = page(&ActivityPage {
                    title: tr!("nav-activity"),
                    section: "activity",
                    nav: Some(Nav::of(&s)),
                    start: q.start.clone().unwrap_or_default(),
                    end: q.end.clone().unwrap_or_default(),
                    csv: String::new(),
                    kind,
                    kinds: kinds(),
                    records: Vec::new(),
                    next_page: None,
                    previous_page: None,
                    problem: Some(problem),
                });
                return Ok(super::with_status(res, status));
            }
        };
    let decode = |c: &Option<String>| c.as_deref().map(Cursor::decode).transpose().map_err(services::Error::from);
    let position = match (decode(&q.after).or_page(&s)?, decode(&q.before).or_page(&s)?) {
        (Some(c), _) => Some(LogPosition::Older(c)),
        (None, Some(c)) => Some(LogPosition::Newer(c)),
        (None, None) => None,
    };
    let size = PageSize::parse(Some(50)).map_err(services::Error::from).or_page(&s)?;
    let found = state.services.activity_page(&s.actor, &query, size, position).await.or_page(&s)?;
    let records = found.items.iter().map(RecordRow::of).collect();
    let link = |name, c: Option<Cursor>| c.map(|c| format!("/activity?{}", query_string(&q, &kind, Some((name, &c)))));
    let next_page = link("after", found.older);
    let previous_page = link("before", found.newer);
    Ok(page(&ActivityPage {
        title: tr!("nav-activity"),
        section: "activity",
        nav: Some(Nav::of(&s)),
        start: query.range.from.date().to_string(),
        end: query.range.until.plus_micros(-1).date().to_string(),
        csv: format!("/activity.csv?{}", query_string(&q, &kind, None)),
        kind,
        kinds: kinds(),
        records,
        next_page,
        previous_page,
        problem: None,
    }))
}

async fn activity_csv(State(state): State<AppState>, Signed(s): Signed, Query(q): Query<ActivityQuery>) -> UiResult {
    let kind = chosen_kind(&q.kind);
    let query = state
        .services
        .audit_query(&s.actor, blank(&q.start), blank(&q.end), kind_filter(&kind).as_deref())
        .or_page(&s)?;
    crate::api::audit::csv_export(&state, &s.actor, query).or_page(&s)
}

pub struct InvoiceRow {
    pub id: String,
    pub date: String,
    pub period: String,
    pub currency: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

pub(crate) fn invoice_row(i: &domain::invoice::Invoice) -> InvoiceRow {
    InvoiceRow {
        id: i.id.to_string(),
        date: format::date(i.invoice_date()),
        period: format::month(i.period.year, u8::from(i.period.month)),
        currency: i.currency.clone(),
        subtotal: format::money(i.subtotal, &i.currency),
        tax: format::money(i.tax_total, &i.currency),
        total: format::money(i.total_charges, &i.currency),
    }
}

#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    invoices: Vec<InvoiceRow>,
    unbilled_totals: Vec<UnbilledRow>,
    unbilled: Vec<InvoiceLineRow>,
    /// Rows not shown (the newest are); the API pages through them all.
    unbilled_more: usize,
    /// The credit limit, what is used and the room left (issue 23), when the publisher set one.
    credit: Option<(String, String, String)>,
}

/// One currency's charges and credits not invoiced yet.
pub struct UnbilledRow {
    pub currency: String,
    pub charges: String,
    pub credits: String,
    pub total: String,
}

/// The most rows not invoiced yet the page lists (newest first); the totals count them all.
const UNBILLED_SHOWN: usize = 100;

async fn billing(State(state): State<AppState>, Signed(s): Signed) -> UiResult {
    // One invoice per month and currency: the first (largest) page holds decades of them.
    let list = state.services.list_invoices(&s.actor, PageSize::MAX, None).await.or_page(&s)?.items;
    let unbilled = state.services.unbilled(&s.actor).await.or_page(&s)?;
    let shown: Vec<InvoiceLineRow> = unbilled.lines.iter().rev().take(UNBILLED_SHOWN).map(line_row).collect();
    let credit = state.services.credit_standing(&s.actor).await.or_page(&s)?.map(|c| {
        let cur = &c.limit.currency;
        (format::money(c.limit.amount, cur), format::money(c.used, cur), format::money(c.available(), cur))
    });
    Ok(page(&BillingPage {
        title: tr!("nav-billing"),
        section: "billing",
        nav: Some(Nav::of(&s)),
        invoices: list.iter().map(invoice_row).collect(),
        unbilled_totals: unbilled
            .totals
            .iter()
            .map(|t| UnbilledRow {
                currency: t.currency.clone(),
                charges: format::money(t.charges, &t.currency),
                credits: format::money(t.credits, &t.currency),
                total: format::money(t.total, &t.currency),
            })
            .collect(),
        unbilled_more: unbilled.lines.len().saturating_sub(shown.len()),
        unbilled: shown,
        credit,
    }))
}

/// A ledger row as the invoice page and the billing page's "not invoiced yet" list show it.
pub(crate) fn line_row(l: &domain::invoice::InvoiceLine) -> InvoiceLineRow {
    let cur = &l.currency;
    InvoiceLineRow {
        when: format::when(l.at),
        kind: format::words(l.charge_type.as_str()),
        kind_code: l.charge_type.as_str(),
        customer: l.customer_domain.clone().unwrap_or_default(),
        order: l
            .order_id
            .map(|o| tr!("invoice-order-line", order = o.to_string(), line = l.line_number.unwrap_or(0) + 1))
            .unwrap_or_default(),
        product: l.product_name.clone().unwrap_or_else(|| tr!("invoice-refund")),
        quantity: l.quantity,
        unit: format::money(l.unit_price, cur),
        subtotal: format::money(l.subtotal, cur),
        tax: format::money(l.tax_total, cur),
        total: format::money(l.total, cur),
    }
}

pub struct InvoiceLineRow {
    pub when: String,
    /// The ledger kind in words, and as its code (the row's style).
    pub kind: String,
    pub kind_code: &'static str,
    pub customer: String,
    pub order: String,
    pub product: String,
    pub quantity: i64,
    pub unit: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    invoice: InvoiceRow,
    lines: Vec<InvoiceLineRow>,
}

async fn invoice(State(state): State<AppState>, Signed(s): Signed, Path(id): Path<String>) -> UiResult {
    let (invoice, lines) = state.services.all_invoice_lines(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    Ok(page(&InvoicePage {
        title: tr!("invoice-title", period = format::month(invoice.period.year, u8::from(invoice.period.month))),
        section: "billing",
        nav: Some(Nav::of(&s)),
        invoice: invoice_row(&invoice),
        lines: lines.iter().map(line_row).collect(),
    }))
}

async fn invoice_csv(State(state): State<AppState>, Signed(s): Signed, Path(id): Path<String>) -> UiResult {
    let (invoice, lines) = state.services.all_invoice_lines(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    let body = crate::api::invoices::csv_document(&lines);
    let disposition = format!("attachment; filename=\"invoice-{}-{}.csv\"", invoice.period, invoice.currency);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub revoked: bool,
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Every role, and whether the user has it.
    pub role_choices: Vec<(&'static str, bool)>,
    /// The roles the user has, in words.
    pub roles: String,
    pub disabled: bool,
}

/// What a role is for, in the words of the Partner Center roles it mirrors (R2): the catalog's `role-about-<role>`;
/// what it may do follows from the policy (the test below holds the English to it).
fn role_description(role: Role) -> String {
    i18n::t(&format!("role-about-{}", role.as_str()))
}

/// A role and its description, for the Settings page.
pub struct RoleHelp {
    pub name: &'static str,
    pub description: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    nav_csrf: String,
    new_token: Option<String>,
    error: Option<String>,
    tokens: Vec<TokenRow>,
    is_admin: bool,
    manage_prices: bool,
    users: Vec<UserRow>,
    all_roles: Vec<&'static str>,
    role_help: Vec<RoleHelp>,
    /// The saved language's tag, or empty when the pages follow the browser.
    saved_language: String,
    languages: Vec<super::LanguageChoice>,
}

async fn settings_page(
    state: &AppState,
    s: &services::sessions::SessionActor,
    new_token: Option<String>,
    error: Option<String>,
) -> UiResult {
    let tokens = state.services.list_my_tokens(&s.actor, PageSize::MAX, None).await.or_page(s)?.items;
    let is_admin = super::can(s, Action::ManageUsers);
    let users = if is_admin {
        state.services.list_users(&s.actor, PageSize::MAX, None).await.or_page(s)?.items
    } else {
        Vec::new()
    };
    Ok(page(&SettingsPage {
        title: tr!("nav-settings"),
        section: "settings",
        nav: Some(Nav::of(s)),
        nav_csrf: s.csrf.clone(),
        new_token,
        error,
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                created: format::date(t.created_at.date()),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        is_admin,
        manage_prices: super::can(s, Action::ManagePrices),
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                name: u.display_name.clone(),
                email: u.email.clone(),
                role_choices: Role::ALL.iter().map(|r| (r.as_str(), u.roles.contains(*r))).collect(),
                roles: Role::ALL
                    .iter()
                    .filter(|r| u.roles.contains(**r))
                    .map(|r| format::words(r.as_str()))
                    .collect::<Vec<_>>()
                    .join(&tr!("list-comma")),
                disabled: u.disabled,
            })
            .collect(),
        all_roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        role_help: Role::ALL.iter().map(|r| RoleHelp { name: r.as_str(), description: role_description(*r) }).collect(),
        saved_language: s.language.as_deref().and_then(i18n::Locale::parse).map(|l| l.tag()).unwrap_or("").to_string(),
        languages: i18n::Locale::all().map(|l| super::LanguageChoice { tag: l.tag(), name: l.name() }).collect(),
    }))
}

async fn settings(State(state): State<AppState>, Signed(s): Signed) -> UiResult {
    settings_page(&state, &s, None, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<TokenForm>,
) -> UiResult {
    match state.services.create_my_token(&s.actor, &form.name, None).await {
        Ok(t) => settings_page(&state, &s, Some(t.secret), None).await,
        Err(services::Error::Domain(d)) => settings_page(&state, &s, None, Some(d.to_string())).await,
        Err(e) => Err(super::UiError(e, None)),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm<serde::de::IgnoredAny>,
) -> UiResult {
    state.services.revoke_my_token(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    Ok(Redirect::to("/settings").into_response())
}

async fn add_user(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<Vec<(String, String)>>,
) -> UiResult {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let draft = services::users::UserDraft {
        email: field("email"),
        display_name: field("displayName"),
        roles: form.iter().filter(|(n, _)| n == "roles").map(|(_, v)| v.clone()).collect(),
        password: Some(field("password")).filter(|p| !p.is_empty()),
    };
    match state.services.create_user(&s.actor, draft, None).await {
        Ok(_) => Ok(Redirect::to("/settings").into_response()),
        Err(services::Error::Domain(d @ domain::DomainError::InvalidRequest(_)))
        | Err(services::Error::Domain(d @ domain::DomainError::Conflict(_))) => {
            settings_page(&state, &s, None, Some(d.to_string())).await
        }
        Err(e) => Err(super::UiError(e, Some(Box::new(Nav::of(&s))))),
    }
}

/// A global admin changes a user's roles or disables the user (the same rules as `PATCH /v1/users/{id}`).
async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm<Vec<(String, String)>>,
) -> UiResult {
    let roles: Vec<String> = form.iter().filter(|(n, _)| n == "roles").map(|(_, v)| v.clone()).collect();
    let disabled = form.iter().any(|(n, v)| n == "disabled" && v == "true");
    match state
        .services
        .update_user(&s.actor, parse_id(&id).or_page(&s)?, None, Some(&roles), Some(disabled), None)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings").into_response()),
        Err(services::Error::Domain(d @ domain::DomainError::InvalidRequest(_))) => {
            settings_page(&state, &s, None, Some(d.to_string())).await
        }
        Err(e) => Err(super::UiError(e, Some(Box::new(Nav::of(&s))))),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    lang: String,
}

/// Saves the language the user reads the pages in (empty: follow the browser), and shows Settings in it.
async fn save_language(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<LanguageForm>,
) -> UiResult {
    let chosen = match form.lang.trim() {
        "" => None,
        tag => Some(
            i18n::Locale::parse(tag)
                .ok_or_else(|| {
                    services::Error::from(domain::DomainError::InvalidRequest(tr!("error-unknown-language")))
                })
                .or_page(&s)?,
        ),
    };
    state.services.save_language(&s.actor, chosen.map(|l| l.tag())).await.or_page(&s)?;
    let mut res = Redirect::to("/settings").into_response();
    super::pages::remember_language(&mut res, chosen, &state);
    Ok(res)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/activity", get(activity))
        .route("/activity.csv", get(activity_csv))
        .route("/billing", get(billing))
        .route("/billing/{invoice_id}", get(invoice))
        .route("/billing/{invoice_id}/lineitems.csv", get(invoice_csv))
        .route("/settings", get(settings))
        .route("/settings/language", super::post_requiring(domain::policy::Action::OwnProfile, save_language))
        .route("/settings/tokens", super::post_requiring(domain::policy::Action::OwnProfile, create_token))
        .route(
            "/settings/tokens/{token_id}/revoke",
            super::post_requiring(domain::policy::Action::OwnProfile, revoke_token),
        )
        .route("/settings/users", super::post_requiring(domain::policy::Action::ManageUsers, add_user))
        .route("/settings/users/{user_id}", super::post_requiring(domain::policy::Action::ManageUsers, update_user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::policy::permits;
    use domain::role::RoleSet;

    /// The descriptions on Settings say what the policy allows, and nothing it does not.
    #[test]
    fn role_descriptions_agree_with_the_policy() {
        let claims = [
            ("Adds customers", Action::CreateCustomer),
            ("buys for", Action::BuyForCustomer),
            ("activity log", Action::ReadActivityLog),
            ("billing", Action::ReadInvoices),
            ("activation keys", Action::GetKeysAndDownloads),
            ("cancels", Action::CancelPurchase),
            ("users", Action::ManageUsers),
        ];
        for role in Role::ALL {
            let text = role_description(role).to_lowercase();
            let roles = RoleSet::new([role]).unwrap();
            for (phrase, action) in claims {
                assert_eq!(
                    text.contains(&phrase.to_lowercase()),
                    permits(&roles, action),
                    "{role:?}: {text:?} and {phrase:?} ({action:?})"
                );
            }
        }
    }
}
