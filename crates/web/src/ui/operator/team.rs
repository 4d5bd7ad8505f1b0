//! The operator's own people: its users and their roles (operator admins), one's own account (password, API
//! tokens), and the operator activity log with its chain check.

use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::Router;
use domain::ids::{OperatorId, TokenId};
use domain::operator::{OperatorAction, OperatorRole};
use domain::paging::{Cursor, PageSize};
use serde::Deserialize;
use services::operators::{OperatorChange, OperatorDraft};

pub struct OperatorRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<&'static str>,
    pub disabled: bool,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "operator/operators.html")]
struct OperatorsPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    operators: Vec<OperatorRow>,
    roles: Vec<&'static str>,
}

async fn operators(State(state): State<AppState>, Console(s): Console) -> ConsoleResult {
    let size = PageSize::parse(Some(500)).map_err(services::Error::from).or_console(&s)?;
    let page_of = state.services.page_operators(&s.publisher, size, None).await.or_console(&s)?;
    let me = s.operator().id;
    Ok(page(&OperatorsPage {
        title: tr!("console-operators"),
        section: "activity",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        operators: page_of
            .items
            .iter()
            .map(|o| OperatorRow {
                id: o.id.to_string(),
                email: o.email.clone(),
                name: o.display_name.clone(),
                roles: o.roles.roles().iter().map(|r| r.as_str()).collect(),
                disabled: o.disabled,
                me: o.id == me,
            })
            .collect(),
        roles: OperatorRole::ALL.iter().map(|r| r.as_str()).collect(),
    }))
}

#[derive(Deserialize)]
struct NewOperatorForm {
    email: String,
    display_name: String,
    #[serde(default)]
    password: String,
}

async fn create(State(state): State<AppState>, f: ConsoleForm<NewOperatorForm>) -> ConsoleResult {
    let s = &f.session;
    let roles = form_urlencoded::parse(&f.raw).filter(|(k, _)| k == "roles").map(|(_, v)| v.into_owned()).collect();
    let password = f.form.password.trim();
    let draft = OperatorDraft {
        email: f.form.email.clone(),
        display_name: f.form.display_name.clone(),
        roles,
        password: (!password.is_empty()).then(|| password.to_string()),
    };
    state.services.create_operator(&s.publisher, draft, None).await.or_console(s)?;
    Ok(Redirect::to("/operator/operators").into_response())
}

#[derive(Deserialize)]
struct DisableForm {
    disabled: String,
}

async fn set_disabled(
    State(state): State<AppState>,
    Path(id): Path<OperatorId>,
    f: ConsoleForm<DisableForm>,
) -> ConsoleResult {
    let s = &f.session;
    let change = OperatorChange { disabled: Some(f.form.disabled == "true"), ..OperatorChange::default() };
    state.services.update_operator(&s.publisher, id, change, None).await.or_console(s)?;
    Ok(Redirect::to("/operator/operators").into_response())
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "operator/account.html")]
struct AccountPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    email: String,
    roles: Vec<&'static str>,
    tokens: Vec<TokenRow>,
    /// A token just issued: shown this once.
    issued: Option<String>,
    notice: Option<String>,
}

async fn account_page(
    state: &AppState,
    s: &services::operators::OperatorSession,
    issued: Option<String>,
    notice: Option<String>,
) -> ConsoleResult {
    let me = s.operator();
    let tokens = state.services.list_operator_tokens(&s.publisher, me.id).await.or_console(s)?;
    let mut res = page(&AccountPage {
        title: tr!("console-account"),
        section: "account",
        nav: Some(ConsoleNav::of(s)),
        csrf: s.csrf.clone(),
        email: me.email.clone(),
        roles: me.roles.roles().iter().map(|r| r.as_str()).collect(),
        tokens: tokens
            .iter()
            .map(|t| TokenRow { id: t.id.to_string(), name: t.name.clone(), created: format::when(t.created_at) })
            .collect(),
        issued,
        notice,
    });
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Deserialize, Default)]
struct AccountNotice {
    #[serde(default)]
    done: String,
}

