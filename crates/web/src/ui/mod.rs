//! The dashboard (SPEC §6): server-rendered pages over the same services as the API. Sign-in with a session
//! cookie; every form that changes anything carries the session's CSRF token; security headers on every page.

mod admin;
mod customers;
pub mod format;
pub mod links;
mod operator;
mod orders;
mod pages;
mod prices;
mod statement;
mod support;
mod webhooks;

use crate::i18n::{self, tr, Locale};
use crate::AppState;
use askama::Template;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use domain::policy::{permits, Action};
use format::filters;
use serde::de::DeserializeOwned;
use services::sessions::SessionActor;

pub const SESSION_COOKIE: &str = "ph_session";

/// What the layout shows: who is signed in and the sections their roles may open.
pub struct Nav {
    pub email: String,
    pub partner: String,
    pub csrf: String,
    pub activity: bool,
    pub billing: bool,
    pub admin: bool,
}

impl Nav {
    pub fn of(s: &SessionActor) -> Nav {
        let roles = &s.actor.user.roles;
        Nav {
            email: s.actor.user.email.clone(),
            partner: s.actor.partner.name.clone(),
            csrf: s.csrf.clone(),
            activity: permits(roles, Action::ReadActivityLog),
            billing: permits(roles, Action::ReadInvoices),
            admin: permits(roles, Action::ManageUsers),
        }
    }
}

/// A language the switch offers: every one but the page's own.
pub struct LanguageChoice {
    pub tag: &'static str,
    pub name: String,
}

pub fn language_choices() -> Vec<LanguageChoice> {
    let current = i18n::current();
    Locale::all().filter(|l| *l != current).map(|l| LanguageChoice { tag: l.tag(), name: l.name() }).collect()
}

pub fn can(s: &SessionActor, action: Action) -> bool {
    permits(&s.actor.user.roles, action)
}

/// Renders a template as a page.
pub fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<Nav>,
    heading: String,
    message: String,
}

/// A failed page: 403 naming the roles that may, 404, 400 with the rule's message; internal causes are logged.
pub struct UiError(pub services::Error, pub Option<Box<Nav>>);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, heading, message) = error_parts(&self.0);
        let title = heading.clone();
        let res = page(&ErrorPage { title, section: "", nav: self.1.map(|n| *n), heading, message });
        with_error_status(res, status)
    }
}

/// An error page's status, heading and message (the dashboard's and the console's): 403 naming the roles that
/// may, 404, 400 with the rule's message; internal causes are logged, never shown.
pub(crate) fn error_parts(e: &services::Error) -> (StatusCode, String, String) {
    match e {
        services::Error::Domain(d) => {
            let status = crate::error::status_of(d);
            let heading = match status {
                StatusCode::FORBIDDEN => tr!("error-forbidden"),
                StatusCode::NOT_FOUND => tr!("error-not-found"),
                _ => tr!("error-refused"),
            };
            let message = match d {
                domain::DomainError::NotFound => tr!("error-not-found-text"),
                domain::DomainError::Forbidden { allowed } => {
                    tr!("error-forbidden-text", roles = format::list(allowed.iter().map(|r| format::words(r))))
                }
                other => rule_message(other),
            };
            (status, heading, message)
        }
        services::Error::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, tr!("error-internal"), tr!("error-internal-text"))
        }
        services::Error::Unavailable(cause) => {
            tracing::warn!(%cause, "database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, tr!("error-unavailable"), tr!("error-unavailable-text"))
        }
    }
}

/// Gives an error page its status (and `Retry-After` when the database is away).
pub(crate) fn with_error_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::error::RETRY_AFTER_UNAVAILABLE_SECS.into());
    }
    res
}

pub type UiResult = Result<Response, UiError>;

/// Maps a use case's error to an error page in the signed-in layout.
pub trait OrPage<T> {
    fn or_page(self, s: &SessionActor) -> Result<T, UiError>;
}

