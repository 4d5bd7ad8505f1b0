//! The console's support desk: the queue by status, topic and partner; a request with its notes and attachments;
//! answer it, change its status, grant a refund (showing what is left to credit on each line) and cancel lines
//! whatever their policy (the ESU path), each behind a confirmation step.

use super::{get_requiring, post_requiring, Console, ConsoleError, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use domain::download::content_disposition;
use domain::ids::{AttachmentId, ServiceRequestId};
use domain::money::Money;
use domain::operator::OperatorAction;
use domain::paging::PageSize;
use domain::support::{RequestStatus, TOPICS};
use futures::StreamExt;
use serde::Deserialize;
use services::support::{AttachmentReader, DeskCancel, DeskChange, RefundGrant};

pub struct QueueRow {
    pub id: String,
    pub title: String,
    pub partner: String,
    pub topic: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "operator/desk.html")]
struct QueuePage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    status: String,
    topic: String,
    partner: String,
    statuses: Vec<&'static str>,
    topics: Vec<(&'static str, String)>,
    partners: Vec<(String, String)>,
    rows: Vec<QueueRow>,
}

#[derive(Deserialize, Default)]
struct QueueFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    partner: String,
}

fn topic_name(t: &domain::support::SupportTopic) -> String {
    crate::i18n::t(&format!("topic-{}", t.code))
}

async fn queue(State(state): State<AppState>, Console(s): Console, Query(f): Query<QueueFilter>) -> ConsoleResult {
    let services = &state.services;
    let status = (!f.status.is_empty()).then_some(f.status.as_str());
    let size = PageSize::parse(Some(500)).map_err(services::Error::from).or_console(&s)?;
    let requests = services.desk_service_requests(&s.publisher, status, size, None).await.or_console(&s)?.items;
    let partners = services.find_partners(&s.publisher, "").await.or_console(&s)?;
    let name_of = |id: domain::ids::PartnerId| {
        partners.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string())
    };
    let rows = requests
        .iter()
        .filter(|r| f.topic.is_empty() || r.topic.code == f.topic)
        .filter(|r| f.partner.is_empty() || r.partner_id.to_string() == f.partner)
        .map(|r| QueueRow {
            id: r.id.to_string(),
            title: r.title.clone(),
            partner: name_of(r.partner_id),
            topic: topic_name(r.topic),
            status: r.status.as_str().to_string(),
            created: format::when(r.created_at),
        })
        .collect();
    Ok(page(&QueuePage {
        title: tr!("console-nav-desk"),
        section: "desk",
        nav: Some(ConsoleNav::of(&s)),
        statuses: RequestStatus::ALL.iter().map(|s| s.as_str()).collect(),
        topics: TOPICS.iter().map(|t| (t.code, topic_name(t))).collect(),
        partners: partners.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        status: f.status,
        topic: f.topic,
        partner: f.partner,
        rows,
    }))
}

pub struct NoteView {
    pub author: String,
    pub publisher: bool,
    pub created: String,
    pub text: String,
}

pub struct LineView {
    pub number: u32,
    pub title: String,
    pub product_type: String,
    pub status: String,
    pub charged: String,
    pub left: String,
    pub cancelled: bool,
}

pub struct OrderView {
    pub id: String,
    pub customer_id: String,
    pub customer: String,
    pub currency: String,
    pub placed: String,
    pub left: String,
    pub lines: Vec<LineView>,
}

#[derive(Template)]
#[template(path = "operator/desk_request.html")]
struct RequestPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    id: String,
    partner_id: String,
    partner: String,
    request_title: String,
    description: String,
    topic: String,
    status: String,
    open: bool,
    created: String,
    created_by: String,
    refund: Option<String>,
    notes: Vec<NoteView>,
    attachments: Vec<(String, String, String)>,
    statuses: Vec<&'static str>,
    order: Option<OrderView>,
    can_answer: bool,
    can_credit: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct Notice {
    #[serde(default)]
    done: String,
}

