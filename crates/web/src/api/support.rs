//! Support requests (R11): partners file and follow them (any role); the publisher's desk answers them.
//!
//! Partner Center's paths put the locale where later calls put the request id (`POST /v1/servicerequests/{locale}`,
//! `GET /v1/servicerequests/{id}`); one route cannot carry two parameter names, so both are `{id}` here, and for
//! the POST it holds the locale.

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use super::requires;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, PublisherAuth, Query};
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::download::content_disposition;
use domain::ids::{AttachmentId, ServiceRequestId, TenantId};
use domain::policy::Action;
use domain::support::{
    Attachment, ContactDraft, RefundDraft, ServiceRequest, ServiceRequestDraft, SupportTopic, MAX_ATTACHMENT_BYTES,
    TOPICS,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use services::blobs::ByteStream;
use services::support::AttachmentReader;
use services::support::{DeskCancel, DeskChange, RefundGrant};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Partner Center's `SupportTopic`, plus `code`: the topic's stable machine name (what `id` was before topics had
/// numbers). `supportTopicId` on filing takes either.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportTopicDto {
    /// Stable integer id, e.g. `1` for CSP Purchase/Refund on behalf of customers.
    pub id: u32,
    /// Stable machine name, e.g. `csp_purchase_refund`.
    pub code: String,
    pub name: String,
    pub description: String,
    pub attributes: Attributes,
}

impl From<&SupportTopic> for SupportTopicDto {
    fn from(t: &SupportTopic) -> SupportTopicDto {
        SupportTopicDto {
            id: t.id,
            code: t.code.into(),
            name: t.name.into(),
            description: t.description.into(),
            attributes: Attributes::of("SupportTopic"),
        }
    }
}

/// A contact. Field names are read as Partner Center's clients send them, camelCase or PascalCase.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactDto {
    #[serde(alias = "FirstName")]
    pub first_name: Option<String>,
    #[serde(alias = "LastName")]
    pub last_name: Option<String>,
    #[serde(alias = "Email")]
    pub email: Option<String>,
    #[serde(alias = "PhoneNumber")]
    pub phone_number: Option<String>,
}

/// The refund fields of a `csp_purchase_refund` request (optional: the details may be written in `description`
/// instead, as Partner Center's clients do): one of customerId/customerDomain, one of orderId/subscriptionId, a
/// reason, and optionally an amount with its currency.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundInput {
    pub customer_id: Option<String>,
    pub customer_domain: Option<String>,
    pub order_id: Option<String>,
    pub subscription_id: Option<String>,
    pub reason: Option<String>,
    pub amount_requested: Option<String>,
    pub currency_code: Option<String>,
}

/// How `supportTopicId` may name a topic (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum SupportTopicRef {
    /// The topic's integer id, as a number or as a string of digits (`1`, `"1"`).
    Id(u32),
    /// The topic's id as digits, or its machine name (`csp_purchase_refund`), as integrations written before topics
    /// had numbers send it.
    Text(String),
}

/// The body of `POST /v1/servicerequests/{locale}`: Partner Center's `ServiceRequest` (its other fields, such as
/// `status`, `organization` or `createdDate`, are ignored), field names camelCase or PascalCase as its samples send
/// them, plus our optional `refund` block.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequestInput {
    #[serde(alias = "Title")]
    pub title: Option<String>,
    #[serde(alias = "Description")]
    pub description: Option<String>,
    /// `critical`, `moderate` or `minimal`.
    #[serde(alias = "Severity")]
    pub severity: Option<String>,
    /// From `GET /v1/servicerequests/supporttopics`: a topic's `id` (`1` or `"1"`) or its `code`
    /// (`csp_purchase_refund`).
    #[serde(alias = "SupportTopicId")]
    #[schema(value_type = Option<SupportTopicRef>)]
    pub support_topic_id: Option<serde_json::Value>,
    /// Optional: without it, the user filing the request is the contact.
    #[serde(alias = "PrimaryContact")]
    pub primary_contact: Option<ContactDto>,
    /// Optional for every topic; preferred for `csp_purchase_refund`, whose details may also be in `description`.
    pub refund: Option<RefundInput>,
}

