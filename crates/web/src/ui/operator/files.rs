//! The console's files: every product's installation media, uploaded from the browser (streamed to the blob store
//! as the request arrives: a multi-GiB file is never held by the server), replaced or withdrawn.
//!
//! The upload form is multipart: the labels first, the file last. Its bytes go to
//! [`services::Services::upload_artifact`] (or `replace_artifact`) through a small channel while the body is read,
//! so at most a few chunks are in memory. With JavaScript the page posts the same form by XHR and shows the upload's
//! progress; the answer is then JSON (`X-Requested-With: XMLHttpRequest`).

use super::forms::{expired, refused, CsrfQuery};
use super::{get_requiring, post_requiring, Console, ConsoleForm, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::{self, filters};
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, Router};
use domain::ids::ArtifactId;
use domain::operator::OperatorAction;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use services::downloads::ArtifactUpload;
use services::operators::OperatorSession;

pub struct FileRow {
    pub id: String,
    pub product_id: String,
    pub version: String,
    pub language: String,
    pub file_type: String,
    pub file_name: String,
    pub size: String,
    pub sha256: String,
    pub uploaded: String,
}

pub struct ProductChoice {
    pub id: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "operator/files.html")]
struct FilesPage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    csrf: String,
    can_manage: bool,
    notice: Option<String>,
    products: Vec<ProductChoice>,
    files: Vec<FileRow>,
    /// The next page's `after`, when there is one.
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct FilesQuery {
    #[serde(default)]
    uploaded: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    /// The continuation of the list (the previous page's last file).
    #[serde(default)]
    after: Option<String>,
}

async fn files(State(state): State<AppState>, Console(s): Console, Query(q): Query<FilesQuery>) -> ConsoleResult {
    let services = &state.services;
    let after = match q.after.as_deref() {
        Some(token) => Some(domain::paging::Cursor::decode(token).map_err(services::Error::from).or_console(&s)?),
        None => None,
    };
    let page_of = services.page_files(&s.publisher, domain::paging::PageSize::MAX, after).await.or_console(&s)?;
    let files = page_of.items;
    let next = page_of.next.map(|c| c.encode());
    let (products, _) = services.publisher_catalog(&s.publisher).await.or_console(&s)?;
    let notice = match (q.uploaded, q.withdrawn) {
        (Some(name), _) => Some(tr!("console-files-uploaded", file = name)),
        (None, Some(name)) => Some(tr!("console-files-withdrawn", file = name)),
        _ => None,
    };
    Ok(page(&FilesPage {
        title: tr!("console-nav-files"),
        section: "files",
        nav: Some(ConsoleNav::of(&s)),
        csrf: s.csrf.clone(),
        can_manage: s.publisher.may(OperatorAction::ManageCatalog),
        notice,
        products: products
            .iter()
            .filter(|p| p.product_type.has_downloads())
            .map(|p| ProductChoice { id: p.id.clone(), title: p.title.clone() })
            .collect(),
        files: files
            .iter()
            .map(|a| FileRow {
                id: a.id.to_string(),
                product_id: a.product_id.clone(),
                version: a.version.clone(),
                language: a.language.clone(),
                file_type: a.file_type.clone(),
                file_name: a.file_name.clone(),
                size: tr!("console-files-bytes", size = format::group_thousands(&a.size.to_string())),
                sha256: a.sha256.chars().take(12).collect(),
                uploaded: format::when(a.created_at),
            })
            .collect(),
        next,
    }))
}

/// The page's script posts the form by XHR and reads the answer as JSON.
fn by_script(headers: &HeaderMap) -> bool {
    headers.get("x-requested-with").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"XMLHttpRequest"))
}

/// A refusal: JSON `{message}` for the script, else the console's error page.
fn upload_problem(s: &OperatorSession, script: bool, e: services::Error) -> Response {
    let (status, _, message) = crate::ui::error_parts(&e);
    if script {
        return (status, Json(serde_json::json!({ "message": message }))).into_response();
    }
    refused(s, e, status)
}