impl<T> OrPage<T> for services::Result<T> {
    fn or_page(self, s: &SessionActor) -> Result<T, UiError> {
        self.map_err(|e| UiError(e, Some(Box::new(Nav::of(s)))))
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A signed-in page request; without a live session, the browser is sent to `/login` and back.
pub struct Signed(pub SessionActor);

impl<S: Send + Sync> FromRequestParts<S> for Signed
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let app = AppState::from_ref(state);
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or("");
        match app.services.session(token).await {
            Ok(Some(s)) => {
                tracing::Span::current().record("partner", tracing::field::display(s.actor.partner.id));
                // The user's saved language outranks the browser's.
                if let Some(saved) = s.language.as_deref().and_then(Locale::parse) {
                    i18n::set_current(saved);
                }
                // The route's declared action, before any form is read (the services check it again).
                if let Some(crate::api::Requires(action)) = parts.extensions.get::<crate::api::Requires>().copied() {
                    if let Err(e) = s.actor.authorize(action) {
                        return Err(UiError(e, Some(Box::new(Nav::of(&s)))).into_response());
                    }
                }
                Ok(Signed(s))
            }
            Ok(None) => {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/customers");
                let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(UiError(e, None).into_response()),
        }
    }
}

/// A signed-in form post: the session, and the form, whose `csrf` field must be the session's.
pub struct SignedForm<T> {
    pub session: SessionActor,
    pub form: T,
}

/// Largest form accepted (file uploads have routes of their own).
const FORM_LIMIT: usize = 256 * 1024;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SignedForm<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Signed(session) = Signed::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            UiError(domain::DomainError::PayloadTooLarge(FORM_LIMIT as u64).into(), Some(Box::new(Nav::of(&session))))
                .into_response()
        })?;
        let csrf = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        if !csrf.is_some_and(|c| session.csrf_matches(&c)) {
            let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
            let mut res = UiError(e.into(), Some(Box::new(Nav::of(&session)))).into_response();
            *res.status_mut() = StatusCode::FORBIDDEN;
            return Err(res);
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            UiError(domain::DomainError::InvalidRequest(format!("form: {e}")).into(), Some(Box::new(Nav::of(&session))))
                .into_response()
        })?;
        Ok(SignedForm { session, form })
    }
}

/// Security headers of every dashboard response: no inline script, no framing, no sniffing, no referrer leaks.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    set_security_headers(res.headers_mut());
    res
}

/// The headers every dashboard page carries (also a page served from an API route, such as a download link's).
pub fn set_security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

async fn stylesheet() -> Response {
    static_asset("text/css; charset=utf-8", include_str!("../../static/app.css"))
}

async fn script() -> Response {
    static_asset("text/javascript; charset=utf-8", include_str!("../../static/app.js"))
}

fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// A form post whose signed-in user must be allowed `action` (R2): refused with 403 before the form is read.
pub(crate) fn post_requiring<H, T>(action: domain::policy::Action, handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(handler).route_layer(axum::Extension(crate::api::Requires(action)))
}

/// The dashboard's routes (not in the OpenAPI document: they are pages, not API).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .merge(pages::routes())
        .merge(customers::routes())
        .merge(orders::routes())
        .merge(admin::routes())
        .merge(support::routes())
        .merge(webhooks::routes())
        .merge(operator::routes())
        .merge(prices::routes())
        .merge(statement::routes())
        .layer(middleware::from_fn(i18n::choose))
        .layer(middleware::from_fn(security_headers))
}

/// A rule's refusal told next to the form field it is about, in plain words (no API field paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The form field's name (`quantity`, `subscriptionId`, `choice`…), or `""` for the form as a whole.
    pub field: String,
    pub message: String,
    pub status: StatusCode,
}

impl FieldProblem {
    pub fn new(field: &str, message: impl Into<String>, status: StatusCode) -> FieldProblem {
        FieldProblem { field: field.to_string(), message: message.into(), status }
    }

    /// Whether this problem is about form field `name`.
    pub fn on(&self, name: &str) -> bool {
        self.field == name
    }
}

