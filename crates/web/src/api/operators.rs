//! `/v1/publisher/operators…`, `/v1/publisher/me`, `/v1/publisher/activity`: the operator's own users, their API
//! tokens and the operator activity log (issue 19's API parity: the console does nothing the API cannot).

use super::collection::{collection, Attributes, Collection, PageParams};
use super::operator_requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Path, PublisherAuth, Query};
use crate::idempotency::{no_store, IdemJson};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::audit::Verification;
use domain::ids::{OperatorId, TokenId};
use domain::operator::{Operator, OperatorAction, OperatorRecord};
use serde::{Deserialize, Serialize};
use services::operators::{IssuedOperatorToken, OperatorChange, OperatorDraft};
use services::OperatorToken as OperatorTokenView;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// Operator roles: operator_admin, catalog_manager, support_agent, billing_operator.
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&Operator> for OperatorDto {
    fn from(o: &Operator) -> OperatorDto {
        OperatorDto {
            id: o.id.to_string(),
            email: o.email.clone(),
            display_name: o.display_name.clone(),
            roles: o.roles.roles().iter().map(|r| r.as_str().to_string()).collect(),
            disabled: o.disabled,
            created_date: o.created_at.to_rfc3339(),
            attributes: Attributes::of("Operator"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOperator {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    /// 12 to 256 characters; without one the user signs in only after an admin sets one.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Disabling ends the user's sessions and revokes its tokens.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Who is calling: an operator user, or the break-glass token (no user).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeDto {
    pub principal: String,
    pub operator: Option<OperatorDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOperatorToken {
    /// A label for the token (default "api").
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorTokenDto {
    pub id: String,
    pub name: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&OperatorTokenView> for OperatorTokenDto {
    fn from(t: &OperatorTokenView) -> OperatorTokenDto {
        OperatorTokenDto {
            id: t.id.to_string(),
            name: t.name.clone(),
            created_date: t.created_at.to_rfc3339(),
            attributes: Attributes::of("OperatorToken"),
        }
    }
}

/// A new token: `token` is shown this once; only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedOperatorTokenDto {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&IssuedOperatorToken> for IssuedOperatorTokenDto {
    fn from(t: &IssuedOperatorToken) -> IssuedOperatorTokenDto {
        IssuedOperatorTokenDto {
            id: t.token.id.to_string(),
            name: t.token.name.clone(),
            token: t.secret.clone(),
            created_date: t.token.created_at.to_rfc3339(),
            attributes: Attributes::of("OperatorToken"),
        }
    }
}

/// One record of the operator activity log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorRecordDto {
    pub id: String,
    pub seq: i64,
    pub operator_id: Option<String>,
    /// The operator user's email, `publisher token (break-glass)` or `operator (command line)`.
    pub principal: String,
    pub operation: String,
    pub partner_id: Option<String>,
    pub operation_date: String,
    pub data: Vec<(String, String)>,
    pub hash: String,
    pub attributes: Attributes,
}

impl From<&OperatorRecord> for OperatorRecordDto {
    fn from(r: &OperatorRecord) -> OperatorRecordDto {
        OperatorRecordDto {
            id: r.id.to_string(),
            seq: r.seq,
            operator_id: r.operator_id.map(|o| o.to_string()),
            principal: r.principal.clone(),
            operation: r.operation.clone(),
            partner_id: r.partner_id.map(|p| p.to_string()),
            operation_date: r.at.to_rfc3339(),
            data: r.data.clone(),
            hash: r.hash.clone(),
            attributes: Attributes::of("OperatorRecord"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainVerificationDto {
    pub valid: bool,
    pub record_count: i64,
    pub first_invalid_record_id: Option<String>,
}

impl From<Verification> for ChainVerificationDto {
    fn from(v: Verification) -> ChainVerificationDto {
        ChainVerificationDto {
            valid: v.valid,
            record_count: v.record_count,
            first_invalid_record_id: v.first_invalid_record_id.map(|i| i.to_string()),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(operator_requires(OperatorAction::OwnAccount, routes!(me)))
        .routes(operator_requires(OperatorAction::ManageOperators, routes!(list_operators, create_operator)))
        .routes(operator_requires(OperatorAction::ManageOperators, routes!(get_operator, update_operator)))
        .routes(operator_requires(OperatorAction::OwnAccount, routes!(list_tokens, create_token)))
        .routes(operator_requires(OperatorAction::OwnAccount, routes!(revoke_token)))
        .routes(operator_requires(OperatorAction::ManageOperators, routes!(operator_log)))
        .routes(operator_requires(OperatorAction::ManageOperators, routes!(verify_operator_log)))
}

/// Who the caller is: the operator user behind the token, or the break-glass token.
#[utoipa::path(get, path = "/v1/publisher/me", tag = "publisher",
    responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn me(PublisherAuth(publisher): PublisherAuth) -> Json<MeDto> {
    Json(MeDto { principal: publisher.principal().to_string(), operator: publisher.user().map(OperatorDto::from) })
}

/// The operator's users, oldest first, paged (operator admins).
#[utoipa::path(get, path = "/v1/publisher/operators", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<OperatorDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_operators(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<OperatorDto>>> {
    let page = state.services.page_operators(&publisher, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |o| OperatorDto::from(o))))
}

/// Add an operator user with roles (operator admins).
#[utoipa::path(post, path = "/v1/publisher/operators", tag = "publisher", request_body = NewOperator,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = OperatorDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_operator(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    mut body: IdemJson<NewOperator>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |o| OperatorDto::from(o));
    let v = &body.value;
    let draft = OperatorDraft {
        email: v.email.clone(),
        display_name: v.display_name.clone(),
        roles: v.roles.clone(),
        password: v.password.clone(),
    };
    let result = state.services.create_operator(&publisher, draft, reply.keep()).await;
    reply.send(result).await
}

/// One operator user.
#[utoipa::path(get, path = "/v1/publisher/operators/{operatorId}", tag = "publisher",
    params(("operatorId" = String, Path)),
    responses((status = 200, body = OperatorDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_operator(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<OperatorId>,
) -> ApiResult<Json<OperatorDto>> {
    Ok(Json(OperatorDto::from(&state.services.get_operator(&publisher, id).await?)))
}

/// Change an operator user's name, roles, or disable it (operator admins; not yourself).
#[utoipa::path(patch, path = "/v1/publisher/operators/{operatorId}", tag = "publisher", request_body = OperatorUpdate,
    params(("operatorId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = OperatorDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_operator(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<OperatorId>,
    mut body: IdemJson<OperatorUpdate>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, |o| OperatorDto::from(o));
    let v = &body.value;
    let change = OperatorChange { display_name: v.display_name.clone(), roles: v.roles.clone(), disabled: v.disabled };
    let result = state.services.update_operator(&publisher, id, change, reply.keep()).await;
    reply.send(result).await
}

/// An operator user's live API tokens (its own; anyone's for an operator admin).
#[utoipa::path(get, path = "/v1/publisher/operators/{operatorId}/tokens", tag = "publisher",
    params(("operatorId" = String, Path)),
    responses((status = 200, body = Vec<OperatorTokenDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<OperatorId>,
) -> ApiResult<Json<Vec<OperatorTokenDto>>> {
    let tokens = state.services.list_operator_tokens(&publisher, id).await?;
    Ok(Json(tokens.iter().map(OperatorTokenDto::from).collect()))
}

/// Issue an API token for an operator user (its own; anyone's for an operator admin); shown once, stored hashed.
#[utoipa::path(post, path = "/v1/publisher/operators/{operatorId}/tokens", tag = "publisher",
    request_body(content = Option<NewOperatorToken>),
    params(("operatorId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = IssuedOperatorTokenDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path(id): Path<OperatorId>,
    mut body: IdemJson<NewOperatorToken>,
) -> ApiResult<Response> {
    let name = body.value.name.clone().unwrap_or_else(|| "api".into());
    let reply = body.sealed_reply(StatusCode::CREATED, |t| IssuedOperatorTokenDto::from(t));
    let result = state.services.create_operator_token(&publisher, id, &name, reply.keep()).await;
    Ok(no_store(reply.send(result).await?))
}

/// Revoke an operator API token.
#[utoipa::path(delete, path = "/v1/publisher/operators/{operatorId}/tokens/{tokenId}", tag = "publisher",
    params(("operatorId" = String, Path), ("tokenId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Path((id, token)): Path<(OperatorId, TokenId)>,
) -> ApiResult<StatusCode> {
    state.services.revoke_operator_token(&publisher, id, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The operator activity log, newest first, paged (operator admins): every operator action, naming who.
#[utoipa::path(get, path = "/v1/publisher/activity", tag = "publisher", params(PageParams),
    responses((status = 200, body = Collection<OperatorRecordDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn operator_log(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<OperatorRecordDto>>> {
    let page = state.services.operator_log(&publisher, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |r| OperatorRecordDto::from(r))))
}

/// Walks the operator activity log's hash chain (as `partnerhub audit verify` does).
#[utoipa::path(get, path = "/v1/publisher/activity/verification", tag = "publisher",
    responses((status = 200, body = ChainVerificationDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn verify_operator_log(
    State(state): State<AppState>,
    PublisherAuth(publisher): PublisherAuth,
) -> ApiResult<Json<ChainVerificationDto>> {
    Ok(Json(state.services.verify_operator_chain(&publisher).await?.into()))
}