/// An upload (multipart: `product`, `version`, `language`, `file_type`, optionally `replaces`, then `file`), the
/// CSRF token in the address since the body is the file. The file's bytes are streamed to storage as they arrive.
async fn upload(
    State(state): State<AppState>,
    Console(s): Console,
    Query(q): Query<CsrfQuery>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> ConsoleResult {
    let script = by_script(&headers);
    if !s.csrf_matches(&q.csrf) {
        if script {
            let body = Json(serde_json::json!({ "message": tr!("error-form-expired") }));
            return Ok((StatusCode::FORBIDDEN, body).into_response());
        }
        return Ok(expired(&s));
    }
    let unreadable = || services::Error::from(domain::DomainError::invalid("file", tr!("console-files-upload-failed")));
    let mut upload = ArtifactUpload {
        product_id: String::new(),
        version: String::new(),
        language: String::new(),
        file_type: String::new(),
        file_name: String::new(),
    };
    let mut replaces = String::new();
    let stored = loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break None,
            Err(_) => return Ok(upload_problem(&s, script, unreadable())),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            let Some(value) = super::forms::small_text(field).await else {
                return Ok(upload_problem(&s, script, unreadable()));
            };
            match name.as_str() {
                "product" => upload.product_id = value,
                "version" => upload.version = value,
                "language" => upload.language = value,
                "file_type" => upload.file_type = value,
                "replaces" => replaces = value,
                _ => {}
            }
            continue;
        }
        upload.file_name = field.file_name().unwrap_or_default().to_string();
        if upload.file_name.is_empty() {
            let e = domain::DomainError::invalid("file", tr!("console-files-choose-file"));
            return Ok(upload_problem(&s, script, e.into()));
        }
        let replaced = match replaces.trim() {
            "" => None,
            id => match id.parse::<ArtifactId>() {
                Ok(id) => Some(id),
                Err(_) => return Ok(upload_problem(&s, script, domain::DomainError::NotFound.into())),
            },
        };
        // A replacement belongs to the replaced file's product, whichever product the form's list shows.
        if let Some(old) = replaced {
            match state.services.get_file(&s.publisher, old).await {
                Ok(a) => upload.product_id = a.product_id,
                Err(e) => return Ok(upload_problem(&s, script, e)),
            }
        }
        // The field's chunks go through a channel of a few chunks to the blob store while the body is read.
        let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<Bytes>>(4);
        let mut field = field;
        let pump = async move {
            loop {
                let next = match field.chunk().await {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => break,
                    Err(e) => Err(std::io::Error::other(e.body_text())),
                };
                let failed = next.is_err();
                // The store stopped reading (too large, or failed): nothing more to send.
                if tx.send(next).await.is_err() || failed {
                    break;
                }
            }
        };
        let services = &state.services;
        let store = async {
            match replaced {
                Some(old) => services.replace_artifact(&s.publisher, old, upload.clone(), rx.boxed()).await,
                None => services.upload_artifact(&s.publisher, upload.clone(), rx.boxed()).await,
            }
        };
        let (result, ()) = tokio::join!(store, pump);
        break Some(result);
    };
    match stored {
        None => Ok(upload_problem(
            &s,
            script,
            domain::DomainError::invalid("file", tr!("console-files-choose-file")).into(),
        )),
        Some(Err(e)) => Ok(upload_problem(&s, script, e)),
        Some(Ok(artifact)) => {
            let name: String = form_urlencoded::byte_serialize(artifact.file_name.as_bytes()).collect();
            let to = format!("/operator/files?uploaded={name}");
            if script {
                return Ok(Json(serde_json::json!({ "id": artifact.id.to_string(), "next": to })).into_response());
            }
            Ok(Redirect::to(&to).into_response())
        }
    }
}

#[derive(Deserialize)]
struct WithdrawForm {
    product: String,
    artifact: String,
    #[serde(default)]
    file_name: String,
}

async fn withdraw(State(state): State<AppState>, f: ConsoleForm<WithdrawForm>) -> ConsoleResult {
    let s = &f.session;
    let id: ArtifactId =
        f.form.artifact.parse().map_err(|_| services::Error::from(domain::DomainError::NotFound)).or_console(s)?;
    state.services.withdraw_artifact(&s.publisher, &f.form.product, id).await.or_console(s)?;
    let name: String = form_urlencoded::byte_serialize(f.form.file_name.as_bytes()).collect();
    Ok(Redirect::to(&format!("/operator/files?withdrawn={name}")).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/files", get_requiring(OperatorAction::ViewPlatform, files))
        // No body limit here: the file is streamed to storage, which stops at the largest file accepted.
        .route(
            "/operator/files/upload",
            post_requiring(OperatorAction::ManageCatalog, upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/operator/files/withdraw", post_requiring(OperatorAction::ManageCatalog, withdraw))
}
