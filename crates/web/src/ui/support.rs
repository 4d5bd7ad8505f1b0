//! Support: file a request (pre-filled from a cancel that needs one), follow it, add notes and files.

use super::format::filters;
use super::{page, Nav, OrPage, Signed, SignedForm, UiError, UiResult};
use crate::extract::parse_id;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use domain::download::content_disposition;
use domain::paging::PageSize;
use domain::support::{ContactDraft, RefundDraft, ServiceRequestDraft, TOPICS};
use futures::StreamExt;
use serde::Deserialize;
use services::sessions::SessionActor;

pub struct RequestRow {
    pub id: String,
    pub title: String,
    pub topic: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    title: &'static str,
    section: &'static str,
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
    topics: Vec<(&'static str, &'static str)>,
    topic: String,
    title_value: String,
    description: String,
    customer_id: String,
    order_id: String,
    reason: String,
    email: String,
    requests: Vec<RequestRow>,
}

#[derive(Deserialize, Default)]
struct Prefill {
    topic: Option<String>,
    #[serde(rename = "customerId")]
    customer_id: Option<String>,
    #[serde(rename = "orderId")]
    order_id: Option<String>,
    #[serde(rename = "lineItems")]
    line_items: Option<String>,
}

async fn support_page(state: &AppState, s: &SessionActor, p: &Prefill, error: Option<String>) -> UiResult {
    let size = PageSize::parse(Some(200)).map_err(services::Error::from).or_page(s)?;
    let mut list = state.services.list_service_requests(&s.actor, size, None).await.or_page(s)?.items;
    list.reverse();
    let order = p.order_id.clone().unwrap_or_default();
    let (title_value, description, reason) = if order.is_empty() {
        (String::new(), String::new(), String::new())
    } else {
        (
            format!("Cancel order {order}"),
            format!("Please cancel line(s) {} of order {order}.", p.line_items.clone().unwrap_or_else(|| "0".into())),
            "Cancellation".to_string(),
        )
    };
    Ok(page(&SupportPage {
        title: "Support",
        section: "support",
        nav: Some(Nav::of(s)),
        csrf: s.csrf.clone(),
        error,
        topics: TOPICS.iter().map(|t| (t.code, t.name)).collect(),
        topic: p.topic.clone().unwrap_or_else(|| "csp_purchase_refund".into()),
        title_value,
        description,
        customer_id: p.customer_id.clone().unwrap_or_default(),
        order_id: order,
        reason,
        email: s.actor.user.email.clone(),
        requests: list
            .iter()
            .map(|r| RequestRow {
                id: r.id.to_string(),
                title: r.title.clone(),
                topic: r.topic.name.to_string(),
                status: r.status.as_str().to_string(),
                created: super::format::date(r.created_at.date()),
            })
            .collect(),
    }))
}

async fn support(State(state): State<AppState>, Signed(s): Signed, Query(p): Query<Prefill>) -> UiResult {
    support_page(&state, &s, &p, None).await
}

fn field(form: &[(String, String)], k: &str) -> Option<String> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

async fn file_request(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<Vec<(String, String)>>,
) -> UiResult {
    let f = |k: &str| field(&form, k);
    let refund_fields = ["customerId", "customerDomain", "orderId", "subscriptionId", "reason", "amountRequested"];
    let topic = f("supportTopicId").unwrap_or_default();
    // The refund fields are optional, for the refund topic too: the details may be in the description instead.
    let refund = refund_fields.iter().any(|k| f(k).is_some()).then(|| RefundDraft {
        customer_id: f("customerId"),
        customer_domain: f("customerDomain"),
        order_id: f("orderId"),
        subscription_id: f("subscriptionId"),
        reason: f("reason"),
        amount_requested: f("amountRequested"),
        currency_code: f("currencyCode"),
    });
    let draft = ServiceRequestDraft {
        title: f("title").unwrap_or_default(),
        description: f("description").unwrap_or_default(),
        severity: f("severity").unwrap_or_default(),
        support_topic_id: topic,
        contact: Some(ContactDraft {
            first_name: f("firstName"),
            last_name: f("lastName"),
            email: f("email"),
            phone_number: f("phoneNumber"),
        }),
        refund,
    };
    match state.services.create_service_request(&s.actor, "en-US", draft, None).await {
        Ok(r) => Ok(Redirect::to(&format!("/support/{}", r.id)).into_response()),
        Err(services::Error::Domain(d @ domain::DomainError::InvalidRequest(_))) => {
            let prefill = Prefill {
                topic: f("supportTopicId"),
                customer_id: f("customerId"),
                order_id: f("orderId"),
                line_items: None,
            };
            let mut res = support_page(&state, &s, &prefill, Some(d.to_string())).await?;
            *res.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(res)
        }
        Err(e) => Err(UiError(e, Some(Box::new(Nav::of(&s))))),
    }
}

pub struct NoteRow {
    pub author: String,
    pub created: String,
    pub text: String,
}

pub struct RequestView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub topic: String,
    pub severity: String,
    pub created: String,
    pub created_by: String,
    pub description: String,
    pub refund: Option<String>,
    pub open: bool,
    pub notes: Vec<NoteRow>,
    /// (id, file name, size)
    pub attachments: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    csrf: String,
    r: RequestView,
    /// A refused attachment, said next to the file field.
    problem: Option<super::FieldProblem>,
}

async fn request(State(state): State<AppState>, Signed(s): Signed, Path(id): Path<String>) -> UiResult {
    request_page(&state, &s, &id, None).await
}