async fn account(State(state): State<AppState>, Console(s): Console, Query(n): Query<AccountNotice>) -> ConsoleResult {
    let notice = match n.done.as_str() {
        "password" => Some(tr!("console-password-changed")),
        "revoked" => Some(tr!("console-token-revoked")),
        _ => None,
    };
    account_page(&state, &s, None, notice).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
}

async fn change_password(State(state): State<AppState>, f: ConsoleForm<PasswordForm>) -> ConsoleResult {
    let s = &f.session;
    state.services.change_operator_password(&s.publisher, &f.form.current, &f.form.new).await.or_console(s)?;
    // Every session of the user ended with the change, this one too: sign in again with the new password.
    Ok(Redirect::to("/operator/login").into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(State(state): State<AppState>, f: ConsoleForm<TokenForm>) -> ConsoleResult {
    let s = &f.session;
    let issued =
        state.services.create_operator_token(&s.publisher, s.operator().id, &f.form.name, None).await.or_console(s)?;
    // The token is shown on this response only (no redirect that would need to carry it).
    account_page(&state, s, Some(issued.secret), None).await
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<TokenId>,
    f: ConsoleForm<super::partners::Empty>,
) -> ConsoleResult {
    let s = &f.session;
    state.services.revoke_operator_token(&s.publisher, s.operator().id, id).await.or_console(s)?;
    Ok(Redirect::to("/operator/account?done=revoked").into_response())
}

pub struct RecordRow {
    pub seq: i64,
    pub when: String,
    pub principal: String,
    pub operation: String,
    pub partner: String,
    pub data: String,
}

#[derive(Template)]
#[template(path = "operator/activity.html")]
struct ActivityPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    records: Vec<RecordRow>,
    next: Option<String>,
    valid: bool,
    count: i64,
}

#[derive(Deserialize, Default)]
struct LogPage {
    #[serde(default)]
    before: Option<i64>,
}

async fn activity(State(state): State<AppState>, Console(s): Console, Query(q): Query<LogPage>) -> ConsoleResult {
    let services = &state.services;
    let size = PageSize::parse(Some(50)).map_err(services::Error::from).or_console(&s)?;
    let after = q.before.map(|seq| Cursor { at: domain::Timestamp::from_micros(0), id: seq.to_string() });
    let page_of = services.operator_log(&s.publisher, size, after).await.or_console(&s)?;
    let verification = services.verify_operator_chain(&s.publisher).await.or_console(&s)?;
    let partners = services.find_partners(&s.publisher, "").await.or_console(&s)?;
    let partner_name = |id: Option<domain::ids::PartnerId>| {
        id.map(|id| partners.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string()))
            .unwrap_or_default()
    };
    Ok(page(&ActivityPage {
        title: tr!("console-nav-activity"),
        section: "activity",
        nav: Some(ConsoleNav::of(&s)),
        records: page_of
            .items
            .iter()
            .map(|r| RecordRow {
                seq: r.seq,
                when: format::when(r.at),
                principal: r.principal.clone(),
                operation: r.operation.clone(),
                partner: partner_name(r.partner_id),
                data: r.data.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(" · "),
            })
            .collect(),
        next: page_of.next.map(|c| format!("/operator/activity?before={}", c.id)),
        valid: verification.valid,
        count: verification.record_count,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/operator/operators",
            get_requiring(OperatorAction::ManageOperators, operators)
                .merge(post_requiring(OperatorAction::ManageOperators, create)),
        )
        .route("/operator/operators/{id}/disabled", post_requiring(OperatorAction::ManageOperators, set_disabled))
        .route("/operator/account", get_requiring(OperatorAction::OwnAccount, account))
        .route("/operator/account/password", post_requiring(OperatorAction::OwnAccount, change_password))
        .route("/operator/account/tokens", post_requiring(OperatorAction::OwnAccount, create_token))
        .route("/operator/account/tokens/{id}/revoke", post_requiring(OperatorAction::OwnAccount, revoke_token))
        .route("/operator/activity", get_requiring(OperatorAction::ManageOperators, activity))
}
