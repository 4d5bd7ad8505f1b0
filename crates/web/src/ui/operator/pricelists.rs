//! The console's price lists (issue 23): what partners pay. Lists with their effective-dated versions (a rule on the
//! list price, explicit costs pasted as CSV, or both), scheduling a draft, and — on a partner's page — assigning a
//! list and setting the credit limit. The same services as `/v1/publisher/pricelists…`.

use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::Router;
use domain::ids::{PartnerId, PriceListId};
use domain::operator::OperatorAction;
use domain::pricelist::PriceList;
use domain::Timestamp;
use serde::Deserialize;
use services::pricelists::{parse_cost_csv, VersionDraft};

pub struct ListRow {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub versions: usize,
    /// The version in effect now, as "n (since date)"; empty before the first takes effect.
    pub active: String,
}

pub struct VersionRow {
    pub number: u32,
    pub status: &'static str,
    pub effective: String,
    pub discount: String,
    pub prices: usize,
    /// A draft or scheduled version may still be (re)scheduled.
    pub schedulable: bool,
}

fn active_of(list: &PriceList, now: Timestamp) -> String {
    list.active_at(now)
        .map(|v| tr!("console-pricelist-active-since", number = v.number, date = effective(v.effective_from)))
        .unwrap_or_default()
}

fn effective(at: Option<Timestamp>) -> String {
    at.map(format::when).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "operator/pricelists.html")]
struct ListsPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    lists: Vec<ListRow>,
    can_edit: bool,
}

async fn lists(State(state): State<AppState>, Console(s): Console) -> ConsoleResult {
    let services = &state.services;
    let page_of = services.page_price_lists(&s.publisher, domain::paging::PageSize::MAX, None).await.or_console(&s)?;
    let now = services.now();
    Ok(page(&ListsPage {
        title: tr!("console-nav-pricelists"),
        section: "pricelists",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        lists: page_of
            .items
            .iter()
            .map(|l| ListRow {
                id: l.id.to_string(),
                name: l.name.clone(),
                is_default: l.is_default,
                versions: l.versions.len(),
                active: active_of(l, now),
            })
            .collect(),
        can_edit: s.publisher.may(OperatorAction::ManageCatalog),
    }))
}

#[derive(Deserialize)]
struct NewListForm {
    name: String,
    #[serde(default)]
    is_default: Option<String>,
}

async fn create(State(state): State<AppState>, f: ConsoleForm<NewListForm>) -> ConsoleResult {
    let s = &f.session;
    let is_default = f.form.is_default.is_some();
    let list = state.services.create_price_list(&s.publisher, &f.form.name, is_default, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/pricelists/{}", list.id)).into_response())
}

#[derive(Template)]
#[template(path = "operator/pricelist.html")]
struct ListPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    id: String,
    name: String,
    is_default: bool,
    active: String,
    versions: Vec<VersionRow>,
    can_edit: bool,
    /// A refused new version: why, and the form as it was typed (shown again, not lost).
    error: Option<String>,
    typed: VersionForm,
}

async fn show(State(state): State<AppState>, Console(s): Console, Path(id): Path<PriceListId>) -> ConsoleResult {
    list_page(&state, &s, id, None, VersionForm::default()).await
}

/// The list's page; after a refused version, with the reason and what was typed.
async fn list_page(
    state: &AppState,
    s: &services::operators::OperatorSession,
    id: PriceListId,
    error: Option<String>,
    typed: VersionForm,
) -> ConsoleResult {
    let services = &state.services;
    let list = services.get_price_list(&s.publisher, id).await.or_console(s)?;
    let now = services.now();
    let versions = list
        .versions
        .iter()
        .rev()
        .map(|v| {
            let status = list.status_of(v, now);
            VersionRow {
                number: v.number,
                status: status.as_str(),
                effective: effective(v.effective_from),
                discount: v.discount_percent.map(|d| format!("{d} %")).unwrap_or_default(),
                prices: v.prices.len(),
                schedulable: matches!(
                    status,
                    domain::pricelist::VersionStatus::Draft | domain::pricelist::VersionStatus::Scheduled
                ),
            }
        })
        .collect();
    Ok(page(&ListPage {
        title: list.name.clone(),
        section: "pricelists",
        nav: Some(ConsoleNav::of(s)),
        csrf: s.csrf.clone(),
        id: list.id.to_string(),
        name: list.name.clone(),
        is_default: list.is_default,
        active: active_of(&list, now),
        versions,
        can_edit: s.publisher.may(OperatorAction::ManageCatalog),
        error,
        typed,
    }))
}

