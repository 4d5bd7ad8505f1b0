//! The operator console (issue 19): `/operator/…` pages for the publisher's own users, over the same services as
//! the publisher API. Its own sign-in and session cookie (`ph_operator`, path `/operator`): a partner's session
//! never opens a console page and an operator's never opens a partner page. Same rules as the dashboard: CSRF on
//! every form, the security headers, the route's operator action checked before anything is read.

mod access;
mod billing;
mod catalog;
mod desk;
mod files;
mod forms;
mod home;
mod keys;
mod markets;
mod partners;
mod pricelists;
mod team;

use super::{error_parts, page, with_error_status};
use crate::api::RequiresOperator;
use crate::i18n::{self, tr, Locale};
use crate::ui::format::filters;
use crate::AppState;
use askama::Template;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use domain::operator::OperatorAction;
use serde::de::DeserializeOwned;
use services::operators::OperatorSession;

pub const OPERATOR_COOKIE: &str = "ph_operator";

/// What the console's layout shows: who is signed in and the sections their roles may open.
pub struct ConsoleNav {
    pub email: String,
    pub csrf: String,
    pub partners: bool,
    pub catalog: bool,
    pub desk: bool,
    pub billing: bool,
    pub operators: bool,
}

impl ConsoleNav {
    pub fn of(s: &OperatorSession) -> ConsoleNav {
        let may = |a| s.publisher.may(a);
        ConsoleNav {
            email: s.operator().email.clone(),
            csrf: s.csrf.clone(),
            partners: may(OperatorAction::ViewPlatform),
            catalog: may(OperatorAction::ViewPlatform),
            desk: may(OperatorAction::ViewDesk),
            billing: may(OperatorAction::Billing),
            operators: may(OperatorAction::ManageOperators),
        }
    }
}

#[derive(Template)]
#[template(path = "operator/error.html")]
struct ConsoleErrorPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    heading: String,
    message: String,
}

/// A failed console page, in the console's layout.
pub struct ConsoleError(pub services::Error, pub Option<Box<ConsoleNav>>);

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, heading, message) = error_parts(&self.0);
        let title = heading.clone();
        let res = page(&ConsoleErrorPage { title, section: "", nav: self.1.map(|n| *n), heading, message });
        with_error_status(res, status)
    }
}

pub type ConsoleResult = Result<Response, ConsoleError>;

/// Maps a use case's error to an error page in the console's layout.
pub trait OrConsole<T> {
    fn or_console(self, s: &OperatorSession) -> Result<T, ConsoleError>;
}

impl<T> OrConsole<T> for services::Result<T> {
    fn or_console(self, s: &OperatorSession) -> Result<T, ConsoleError> {
        self.map_err(|e| ConsoleError(e, Some(Box::new(ConsoleNav::of(s)))))
    }
}

/// A signed-in console request; without a live operator session, the browser goes to `/operator/login` and back.
pub struct Console(pub OperatorSession);

impl<S: Send + Sync> FromRequestParts<S> for Console
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let app = AppState::from_ref(state);
        let token = super::cookie(&parts.headers, OPERATOR_COOKIE).unwrap_or("");
        match app.services.operator_session(token).await {
            Ok(Some(s)) => {
                if let Some(saved) = s.language.as_deref().and_then(Locale::parse) {
                    i18n::set_current(saved);
                }
                if let Some(RequiresOperator(action)) = parts.extensions.get::<RequiresOperator>().copied() {
                    if let Err(e) = s.publisher.authorize(action) {
                        return Err(ConsoleError(e, Some(Box::new(ConsoleNav::of(&s)))).into_response());
                    }
                }
                Ok(Console(s))
            }
            Ok(None) => {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/operator");
                let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("/operator/login?next={next}")).into_response())
            }
            Err(e) => Err(ConsoleError(e, None).into_response()),
        }
    }
}

/// A signed-in console form post: the session, and the form, whose `csrf` field must be the session's.
pub struct ConsoleForm<T> {
    pub session: OperatorSession,
    pub form: T,
    /// The body as posted, for fields a form repeats (a group of checkboxes).
    pub raw: axum::body::Bytes,
}

const FORM_LIMIT: usize = 1024 * 1024;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ConsoleForm<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Console(session) = Console::from_request_parts(&mut parts, state).await?;
        let nav = |s: &OperatorSession| Some(Box::new(ConsoleNav::of(s)));
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            ConsoleError(domain::DomainError::PayloadTooLarge(FORM_LIMIT as u64).into(), nav(&session)).into_response()
        })?;
        let csrf = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        if !csrf.is_some_and(|c| session.csrf_matches(&c)) {
            let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
            let mut res = ConsoleError(e.into(), nav(&session)).into_response();
            *res.status_mut() = StatusCode::FORBIDDEN;
            return Err(res);
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            ConsoleError(domain::DomainError::InvalidRequest(format!("form: {e}")).into(), nav(&session))
                .into_response()
        })?;
        Ok(ConsoleForm { session, form, raw: bytes })
    }
}

/// A console page whose operator must be allowed `action`: refused with 403 before anything is read.
pub(crate) fn get_requiring<H, T>(action: OperatorAction, handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::get(handler).route_layer(axum::Extension(RequiresOperator(action)))
}

/// A console form post whose operator must be allowed `action`: refused with 403 before the form is read.
pub(crate) fn post_requiring<H, T>(action: OperatorAction, handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(handler).route_layer(axum::Extension(RequiresOperator(action)))
}

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(access::routes())
        .merge(home::routes())
        .merge(pricelists::routes())
        .merge(partners::routes())
        .merge(desk::routes())
        .merge(billing::routes())
        .merge(catalog::routes())
        .merge(keys::routes())
        .merge(files::routes())
        .merge(markets::routes())
        .merge(team::routes())
}
