//! The console's partners: search, onboard (sandbox and clock start), and one partner's users and roles, tokens
//! (revoke), customers and orders (read-only), invoices and test clock.

use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::admin::{invoice_row, InvoiceRow};
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::Router;
use domain::ids::{PartnerId, TenantId, TokenId, UserId};
use domain::operator::OperatorAction;
use domain::role::Role;
use serde::Deserialize;
use services::users::UserDraft;

pub struct PartnerRow {
    pub id: String,
    pub name: String,
    pub sandbox: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "operator/partners.html")]
struct PartnersPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    q: String,
    partners: Vec<PartnerRow>,
    can_manage: bool,
}

#[derive(Deserialize, Default)]
struct Search {
    #[serde(default)]
    q: String,
}

async fn list(State(state): State<AppState>, Console(s): Console, Query(search): Query<Search>) -> ConsoleResult {
    let partners = state.services.find_partners(&s.publisher, &search.q).await.or_console(&s)?;
    let rows = partners
        .iter()
        .map(|p| PartnerRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            sandbox: p.sandbox,
            created: format::date(p.created_at.date()),
        })
        .collect();
    Ok(page(&PartnersPage {
        title: tr!("console-nav-partners"),
        section: "partners",
        csrf: s.csrf.clone(),
        can_manage: s.publisher.may(OperatorAction::ManagePartners),
        nav: Some(ConsoleNav::of(&s)),
        q: search.q,
        partners: rows,
    }))
}

#[derive(Deserialize)]
struct NewPartnerForm {
    name: String,
    #[serde(default)]
    sandbox: Option<String>,
    /// A date (YYYY-MM-DD) the sandbox clock starts at; empty: now.
    #[serde(default)]
    clock_start: String,
}

async fn create(State(state): State<AppState>, f: ConsoleForm<NewPartnerForm>) -> ConsoleResult {
    let s = &f.session;
    let start = f.form.clock_start.trim();
    let start = (!start.is_empty()).then(|| format!("{start}T00:00:00Z"));
    let partner = state
        .services
        .create_partner(&s.publisher, &f.form.name, f.form.sandbox.is_some(), start.as_deref(), None)
        .await
        .or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{}", partner.id)).into_response())
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
}

pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<&'static str>,
    pub disabled: bool,
    pub tokens: Vec<TokenRow>,
}

pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub market: String,
}

#[derive(Template)]
#[template(path = "operator/partner.html")]
struct PartnerPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    id: String,
    name: String,
    sandbox: bool,
    now: String,
    users: Vec<UserRow>,
    customers: Vec<CustomerRow>,
    invoices: Vec<InvoiceRow>,
    roles: Vec<&'static str>,
    can_manage: bool,
    can_bill: bool,
    pricing: super::pricelists::PartnerPricing,
}

async fn show(State(state): State<AppState>, Console(s): Console, Path(id): Path<PartnerId>) -> ConsoleResult {
    let o = state.services.partner_overview(&s.publisher, id).await.or_console(&s)?;
    let pricing = super::pricelists::partner_pricing(&state, &s, id).await?;
    let users = o
        .users
        .iter()
        .map(|(u, tokens)| UserRow {
            id: u.id.to_string(),
            email: u.email.clone(),
            name: u.display_name.clone(),
            roles: u.roles.roles().iter().map(|r| r.as_str()).collect(),
            disabled: u.disabled,
            tokens: tokens
                .iter()
                .map(|t| TokenRow { id: t.id.to_string(), name: t.name.clone(), created: format::when(t.created_at) })
                .collect(),
        })
        .collect();
    let customers = o
        .customers
        .iter()
        .map(|c| CustomerRow {
            id: c.tenant_id.to_string(),
            name: c.company_name.clone(),
            domain: c.domain.clone(),
            market: c.market.as_str().to_string(),
        })
        .collect();
    Ok(page(&PartnerPage {
        title: o.partner.name.clone(),
        section: "partners",
        csrf: s.csrf.clone(),
        id: o.partner.id.to_string(),
        name: o.partner.name.clone(),
        sandbox: o.partner.sandbox,
        now: format::when(o.now),
        users,
        customers,
        invoices: o.invoices.iter().map(invoice_row).collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        can_manage: s.publisher.may(OperatorAction::ManagePartners),
        can_bill: s.publisher.may(OperatorAction::Billing),
        pricing,
        nav: Some(ConsoleNav::of(&s)),
    }))
}