impl ServiceRequestInput {
    fn draft(self) -> Result<ServiceRequestDraft, domain::DomainError> {
        // Missing fields become empty, so that validation (not the JSON parser) names them.
        let support_topic_id = match self.support_topic_id {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(_) => {
                return Err(domain::DomainError::invalid("supportTopicId", "must be a topic's id or code"));
            }
        };
        Ok(ServiceRequestDraft {
            title: self.title.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            severity: self.severity.unwrap_or_default(),
            support_topic_id,
            contact: self.primary_contact.map(|c| ContactDraft {
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
                phone_number: c.phone_number,
            }),
            refund: self.refund.map(|r| RefundDraft {
                customer_id: r.customer_id,
                customer_domain: r.customer_domain,
                order_id: r.order_id,
                subscription_id: r.subscription_id,
                reason: r.reason,
                amount_requested: r.amount_requested,
                currency_code: r.currency_code,
            }),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoteDto {
    pub id: String,
    pub text: String,
    pub created_by_name: String,
    /// Whether the publisher (the support desk) wrote it.
    pub from_publisher: bool,
    pub created_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDto {
    pub id: String,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_date: String,
}

impl From<&Attachment> for AttachmentDto {
    fn from(a: &Attachment) -> AttachmentDto {
        AttachmentDto {
            id: a.id.to_string(),
            file_name: a.file_name.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            uploaded_by: a.uploaded_by.clone(),
            created_date: a.created_at.to_rfc3339(),
        }
    }
}

/// Partner Center's `FileInfo`: an attachment as `fileLinks` lists it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfoDto {
    pub id: String,
    /// `invoice` for `invoice.pdf`.
    pub file_name_without_extension: String,
    /// `.pdf` for `invoice.pdf`; empty when the name has none.
    pub extension_type: String,
    pub file_size: u64,
    /// Where the file is downloaded, relative to the API root (`/servicerequests/{id}/attachments/{attachmentId}`,
    /// under `/v1`), with the caller's token.
    pub location: String,
}

/// Who reads a request: the partner, or the publisher's desk (whose attachment addresses differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Partner,
    Desk,
}

fn file_info(r: &ServiceRequest, a: &Attachment, reader: Reader) -> FileInfoDto {
    let (stem, extension) = match a.file_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => (stem.to_string(), format!(".{ext}")),
        _ => (a.file_name.clone(), String::new()),
    };
    let prefix = match reader {
        Reader::Partner => "",
        Reader::Desk => "/publisher",
    };
    FileInfoDto {
        id: a.id.to_string(),
        file_name_without_extension: stem,
        extension_type: extension,
        file_size: a.size,
        location: format!("{prefix}/servicerequests/{}/attachments/{}", r.id, a.id),
    }
}

/// Partner Center's `ServiceRequest` (`supportTopicId` as the topic's number in a string, as Partner Center sends
/// it; `lastModifiedDate`, `lastClosedDate`, `fileLinks`, `notes`), with our additions: `supportTopicCode`,
/// `refund`, `customerId`, `attachments` (with size and SHA-256) and `lastUpdatedDate` (the same instant as
/// `lastModifiedDate`, kept for integrations written before).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequestDto {
    pub id: String,
    pub partner_id: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    /// The topic's integer id, as a string of digits (Partner Center's type), e.g. `"1"`.
    pub support_topic_id: String,
    pub support_topic_name: String,
    /// The topic's machine name, e.g. `csp_purchase_refund`.
    pub support_topic_code: String,
    /// `open`, `in_progress`, `resolved` or `closed`.
    pub status: String,
    pub primary_contact: ContactDto,
    /// The refund fields as filed; `null` when the request has none (the details are then in `description`).
    #[schema(value_type = Option<Object>)]
    pub refund: Option<serde_json::Value>,
    /// The partner's customer the request is about (named by its refund block), if any.
    pub customer_id: Option<String>,
    pub created_by: String,
    pub created_date: String,
    pub last_modified_date: String,
    /// The same instant as `lastModifiedDate` (our earlier name, kept).
    pub last_updated_date: String,
    /// When the request was closed; `null` while it is not.
    pub last_closed_date: Option<String>,
    /// Oldest first; empty in lists.
    pub notes: Vec<NoteDto>,
    /// The attachments as Partner Center's `FileInfo`; empty in lists.
    pub file_links: Vec<FileInfoDto>,
    /// The same attachments with name, size and SHA-256; empty in lists.
    pub attachments: Vec<AttachmentDto>,
    pub attributes: Attributes,
}

fn request_dto(r: &ServiceRequest, reader: Reader) -> ServiceRequestDto {
    ServiceRequestDto {
        id: r.id.to_string(),
        partner_id: r.partner_id.to_string(),
        title: r.title.clone(),
        description: r.description.clone(),
        severity: r.severity.as_str().into(),
        support_topic_id: r.topic.id.to_string(),
        support_topic_name: r.topic.name.into(),
        support_topic_code: r.topic.code.into(),
        status: r.status.as_str().into(),
        primary_contact: ContactDto {
            first_name: Some(r.contact.first_name.clone()),
            last_name: Some(r.contact.last_name.clone()),
            email: Some(r.contact.email.clone()),
            phone_number: r.contact.phone_number.clone(),
        },
        refund: r.refund.clone(),
        customer_id: r.customer_id.map(|c| c.to_string()),
        created_by: r.created_by.clone(),
        created_date: r.created_at.to_rfc3339(),
        last_modified_date: r.updated_at.to_rfc3339(),
        last_updated_date: r.updated_at.to_rfc3339(),
        last_closed_date: r.closed_at.map(|t| t.to_rfc3339()),
        notes: r
            .notes
            .iter()
            .map(|n| NoteDto {
                id: n.id.to_string(),
                text: n.text.clone(),
                created_by_name: n.author.clone(),
                from_publisher: n.by_publisher,
                created_date: n.created_at.to_rfc3339(),
            })
            .collect(),
        file_links: r.attachments.iter().map(|a| file_info(r, a, reader)).collect(),
        attachments: r.attachments.iter().map(AttachmentDto::from).collect(),
        attributes: Attributes::of("ServiceRequest"),
    }
}

fn partner_view(r: &ServiceRequest) -> ServiceRequestDto {
    request_dto(r, Reader::Partner)
}

fn desk_view(r: &ServiceRequest) -> ServiceRequestDto {
    request_dto(r, Reader::Desk)
}

/// A note (`newNote`); Partner Center's `ServiceRequestNote` fields other than `text` are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteInput {
    #[serde(alias = "Text")]
    pub text: String,
}

