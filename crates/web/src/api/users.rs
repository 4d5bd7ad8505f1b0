//! `/v1/users` (global admin) and `/v1/users/me` (anyone, for itself).

use super::collection::{collection, Attributes, Collection, PageParams};
use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PartnerAuth, Path, Query};
use crate::idempotency::{no_store, IdemJson};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use domain::ids::{TokenId, UserId};
use domain::policy::Action;
use domain::user::User;
use serde::{Deserialize, Serialize};
use services::users::{IssuedToken, UserDraft};
use services::ApiToken;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// R2 roles: global_admin, admin_agent, sales_agent, helpdesk_agent, account_admin, billing_admin,
    /// referral_admin, marketing_content_admin.
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> UserDto {
        UserDto {
            id: u.id.to_string(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.roles().iter().map(|r| r.as_str().to_string()).collect(),
            disabled: u.disabled,
            created_date: u.created_at.to_rfc3339(),
            attributes: Attributes::of("User"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    /// For signing in to the dashboard (12 to 256 characters); stored as an argon2id hash.
    #[serde(default)]
    pub password: Option<String>,
}

impl From<&NewUser> for UserDraft {
    fn from(u: &NewUser) -> UserDraft {
        UserDraft {
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.clone(),
            password: u.password.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPatch {
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> TokenDto {
        TokenDto {
            id: t.id.to_string(),
            name: t.name.clone(),
            created_date: t.created_at.to_rfc3339(),
            attributes: Attributes::of("ApiToken"),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
}

/// A new token: `token` is shown this once; only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedTokenDto {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_date: String,
    pub attributes: Attributes,
}

impl From<&IssuedToken> for IssuedTokenDto {
    fn from(t: &IssuedToken) -> IssuedTokenDto {
        IssuedTokenDto {
            id: t.token.id.to_string(),
            name: t.token.name.clone(),
            token: t.secret.clone(),
            created_date: t.token.created_at.to_rfc3339(),
            attributes: Attributes::of("ApiToken"),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::ManageUsers, routes!(list_users, create_user)))
        .routes(requires(Action::ManageUsers, routes!(get_user, update_user)))
        .routes(requires(Action::OwnProfile, routes!(me)))
        .routes(requires(Action::OwnProfile, routes!(list_my_tokens, create_my_token)))
        .routes(requires(Action::OwnProfile, routes!(revoke_my_token)))
}

/// The partner's users (global admin).
#[utoipa::path(get, path = "/v1/users", tag = "users", params(PageParams),
    responses((status = 200, body = Collection<UserDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<UserDto>>> {
    let page = state.services.list_users(&actor, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |u| UserDto::from(u))))
}

/// Add a user with roles (global admin).
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = UserDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<NewUser>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::CREATED, |v| UserDto::from(v));
    let result = state.services.create_user(&actor, UserDraft::from(&body.value), reply.keep()).await;
    reply.send(result).await
}

/// One user of the partner (global admin).
#[utoipa::path(get, path = "/v1/users/{userId}", tag = "users", params(("userId" = String, Path)),
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_user(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(UserDto::from(&state.services.get_user(&actor, user_id).await?)))
}

/// Change a user's roles, name, or disable it (global admin; not your own global_admin role).
#[utoipa::path(patch, path = "/v1/users/{userId}", tag = "users", request_body = UserPatch,
    params(("userId" = String, Path), ("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = UserDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_user(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(user_id): Path<UserId>,
    mut body: IdemJson<UserPatch>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, |v| UserDto::from(v));
    let p = &body.value;
    let result = state
        .services
        .update_user(&actor, user_id, p.display_name.as_deref(), p.roles.as_deref(), p.disabled, reply.keep())
        .await;
    reply.send(result).await
}

/// The caller.
#[utoipa::path(get, path = "/v1/users/me", tag = "users",
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn me(State(state): State<AppState>, PartnerAuth(actor): PartnerAuth) -> ApiResult<Json<UserDto>> {
    Ok(Json(UserDto::from(&state.services.me(&actor)?)))
}

/// The caller's live API tokens (never the secrets), oldest first, paged.
#[utoipa::path(get, path = "/v1/users/me/tokens", tag = "users", params(PageParams),
    responses((status = 200, body = Collection<TokenDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_my_tokens(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Query(params): Query<PageParams>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Collection<TokenDto>>> {
    let page = state.services.list_my_tokens(&actor, params.size()?, params.cursor(&headers)?).await?;
    Ok(Json(collection(page, &uri, |x| TokenDto::from(x))))
}

/// A new API token for the caller, shown once.
#[utoipa::path(post, path = "/v1/users/me/tokens", tag = "users", request_body = NewToken,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 201, body = IssuedTokenDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_my_token(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<NewToken>,
) -> ApiResult<Response> {
    let reply = body.sealed_reply(StatusCode::CREATED, |v| IssuedTokenDto::from(v));
    let result = state.services.create_my_token(&actor, &body.value.name, reply.keep()).await;
    Ok(no_store(reply.send(result).await?))
}

/// Revoke one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/v1/users/me/tokens/{tokenId}", tag = "users", params(("tokenId" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_my_token(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    Path(token_id): Path<TokenId>,
) -> ApiResult<StatusCode> {
    state.services.revoke_my_token(&actor, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
