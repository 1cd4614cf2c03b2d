//! Gateway responses of an API group (`/api-groups/{group_id}/gateway-responses`): create,
//! show, change, delete and list a group's responses, and show, set or restore the rule of
//! one error type. What the gateway answers a refused call with is the response its API names
//! (`response_id`), else its group's default; see `apigw_domain::gateway_response`.
//!
//! Codes we chose (Huawei documents none): 404 `APIG.3081` for a response the group does not
//! have, 400 `APIG.3209` for a name the group has, 403 `APIG.3111` for a fifth response
//! besides the default, 403 `APIG.3419` for deleting the default, 403 `APIG.3420` for
//! deleting one an API names.

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::gateway_response::{
    parse_rules, GatewayResponse, ResponseName, ResponseRule, ResponseType, MAX_CUSTOM_RESPONSES,
};
use apigw_domain::{ApiError, Page};
use apigw_store::gateway_responses::GatewayResponseError;
use apigw_store::{Scope, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type GroupPath = PathArgs<(String, String, String)>;
type ResponsePath = PathArgs<(String, String, String, String)>;
type TypePath = PathArgs<(String, String, String, String, String)>;

/// The response a call addresses: its scope, group and id (empty when the call addresses
/// the group only), checked; refusals of the store name what was missing.
struct Addressed {
    scope: Scope,
    group: String,
    id: String,
}

impl Addressed {
    /// Checks the caller's `access` to the instance and the path's ids
    /// (`[project, instance, group, response]`, the last empty for group-level calls).
    async fn resolve(
        state: &AppState,
        caller: &Caller,
        [project_id, instance_id, group_id, response_id]: [&str; 4],
        access: Access,
    ) -> ApiResult<Self> {
        let scope = scope::instance_scope(state, caller, project_id, instance_id, access).await?;
        let group = path_id(group_id, "group_id")?.into_inner();
        let id = if response_id.is_empty() {
            String::new()
        } else {
            path_id(response_id, "response_id")?.into_inner()
        };
        Ok(Self { scope, group, id })
    }

    /// Maps a refusal of the response store to its APIG error.
    fn refusal(&self, e: GatewayResponseError) -> Error {
        Error(match e {
            GatewayResponseError::GroupNotFound => ApiError::api_group_not_found(&self.group),
            GatewayResponseError::NotFound => ApiError::gateway_response_not_found(&self.id),
            GatewayResponseError::NameExists => ApiError::gateway_response_name_exists(),
            GatewayResponseError::LimitReached => ApiError::gateway_response_limit(),
            GatewayResponseError::DefaultLocked => ApiError::default_gateway_response_locked(),
            GatewayResponseError::InUse => ApiError::gateway_response_in_use(),
            GatewayResponseError::Store(StoreError::NotFound) => {
                ApiError::instance_not_found(&self.scope.instance_id)
            }
            GatewayResponseError::Store(other) => return other.into(),
        })
    }
}

/// The error type of a path (400 `APIG.2012` naming `response_type` if it is none).
fn path_type(raw: &str) -> ApiResult<ResponseType> {
    ResponseType::parse(raw).ok_or_else(|| Error(ApiError::invalid_param("response_type")))
}

/// `POST .../gateway-responses` with `name` and `responses` (`{TYPE: ResponseInfo}`): 201
/// with the response, every type shown (`default: true` where the gateway's own answer
/// stands).
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ids = [&project_id[..], &instance_id, &group_id, ""];
    let at = Addressed::resolve(&state, &caller, ids, Access::Write).await?;
    let name = ResponseName::parse(body.req_str("name")?)?;
    let rules = parse_rules(&body.0)?;
    let created = state
        .store
        .create_gateway_response(&at.scope, &at.group, name, rules, MAX_CUSTOM_RESPONSES)
        .await
        .map_err(|e| at.refusal(e))?;
    tracing::info!(
        response_id = %created.id,
        group_id = %created.group_id,
        name = created.name.as_str(),
        rules = created.rules.len(),
        "gateway response created"
    );
    Ok((StatusCode::CREATED, Json(created.to_json(true))))
}

/// `GET .../gateway-responses/{response_id}`: the response.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id)): ResponsePath,
) -> ApiResult<Json<Value>> {
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    Ok(Json(fetch(&state, &caller, ids).await?.to_json(false)))
}