#[derive(Deserialize)]
struct NewUserForm {
    email: String,
    display_name: String,
    #[serde(default)]
    password: String,
}

/// `roles=a&roles=b` as a form posts a group of checkboxes.
fn roles_of(body: &[u8]) -> Vec<String> {
    form_urlencoded::parse(body).filter(|(k, _)| k == "roles").map(|(_, v)| v.into_owned()).collect()
}

async fn add_user(
    State(state): State<AppState>,
    Path(id): Path<PartnerId>,
    f: ConsoleForm<NewUserForm>,
) -> ConsoleResult {
    let s = &f.session;
    let password = f.form.password.trim();
    let draft = UserDraft {
        email: f.form.email.clone(),
        display_name: f.form.display_name.clone(),
        // The role checkboxes post `roles` once each.
        roles: roles_of(&f.raw),
        password: (!password.is_empty()).then(|| password.to_string()),
    };
    state.services.publisher_create_user(&s.publisher, id, draft, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{id}#users")).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    Path((id, user, token)): Path<(PartnerId, UserId, TokenId)>,
    f: ConsoleForm<Empty>,
) -> ConsoleResult {
    let s = &f.session;
    state.services.publisher_revoke_partner_token(&s.publisher, id, user, token).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{id}#users")).into_response())
}

#[derive(Deserialize)]
pub(super) struct Empty {}

#[derive(Deserialize)]
struct ClockForm {
    days: String,
}

async fn advance_clock(
    State(state): State<AppState>,
    Path(id): Path<PartnerId>,
    f: ConsoleForm<ClockForm>,
) -> ConsoleResult {
    let s = &f.session;
    let days = f.form.days.trim().parse::<i64>().map_err(|_| {
        super::ConsoleError(
            domain::DomainError::invalid("days", "must be a whole number").into(),
            Some(Box::new(ConsoleNav::of(s))),
        )
    })?;
    state.services.publisher_advance_clock(&s.publisher, id, days, 0, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/partners/{id}")).into_response())
}

pub struct OrderRow {
    pub id: String,
    pub placed: String,
    pub total: String,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "operator/partner_customer.html")]
struct CustomerPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    partner_id: String,
    partner: String,
    customer: String,
    domain: String,
    orders: Vec<OrderRow>,
}

async fn customer(
    State(state): State<AppState>,
    Console(s): Console,
    Path((id, customer)): Path<(PartnerId, TenantId)>,
) -> ConsoleResult {
    let (partner, customer, orders) =
        state.services.partner_customer_orders(&s.publisher, id, customer).await.or_console(&s)?;
    let orders = orders
        .iter()
        .map(|o| OrderRow {
            id: o.id.to_string(),
            placed: format::when(o.created_at),
            total: format::money(o.totals().gross, &o.currency),
            lines: o.lines.iter().map(|l| format!("{} × {}", l.pricing.quantity, l.title)).collect(),
        })
        .collect();
    Ok(page(&CustomerPage {
        title: customer.company_name.clone(),
        section: "partners",
        nav: Some(ConsoleNav::of(&s)),
        partner_id: partner.id.to_string(),
        partner: partner.name,
        customer: customer.company_name,
        domain: customer.domain,
        orders,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/operator/partners",
            get_requiring(OperatorAction::ViewPlatform, list)
                .merge(post_requiring(OperatorAction::ManagePartners, create)),
        )
        .route("/operator/partners/{id}", get_requiring(OperatorAction::ViewPlatform, show))
        .route("/operator/partners/{id}/users", post_requiring(OperatorAction::ManagePartners, add_user))
        .route(
            "/operator/partners/{id}/users/{user}/tokens/{token}/revoke",
            post_requiring(OperatorAction::ManagePartners, revoke_token),
        )
        .route("/operator/partners/{id}/clock", post_requiring(OperatorAction::ManagePartners, advance_clock))
        .route("/operator/partners/{id}/customers/{customer}", get_requiring(OperatorAction::ViewPlatform, customer))
}