#[derive(Deserialize, Default)]
struct VersionForm {
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    discount_percent: String,
    #[serde(default)]
    prices_csv: String,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

async fn add_version(
    State(state): State<AppState>,
    Path(id): Path<PriceListId>,
    f: ConsoleForm<VersionForm>,
) -> ConsoleResult {
    let s = &f.session;
    let added = async {
        let prices = match non_empty(&f.form.prices_csv) {
            Some(text) => parse_cost_csv(text.as_bytes())?,
            None => Vec::new(),
        };
        let draft = VersionDraft {
            effective_from: non_empty(&f.form.effective_from),
            discount_percent: non_empty(&f.form.discount_percent),
            prices,
        };
        state.services.add_price_list_version(&s.publisher, id, draft, None).await
    };
    match added.await {
        Ok(_) => Ok(Redirect::to(&format!("/operator/pricelists/{id}")).into_response()),
        // A refusal shows the page again with the form as typed (a pasted CSV is not lost); a fault is an error page.
        Err(e @ services::Error::Domain(_)) => {
            let (status, _, message) = crate::ui::error_parts(&e);
            let res = list_page(&state, s, id, Some(message), f.form).await?;
            Ok(crate::ui::with_error_status(res, status))
        }
        Err(e) => Err(e).or_console(s),
    }
}

#[derive(Deserialize)]
struct ScheduleForm {
    effective_from: String,
}

async fn schedule(
    State(state): State<AppState>,
    Path((id, number)): Path<(PriceListId, u32)>,
    f: ConsoleForm<ScheduleForm>,
) -> ConsoleResult {
    let s = &f.session;
    let at = f.form.effective_from.trim();
    state.services.schedule_price_list_version(&s.publisher, id, number, at, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/pricelists/{id}")).into_response())
}

#[derive(Deserialize)]
struct AssignForm {
    price_list_id: PriceListId,
}

/// On a partner's page: the list it follows from now on.
async fn assign(State(state): State<AppState>, Path(id): Path<PartnerId>, f: ConsoleForm<AssignForm>) -> ConsoleResult {
    let s = &f.session;
    state.services.assign_price_list(&s.publisher, id, f.form.price_list_id).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{id}#pricing")).into_response())
}

#[derive(Deserialize)]
struct CreditLimitForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
}

/// On a partner's page: its credit limit (an empty amount removes it).
async fn set_credit_limit(
    State(state): State<AppState>,
    Path(id): Path<PartnerId>,
    f: ConsoleForm<CreditLimitForm>,
) -> ConsoleResult {
    let s = &f.session;
    let amount = non_empty(&f.form.amount);
    let currency = non_empty(&f.form.currency).map(|c| c.to_ascii_uppercase());
    let services = &state.services;
    services.set_credit_limit(&s.publisher, id, amount.as_deref(), currency.as_deref()).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{id}#pricing")).into_response())
}

/// What a partner's page shows of its economics: the list it follows and its credit limit, with the forms its
/// operator may use.
pub struct PartnerPricing {
    /// (id, name) of the list the partner follows; none: list prices.
    pub list: Option<(String, String)>,
    /// Every list, (id, name), for the assignment's choice.
    pub lists: Vec<(String, String)>,
    /// (limit, used, left), with their currency, when the partner has a limit.
    pub credit: Option<(String, String, String)>,
    pub can_assign: bool,
    pub can_limit: bool,
}

pub(super) async fn partner_pricing(
    state: &AppState,
    s: &services::operators::OperatorSession,
    id: PartnerId,
) -> Result<PartnerPricing, super::ConsoleError> {
    let services = &state.services;
    let list = services.assigned_price_list(&s.publisher, id).await.or_console(s)?;
    let lists = services.page_price_lists(&s.publisher, domain::paging::PageSize::MAX, None).await.or_console(s)?;
    let credit = services.partner_credit_standing(&s.publisher, id).await.or_console(s)?;
    Ok(PartnerPricing {
        list: list.map(|l| (l.id.to_string(), l.name)),
        lists: lists.items.into_iter().map(|l| (l.id.to_string(), l.name)).collect(),
        credit: credit.map(|c| {
            let money = |m| format::money(m, &c.limit.currency);
            (money(c.limit.amount), money(c.used), money(c.available()))
        }),
        can_assign: s.publisher.may(OperatorAction::ManageCatalog),
        can_limit: s.publisher.may(OperatorAction::Billing),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/operator/pricelists",
            get_requiring(OperatorAction::ViewPlatform, lists)
                .merge(post_requiring(OperatorAction::ManageCatalog, create)),
        )
        .route("/operator/pricelists/{id}", get_requiring(OperatorAction::ViewPlatform, show))
        .route("/operator/pricelists/{id}/versions", post_requiring(OperatorAction::ManageCatalog, add_version))
        .route(
            "/operator/pricelists/{id}/versions/{number}/schedule",
            post_requiring(OperatorAction::ManageCatalog, schedule),
        )
        .route("/operator/partners/{id}/pricelist", post_requiring(OperatorAction::ManageCatalog, assign))
        .route("/operator/partners/{id}/creditlimit", post_requiring(OperatorAction::Billing, set_credit_limit))
}
