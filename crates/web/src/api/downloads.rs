//! Files and download links (R6, R7): the publisher's uploads, an item's download options, "Get keys and
//! downloads" (admin agents), and `GET /download/{token}` (no authentication: the token is the credential).

use super::collection::{collection, Collection, PageParams};
use super::operator_requires;
use super::requires;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Client, PartnerAuth, Path, PublisherAuth, Query};
use crate::idempotency::Keyed;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::download::{content_disposition, Transfer};
use domain::ids::{ArtifactId, DownloadLinkId, SoftwareItemId, TenantId};
use domain::policy::Action;
use domain::software::{Artifact, ArtifactSelection, DownloadOptions};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use services::downloads::{ArtifactUpload, DownloadRequest, KeysAndDownloads, ListedLink, MAX_ARTIFACT_BYTES};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDto {
    pub id: String,
    pub product_id: String,
    pub version: String,
    pub language: String,
    pub file_type: String,
    pub file_name: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
}

impl From<&Artifact> for ArtifactDto {
    fn from(a: &Artifact) -> ArtifactDto {
        ArtifactDto {
            id: a.id.to_string(),
            product_id: a.product_id.clone(),
            version: a.version.clone(),
            language: a.language.clone(),
            file_type: a.file_type.clone(),
            file_name: a.file_name.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadOptionsDto {
    pub versions: Vec<String>,
    pub languages: Vec<String>,
    pub file_types: Vec<String>,
    pub artifacts: Vec<ArtifactDto>,
}

impl From<&DownloadOptions> for DownloadOptionsDto {
    fn from(o: &DownloadOptions) -> DownloadOptionsDto {
        DownloadOptionsDto {
            versions: o.versions.clone(),
            languages: o.languages.clone(),
            file_types: o.file_types.clone(),
            artifacts: o.artifacts.iter().map(ArtifactDto::from).collect(),
        }
    }
}

/// What "Submit" selected; each field given narrows the files, none given takes them all.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeysAndDownloadsInput {
    pub version: Option<String>,
    pub language: Option<String>,
    pub file_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkUri {
    pub uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadDto {
    pub artifact_id: String,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub version: String,
    pub language: String,
    pub file_type: String,
    pub link: LinkUri,
    pub expires_at: String,
    pub max_downloads: i64,
    pub remaining_downloads: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeysAndDownloadsDto {
    pub software_item_id: String,
    /// The decrypted activation key; absent for a product without keys.
    pub activation_key: Option<String>,
    pub downloads: Vec<DownloadDto>,
}

impl From<&KeysAndDownloads> for KeysAndDownloadsDto {
    fn from(k: &KeysAndDownloads) -> KeysAndDownloadsDto {
        KeysAndDownloadsDto {
            software_item_id: k.item.id.to_string(),
            activation_key: k.activation_key.clone(),
            downloads: k
                .downloads
                .iter()
                .map(|d| DownloadDto {
                    artifact_id: d.artifact.id.to_string(),
                    file_name: d.artifact.file_name.clone(),
                    size: d.artifact.size,
                    sha256: d.artifact.sha256.clone(),
                    version: d.artifact.version.clone(),
                    language: d.artifact.language.clone(),
                    file_type: d.artifact.file_type.clone(),
                    link: LinkUri { uri: d.uri.clone() },
                    expires_at: d.state.expires_at.to_rfc3339(),
                    max_downloads: d.state.max_downloads,
                    remaining_downloads: d.state.remaining(),
                })
                .collect(),
        }
    }
}

/// A link issued for an item, as the item's link list shows it (the link itself is not: only its hash is kept).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedLinkDto {
    pub id: String,
    pub artifact: ArtifactDto,
    /// Who issued it (a user principal name).
    pub issued_by: String,
    pub issued_at: String,
    pub expires_at: String,
    pub downloads: i64,
    pub max_downloads: i64,
    pub remaining_downloads: i64,
    /// `active`, `expired` (14 days passed), `used_up` (50 downloads) or `revoked`, on the partner's clock.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedLinksDto {
    pub total_count: usize,
    pub items: Vec<IssuedLinkDto>,
}

impl From<&ListedLink> for IssuedLinkDto {
    fn from(l: &ListedLink) -> IssuedLinkDto {
        let s = &l.link.state;
        IssuedLinkDto {
            id: l.link.id.to_string(),
            artifact: ArtifactDto::from(&l.link.artifact),
            issued_by: l.link.issued_by.clone(),
            issued_at: s.issued_at.to_rfc3339(),
            expires_at: s.expires_at.to_rfc3339(),
            downloads: s.downloads,
            max_downloads: s.max_downloads,
            remaining_downloads: s.remaining(),
            status: l.status.as_str().to_string(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ArtifactParams {
    /// e.g. `2019`.
    pub version: String,
    /// e.g. `en-us`.
    pub language: String,
    /// File type or OS, e.g. `ISO` or `x64`.
    pub file_type: String,
    /// The name the file is downloaded under (path parts and unsafe characters are removed).
    pub file_name: String,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(upload_artifact)))
        .routes(operator_requires(domain::operator::OperatorAction::ViewPlatform, routes!(list_artifacts)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(replace_artifact)))
        .routes(operator_requires(domain::operator::OperatorAction::ManageCatalog, routes!(withdraw_artifact)))
        .routes(requires(Action::ViewSoftware, routes!(download_options)))
        .routes(requires(Action::GetKeysAndDownloads, routes!(keys_and_downloads)))
        .routes(requires(Action::GetKeysAndDownloads, routes!(item_links)))
        .routes(requires(Action::GetKeysAndDownloads, routes!(revoke_link)))
        .routes(routes!(download))
}

/// Upload a file for a product (raw body, streamed to blob storage, at most 64 GiB). The one POST that takes no
/// idempotency key (the body is not kept to compare): a retry stores a second copy with its own id.
#[utoipa::path(post, path = "/v1/publisher/products/{productId}/artifacts", tag = "publisher",
    params(("productId" = String, Path), ArtifactParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArtifactDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload_artifact(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(product_id): Path<String>,
    Query(params): Query<ArtifactParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ArtifactDto>)> {
    let stream = upload_stream(&headers, body)?;
    let upload = ArtifactUpload {
        product_id,
        version: params.version,
        language: params.language,
        file_type: params.file_type,
        file_name: params.file_name,
    };
    let artifact = state.services.upload_artifact(&publisher, upload, stream).await?;
    Ok((StatusCode::CREATED, Json(ArtifactDto::from(&artifact))))
}

/// What a replacement changes: each label not given stays the replaced file's.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReplaceParams {
    pub version: Option<String>,
    pub language: Option<String>,
    pub file_type: Option<String>,
    pub file_name: Option<String>,
}

/// A raw request body as the blob store's stream, refused before a byte is read when the client declares it too
/// big.
pub fn upload_stream(headers: &HeaderMap, body: Body) -> Result<services::blobs::ByteStream, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_ARTIFACT_BYTES) {
        return Err(domain::DomainError::PayloadTooLarge(MAX_ARTIFACT_BYTES).into());
    }
    Ok(body.into_data_stream().map_err(std::io::Error::other).boxed())
}

/// Every product's files (withdrawn ones are not listed), oldest upload first, paged.
#[utoipa::path(get, path = "/v1/publisher/artifacts", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<ArtifactDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_artifacts(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Json<Collection<ArtifactDto>>> {
    let page = state.services.page_files(&publisher, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |a| ArtifactDto::from(a))))
}

/// Replace a product's file (raw body, streamed like an upload): the new file gets its own id and the old one is
/// withdrawn in the same step. Labels not given are the old file's.
#[utoipa::path(put, path = "/v1/publisher/products/{productId}/artifacts/{artifactId}", tag = "publisher",
    params(("productId" = String, Path), ("artifactId" = String, Path), ReplaceParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArtifactDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replace_artifact(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((product_id, artifact_id)): Path<(String, ArtifactId)>,
    Query(params): Query<ReplaceParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ArtifactDto>)> {
    let stream = upload_stream(&headers, body)?;
    let upload = ArtifactUpload {
        product_id,
        version: params.version.unwrap_or_default(),
        language: params.language.unwrap_or_default(),
        file_type: params.file_type.unwrap_or_default(),
        file_name: params.file_name.unwrap_or_default(),
    };
    let artifact = state.services.replace_artifact(&publisher, artifact_id, upload, stream).await?;
    Ok((StatusCode::CREATED, Json(ArtifactDto::from(&artifact))))
}

/// Withdraw a product's file: no longer offered for new download links; links already issued keep working within
/// their own limits.
#[utoipa::path(delete, path = "/v1/publisher/products/{productId}/artifacts/{artifactId}", tag = "publisher",
    params(("productId" = String, Path), ("artifactId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn withdraw_artifact(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((product_id, artifact_id)): Path<(String, ArtifactId)>,
) -> ApiResult<StatusCode> {
    state.services.withdraw_artifact(&publisher, &product_id, artifact_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The versions, languages and file types uploaded for the item's product (any role).
#[utoipa::path(get, path = "/v1/customers/{customerId}/software/{itemId}/downloadoptions", tag = "software",
    params(("customerId" = String, Path), ("itemId" = String, Path)),
    responses((status = 200, body = DownloadOptionsDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn download_options(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, item_id)): Path<(TenantId, SoftwareItemId)>,
) -> ApiResult<Json<DownloadOptionsDto>> {
    let options = state.services.download_options(&actor, customer_id, item_id).await?;
    Ok(Json(DownloadOptionsDto::from(&options)))
}

/// Get keys and downloads (admin agents only): the item's activation key and a fresh link per selected file,
/// each good for 14 days or 50 downloads. A replay under the same `MS-RequestId` returns the same key and links
/// and records the key view again. A cancelled item: 409 `item_cancelled`.
#[utoipa::path(post, path = "/v1/customers/{customerId}/software/{itemId}/keysanddownloads", tag = "software",
    params(("customerId" = String, Path), ("itemId" = String, Path)),
    request_body = KeysAndDownloadsInput,
    responses((status = 201, body = KeysAndDownloadsDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn keys_and_downloads(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, item_id)): Path<(TenantId, SoftwareItemId)>,
    Client(client): Client,
    body: Keyed<KeysAndDownloadsInput>,
) -> Result<Response, ApiError> {
    let mut response = match body {
        Keyed::Replayed(response) => {
            state.services.record_replayed_key_view(&actor, customer_id, item_id, &client).await?;
            response
        }
        Keyed::Fresh(mut body) => {
            let reply = body.sealed_reply(StatusCode::CREATED, |v| KeysAndDownloadsDto::from(v));
            let selection = ArtifactSelection {
                version: body.value.version.clone(),
                language: body.value.language.clone(),
                file_type: body.value.file_type.clone(),
            };
            let result = state
                .services
                .keys_and_downloads(&actor, customer_id, item_id, &selection, &client, reply.keep())
                .await;
            reply.send(result).await?
        }
    };
    // An activation key and live links: never kept by a cache.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The download links issued for an item, newest first, with downloads used and left (admin agents only).
#[utoipa::path(get, path = "/v1/customers/{customerId}/software/{itemId}/downloadlinks", tag = "software",
    params(("customerId" = String, Path), ("itemId" = String, Path)),
    responses((status = 200, body = IssuedLinksDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn item_links(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, item_id)): Path<(TenantId, SoftwareItemId)>,
) -> ApiResult<Json<IssuedLinksDto>> {
    let links = state.services.item_links(&actor, customer_id, item_id).await?;
    let items: Vec<IssuedLinkDto> = links.iter().map(IssuedLinkDto::from).collect();
    Ok(Json(IssuedLinksDto { total_count: items.len(), items }))
}

/// Revoke one download link of an item (admin agents only), for example one sent to the wrong person: it answers
/// 410 `link_revoked` from then on; downloads already counted stay counted. Revoking a revoked link is a no-op
/// (204 again, nothing recorded); the activity log records `revoke_software_download_link`.
#[utoipa::path(delete, path = "/v1/customers/{customerId}/software/{itemId}/downloadlinks/{linkId}", tag = "software",
    params(("customerId" = String, Path), ("itemId" = String, Path), ("linkId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_link(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path((customer_id, item_id, link_id)): Path<(TenantId, SoftwareItemId, DownloadLinkId)>,
    Client(client): Client,
) -> ApiResult<StatusCode> {
    state.services.revoke_link(&actor, customer_id, item_id, link_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A download link: the file, counted as R7 says (a transfer from byte 0 is one of the 50 downloads; a resume
/// with `Range` is not, and is served within the 14 days). `HEAD` answers the same headers and never counts.
/// Expired or used up: 410 `link_expired`; cancelled: 410 `link_revoked`; unknown token: 404. A browser
/// (`Accept: text/html`) gets these as a short page for the customer instead of the JSON body.
#[utoipa::path(get, path = "/download/{token}", tag = "software",
    params(("token" = String, Path),
        ("Range" = Option<String>, Header, description = "bytes=START-END to resume a transfer"),
        ("If-Range" = Option<String>, Header, description = "the ETag the partial copy came from")),
    responses((status = 200, description = "the whole file", content_type = "application/octet-stream"),
        (status = 206, description = "the requested range", content_type = "application/octet-stream"),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 416, body = ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    method: Method,
    Path(token): Path<String>,
    headers: HeaderMap,
    Client(client): Client,
) -> Response {
    let text = |name: header::HeaderName| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let request = DownloadRequest {
        token: token.clone(),
        range: text(header::RANGE),
        if_range: text(header::IF_RANGE),
        head: method == Method::HEAD,
        client,
    };
    let download = match state.services.open_download(request).await {
        Ok(d) => d,
        // A person who opened the link in a browser gets a page saying what happened; API clients the JSON body.
        Err(e) => {
            if !crate::ui::links::wants_html(&headers) {
                return ApiError::from(e).into_response();
            }
            // Both limits are the API's `link_expired`; the page says which one was reached.
            let status = match e {
                services::Error::Domain(domain::DomainError::LinkExpired) => {
                    state.services.link_status(&token).await.ok().flatten()
                }
                _ => None,
            };
            match crate::ui::links::link_gone_page(&e, status, &headers) {
                Some(page) => return page,
                None => return ApiError::from(e).into_response(),
            }
        }
    };
    let artifact = &download.artifact;
    let (status, length) = match download.transfer {
        Transfer::Full => (StatusCode::OK, artifact.size),
        Transfer::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        Transfer::Unsatisfiable => {
            let mut res =
                ApiError::new(416, 416000, "range_not_satisfiable", "the range starts beyond the end of the file")
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", artifact.size)) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let body = match download.body {
        Some(stream) => Body::from_stream(stream),
        None => Body::empty(),
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&download.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&artifact.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Transfer::Partial { start, end } = download.transfer {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", artifact.size)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    res
}
