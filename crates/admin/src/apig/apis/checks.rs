//! What a console asks before it writes, and what it shows about an API in service:
//! `POST /apis/check` (would this name, or this method and path, clash with another API?),
//! `POST /api-groups/check` (is this group name free?), `GET /apis/runtime/{api_id}` (the
//! definition in force in an environment), `GET /resources/outline/apis` (how many APIs,
//! how many published in `RELEASE`) and `GET /tags` (the tags the instance's APIs carry).
//!
//! A check answers 204 when the value is free and the error a create call would give when it
//! is not (400 `APIG.3202` name, `APIG.3301` method and path, `APIG.3201` group name), so a
//! client can call it and then create without a surprise.

use super::openapi::existing_group;
use super::{all_apis, group_apis, refusal, Addressed};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::NothingChanged;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::{
    sl_domain, ApiName, GroupName, HttpMethod, MatchMode, ReqUri, RELEASE_ENV_ID,
};
use apigw_domain::{ApiError, Page};
use apigw_store::apis::{ApiFilter, GroupFilter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type ApiPath = PathArgs<(String, String, String)>;

/// `POST /apis/check`: `type` `name` (is `name` taken in `group_id`, or anywhere in the
/// instance without it?) or `path` (does an API of `group_id` have `req_method` and
/// `req_uri`?); `api_id` names an API to leave out (the one being edited). 204 when free.
pub async fn api(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(NothingChanged, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let except = body.opt_str("api_id")?.unwrap_or("");
    let group_id = body
        .opt_str("group_id")?
        .map(|g| path_id(g, "group_id"))
        .transpose()?;
    let taken = match body.req_str("type")? {
        "name" => {
            let name = ApiName::parse(body.req_str("name")?)?;
            let filter = ApiFilter {
                name: Some(name.as_str().to_owned()),
                name_exact: true,
                group_id: group_id.as_ref().map(|g| g.as_str().to_owned()),
                ..ApiFilter::default()
            };
            let (_, apis) = state
                .store
                .list_apis(
                    &scope,
                    &filter,
                    Page {
                        offset: 0,
                        limit: 500,
                    },
                )
                .await
                .map_err(|e| refusal(e, Addressed::default()))?;
            apis.iter()
                .any(|a| a.id != except)
                .then(ApiError::api_name_exists)
        }
        "path" => {
            let method = HttpMethod::parse(body.req_str("req_method")?, "req_method")?;
            let uri = ReqUri::parse(body.req_str("req_uri")?, "req_uri")?;
            if let Some(mode) = body.opt_str("match_mode")? {
                MatchMode::parse(mode, "match_mode")?;
            }
            let group_id = group_id.ok_or_else(|| Error(ApiError::missing_field("group_id")))?;
            existing_group(&state, &scope, group_id.as_str(), &instance_id).await?;
            let route = format!("{} {}", method.as_str(), uri.route_key());
            group_apis(&state, &scope, group_id.as_str())
                .await?
                .iter()
                .any(|a| a.id != except && a.definition.route_key() == route)
                .then(ApiError::api_exists)
        }
        _ => return Err(Error(ApiError::invalid_body_field("type"))),
    };
    match taken {
        Some(e) => Err(Error(e)),
        None => Ok((NothingChanged, StatusCode::NO_CONTENT)),
    }
}

/// `POST /api-groups/check`: 204 when no group of the instance is named `group_name`.
pub async fn group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(NothingChanged, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let name = GroupName::parse(body.req_str("group_name")?)
        .map_err(|_| Error(ApiError::invalid_body_field("group_name")))?;
    let filter = GroupFilter {
        name: Some(name.as_str().to_owned()),
        name_exact: true,
        ..GroupFilter::default()
    };
    let (total, _) = state
        .store
        .list_groups(
            &scope,
            &filter,
            Page {
                offset: 0,
                limit: 1,
            },
        )
        .await
        .map_err(|e| refusal(e, Addressed::default()))?;
    if total > 0 {
        return Err(Error(ApiError::api_group_name_exists()));
    }
    Ok((NothingChanged, StatusCode::NO_CONTENT))
}

/// Fields of an API's runtime definition (`ListApiRuntimeDefinitionV2`): the request side as
/// published, without the backend.
const RUNTIME_FIELDS: [&str; 17] = [
    "name",
    "type",
    "version",
    "req_protocol",
    "req_method",
    "req_uri",
    "auth_type",
    "auth_opt",
    "cors",
    "match_mode",
    "backend_type",
    "remark",
    "group_id",
    "result_normal_sample",
    "result_failure_sample",
    "tags",
    "response_id",
];

/// `GET /apis/runtime/{api_id}?env_id=`: the definition in force in the environment
/// (`RELEASE` when not named), with its group and publication; 404 `APIG.3015` when the API is
/// not published there.
pub async fn runtime(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let env_id = q.filter("env_id", 64)?.unwrap_or(RELEASE_ENV_ID);
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .get_api(&scope, api_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::api_not_found(api_id.as_str())))?;
    let published = state
        .store
        .published_apis(&scope.instance_id)
        .await?
        .into_iter()
        .find(|p| p.api_id == api_id.as_str() && p.env_id == env_id)
        .ok_or_else(|| Error(ApiError::publication_not_found(api_id.as_str(), env_id)))?;
    let wire = published.definition.to_json();
    let mut v: serde_json::Map<String, Value> = RUNTIME_FIELDS
        .iter()
        .filter_map(|k| wire.get(*k).map(|val| ((*k).to_owned(), val.clone())))
        .collect();
    v.insert("req_params".into(), wire["req_params"].clone());
    let domain = sl_domain(&published.group.id, &state.config.region);
    for (k, val) in [
        ("id", json!(published.api_id)),
        ("group_name", json!(published.group.name)),
        ("run_env_id", json!(published.env_id)),
        ("run_env_name", json!(published.env_name)),
        ("publish_id", json!(published.publish_id)),
        ("sl_domain", json!(domain)),
        ("sl_domains", json!([domain])),
    ] {
        v.insert(k.into(), val);
    }
    Ok(Json(Value::Object(v)))
}

/// `GET /resources/outline/apis`: the instance's APIs, and how many of them are published in
/// `RELEASE` and how many are not.
pub async fn api_quantities(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let release = ApiFilter {
        env_id: Some(RELEASE_ENV_ID.to_owned()),
        ..ApiFilter::default()
    };
    let mut counts = [0i64; 2];
    for (count, filter) in counts.iter_mut().zip([ApiFilter::default(), release]) {
        *count = state
            .store
            .list_apis(
                &scope,
                &filter,
                Page {
                    offset: 0,
                    limit: 1,
                },
            )
            .await
            .map_err(|e| refusal(e, Addressed::default()))?
            .0;
    }
    let [all, on_release] = counts;
    Ok(Json(json!({
        "instance_num": all,
        "nums_on_release": on_release,
        "nums_off_release": all - on_release,
    })))
}

/// `GET /tags`: the tags of the instance's APIs, each once, in order, paged by `offset` and
/// `limit`.
pub async fn tags(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let tags: std::collections::BTreeSet<String> = all_apis(&state, &scope, &ApiFilter::default())
        .await?
        .into_iter()
        .flat_map(|a| a.definition.tags().to_vec())
        .collect();
    let tags: Vec<String> = tags.into_iter().collect();
    let shown = page.of(&tags);
    Ok(Json(json!({
        "total": tags.len(),
        "size": shown.len(),
        "tags": shown,
    })))
}
