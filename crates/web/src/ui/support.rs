//! Support: file a request (pre-filled from a cancel that needs one), follow it, add notes and files.

use super::format::filters;
use super::{page, Nav, OrPage, Signed, SignedForm, UiError, UiResult};
use crate::extract::parse_id;
use crate::i18n::tr;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, State};
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
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
    topics: Vec<(&'static str, String)>,
    topic: String,
    title_value: String,
    description: String,
    customer_id: String,
    order_id: String,
    reason: String,
    /// What the order's lines in question cost (gross, the order's currency), when the form comes from an order.
    amount: String,
    currency: String,
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

/// A support topic's name in the page's language (the API keeps the English name).
fn topic_name(t: &domain::support::SupportTopic) -> String {
    crate::i18n::t(&format!("topic-{}", t.code))
}

async fn support_page(state: &AppState, s: &SessionActor, p: &Prefill, error: Option<String>) -> UiResult {
    let size = PageSize::parse(Some(200)).map_err(services::Error::from).or_page(s)?;
    let mut list = state.services.list_service_requests(&s.actor, size, None).await.or_page(s)?.items;
    list.reverse();
    let order = p.order_id.clone().unwrap_or_default();
    let (amount, currency) = prefilled_amount(state, s, p).await.unwrap_or_default();
    let (title_value, description, reason) = if order.is_empty() {
        (String::new(), String::new(), String::new())
    } else {
        (
            tr!("support-prefill-title", order = order.as_str()),
            tr!(
                "support-prefill-description",
                lines = p.line_items.clone().unwrap_or_else(|| "0".into()),
                order = order.as_str()
            ),
            tr!("support-prefill-reason"),
        )
    };
    Ok(page(&SupportPage {
        title: tr!("nav-support"),
        section: "support",
        nav: Some(Nav::of(s)),
        csrf: s.csrf.clone(),
        error,
        topics: TOPICS.iter().map(|t| (t.code, topic_name(t))).collect(),
        topic: p.topic.clone().unwrap_or_else(|| "csp_purchase_refund".into()),
        title_value,
        description,
        customer_id: p.customer_id.clone().unwrap_or_default(),
        order_id: order,
        reason,
        amount,
        currency,
        email: s.actor.user.email.clone(),
        requests: list
            .iter()
            .map(|r| RequestRow {
                id: r.id.to_string(),
                title: r.title.clone(),
                topic: topic_name(r.topic),
                status: r.status.as_str().to_string(),
                created: super::format::date(r.created_at.date()),
            })
            .collect(),
    }))
}

/// The amount a refund request from an order starts with: the gross of the lines named (`lineItems`, the API's
/// numbering, comma-separated), or of the whole order; and its currency. `None` without an order the user may see.
async fn prefilled_amount(state: &AppState, s: &SessionActor, p: &Prefill) -> Option<(String, String)> {
    let (customer, order) = (p.customer_id.as_deref()?, p.order_id.as_deref()?);
    let order = state.services.get_order(&s.actor, parse_id(customer).ok()?, parse_id(order).ok()?).await.ok()?;
    let named: Vec<u32> =
        p.line_items.as_deref().unwrap_or("").split(',').filter_map(|n| n.trim().parse().ok()).collect();
    let mut total = domain::money::Money::zero(order.lines.first()?.pricing.gross.scale);
    for l in order.lines.iter().filter(|l| named.is_empty() || named.contains(&l.line_number)) {
        total = total.checked_add(l.pricing.gross)?;
    }
    Some((total.format(), order.currency))
}

async fn support(State(state): State<AppState>, Signed(s): Signed, Query(p): Query<Prefill>) -> UiResult {
    support_page(&state, &s, &p, None).await
}

fn field(form: &[(String, String)], k: &str) -> Option<String> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The request a filing form describes (url-encoded or multipart, the same fields).
fn draft_of(form: &[(String, String)]) -> ServiceRequestDraft {
    let f = |k: &str| field(form, k);
    let refund_fields = ["customerId", "customerDomain", "orderId", "subscriptionId", "reason", "amountRequested"];
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
    ServiceRequestDraft {
        title: f("title").unwrap_or_default(),
        description: f("description").unwrap_or_default(),
        severity: f("severity").unwrap_or_default(),
        support_topic_id: f("supportTopicId").unwrap_or_default(),
        contact: Some(ContactDraft {
            first_name: f("firstName"),
            last_name: f("lastName"),
            email: f("email"),
            phone_number: f("phoneNumber"),
        }),
        refund,
    }
}

/// Files a request from the form's fields; a refused field comes back on the form (400) with what was typed.
async fn file(
    state: &AppState,
    s: &SessionActor,
    form: &[(String, String)],
) -> Result<Result<domain::support::ServiceRequest, Response>, UiError> {
    // The request's language is the page's (Partner Center's form says `en-US` for English).
    let language = match crate::i18n::current().tag() {
        "en" => "en-US",
        other => other,
    };
    match state.services.create_service_request(&s.actor, language, draft_of(form), None).await {
        Ok(r) => Ok(Ok(r)),
        Err(e @ services::Error::Domain(domain::DomainError::InvalidRequest(_))) => {
            let prefill = Prefill {
                topic: field(form, "supportTopicId"),
                customer_id: field(form, "customerId"),
                order_id: field(form, "orderId"),
                line_items: None,
            };
            // In plain words, not the API's field paths.
            let message = super::form_problem(&e).map(|p| p.message).unwrap_or_else(|| e.to_string());
            let mut res = support_page(state, s, &prefill, Some(message)).await?;
            *res.status_mut() = StatusCode::BAD_REQUEST;
            Ok(Err(res))
        }
        Err(e) => Err(UiError(e, Some(Box::new(Nav::of(s))))),
    }
}

/// The filing form: url-encoded, or multipart when files are chosen on it (the article's "Add files"). A multipart
/// form's `csrf` field must come before its files; the request is filed first, then each file attached to it.
async fn file_request(State(state): State<AppState>, req: axum::extract::Request) -> UiResult {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let SignedForm { session: s, form } = match SignedForm::<Vec<(String, String)>>::from_request(req, &state).await
        {
            Ok(f) => f,
            Err(refused) => return Ok(refused),
        };
        return match file(&state, &s, &form).await? {
            Ok(r) => Ok(Redirect::to(&format!("/support/{}", r.id)).into_response()),
            Err(page) => Ok(page),
        };
    }
    let (mut parts, body) = req.into_parts();
    let s = match Signed::from_request_parts(&mut parts, &state).await {
        Ok(Signed(s)) => s,
        Err(refused) => return Ok(refused),
    };
    let mut multipart =
        Multipart::from_request(axum::extract::Request::from_parts(parts, body), &state).await.map_err(|e| {
            UiError(domain::DomainError::invalid("form", e.body_text()).into(), Some(Box::new(Nav::of(&s))))
        })?;
    let mut form: Vec<(String, String)> = Vec::new();
    let mut request: Option<domain::support::ServiceRequest> = None;
    loop {
        let part = match multipart.next_field().await {
            Ok(Some(part)) => part,
            Ok(None) => break,
            Err(e) => {
                let Some(r) = &request else {
                    let e = domain::DomainError::invalid("form", e.body_text());
                    return Err(UiError(e.into(), Some(Box::new(Nav::of(&s)))));
                };
                let problem = upload_problem(e.status());
                return request_page(&state, &s, &r.id.to_string(), Some(problem)).await;
            }
        };
        let name = part.name().unwrap_or_default().to_string();
        if part.file_name().is_none() {
            let value = part.text().await.unwrap_or_default();
            form.push((name, value));
            continue;
        }
        // The first file: the fields are all read; check the form came from this site, then file the request.
        if request.is_none() {
            match file_signed(&state, &s, &form).await? {
                Ok(r) => request = Some(r),
                Err(page) => return Ok(page),
            }
        }
        let Some(r) = &request else { continue };
        let file_name = part.file_name().unwrap_or("attachment").to_string();
        if file_name.is_empty() {
            continue; // the file field left empty
        }
        let id = r.id.to_string();
        if let Err(problem) = store_part(&state, &s, &id, &file_name, part).await {
            return request_page(&state, &s, &id, Some(problem)).await;
        }
    }
    let request = match request {
        Some(r) => r,
        None => match file_signed(&state, &s, &form).await? {
            Ok(r) => r,
            Err(page) => return Ok(page),
        },
    };
    Ok(Redirect::to(&format!("/support/{}", request.id)).into_response())
}