async fn request(
    State(state): State<AppState>,
    Console(s): Console,
    Path(id): Path<ServiceRequestId>,
    Query(n): Query<Notice>,
) -> ConsoleResult {
    let services = &state.services;
    let (partner, r) = services.desk_request(&s.publisher, id).await.or_console(&s)?;
    let order = services.desk_order(&s.publisher, &r).await.or_console(&s)?.map(|d| {
        let money = |minor: i64| format::money(Money { minor, scale: d.balance.scale }, &d.order.currency);
        OrderView {
            id: d.order.id.to_string(),
            customer_id: d.customer.tenant_id.to_string(),
            customer: d.customer.company_name.clone(),
            currency: d.order.currency.clone(),
            placed: format::when(d.order.created_at),
            left: money(d.balance.left_gross()),
            lines: d
                .order
                .lines
                .iter()
                .map(|l| {
                    let b = d.balance.lines.iter().find(|b| b.line_number == l.line_number);
                    LineView {
                        number: l.line_number,
                        title: l.title.clone(),
                        product_type: l.product_type.as_str().to_string(),
                        status: l.status.as_str().to_string(),
                        charged: money(b.map_or(0, |b| b.charged_net + b.charged_tax)),
                        left: money(b.map_or(0, |b| b.left_gross())),
                        cancelled: l.status == domain::order::LineStatus::Cancelled,
                    }
                })
                .collect(),
        }
    });
    let notice = match n.done.as_str() {
        "answer" => Some(tr!("console-desk-done-answer")),
        "refund" => Some(tr!("console-desk-done-refund")),
        "cancel" => Some(tr!("console-desk-done-cancel")),
        _ => None,
    };
    Ok(page(&RequestPage {
        title: r.title.clone(),
        section: "desk",
        csrf: s.csrf.clone(),
        id: r.id.to_string(),
        partner_id: partner.id.to_string(),
        partner: partner.name.clone(),
        request_title: r.title.clone(),
        description: r.description.clone(),
        topic: topic_name(r.topic),
        status: r.status.as_str().to_string(),
        open: r.status != RequestStatus::Closed,
        created: format::when(r.created_at),
        created_by: r.created_by.clone(),
        refund: r.refund.as_ref().map(|v| v.to_string()),
        notes: r
            .notes
            .iter()
            .map(|n| NoteView {
                author: n.author.clone(),
                publisher: n.by_publisher,
                created: format::when(n.created_at),
                text: n.text.clone(),
            })
            .collect(),
        attachments: r
            .attachments
            .iter()
            .map(|a| (a.id.to_string(), a.file_name.clone(), crate::ui::customers::human_size(a.size)))
            .collect(),
        statuses: RequestStatus::ALL.iter().map(|s| s.as_str()).collect(),
        order,
        can_answer: s.publisher.may(OperatorAction::AnswerDesk),
        can_credit: s.publisher.may(OperatorAction::GrantCredits),
        notice,
        nav: Some(ConsoleNav::of(&s)),
    }))
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    status: String,
}

async fn answer(
    State(state): State<AppState>,
    Path(id): Path<ServiceRequestId>,
    f: ConsoleForm<AnswerForm>,
) -> ConsoleResult {
    let s = &f.session;
    let note = f.form.note.trim();
    let change = DeskChange {
        status: (!f.form.status.is_empty()).then(|| f.form.status.clone()),
        note: (!note.is_empty()).then(|| note.to_string()),
        refund: None,
        cancel: None,
    };
    if change.status.is_none() && change.note.is_none() {
        return Ok(Redirect::to(&format!("/operator/desk/{id}")).into_response());
    }
    state.services.desk_update(&s.publisher, id, change, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/desk/{id}?done=answer")).into_response())
}

/// The refund and cancel forms' second step: what will happen, and the button that does it.
#[derive(Template)]
#[template(path = "operator/desk_confirm.html")]
struct ConfirmPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    id: String,
    action: &'a str,
    summary: String,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
struct RefundForm {
    amount: String,
    currency: String,
    #[serde(default)]
    order_id: String,
    /// A line number, or empty for the whole order (spread over its lines).
    #[serde(default)]
    line: String,
    #[serde(default)]
    confirmed: Option<String>,
}

async fn refund(
    State(state): State<AppState>,
    Path(id): Path<ServiceRequestId>,
    f: ConsoleForm<RefundForm>,
) -> ConsoleResult {
    let s = &f.session;
    let v = &f.form;
    let line = v.line.trim();
    let line_item_number = match line {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            ConsoleError(domain::DomainError::invalid("line", "no such line").into(), Some(Box::new(ConsoleNav::of(s))))
        })?),
    };
    if v.confirmed.is_none() {
        let summary = match line_item_number {
            Some(n) => {
                tr!("console-refund-confirm-line", amount = format!("{} {}", v.amount.trim(), v.currency), line = n)
            }
            None => tr!("console-refund-confirm-order", amount = format!("{} {}", v.amount.trim(), v.currency)),
        };
        return Ok(page(&ConfirmPage {
            title: tr!("console-refund-heading"),
            section: "desk",
            nav: Some(ConsoleNav::of(s)),
            csrf: s.csrf.clone(),
            id: id.to_string(),
            action: "refund",
            summary,
            hidden: vec![
                ("amount", v.amount.clone()),
                ("currency", v.currency.clone()),
                ("order_id", v.order_id.clone()),
                ("line", v.line.clone()),
            ],
        }));
    }
    let grant = RefundGrant {
        amount: v.amount.trim().to_string(),
        currency_code: v.currency.clone(),
        order_id: (!v.order_id.is_empty()).then(|| v.order_id.clone()),
        line_item_number,
    };
    let change = DeskChange { status: None, note: None, refund: Some(grant), cancel: None };
    state.services.desk_update(&s.publisher, id, change, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/desk/{id}?done=refund")).into_response())
}

