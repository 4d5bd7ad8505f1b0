//! `/v1/testclock`: a sandbox partner's own clock (SPEC §3).

use super::requires;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::PartnerAuth;
use crate::idempotency::IdemJson;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::policy::Action;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
pub struct TestClockDto {
    /// The partner's current time.
    pub now: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Advance {
    #[serde(default)]
    pub days: i64,
    #[serde(default)]
    pub seconds: i64,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Action::TestClock, routes!(now)))
        .routes(requires(Action::TestClock, routes!(advance)))
}

/// The sandbox partner's current time (403 not_sandbox for a production partner).
#[utoipa::path(get, path = "/v1/testclock", tag = "testclock",
    responses((status = 200, body = TestClockDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn now(State(state): State<AppState>, PartnerAuth(actor): PartnerAuth) -> ApiResult<Json<TestClockDto>> {
    Ok(Json(TestClockDto { now: state.services.test_clock_now(&actor)?.to_rfc3339() }))
}

/// Move the sandbox partner's clock forward (never back).
#[utoipa::path(post, path = "/v1/testclock/advance", tag = "testclock", request_body = Advance,
    params(("MS-RequestId" = Option<String>, Header, description = "Idempotency key")),
    responses((status = 200, body = TestClockDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn advance(
    State(state): State<AppState>,
    PartnerAuth(actor): PartnerAuth,
    mut body: IdemJson<Advance>,
) -> ApiResult<Response> {
    let reply = body.reply(StatusCode::OK, |t: &Timestamp| TestClockDto { now: t.to_rfc3339() });
    let result = state.services.advance_test_clock(&actor, body.value.days, body.value.seconds, reply.keep()).await;
    reply.send(result).await
}
