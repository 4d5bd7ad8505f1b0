//! Sign-in and sign-out.
//!
//! The sign-in form is protected against login CSRF (a cross-site page signing a victim into the attacker's
//! account): the form carries a token that must equal a pre-session cookie (double submit; the cookie is
//! `SameSite=Strict`, `HttpOnly` and sent only to `/login`), and a post whose `Origin` is another site's, or whose
//! `Sec-Fetch-Site` says it came from another site, is refused before any password is checked.

use super::{cookie, page, SESSION_COOKIE};
use crate::extract::Client;
use crate::i18n::{self, tr, Locale};
use crate::ui::format::filters;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<super::Nav>,
    error: Option<String>,
    next: String,
    email: String,
    csrf: String,
}

/// The sign-in form's pre-session CSRF cookie.
const LOGIN_COOKIE: &str = "ph_login";

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

fn safe_next(next: &str) -> String {
    safe_next_or(next, "/customers")
}

/// Only a path on this site (else `home`): an absolute or protocol-relative URL would make the sign-in an open
/// redirect.
pub(super) fn safe_next_or(next: &str, home: &str) -> String {
    // Browsers drop tabs and newlines from a Location, so "/\t/evil.example" would become "//evil.example".
    let plain = next.chars().all(|c| c.is_ascii_graphic());
    if plain && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        home.to_string()
    }
}

/// The sign-in form with a fresh CSRF token, and the cookie it must be posted with.
fn login_form(state: &AppState, next: String, email: String, error: Option<String>, status: StatusCode) -> Response {
    let csrf = services::sessions::new_csrf_token();
    let cookie = format!("{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{}", secure(state));
    let title = tr!("login-submit");
    let mut res = page(&LoginPage { title, section: "", nav: None, error, next, email, csrf });
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub(super) fn secure(state: &AppState) -> &'static str {
    if state.services.secure_cookies() {
        "; Secure"
    } else {
        ""
    }
}

/// Whether a form post came from this site: a browser's `Sec-Fetch-Site` (when sent) is `same-origin` (or `none`),
/// and its `Origin` (when sent) is this server's, as the request's `Host` or the configured public address names
/// it. Clients that send neither (curl, scripts) still need the form's token and its cookie.
pub(super) fn from_this_site(headers: &HeaderMap, base_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let public = base_url.find("://").map(|i| i + 3).map(|start| match base_url[start..].find('/') {
        Some(end) => &base_url[..start + end],
        None => base_url,
    });
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    public == Some(origin)
        || host.is_some_and(|h| origin.strip_prefix("http://").or(origin.strip_prefix("https://")) == Some(h))
}

