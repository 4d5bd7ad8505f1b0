//! Console sign-in, sign-out and the language switch: as the dashboard's (`ui/pages.rs`: login CSRF by a
//! pre-session cookie and the same-site check, a fresh session per sign-in), against the operator users.

use super::{ConsoleError, ConsoleNav, OPERATOR_COOKIE};
use crate::extract::Client;
use crate::i18n::{tr, Locale};
use crate::ui::format::filters;
use crate::ui::pages::{back_to_or, from_this_site, remember_language, safe_next_or, secure, sign_in_refusal};
use crate::ui::{cookie, page};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

const HOME: &str = "/operator";
/// The console sign-in form's pre-session CSRF cookie.
const LOGIN_COOKIE: &str = "ph_operator_login";

#[derive(Template)]
#[template(path = "operator/login.html")]
struct LoginPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    error: Option<String>,
    next: String,
    email: String,
    csrf: String,
}

#[derive(Deserialize, Default)]
struct NextParam {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

fn login_form(state: &AppState, next: String, email: String, error: Option<String>, status: StatusCode) -> Response {
    let csrf = services::sessions::new_csrf_token();
    let cookie = format!("{LOGIN_COOKIE}={csrf}; Path=/operator/login; HttpOnly; SameSite=Strict{}", secure(state));
    let title = tr!("console-login-heading");
    let mut res = page(&LoginPage { title, section: "", nav: None, error, next, email, csrf });
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `next` must be a console page: sign-in never sends an operator to a partner page.
fn console_next(next: &str) -> String {
    let next = safe_next_or(next, HOME);
    if next == HOME || next.starts_with("/operator/") || next.starts_with("/operator?") {
        next
    } else {
        HOME.to_string()
    }
}

async fn login_page(State(state): State<AppState>, Query(q): Query<NextParam>) -> Response {
    login_form(&state, console_next(q.next.as_deref().unwrap_or(HOME)), String::new(), None, StatusCode::OK)
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = console_next(&form.next);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !from_this_site(&headers, &state.services.base_url) || !services::sessions::csrf_equal(expected, &form.csrf) {
        return login_form(&state, next, String::new(), Some(tr!("login-expired")), StatusCode::FORBIDDEN);
    }
    match state.services.operator_sign_in(&form.email, &form.password, client.ip.as_deref()).await {
        Ok(session) => {
            let value = format!(
                "{OPERATOR_COOKIE}={}; Path=/operator; HttpOnly; SameSite=Lax{}",
                session.token,
                secure(&state)
            );
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            let done = format!(
                "{LOGIN_COOKIE}=; Path=/operator/login; HttpOnly; SameSite=Strict; Max-Age=0{}",
                secure(&state)
            );
            if let Ok(v) = HeaderValue::from_str(&done) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let (status, message) = sign_in_refusal(&e);
            login_form(&state, next, form.email, Some(message), status)
        }
    }
}

/// Sign-out ends the session on the server and clears the cookie; it needs the session's CSRF token.
async fn logout(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let token = cookie(&headers, OPERATOR_COOKIE).unwrap_or("").to_string();
    if let Ok(Some(s)) = state.services.operator_session(&token).await {
        let csrf = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        if !csrf.is_some_and(|c| s.csrf_matches(&c)) {
            return (StatusCode::FORBIDDEN, tr!("error-form-expired")).into_response();
        }
        let _ = state.services.operator_sign_out(&token).await;
    }
    let mut res = Redirect::to("/operator/login").into_response();
    let clear = format!("{OPERATOR_COOKIE}=; Path=/operator; HttpOnly; SameSite=Lax; Max-Age=0{}", secure(&state));
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
struct LanguageSwitch {
    lang: String,
    #[serde(default)]
    csrf: String,
}

/// The console's language switch: signed in, it needs the session's CSRF token and saves the choice for the
/// operator user; before signing in it only sets the cookie.
async fn switch_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LanguageSwitch>,
) -> Response {
    let Some(locale) = Locale::parse(&form.lang) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, tr!("error-unknown-language")).into_response();
    };
    if !from_this_site(&headers, &state.services.base_url) {
        return (StatusCode::FORBIDDEN, tr!("error-form-expired")).into_response();
    }
    let token = cookie(&headers, OPERATOR_COOKIE).unwrap_or("");
    match state.services.operator_session(token).await {
        Ok(Some(s)) => {
            let nav = || Some(Box::new(ConsoleNav::of(&s)));
            if !s.csrf_matches(&form.csrf) {
                let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
                let mut res = ConsoleError(e.into(), nav()).into_response();
                *res.status_mut() = StatusCode::FORBIDDEN;
                return res;
            }
            if let Err(e) = state.services.save_operator_language(&s.publisher, Some(locale.tag())).await {
                return ConsoleError(e, nav()).into_response();
            }
        }
        Ok(None) => {}
        Err(e) => return ConsoleError(e, None).into_response(),
    }
    let mut res = Redirect::to(&back_to_or(&headers, &state.services.base_url, HOME)).into_response();
    remember_language(&mut res, Some(locale), &state);
    res
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/login", get(login_page).post(login))
        .route("/operator/logout", post(logout))
        .route("/operator/language", post(switch_language))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_in_returns_only_to_console_pages() {
        assert_eq!(super::console_next("/operator/desk?status=open"), "/operator/desk?status=open");
        for other in ["/customers", "https://evil.example/", "//evil.example", "/operatorx", ""] {
            assert_eq!(super::console_next(other), "/operator", "{other}");
        }
    }
}