/// The partner's change: a note. Partner Center's whole `ServiceRequest` may be sent (camelCase or PascalCase, as
/// its samples do); only `newNote` is read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerPatch {
    #[serde(alias = "NewNote")]
    pub new_note: Option<NoteInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundGrantInput {
    /// The gross amount credited: at most what is left of the line (or, without `lineItemNumber`, of the order)
    /// after earlier credits.
    pub amount: String,
    pub currency_code: String,
    pub order_id: Option<String>,
    pub line_item_number: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItemRefInput {
    pub line_item_number: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeskCancelInput {
    pub customer_id: String,
    pub order_id: String,
    pub line_items: Option<Vec<LineItemRefInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeskPatch {
    pub status: Option<String>,
    pub new_note: Option<NoteInput>,
    pub refund: Option<RefundGrantInput>,
    pub cancel: Option<DeskCancelInput>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AttachmentParams {
    /// The file's name (path parts and unsafe characters are removed).
    pub file_name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeskParams {
    /// Only requests in this status.
    pub status: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::SupportRequests, routes!(support_topics)))
        .routes(requires(Action::SupportRequests, routes!(create_request, get_request, add_note)))
        .routes(requires(Action::SupportRequests, routes!(list_requests)))
        .routes(requires(Action::SupportRequests, routes!(customer_requests)))
        .routes(requires(Action::SupportRequests, routes!(upload_attachment)))
        .routes(requires(Action::SupportRequests, routes!(download_attachment)))
        .routes(operator_requires(domain::operator::OperatorAction::ViewDesk, routes!(desk_list)))
        .routes(operator_requires(domain::operator::OperatorAction::ViewDesk, routes!(desk_get, desk_patch)))
        .routes(operator_requires(domain::operator::OperatorAction::ViewDesk, routes!(desk_attachment)))
        .routes(operator_requires(domain::operator::OperatorAction::AnswerDesk, routes!(desk_answer)))
        .routes(operator_requires(domain::operator::OperatorAction::GrantCredits, routes!(desk_refund)))
        .routes(operator_requires(domain::operator::OperatorAction::GrantCredits, routes!(desk_cancel)))
}

/// The topics a request can be filed under (Partner Center's `SupportTopic`: integer `id`, `name`, `description`,
/// and our stable machine name `code`), including `csp_purchase_refund` (id 1).
#[utoipa::path(get, path = "/v1/servicerequests/supporttopics", tag = "support",
    responses((status = 200, body = Collection<SupportTopicDto>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn support_topics(PartnerAuth(_actor): PartnerAuth, uri: Uri) -> Json<Collection<SupportTopicDto>> {
    let topics = TOPICS.iter().map(SupportTopicDto::from).collect();
    Json(super::collection::whole(topics, &uri))
}

/// File a support request (any role). The path segment is the locale, e.g. `en-US`. Partner Center's body is
/// accepted as its samples send it; `refund` is optional for every topic (for `csp_purchase_refund` the details may
/// be in `description`), and without `primaryContact` the user filing is the contact.
#[utoipa::path(post, path = "/v1/servicerequests/{id}", tag = "support", request_body = ServiceRequestInput,
    params(("id" = String, Path, description = "the locale, e.g. en-US"),
        ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_request(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(locale): Path<String>,
    mut body: IdemJson<ServiceRequestInput>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, partner_view);
    let result = match body.value.clone().draft() {
        Ok(draft) => state.services.create_service_request(&actor, &locale, draft, reply.keep()).await,
        Err(e) => Err(e.into()),
    };
    reply.send(result).await
}

/// The partner's requests, oldest first (paged).
#[utoipa::path(get, path = "/v1/servicerequests", tag = "support", params(PageParams),
    responses((status = 200, body = Collection<ServiceRequestDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_requests(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ServiceRequestDto>>> {
    let page = state.services.list_service_requests(&actor, page.size()?, page.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, partner_view)))
}

/// A customer's requests (those whose refund block names it), oldest first (paged), as Partner Center's "get all
/// service requests for a customer". Another partner's customer is 404.
#[utoipa::path(get, path = "/v1/customers/{customerId}/servicerequests", tag = "support",
    params(("customerId" = String, Path, description = "the customer's tenant id"), PageParams),
    responses((status = 200, body = Collection<ServiceRequestDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn customer_requests(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(customer): Path<TenantId>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ServiceRequestDto>>> {
    let page =
        state.services.list_customer_service_requests(&actor, customer, page.size()?, page.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, partner_view)))
}

/// One request with its notes and attachments.
#[utoipa::path(get, path = "/v1/servicerequests/{id}", tag = "support", params(("id" = String, Path)),
    responses((status = 200, body = ServiceRequestDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_request(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<ServiceRequestId>,
) -> ApiResult<Json<ServiceRequestDto>> {
    Ok(Json(partner_view(&state.services.get_service_request(&actor, id).await?)))
}

/// Add a note: `{"newNote": {"text": "…"}}`.
#[utoipa::path(patch, path = "/v1/servicerequests/{id}", tag = "support", request_body = PartnerPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_note(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<ServiceRequestId>,
    mut body: IdemJson<PartnerPatch>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, partner_view);
    let result = match &body.value.new_note {
        Some(note) => state.services.add_partner_note(&actor, id, &note.text, reply.keep()).await,
        None => Err(domain::DomainError::invalid("newNote", "is required").into()),
    };
    reply.send(result).await
}

fn limited_body(headers: &HeaderMap, body: Body) -> ApiResult<ByteStream> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_ATTACHMENT_BYTES) {
        return Err(domain::DomainError::PayloadTooLarge(MAX_ATTACHMENT_BYTES).into());
    }
    Ok(body.into_data_stream().map_err(std::io::Error::other).boxed())
}

/// Attach a file (raw body, at most 10 MiB; a larger declared size is refused before the body is read).
#[utoipa::path(post, path = "/v1/servicerequests/{id}/attachments", tag = "support",
    params(("id" = String, Path), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload_attachment(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(id): Path<ServiceRequestId>,
    Query(params): Query<AttachmentParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<AttachmentDto>)> {
    let stream = limited_body(&headers, body)?;
    let attachment = state.services.attach_file(&actor, id, &params.file_name, stream).await?;
    Ok((StatusCode::CREATED, Json(AttachmentDto::from(&attachment))))
}

fn file_response(attachment: &Attachment, body: ByteStream) -> Response {
    let mut res = Response::new(Body::from_stream(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(attachment.size));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&attachment.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Download an attachment of one of the partner's requests.
#[utoipa::path(get, path = "/v1/servicerequests/{id}/attachments/{attachmentId}", tag = "support",
    params(("id" = String, Path), ("attachmentId" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn download_attachment(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((id, attachment)): Path<(ServiceRequestId, AttachmentId)>,
) -> ApiResult<Response> {
    let (found, body) = state.services.open_attachment(AttachmentReader::Partner(&actor), id, attachment).await?;
    Ok(file_response(&found, body))
}

/// The desk: every partner's requests, oldest first, optionally of one status.
#[utoipa::path(get, path = "/v1/publisher/servicerequests", tag = "publisher", params(DeskParams, PageParams),
    responses((status = 200, body = Collection<ServiceRequestDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_list(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<DeskParams>,
    Query(page): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<ServiceRequestDto>>> {
    let page = state
        .services
        .desk_service_requests(&publisher, params.status.as_deref(), page.size()?, page.cursor(&headers)?)
        .await?;
    Ok(Json(collection(page, &uri, desk_view)))
}

/// The desk: one request with its notes and attachments.
#[utoipa::path(get, path = "/v1/publisher/servicerequests/{id}", tag = "publisher", params(("id" = String, Path)),
    responses((status = 200, body = ServiceRequestDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_get(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<ServiceRequestId>,
) -> ApiResult<Json<ServiceRequestDto>> {
    Ok(Json(desk_view(&state.services.desk_request(&publisher, id).await?.1)))
}

/// The desk answers: `{status?, newNote?, refund?{amount, currencyCode, orderId?, lineItemNumber?},
/// cancel?{customerId, orderId, lineItems?}}`, all in one transaction. A refund becomes `refund` credits on the
/// partner's next invoice: against a line, split at its rate; against an order, apportioned to its lines pro rata to
/// what each has left; never more than is left of the charge (409 `credit_exceeds_charge`, with what is left in
/// `data[0].left`). A cancel runs R10 whatever the product's policy, its credit capped to what is left; with both,
/// the refund's cap sees the cancel's credits.
#[utoipa::path(patch, path = "/v1/publisher/servicerequests/{id}", tag = "publisher", request_body = DeskPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_patch(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<ServiceRequestId>,
    mut body: IdemJson<DeskPatch>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, desk_view);
    let v = &body.value;
    let change = DeskChange {
        status: v.status.clone(),
        note: v.new_note.as_ref().map(|n| n.text.clone()),
        refund: v.refund.as_ref().map(RefundGrant::from),
        cancel: v.cancel.as_ref().map(DeskCancel::from),
    };
    let result = state.services.desk_update(&publisher, id, change, reply.keep()).await;
    reply.send(result).await
}

impl From<&RefundGrantInput> for RefundGrant {
    fn from(r: &RefundGrantInput) -> RefundGrant {
        RefundGrant {
            amount: r.amount.clone(),
            currency_code: r.currency_code.clone(),
            order_id: r.order_id.clone(),
            line_item_number: r.line_item_number,
        }
    }
}

impl From<&DeskCancelInput> for DeskCancel {
    fn from(c: &DeskCancelInput) -> DeskCancel {
        DeskCancel {
            customer_id: c.customer_id.clone(),
            order_id: c.order_id.clone(),
            line_items: c.line_items.as_ref().map(|l| l.iter().map(|r| r.line_item_number).collect()),
        }
    }
}

/// The desk's answer alone: a status and/or a note (support agents). The same as `PATCH` with only those fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeskAnswer {
    pub status: Option<String>,
    pub new_note: Option<NoteInput>,
}

/// Answer a request: change its status and/or add a note (operator admins and support agents).
#[utoipa::path(post, path = "/v1/publisher/servicerequests/{id}/answers", tag = "publisher", request_body = DeskAnswer,
    params(("id" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_answer(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<ServiceRequestId>,
    mut body: IdemJson<DeskAnswer>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, desk_view);
    let v = &body.value;
    if v.status.is_none() && v.new_note.is_none() {
        return Err(ApiError::invalid("body: give a status, a newNote or both"));
    }
    let change = DeskChange {
        status: v.status.clone(),
        note: v.new_note.as_ref().map(|n| n.text.clone()),
        refund: None,
        cancel: None,
    };
    let result = state.services.desk_update(&publisher, id, change, reply.keep()).await;
    reply.send(result).await
}

/// Grant a refund on a request's order (operator admins and billing operators): as `PATCH`'s `refund`.
#[utoipa::path(post, path = "/v1/publisher/servicerequests/{id}/refunds", tag = "publisher",
    request_body = RefundGrantInput,
    params(("id" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_refund(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<ServiceRequestId>,
    mut body: IdemJson<RefundGrantInput>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, desk_view);
    let change = DeskChange { status: None, note: None, refund: Some(RefundGrant::from(&body.value)), cancel: None };
    let result = state.services.desk_update(&publisher, id, change, reply.keep()).await;
    reply.send(result).await
}

/// Cancel lines of an order from the desk whatever their policy (operator admins and billing operators): as
/// `PATCH`'s `cancel`.
#[utoipa::path(post, path = "/v1/publisher/servicerequests/{id}/cancellations", tag = "publisher",
    request_body = DeskCancelInput,
    params(("id" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = ServiceRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_cancel(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<ServiceRequestId>,
    mut body: IdemJson<DeskCancelInput>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, desk_view);
    let change = DeskChange { status: None, note: None, refund: None, cancel: Some(DeskCancel::from(&body.value)) };
    let result = state.services.desk_update(&publisher, id, change, reply.keep()).await;
    reply.send(result).await
}

/// The desk: download an attachment of any request.
#[utoipa::path(get, path = "/v1/publisher/servicerequests/{id}/attachments/{attachmentId}", tag = "publisher",
    params(("id" = String, Path), ("attachmentId" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn desk_attachment(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((id, attachment)): Path<(ServiceRequestId, AttachmentId)>,
) -> ApiResult<Response> {
    let (found, body) = state.services.open_attachment(AttachmentReader::Desk(&publisher), id, attachment).await?;
    Ok(file_response(&found, body).into_response())
}
