//! Extractors: authentication (bearer token → caller), and JSON, query and path input whose rejections are our
//! 400 body naming the field, never axum's plain text.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use services::downloads::ClientInfo;
use services::{Actor, Caller};

/// The caller's idempotency scope (a partner, or the publisher: SPEC §5) and who within it is asking, left in the
/// request by authentication for [`IdemJson`].
#[derive(Clone)]
pub(crate) struct IdemScope {
    pub(crate) scope: String,
    pub(crate) owner: String,
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match value.and_then(|v| v.split_once(' ')) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(domain::DomainError::Unauthorized.into()),
    }
}

/// Resolves the bearer token of a request to its caller.
async fn caller<S: Send + Sync>(parts: &Parts, state: &S) -> Result<Caller, ApiError>
where
    AppState: FromRef<S>,
{
    let app = AppState::from_ref(state);
    Ok(app.services.authenticate(bearer(&parts.headers)?).await?)
}

/// A partner user, from `Authorization: Bearer <token>`. The publisher's token is refused here (401).
pub struct PartnerAuth(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for PartnerAuth
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match caller(parts, state).await? {
            Caller::Partner(actor) => {
                // The route's declared action, before any body is read (the services check it again).
                if let Some(crate::api::Requires(action)) = parts.extensions.get::<crate::api::Requires>().copied() {
                    actor.authorize(action)?;
                }
                // Per partner (SPEC §5): a retry through another token of the partner replays the first response
                // instead of ordering twice. A response carrying a secret is replayed only to the user it was made
                // for (the services bind it to its owner).
                parts.extensions.insert(IdemScope {
                    scope: format!("partner:{}", actor.partner.id),
                    owner: format!("user:{}", actor.user.id),
                });
                tracing::Span::current().record("partner", tracing::field::display(actor.partner.id));
                Ok(PartnerAuth(*actor))
            }
            Caller::Publisher(_) => Err(domain::DomainError::Unauthorized.into()),
        }
    }
}

/// The publisher (operator), from its configured token, as the proof every publisher use case takes. A partner
/// token is refused here (401).
pub struct PublisherAuth(pub services::Publisher);

impl<S: Send + Sync> FromRequestParts<S> for PublisherAuth
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match caller(parts, state).await? {
            Caller::Publisher(publisher) => {
                // The route's declared operator action, before any body is read (the services check it again).
                if let Some(crate::api::RequiresOperator(action)) =
                    parts.extensions.get::<crate::api::RequiresOperator>().copied()
                {
                    publisher.authorize(action)?;
                }
                // One idempotency scope for the publisher; a response carrying a secret replays only to the
                // operator user it was made for.
                let owner = match publisher.user() {
                    Some(o) => format!("operator:{}", o.id),
                    None => "publisher".into(),
                };
                parts.extensions.insert(IdemScope { scope: "publisher".into(), owner });
                Ok(PublisherAuth(publisher))
            }
            Caller::Partner(_) => Err(domain::DomainError::Unauthorized.into()),
        }
    }
}

/// Deserializes JSON, naming the path of the field that is missing or mistyped.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" as &[u8] } else { bytes };
    refuse_nul(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde's message ends with " at line L column C"; the path says where more usefully.
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        if path == "." || path == "?" || path.is_empty() {
            ApiError::invalid(format!("body: {message}"))
        } else {
            ApiError::invalid(format!("{path}: {message}"))
        }
    })
}

/// A NUL character (raw or as the JSON escape `\u0000`) has no business in any text we keep, and PostgreSQL cannot
/// store it: refuse it at the edge with a 400 rather than fail later.
pub fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    let escaped = bytes.windows(6).any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(|b| *b == b'0'));
    if escaped || bytes.contains(&0) {
        return Err(ApiError::invalid("body: text must not contain NUL characters"));
    }
    Ok(())
}

/// Largest JSON body accepted (bigger uploads have routes of their own).
pub const JSON_LIMIT: usize = 1024 * 1024;

pub(crate) async fn read_body(req: Request, limit: usize) -> Result<(Parts, axum::body::Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    if let Some(len) = parts.headers.get(axum::http::header::CONTENT_LENGTH) {
        if len.to_str().ok().and_then(|l| l.parse::<usize>().ok()).is_some_and(|l| l > limit) {
            return Err(ApiError::payload_too_large(limit));
        }
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::payload_too_large(limit))?;
    Ok((parts, bytes))
}

/// The client's address and user agent, for the activity log. The address is the TCP peer's: a proxy's
/// `X-Forwarded-For` is not trusted, since any client can send one.
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip =
            parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// Query string input; a bad value is our 400 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        if form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(ApiError::invalid("query: text must not contain NUL characters"));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            ApiError::invalid(format!("query {path}: {}", e.into_inner()))
        })
    }
}

/// Path parameters; anything unparseable is simply an unknown object (404).
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::not_found())
    }
}

/// An id the dashboard has as text (a path segment, a form field): one that does not parse is an unknown object
/// (404), as the API's [`Path`] answers.
pub fn parse_id<T: std::str::FromStr>(text: &str) -> services::Result<T> {
    text.parse().map_err(|_| domain::DomainError::NotFound.into())
}