/// Turns a use case's refusal into a problem on a form: the API's field path (`lineItems[0].quantity`) becomes the
/// form's field and a sentence; 422 for a value the rules refuse, 409 for a state that changed (an ordered cart,
/// no key left, an item already cancelled), 413 for too large. `None` for what a form cannot fix (403, 404, 5xx).
pub fn form_problem(e: &services::Error) -> Option<FieldProblem> {
    use domain::DomainError as D;
    let services::Error::Domain(d) = e else { return None };
    let p = match d {
        D::InvalidRequest(text) => {
            let (path, message) = text.split_once(": ").unwrap_or(("", text.as_str()));
            let leaf = path.rsplit('.').next().unwrap_or("");
            let (field, message) = match leaf {
                // The domain's range rule; a form's own refusal (not a number) is already in the page's words.
                "quantity" if message.starts_with("must be 1 to") => {
                    ("quantity", tr!("problem-quantity", max = domain::money::MAX_QUANTITY))
                }
                "quantity" => ("quantity", message.to_string()),
                "subscriptionId" => ("subscriptionId", tr!("problem-subscription-id")),
                "catalogItemId" => ("", tr!("problem-not-offered")),
                "startDate" if message.contains("after") => ("startDate", tr!("problem-start-after-end")),
                "startDate" | "endDate" => (leaf, tr!("problem-date-format")),
                _ if path.starts_with("lineItems") || path.is_empty() => ("", sentence(message)),
                other => (other, sentence(message)),
            };
            FieldProblem::new(field, message, StatusCode::UNPROCESSABLE_ENTITY)
        }
        D::ProductUnavailableInMarket(_) => {
            FieldProblem::new("", tr!("problem-not-in-market"), StatusCode::UNPROCESSABLE_ENTITY)
        }
        D::CartAlreadyOrdered(order) => {
            FieldProblem::new("", tr!("problem-cart-ordered", order = order), StatusCode::CONFLICT)
        }
        D::InsufficientKeyStock(_) => FieldProblem::new("", tr!("problem-no-keys"), StatusCode::CONFLICT),
        D::CancellationWindowClosed { line, closed_at } => FieldProblem::new(
            "choice",
            tr!(
                "problem-window-closed",
                line = line + 1,
                closed = domain::Timestamp::parse_rfc3339(closed_at).map(format::when).unwrap_or(closed_at.clone())
            ),
            StatusCode::CONFLICT,
        ),
        D::CancellationRequiresSupportRequest { line, .. } => {
            FieldProblem::new("choice", tr!("problem-support-only", line = line + 1), StatusCode::CONFLICT)
        }
        D::NotCancellable { line, product } => FieldProblem::new(
            "choice",
            tr!("problem-not-cancellable", line = line + 1, product = product),
            StatusCode::CONFLICT,
        ),
        D::AlreadyCancelled(_) | D::ItemCancelled => {
            FieldProblem::new("choice", tr!("problem-already-cancelled"), StatusCode::CONFLICT)
        }
        D::LineItemOutOfRange(_) => {
            FieldProblem::new("choice", tr!("problem-choose-order"), StatusCode::UNPROCESSABLE_ENTITY)
        }
        D::CreditExceedsCharge { left, currency, .. } => {
            FieldProblem::new("", tr!("problem-credit-left", left = credit_left(left, currency)), StatusCode::CONFLICT)
        }
        D::CreditLimitExceeded { left, currency, .. } => {
            FieldProblem::new("", tr!("problem-credit-limit", left = credit_left(left, currency)), StatusCode::CONFLICT)
        }
        D::PayloadTooLarge(limit) => FieldProblem::new(
            "",
            tr!("problem-too-large", limit = customers::human_size(*limit)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        D::Conflict(m) | D::DuplicateCustomer(m) => FieldProblem::new("", sentence(m), StatusCode::CONFLICT),
        _ => return None,
    };
    Some(p)
}

/// What is left to credit, as money for people when the rule's decimal reads as money (`US$12.30`).
fn credit_left(left: &str, currency: &str) -> String {
    let scale = left.split_once('.').map_or(0, |(_, f)| f.len());
    let minor = left.replace('.', "").parse::<i64>().ok();
    match (minor, u8::try_from(scale)) {
        (Some(minor), Ok(scale)) => format::money(domain::money::Money { minor, scale }, currency),
        _ => format!("{left} {currency}"),
    }
}

/// A refusal said on an error page: the catalog's words for the rules whose text is fixed; the rule's own sentence
/// for a value it names (validation details stay in English, as the API says them).
fn rule_message(d: &domain::DomainError) -> String {
    use domain::DomainError as D;
    match d {
        D::NotSandbox => tr!("error-not-sandbox"),
        D::ItemCancelled => tr!("problem-already-cancelled"),
        D::LinkExpired => tr!("error-link-expired"),
        D::LinkRevoked => tr!("error-link-revoked"),
        D::RateLimited { retry_after_secs } => tr!("error-rate-limited", seconds = *retry_after_secs),
        other => match form_problem(&services::Error::Domain(other.clone())) {
            Some(p) => p.message,
            None => sentence(&other.to_string()),
        },
    }
}

/// `must be 1 to 10000` → `Must be 1 to 10000.`
fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(1).flat_map(char::to_uppercase).chain(s.chars().skip(1)).collect();
    // A sentence from a catalog may end in its own language's stop (`。`).
    if !out.ends_with(['.', '!', '?', '。', '！', '？']) {
        out.push('.');
    }
    out
}

/// Gives a re-rendered form its status (a refused value, a conflict), so the page is not mistaken for success.
pub fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn api_paths_become_form_fields_in_plain_words() {
        let e = services::Error::from(domain::DomainError::invalid("lineItems[0].quantity", "must be 1 to 10000"));
        let p = form_problem(&e).unwrap();
        assert_eq!((p.field.as_str(), p.status), ("quantity", StatusCode::UNPROCESSABLE_ENTITY));
        assert_eq!(p.message, "Quantity must be 1 to 10000.");
        let zh = i18n::sync_scope(Locale::parse("zh-TW").unwrap(), || form_problem(&e).unwrap());
        assert_eq!(zh.message, "數量必須介於 1 到 10000 之間。");
        let e = services::Error::from(domain::DomainError::invalid(
            "lineItems[0].provisioningContext.subscriptionId",
            "a GUID",
        ));
        let p = form_problem(&e).unwrap();
        assert_eq!(p.field, "subscriptionId");
        assert!(!p.message.contains("lineItems") && !p.message.contains("provisioningContext"));
        let p = form_problem(&domain::DomainError::CartAlreadyOrdered("o1".into()).into()).unwrap();
        assert_eq!(p.status, StatusCode::CONFLICT);
        assert!(form_problem(&domain::DomainError::NotFound.into()).is_none());
        let p = form_problem(&domain::DomainError::invalid("startDate", "must not be after endDate").into()).unwrap();
        assert!(p.message.starts_with("The start date is after the end date"), "{}", p.message);
    }
}
