//! What a person sees who opens a download link in a browser that no longer works: a small page in plain words
//! (the API's clients keep the JSON error body).

use super::{page, Nav};
use crate::i18n::tr;
use crate::ui::format::filters;
use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use domain::DomainError;

#[derive(Template)]
#[template(path = "link_gone.html")]
struct LinkGonePage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    heading: String,
    what: String,
    next: String,
}

/// Whether the request prefers a page: a browser opening the link asks for `text/html`.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

/// The page for a link that is gone (410) or unknown (404), with the same status as the API's answer, in the
/// language the customer's browser asks for; `None` for any other refusal, which keeps its JSON body.
pub fn link_gone_page(
    e: &services::Error,
    status: Option<domain::download::LinkStatus>,
    headers: &HeaderMap,
) -> Option<Response> {
    let locale = crate::i18n::browser_locale(headers).unwrap_or(crate::i18n::Locale::DEFAULT);
    let mut res = crate::i18n::sync_scope(locale, || gone_page(e, status))?;
    res.headers_mut().insert(header::CONTENT_LANGUAGE, header::HeaderValue::from_static(locale.tag()));
    Some(res)
}

fn gone_page(e: &services::Error, status: Option<domain::download::LinkStatus>) -> Option<Response> {
    use domain::download::LinkStatus;
    let services::Error::Domain(d) = e else { return None };
    let ask = || tr!("link-gone-ask");
    let (status, heading, what, next) = match d {
        DomainError::LinkExpired if status == Some(LinkStatus::UsedUp) => {
            (StatusCode::GONE, tr!("link-gone-used-up"), tr!("link-gone-used-up-what"), ask())
        }
        DomainError::LinkExpired if status == Some(LinkStatus::Expired) => {
            (StatusCode::GONE, tr!("link-gone-expired"), tr!("link-gone-expired-what"), ask())
        }
        DomainError::LinkExpired => (StatusCode::GONE, tr!("link-gone-expired"), tr!("link-gone-limits-what"), ask()),
        DomainError::LinkRevoked | DomainError::ItemCancelled => {
            (StatusCode::GONE, tr!("link-gone-revoked"), tr!("link-gone-revoked-what"), tr!("link-gone-revoked-next"))
        }
        DomainError::NotFound => {
            (StatusCode::NOT_FOUND, tr!("link-gone-invalid"), tr!("link-gone-invalid-what"), ask())
        }
        _ => return None,
    };
    // Section "link": the page follows the customer's browser, so the layout offers no language switch.
    let mut res = page(&LinkGonePage { title: heading.clone(), section: "link", nav: None, heading, what, next });
    *res.status_mut() = status;
    super::set_security_headers(res.headers_mut());
    Some(res)
}