/// The response a read call addresses.
async fn fetch(state: &AppState, caller: &Caller, ids: [&str; 4]) -> ApiResult<GatewayResponse> {
    let at = Addressed::resolve(state, caller, ids, Access::Read).await?;
    state
        .store
        .gateway_response(&at.scope, &at.group, &at.id)
        .await
        .map_err(|e| at.refusal(e))
}

/// `PUT .../gateway-responses/{response_id}` with `name` and `responses`: 200 with the
/// response. The rules given replace all of its rules (a type left out is back to the
/// gateway's own answer), as Huawei's does.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id)): ResponsePath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    let at = Addressed::resolve(&state, &caller, ids, Access::Write).await?;
    let name = ResponseName::parse(body.req_str("name")?)?;
    let rules = parse_rules(&body.0)?;
    let changed = state
        .store
        .update_gateway_response(&at.scope, &at.group, &at.id, name, rules)
        .await
        .map_err(|e| at.refusal(e))?;
    tracing::info!(
        response_id = %changed.id,
        name = changed.name.as_str(),
        rules = changed.rules.len(),
        "gateway response changed"
    );
    Ok(Json(changed.to_json(true)))
}

/// `DELETE .../gateway-responses/{response_id}`: 204. The default response, or one an API
/// names, is 403.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id)): ResponsePath,
) -> ApiResult<StatusCode> {
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    let at = Addressed::resolve(&state, &caller, ids, Access::Write).await?;
    state
        .store
        .delete_gateway_response(&at.scope, &at.group, &at.id)
        .await
        .map_err(|e| at.refusal(e))?;
    tracing::info!(response_id = %at.id, group_id = %at.group, "gateway response deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../gateway-responses`: the group's responses, its default first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let ids = [&project_id[..], &instance_id, &group_id, ""];
    let at = Addressed::resolve(&state, &caller, ids, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, responses) = state
        .store
        .list_gateway_responses(&at.scope, &at.group, page)
        .await
        .map_err(|e| at.refusal(e))?;
    Ok(Json(json!({
        "total": total,
        "size": responses.len(),
        "responses": responses.iter().map(|r| r.to_json(false)).collect::<Vec<_>>(),
    })))
}

/// `GET .../gateway-responses/{response_id}/{response_type}`: `{TYPE: ResponseInfoResp}`.
pub async fn show_type(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id, kind)): TypePath,
) -> ApiResult<Json<Value>> {
    let kind = path_type(&kind)?;
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    Ok(Json(fetch(&state, &caller, ids).await?.type_json(kind)))
}

/// `PUT .../gateway-responses/{response_id}/{response_type}` with a `ResponseInfo`: 200 with
/// `{TYPE: ResponseInfoResp}`; the other types' rules stay.
pub async fn update_type(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id, kind)): TypePath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let kind = path_type(&kind)?;
    let rule = ResponseRule::parse_body(&body.0)?;
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    let changed = set_rule(&state, &caller, ids, kind, Some(rule)).await?;
    Ok(Json(changed.type_json(kind)))
}

/// `DELETE .../gateway-responses/{response_id}/{response_type}`: 204; the type is back to the
/// gateway's own answer.
pub async fn delete_type(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, response_id, kind)): TypePath,
) -> ApiResult<StatusCode> {
    let kind = path_type(&kind)?;
    let ids = [&project_id[..], &instance_id, &group_id, &response_id];
    set_rule(&state, &caller, ids, kind, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets (or, with `None`, removes) the rule of `kind` in the response a call addresses.
async fn set_rule(
    state: &AppState,
    caller: &Caller,
    ids: [&str; 4],
    kind: ResponseType,
    rule: Option<ResponseRule>,
) -> ApiResult<GatewayResponse> {
    let at = Addressed::resolve(state, caller, ids, Access::Write).await?;
    let restored = rule.is_none();
    let changed = state
        .store
        .set_gateway_response_rule(&at.scope, &at.group, &at.id, kind, rule)
        .await
        .map_err(|e| at.refusal(e))?;
    tracing::info!(
        response_id = %changed.id,
        response_type = kind.as_str(),
        restored,
        "gateway response rule changed"
    );
    Ok(changed)
}
