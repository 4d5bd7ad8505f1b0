//! Idempotent POST and PATCH (SPEC §5), the one wrapper: [`IdemJson`] reads the body and claims the key (or answers
//! a replay at once); the handler turns it into a [`Reply`], which the use case is given as its
//! [`Keep`](services::idempotency::Keep). The reply renders the result once: those bytes are both the completion the
//! change writes in its own transaction and the response sent now. On any error the claim is released, so a retry
//! runs again: at once when the handler hands the error to [`Reply::send`], and by the claim's drop guard when the
//! handler returns early, the client goes away or a panic unwinds.

use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, read_body, IdemScope, JSON_LIMIT};
use crate::AppState;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use services::error::Cause;
use services::idempotency::{fingerprint, Claim, Completion, IdemTicket, Keep};
use services::Services;
use std::sync::Mutex;

/// A claimed key, released unless the change that completes it committed. Dropped while still armed (an early
/// return, a panic, a cancelled request), it releases the key on a task of its own.
struct Held {
    services: Services,
    ticket: IdemTicket,
    armed: bool,
}

impl Held {
    /// Gives the key back (nothing was changed), so that a retry runs again.
    async fn release(mut self) {
        self.armed = false;
        self.services.idempotency_release(&self.ticket).await;
    }

    /// The change committed with its response: the key stays done.
    fn committed(mut self) {
        self.armed = false;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (services, ticket) = (self.services.clone(), self.ticket.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { services.idempotency_release(&ticket).await });
            }
            Err(_) => tracing::warn!("an idempotency claim was dropped outside the runtime; it expires with its lease"),
        }
    }
}

/// A JSON body of a POST or PATCH under `MS-RequestId` / `Idempotency-Key` (SPEC §5): a repeat is answered
/// here with the first response; otherwise the handler gets the value and, with [`IdemJson::reply`], the wrapper
/// that keeps its response. Dropped without a reply, the claim is released.
pub struct IdemJson<T> {
    pub value: T,
    held: Option<Held>,
}

type Render<'a, V> = Box<dyn Fn(&V) -> serde_json::Result<Vec<u8>> + Send + Sync + 'a>;

impl<T> IdemJson<T> {
    /// The reply of a use case whose result `V` is answered with `status` and the JSON of `dto(result)`.
    pub fn reply<'a, V, D: Serialize>(
        &mut self,
        status: StatusCode,
        dto: impl Fn(&V) -> D + Send + Sync + 'a,
    ) -> Reply<'a, V> {
        self.make_reply(status, false, dto)
    }

    /// As [`IdemJson::reply`], for a response that carries a secret (a token, an activation key, a link, a webhook
    /// secret): kept sealed and replayed only to the user it was made for.
    pub fn sealed_reply<'a, V, D: Serialize>(
        &mut self,
        status: StatusCode,
        dto: impl Fn(&V) -> D + Send + Sync + 'a,
    ) -> Reply<'a, V> {
        self.make_reply(status, true, dto)
    }

    fn make_reply<'a, V, D: Serialize>(
        &mut self,
        status: StatusCode,
        secret: bool,
        dto: impl Fn(&V) -> D + Send + Sync + 'a,
    ) -> Reply<'a, V> {
        Reply {
            held: self.held.take(),
            status,
            secret,
            render: Box::new(move |v| serde_json::to_vec(&dto(v))),
            rendered: Mutex::new(None),
        }
    }

    /// The request is refused before any use case ran: the key is given back first, so a retry runs again.
    pub async fn refuse(&mut self, error: impl Into<ApiError>) -> ApiError {
        if let Some(held) = self.held.take() {
            held.release().await;
        }
        error.into()
    }
}

/// The one idempotency wrapper of a handler: the use case's [`Keep`] (render once, keep in the change's
/// transaction) and, with [`Reply::send`], the response.
pub struct Reply<'a, V> {
    held: Option<Held>,
    status: StatusCode,
    secret: bool,
    render: Render<'a, V>,
    /// The body rendered for the key, sent as the response too.
    rendered: Mutex<Option<Vec<u8>>>,
}

