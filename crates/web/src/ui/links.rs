//! What a person sees who opens a download link in a browser that no longer works: a small page in plain words
//! (the API's clients keep the JSON error body).

use super::{page, Nav};
use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use domain::DomainError;

#[derive(Template)]
#[template(path = "link_gone.html")]
struct LinkGonePage {
    title: &'static str,
    section: &'static str,
    nav: Option<Nav>,
    heading: &'static str,
    what: &'static str,
    next: &'static str,
}

/// Whether the request prefers a page: a browser opening the link asks for `text/html`.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

/// The page for a link that is gone (410) or unknown (404), with the same status as the API's answer; `None` for
/// any other refusal, which keeps its JSON body.
pub fn link_gone_page(e: &services::Error, status: Option<domain::download::LinkStatus>) -> Option<Response> {
    use domain::download::LinkStatus;
    let services::Error::Domain(d) = e else { return None };
    let ask = "Your reseller can send you a new link: ask them to issue one for this software.";
    let (status, heading, what, next) = match d {
        DomainError::LinkExpired if status == Some(LinkStatus::UsedUp) => (
            StatusCode::GONE,
            "This download link has been used up",
            "Each link allows 50 downloads, and this one has had all of them. Nothing is wrong with your purchase.",
            ask,
        ),
        DomainError::LinkExpired if status == Some(LinkStatus::Expired) => (
            StatusCode::GONE,
            "This download link has expired",
            "Each link works for 14 days after it is issued, and this one is older. Nothing is wrong with your \
             purchase.",
            ask,
        ),
        DomainError::LinkExpired => (
            StatusCode::GONE,
            "This download link has expired",
            "Each link works for 14 days after it is issued and for up to 50 downloads; this one has reached one of \
             those limits. Nothing is wrong with your purchase.",
            ask,
        ),
        DomainError::LinkRevoked | DomainError::ItemCancelled => (
            StatusCode::GONE,
            "This download link no longer works",
            "Your reseller withdrew it, for example because the purchase it belongs to was cancelled.",
            "If you think this is a mistake, contact your reseller.",
        ),
        DomainError::NotFound => (
            StatusCode::NOT_FOUND,
            "This download link is not valid",
            "The address may be incomplete: check that the whole link was copied.",
            ask,
        ),
        _ => return None,
    };
    let mut res = page(&LinkGonePage { title: heading, section: "", nav: None, heading, what, next });
    *res.status_mut() = status;
    super::set_security_headers(res.headers_mut());
    Some(res)
}