#[derive(Deserialize)]
struct CancelForm {
    customer_id: String,
    order_id: String,
    #[serde(default)]
    confirmed: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<ServiceRequestId>,
    f: ConsoleForm<CancelForm>,
) -> ConsoleResult {
    let s = &f.session;
    // The line checkboxes post `lines` once each; none checked: the whole order.
    let lines: Vec<i64> =
        form_urlencoded::parse(&f.raw).filter(|(k, _)| k == "lines").filter_map(|(_, v)| v.parse().ok()).collect();
    let v = &f.form;
    if v.confirmed.is_none() {
        let which = if lines.is_empty() {
            tr!("console-cancel-all-lines")
        } else {
            format::list(lines.iter().map(|n| n.to_string()))
        };
        let mut hidden = vec![("customer_id", v.customer_id.clone()), ("order_id", v.order_id.clone())];
        hidden.extend(lines.iter().map(|n| ("lines", n.to_string())));
        return Ok(page(&ConfirmPage {
            title: tr!("console-cancel-heading"),
            section: "desk",
            nav: Some(ConsoleNav::of(s)),
            csrf: s.csrf.clone(),
            id: id.to_string(),
            action: "cancel",
            summary: tr!("console-cancel-confirm", order = v.order_id.as_str(), lines = which),
            hidden,
        }));
    }
    let cancel = DeskCancel {
        customer_id: v.customer_id.clone(),
        order_id: v.order_id.clone(),
        line_items: (!lines.is_empty()).then_some(lines),
    };
    let change = DeskChange { status: None, note: None, refund: None, cancel: Some(cancel) };
    state.services.desk_update(&s.publisher, id, change, None).await.or_console(s)?;
    Ok(Redirect::to(&format!("/operator/desk/{id}?done=cancel")).into_response())
}

/// An attachment, streamed from blob storage as a download.
async fn attachment(
    State(state): State<AppState>,
    Console(s): Console,
    Path((id, attachment)): Path<(ServiceRequestId, AttachmentId)>,
) -> Result<Response, ConsoleError> {
    let reader = AttachmentReader::Desk(&s.publisher);
    let (a, body) = state.services.open_attachment(reader, id, attachment).await.or_console(&s)?;
    let mut res = Body::from_stream(body.map(|c| c.map_err(std::io::Error::other))).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&a.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/desk", get_requiring(OperatorAction::ViewDesk, queue))
        .route("/operator/desk/{id}", get_requiring(OperatorAction::ViewDesk, request))
        .route("/operator/desk/{id}/answer", post_requiring(OperatorAction::AnswerDesk, answer))
        .route("/operator/desk/{id}/refund", post_requiring(OperatorAction::GrantCredits, refund))
        .route("/operator/desk/{id}/cancel", post_requiring(OperatorAction::GrantCredits, cancel))
        .route("/operator/desk/{id}/attachments/{attachment}", get_requiring(OperatorAction::ViewDesk, attachment))
}