impl<V> Keep<V> for Reply<'_, V> {
    fn keep(&self, value: &V) -> services::Result<Completion> {
        let held = self.held.as_ref().ok_or_else(|| services::Error::Internal("kept without a claimed key".into()))?;
        let body = (self.render)(value)
            .map_err(|e| services::Error::Internal(Cause::caused("rendering the response to keep", e)))?;
        let completion = held.services.completion(&held.ticket, self.status.as_u16(), body.clone(), self.secret);
        *self.rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(body);
        Ok(completion)
    }
}

impl<V> Reply<'_, V> {
    /// What the use case takes: this reply when the request claimed a key, else `None`.
    pub fn keep(&self) -> Option<&dyn Keep<V>> {
        self.held.as_ref().map(|_| self as &dyn Keep<V>)
    }

    /// The response to the use case's result: the body kept under the key (rendered once), or rendered now when
    /// there is no key. An error releases the key first.
    pub async fn send(self, result: services::Result<V>) -> ApiResult<Response> {
        self.send_with(result).await.map(|(_, response)| response)
    }

    /// As [`Reply::send`], also giving back the result (for headers made from it).
    pub async fn send_with(mut self, result: services::Result<V>) -> ApiResult<(V, Response)> {
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                if let Some(held) = self.held.take() {
                    held.release().await;
                }
                return Err(e.into());
            }
        };
        let kept = self.rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(held) = self.held.take() {
            if kept.is_none() {
                // A use case that succeeded without keeping its response: the claim runs out with its lease.
                tracing::error!("a use case run under an idempotency key did not keep its response");
            }
            held.committed();
        }
        let body = match kept {
            Some(body) => body,
            None => (self.render)(&value).map_err(|e| {
                tracing::error!(error = %e, "a response does not serialize");
                ApiError::internal()
            })?,
        };
        let response =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        Ok((value, response))
    }
}

pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    ["ms-requestid", "idempotency-key"]
        .iter()
        .find_map(|h| headers.get(*h))
        .map(|v| v.to_str().unwrap_or("\u{0}").to_string())
}

/// The outcome of reading a keyed JSON body: the request to run, or the first response to send again.
pub enum Keyed<T> {
    Fresh(IdemJson<T>),
    Replayed(Response),
}

async fn keyed_json<T: DeserializeOwned + Send>(req: Request, app: &AppState) -> Result<Keyed<T>, Response> {
    let (parts, bytes) = read_body(req, JSON_LIMIT).await.map_err(IntoResponse::into_response)?;
    let key = idempotency_key(&parts.headers);
    let scope = parts.extensions.get::<IdemScope>().cloned();
    // Only POST and PATCH take idempotency keys (SPEC §5); PUT and DELETE are idempotent by nature.
    let keyed = parts.method == axum::http::Method::POST || parts.method == axum::http::Method::PATCH;
    let held = match (key.filter(|_| keyed), scope) {
        (Some(key), Some(IdemScope { scope, owner })) => {
            let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let fp = fingerprint(parts.method.as_str(), path, &bytes);
            match app
                .services
                .idempotency_claim(scope, owner, &key, fp)
                .await
                .map_err(|e| ApiError::from(e).into_response())?
            {
                Claim::Proceed(ticket) => Some(Held { services: app.services.clone(), ticket, armed: true }),
                Claim::Replay { status, body } => {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                    return Ok(Keyed::Replayed(
                        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
                    ));
                }
            }
        }
        _ => None,
    };
    // Parse to a Send-able result before any await (the parser's error type is not Send).
    let parsed = parse_json::<T>(&bytes);
    match parsed {
        Ok(value) => Ok(Keyed::Fresh(IdemJson { value, held })),
        Err(e) => {
            let response = e.into_response();
            if let Some(held) = held {
                held.release().await;
            }
            Err(response)
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for IdemJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match keyed_json(req, &AppState::from_ref(state)).await? {
            Keyed::Fresh(json) => Ok(json),
            Keyed::Replayed(response) => Err(response),
        }
    }
}

/// Like [`IdemJson`], for the one handler that must act on a replay too (a replayed key view is recorded).
impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for Keyed<T>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        keyed_json(req, &AppState::from_ref(state)).await
    }
}

/// A response that carries a secret: never kept by a cache.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
