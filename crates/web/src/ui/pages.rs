//! Sign-in and sign-out.

use super::{cookie, page, SESSION_COOKIE};
use crate::extract::Client;
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
    title: &'a str,
    section: &'a str,
    nav: Option<super::Nav>,
    error: Option<String>,
    next: String,
    email: String,
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
}

/// Only a path on this site: an absolute or protocol-relative URL would make the sign-in an open redirect.
fn safe_next(next: &str) -> String {
    // Browsers drop tabs and newlines from a Location, so "/\t/evil.example" would become "//evil.example".
    let plain = next.chars().all(|c| c.is_ascii_graphic());
    if plain && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/customers".to_string()
    }
}

async fn login_page(Query(q): Query<NextParam>) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or("/customers"));
    page(&LoginPage { title: "Sign in", section: "", nav: None, error: None, next, email: String::new() })
}

async fn login(State(state): State<AppState>, Client(client): Client, Form(form): Form<LoginForm>) -> Response {
    let address = client.ip;
    let next = safe_next(&form.next);
    match state.services.sign_in(&form.email, &form.password, address.as_deref()).await {
        Ok(session) => {
            // A fresh session id at every sign-in (no fixation); HttpOnly, SameSite=Lax, Secure over HTTPS.
            let secure = if state.services.secure_cookies() { "; Secure" } else { "" };
            let value = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}", session.token);
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let (status, message) = match e.domain() {
                Some(d @ domain::DomainError::RateLimited { .. }) => (StatusCode::TOO_MANY_REQUESTS, d.to_string()),
                Some(_) => (StatusCode::UNAUTHORIZED, "Wrong email or password.".to_string()),
                None => {
                    tracing::error!(error = %e, "sign-in failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong; try again.".to_string())
                }
            };
            let mut res = page(&LoginPage {
                title: "Sign in",
                section: "",
                nav: None,
                error: Some(message),
                next,
                email: form.email,
            });
            *res.status_mut() = status;
            res
        }
    }
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
            return (StatusCode::FORBIDDEN, "this form has expired; reload the page").into_response();
        }
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("ph_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

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