/// A multipart form: its `csrf` field checked, then the request filed (`file`).
async fn file_signed(
    state: &AppState,
    s: &SessionActor,
    form: &[(String, String)],
) -> Result<Result<domain::support::ServiceRequest, Response>, UiError> {
    if !field(form, "csrf").is_some_and(|c| s.csrf_matches(&c)) {
        return Ok(Err(expired_form(s)));
    }
    file(state, s, form).await
}

/// The answer to a form whose CSRF token is missing or stale.
fn expired_form(s: &SessionActor) -> Response {
    let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
    let mut res = UiError(e.into(), Some(Box::new(Nav::of(s)))).into_response();
    *res.status_mut() = StatusCode::FORBIDDEN;
    res
}

/// What to say next to the file field when an upload could not be read.
fn upload_problem(status: StatusCode) -> super::FieldProblem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = super::customers::human_size(domain::support::MAX_ATTACHMENT_BYTES);
        super::FieldProblem::new(
            "file",
            tr!("problem-file-too-large", limit = limit.to_string()),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    } else {
        super::FieldProblem::new("file", tr!("problem-upload-unreadable"), StatusCode::BAD_REQUEST)
    }
}

/// Streams one multipart file into the request's attachments (constant memory); a refusal as a problem for the
/// file field.
async fn store_part(
    state: &AppState,
    s: &SessionActor,
    id: &str,
    name: &str,
    part: axum::extract::multipart::Field<'_>,
) -> Result<(), super::FieldProblem> {
    // The part borrows the request; a channel hands its chunks to the upload as they arrive.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed();
    let producer = async move {
        let mut part = part;
        let mut failed_with = None;
        loop {
            let next = match part.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => {
                    failed_with = Some(e.status());
                    Err(std::io::Error::other(e))
                }
            };
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed {
                break;
            }
        }
        failed_with
    };
    let (failed_with, stored) =
        tokio::join!(producer, async { state.services.attach_file(&s.actor, parse_id(id)?, name, stream).await });
    match (stored, failed_with) {
        (Ok(_), _) => Ok(()),
        (Err(_), Some(status)) => Err(upload_problem(status)),
        (Err(e), None) => match super::form_problem(&e) {
            Some(mut p) => {
                p.field = "file".into();
                Err(p)
            }
            None => Err(super::FieldProblem::new("file", e.to_string(), StatusCode::BAD_REQUEST)),
        },
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
        topic: topic_name(r.topic),
        severity: super::format::words(r.severity.as_str()),
        created: super::format::when(r.created_at),
        created_by: r.created_by.clone(),
        description: r.description.clone(),
        refund: r.refund.as_ref().map(|v| {
            v.as_object()
                .map(|o| {
                    super::format::list(
                        o.iter().map(|(k, v)| format!("{}: {}", super::format::key_words(k), v.as_str().unwrap_or(""))),
                    )
                })
                .unwrap_or_default()
        }),
        open: r.status != domain::support::RequestStatus::Closed,
        notes: r
            .notes
            .iter()
            .map(|n| NoteRow {
                author: if n.by_publisher { tr!("nav-support") } else { n.author.clone() },
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
        let e = domain::DomainError::InvalidRequest(tr!("error-form-expired"));
        let mut res = UiError(e.into(), Some(Box::new(Nav::of(&s)))).into_response();
        *res.status_mut() = axum::http::StatusCode::FORBIDDEN;
        return Ok(res);
    }
    let part = match multipart.next_field().await {
        Ok(Some(part)) => part,
        Ok(None) => {
            let problem =
                super::FieldProblem::new("file", tr!("problem-choose-file"), StatusCode::UNPROCESSABLE_ENTITY);
            return request_page(&state, &s, &id, Some(problem)).await;
        }
        Err(e) => return request_page(&state, &s, &id, Some(upload_problem(e.status()))).await,
    };
    let name = part.file_name().unwrap_or("attachment").to_string();
    match store_part(&state, &s, &id, &name, part).await {
        Ok(()) => Ok(Redirect::to(&format!("/support/{id}")).into_response()),
        Err(problem) => request_page(&state, &s, &id, Some(problem)).await,
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

/// How many attachments' worth of bytes the filing form takes at once (more files: attach them afterwards).
const FILES_ON_FILING: usize = 5;

pub fn routes() -> Router<AppState> {
    // An attachment is at most 10 MiB; the multipart envelope adds a little.
    let upload_limit = axum::extract::DefaultBodyLimit::max(domain::support::MAX_ATTACHMENT_BYTES as usize + 64 * 1024);
    // Filing with files: a few attachments' worth.
    let filing_limit = axum::extract::DefaultBodyLimit::max(
        FILES_ON_FILING * domain::support::MAX_ATTACHMENT_BYTES as usize + 256 * 1024,
    );
    Router::new()
        .route(
            "/support",
            get(support).merge(
                super::post_requiring(domain::policy::Action::SupportRequests, file_request).layer(filing_limit),
            ),
        )
        .route("/support/{request_id}", get(request))
        .route("/support/{request_id}/notes", super::post_requiring(domain::policy::Action::SupportRequests, add_note))
        .route(
            "/support/{request_id}/attachments",
            super::post_requiring(domain::policy::Action::SupportRequests, attach).layer(upload_limit),
        )
        .route("/support/{request_id}/attachments/{attachment_id}", get(attachment))
}