async fn login_page(State(state): State<AppState>, Query(q): Query<NextParam>) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or("/customers"));
    login_form(&state, next, String::new(), None, StatusCode::OK)
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let address = client.ip;
    let next = safe_next(&form.next);
    // Login CSRF: checked before the password, so another site cannot even count failures against an account.
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !from_this_site(&headers, &state.services.base_url) || !services::sessions::csrf_equal(expected, &form.csrf) {
        let message = tr!("login-expired");
        return login_form(&state, next, String::new(), Some(message), StatusCode::FORBIDDEN);
    }
    match state.services.sign_in(&form.email, &form.password, address.as_deref()).await {
        Ok(session) => {
            // A fresh session id at every sign-in (no fixation); HttpOnly, SameSite=Lax, Secure over HTTPS. The
            // sign-in form's cookie has done its work.
            let value = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{}", session.token, secure(&state));
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            let done = format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0{}", secure(&state));
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

#[derive(Deserialize)]
struct LanguageSwitch {
    lang: String,
    #[serde(default)]
    csrf: String,
}

/// Sets (`Some`) or clears (`None`) the language switch's cookie, which keeps the choice before signing in.
/// What a refused sign-in (the dashboard's or the console's) answers: 429 while rate-limited, 401 for wrong
/// credentials (never which part was wrong), 500 for a fault (logged).
pub fn sign_in_refusal(e: &services::Error) -> (StatusCode, String) {
    match e.domain() {
        Some(domain::DomainError::RateLimited { retry_after_secs }) => {
            (StatusCode::TOO_MANY_REQUESTS, tr!("error-rate-limited", seconds = *retry_after_secs))
        }
        Some(_) => (StatusCode::UNAUTHORIZED, tr!("login-wrong")),
        None => {
            tracing::error!(error = %e, "sign-in failed");
            (StatusCode::INTERNAL_SERVER_ERROR, tr!("login-failed"))
        }
    }
}

pub fn remember_language(res: &mut Response, locale: Option<Locale>, state: &AppState) {
    let cookie = match locale {
        Some(l) => {
            format!("{}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}", i18n::COOKIE, l.tag(), secure(state))
        }
        None => format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", i18n::COOKIE, secure(state)),
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The page the switch was pressed on (the `Referer`, same site only), to go back to it in the new language.
fn back_to(headers: &HeaderMap, base_url: &str) -> String {
    back_to_or(headers, base_url, "/customers")
}

/// As [`back_to`], with the page to go to when the `Referer` is not this site's.
pub(super) fn back_to_or(headers: &HeaderMap, base_url: &str, home: &str) -> String {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let path = [base_url.trim_end_matches('/').to_string(), format!("http://{host}"), format!("https://{host}")]
        .iter()
        .filter(|origin| !origin.is_empty() && !origin.ends_with("://"))
        .find_map(|origin| referer.strip_prefix(origin.as_str()).filter(|rest| rest.starts_with('/')))
        .unwrap_or(home);
    safe_next_or(path, home)
}

/// The language switch on every page. Signed in, it needs the session's CSRF token and saves the choice for the
/// user; before signing in, it only sets the cookie (a cross-site post is refused either way).
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
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or("");
    match state.services.session(token).await {
        Ok(Some(s)) => {
            // Refusals are pages in the signed-in layout (as any form's), not bare text: the person can go on.
            let nav = || Some(Box::new(super::Nav::of(&s)));
            if !s.csrf_matches(&form.csrf) {
                let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
                let mut res = super::UiError(e.into(), nav()).into_response();
                *res.status_mut() = StatusCode::FORBIDDEN;
                return res;
            }
            if let Err(e) = state.services.save_language(&s.actor, Some(locale.tag())).await {
                return super::UiError(e, nav()).into_response();
            }
        }
        Ok(None) => {}
        // The session could not be read (the database is away): say so rather than switch as if signed out.
        Err(e) => return super::UiError(e, None).into_response(),
    }
    let mut res = Redirect::to(&back_to(&headers, &state.services.base_url)).into_response();
    remember_language(&mut res, Some(locale), &state);
    res
}

/// Sign-out ends the session on the server and clears the cookie. It needs the session's CSRF token, so another
/// site cannot sign a user out.
async fn logout(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or("").to_string();
    if let Ok(Some(s)) = state.services.session(&token).await {
        let csrf = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        if csrf.is_some_and(|c| s.csrf_matches(&c)) {
            let _ = state.services.sign_out(&token).await;
        } else {
            return (StatusCode::FORBIDDEN, tr!("error-form-expired")).into_response();
        }
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("ph_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/language", post(switch_language))
}

#[cfg(test)]
mod tests {
    use super::{from_this_site, safe_next};
    use axum::http::HeaderMap;

    #[test]
    fn sign_in_posts_only_from_this_site() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        let base = "https://hub.example.com";
        assert!(from_this_site(&headers(&[]), base), "curl and scripts send neither header");
        assert!(from_this_site(&headers(&[("origin", "https://hub.example.com")]), base));
        assert!(from_this_site(&headers(&[("origin", "https://hub.example.com")]), "https://hub.example.com/x/"));
        assert!(from_this_site(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]), base));
        assert!(from_this_site(&headers(&[("sec-fetch-site", "same-origin"), ("host", "h")]), base));
        for bad in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")],
            &[("origin", "https://hub.example.com.evil.example")],
            &[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[("sec-fetch-site", "cross-site"), ("origin", "https://hub.example.com")],
        ] {
            assert!(!from_this_site(&headers(bad), base), "{bad:?}");
        }
    }

    #[test]
    fn sign_in_only_returns_to_this_site() {
        assert_eq!(safe_next("/customers/abc?x=1"), "/customers/abc?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(bad), "/customers", "{bad}");
        }
    }
}