async fn request_page(state: &AppState, s: &SessionActor, id: &str, problem: Option<super::FieldProblem>) -> UiResult {
    let r = state.services.get_service_request(&s.actor, parse_id(id).or_page(s)?).await.or_page(s)?;
    let view = RequestView {
        id: r.id.to_string(),
        title: r.title.clone(),
        status: r.status.as_str().to_string(),
        topic: r.topic.name.to_string(),
        severity: super::format::words(r.severity.as_str()),
        created: super::format::when(r.created_at),
        created_by: r.created_by.clone(),
        description: r.description.clone(),
        refund: r.refund.as_ref().map(|v| {
            v.as_object()
                .map(|o| {
                    o.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", ")
                })
                .unwrap_or_default()
        }),
        open: r.status != domain::support::RequestStatus::Closed,
        notes: r
            .notes
            .iter()
            .map(|n| NoteRow {
                author: if n.by_publisher { "Support".into() } else { n.author.clone() },
                created: super::format::when(n.created_at),
                text: n.text.clone(),
            })
            .collect(),
        attachments: r
            .attachments
            .iter()
            .map(|a| (a.id.to_string(), a.file_name.clone(), super::customers::human_size(a.size)))
            .collect(),
    };
    let status = problem.as_ref().map(|p| p.status);
    let res = page(&RequestPage {
        title: r.title.clone(),
        section: "support",
        nav: Some(Nav::of(s)),
        csrf: s.csrf.clone(),
        r: view,
        problem,
    });
    Ok(match status {
        Some(st) => super::with_status(res, st),
        None => res,
    })
}

#[derive(Deserialize)]
struct NoteForm {
    text: String,
}

async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm<NoteForm>,
) -> UiResult {
    state.services.add_partner_note(&s.actor, parse_id(&id).or_page(&s)?, &form.text, None).await.or_page(&s)?;
    Ok(Redirect::to(&format!("/support/{id}")).into_response())
}

#[derive(Deserialize)]
struct CsrfQuery {
    csrf: Option<String>,
}

/// A file from the browser (multipart); the CSRF token comes in the address, since the body is the file.
async fn attach(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<CsrfQuery>,
    mut multipart: Multipart,
) -> UiResult {
    if !q.csrf.as_deref().is_some_and(|c| s.csrf_matches(c)) {
        let e = domain::DomainError::InvalidRequest("this form has expired; reload the page and try again".into());
        let mut res = UiError(e.into(), Some(Box::new(Nav::of(&s)))).into_response();
        *res.status_mut() = axum::http::StatusCode::FORBIDDEN;
        return Ok(res);
    }
    let on_file = |message: &str, status| Some(super::FieldProblem::new("file", message, status));
    let too_large = || {
        let limit = super::customers::human_size(domain::support::MAX_ATTACHMENT_BYTES);
        on_file(
            &format!("The file is larger than {limit}: attach a smaller one, or several parts."),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let part = match multipart.next_field().await {
        Ok(Some(part)) => part,
        Ok(None) => {
            return request_page(&state, &s, &id, on_file("Choose a file to attach.", StatusCode::UNPROCESSABLE_ENTITY))
                .await
        }
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return request_page(&state, &s, &id, too_large()).await
        }
        Err(_) => {
            let problem = on_file("The upload could not be read; try again.", StatusCode::BAD_REQUEST);
            return request_page(&state, &s, &id, problem).await;
        }
    };
    let name = part.file_name().unwrap_or("attachment").to_string();
    // The part borrows the request; a channel hands its chunks to the upload as they arrive (constant memory).
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed();
    let producer = async move {
        let mut part = part;
        let mut over_limit = false;
        loop {
            let next = match part.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => {
                    over_limit = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                    Err(std::io::Error::other(e))
                }
            };
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed {
                break;
            }
        }
        over_limit
    };
    let (over_limit, stored) =
        tokio::join!(producer, async { state.services.attach_file(&s.actor, parse_id(&id)?, &name, stream).await });
    match stored {
        Ok(_) => Ok(Redirect::to(&format!("/support/{id}")).into_response()),
        Err(_) if over_limit => request_page(&state, &s, &id, too_large()).await,
        Err(e) => match super::form_problem(&e) {
            Some(mut p) => {
                p.field = "file".into();
                request_page(&state, &s, &id, Some(p)).await
            }
            None => Err(e).or_page(&s),
        },
    }
}

async fn attachment(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path((id, aid)): Path<(String, String)>,
) -> UiResult {
    let (found, body) = state
        .services
        .open_attachment(
            services::support::AttachmentReader::Partner(&s.actor),
            parse_id(&id).or_page(&s)?,
            parse_id(&aid).or_page(&s)?,
        )
        .await
        .or_page(&s)?;
    let mut res = Response::new(Body::from_stream(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(found.size));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&found.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

pub fn routes() -> Router<AppState> {
    // An attachment is at most 10 MiB; the multipart envelope adds a little.
    let upload_limit = axum::extract::DefaultBodyLimit::max(domain::support::MAX_ATTACHMENT_BYTES as usize + 64 * 1024);
    Router::new()
        .route(
            "/support",
            get(support).merge(super::post_requiring(domain::policy::Action::SupportRequests, file_request)),
        )
        .route("/support/{request_id}", get(request))
        .route("/support/{request_id}/notes", super::post_requiring(domain::policy::Action::SupportRequests, add_note))
        .route(
            "/support/{request_id}/attachments",
            super::post_requiring(domain::policy::Action::SupportRequests, attach).layer(upload_limit),
        )
        .route("/support/{request_id}/attachments/{attachment_id}", get(attachment))
}
