//! Keystone tokens: `POST /v3/auth/tokens` (password login, project scope) issues an opaque
//! token in `X-Subject-Token`; `GET`/`HEAD` validate one, `DELETE` revokes it. Only the SHA-256
//! of a token is stored, so the database cannot be used to impersonate anyone.

use super::password;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::AppState;
use apigw_domain::generate::new_secret_hex;
use apigw_domain::identity::Role;
use apigw_domain::{ApiError, Timestamp};
use apigw_store::{Domain, Project, TokenRecord, User, UserWithSecret};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Longest token text looked at; longer ones are refused without a query.
const MAX_TOKEN_LEN: usize = 512;

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Resolves an `X-Auth-Token` into the caller, or 401 `APIG.1002`/`APIG.1001`.
pub async fn resolve(state: &AppState, token: &str) -> ApiResult<Caller> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(Error(ApiError::token_invalid()));
    }
    let hash = token_hash(token);
    let record = state
        .store
        .get_token(&hash)
        .await?
        .filter(|t| !t.revoked)
        .ok_or_else(|| Error(ApiError::token_invalid()))?;
    if record.expires_at <= Timestamp::now() {
        return Err(Error(ApiError::token_expired()));
    }
    let user = state
        .store
        .get_user(&record.user_id)
        .await?
        .filter(|u| u.user.enabled)
        .ok_or_else(|| Error(ApiError::token_invalid()))?
        .user;
    let roles = state.store.roles_of(&user.id, &record.project_id).await?;
    Ok(Caller {
        user_id: user.id,
        user_name: user.name,
        project_id: record.project_id,
        roles,
        token_hash: Some(hash),
    })
}

async fn domain_of(state: &AppState, obj: Option<JsonObject>) -> ApiResult<Option<Domain>> {
    let Some(d) = obj else {
        return Ok(state.store.find_domain(Some("default"), None).await?);
    };
    let id = d.opt_str("id")?;
    let name = d.opt_str("name")?;
    if id.is_none() && name.is_none() {
        return Err(Error(ApiError::invalid_body_field("domain")));
    }
    Ok(state.store.find_domain(id, name).await?)
}

async fn find_login_user(state: &AppState, user: &JsonObject) -> ApiResult<Option<UserWithSecret>> {
    if let Some(id) = user.opt_str("id")? {
        return Ok(state.store.get_user(id).await?);
    }
    let name = user.req_str("name")?;
    match domain_of(state, user.opt_object("domain")?).await? {
        Some(domain) => Ok(state.store.find_user(&domain.id, name).await?),
        None => Ok(None),
    }
}

async fn find_scope_project(
    state: &AppState,
    auth: &JsonObject,
    user: &User,
) -> ApiResult<Option<Project>> {
    let Some(scope) = auth.opt_object("scope")? else {
        return match &user.default_project_id {
            Some(id) => Ok(state.store.get_project(id).await?),
            None => Err(Error(ApiError::invalid_body_field("scope"))),
        };
    };
    let project = scope
        .opt_object("project")?
        .ok_or_else(|| Error(ApiError::invalid_body_field("scope.project")))?;
    if let Some(id) = project.opt_str("id")? {
        return Ok(state.store.get_project(id).await?);
    }
    let name = project.req_str("name")?;
    match domain_of(state, project.opt_object("domain")?).await? {
        Some(domain) => Ok(state.store.find_project(&domain.id, name).await?),
        None => Ok(None),
    }
}

/// `POST /v3/auth/tokens`: password login scoped to a project.
pub async fn issue(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: JsonObject,
) -> ApiResult<Response> {
    let auth = body.req_object("auth")?;
    let identity = auth.req_object("identity")?;
    let methods = identity.req_str_array("methods")?;
    if !methods.contains(&"password") {
        return Err(Error(ApiError::invalid_body_field("methods")));
    }
    let pw = identity.req_object("password")?;
    let user_obj = pw.req_object("user")?;
    let secret = user_obj.req_str("password")?.to_owned();
    let user_key = format!(
        "user:{}",
        user_obj
            .opt_str("id")?
            .or(user_obj.opt_str("name")?)
            .unwrap_or_default()
    );
    let addr_key = format!("addr:{}", peer.ip());
    let throttle = &state.login_throttle;
    if throttle.is_blocked(&user_key) || throttle.is_blocked(&addr_key) {
        tracing::warn!(client = %peer.ip(), "login refused: too many failures");
        return Err(Error(ApiError::throttled()));
    }
    let candidate = find_login_user(&state, &user_obj).await?;
    let phc = candidate.as_ref().map(|u| u.password_hash.clone());
    let verified = password::verify_async(secret, phc).await;
    let user = match candidate {
        Some(u) if verified && u.user.enabled => u.user,
        _ => {
            throttle.record_failure(&user_key);
            throttle.record_failure(&addr_key);
            tracing::warn!(client = %peer.ip(), "password login failed");
            return Err(Error(ApiError::login_failed()));
        }
    };
    let project = find_scope_project(&state, &auth, &user)
        .await?
        .filter(|p| p.enabled)
        .ok_or_else(|| Error(ApiError::login_failed()))?;
    let roles = state.store.roles_of(&user.id, &project.id).await?;
    if roles.is_empty() {
        tracing::warn!(user = %user.name, project = %project.name, "login refused: no role on the project");
        return Err(Error(ApiError::login_failed()));
    }
    let token = new_secret_hex(32);
    let issued_at = Timestamp::now();
    let record = TokenRecord {
        hash: token_hash(&token),
        user_id: user.id.clone(),
        project_id: project.id.clone(),
        methods: "password".into(),
        issued_at,
        expires_at: issued_at.plus_seconds(state.config.token_ttl.as_secs() as i64),
        revoked: false,
    };
    state.store.insert_token(record.clone()).await?;
    tracing::info!(user = %user.name, project = %project.name, "token issued");
    let body = token_body(
        &state,
        &record,
        &user,
        &project,
        &roles,
        !query.contains_key("nocatalog"),
    )
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-subject-token",
        HeaderValue::from_str(&token).expect("hex token is a valid header"),
    );
    Ok((StatusCode::CREATED, headers, Json(body)).into_response())
}

async fn domain_json(state: &AppState, id: &str) -> ApiResult<Value> {
    let d = state.store.find_domain(Some(id), None).await?;
    Ok(json!({"id": id, "name": d.map(|d| d.name).unwrap_or_default()}))
}

/// The `{"token": {...}}` body Keystone returns for an issued or validated token.
async fn token_body(
    state: &AppState,
    record: &TokenRecord,
    user: &User,
    project: &Project,
    roles: &[Role],
    with_catalog: bool,
) -> ApiResult<Value> {
    let mut token = json!({
        "methods": record.methods.split(',').collect::<Vec<_>>(),
        "expires_at": record.expires_at.keystone(),
        "issued_at": record.issued_at.keystone(),
        "user": {
            "id": user.id,
            "name": user.name,
            "domain": domain_json(state, &user.domain_id).await?,
            "password_expires_at": null,
        },
        "project": {
            "id": project.id,
            "name": project.name,
            "domain": domain_json(state, &project.domain_id).await?,
        },
        "roles": roles.iter().map(|r| json!({"id": r.as_str(), "name": r.as_str()})).collect::<Vec<_>>(),
    });
    if with_catalog {
        token["catalog"] = catalog(state);
    }
    Ok(json!({ "token": token }))
}

/// The service catalog: APIG under types `apigv2` and `apig` at `<public-url>/v2` (clients add
/// the project id) and identity at `<public-url>/v3`.
pub fn catalog(state: &AppState) -> Value {
    let base = state.config.public_url.trim_end_matches('/');
    let region = &state.config.region;
    let service = |kind: &str, name: &str, url: String| {
        json!({
            "type": kind,
            "name": name,
            "id": hex::encode(Sha256::digest(kind.as_bytes()))[..32].to_owned(),
            "endpoints": [{
                "id": hex::encode(Sha256::digest(format!("{kind}:public").as_bytes()))[..32].to_owned(),
                "interface": "public",
                "region": region,
                "region_id": region,
                "url": url,
            }],
        })
    };
    json!([
        service("apigv2", "apig", format!("{base}/v2")),
        service("apig", "apig", format!("{base}/v2")),
        service("identity", "keystone", format!("{base}/v3")),
    ])
}

/// Finds the token named by `X-Subject-Token` if the caller may see it (itself, or any as admin).
async fn subject(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> ApiResult<(String, TokenRecord)> {
    let text = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .ok_or_else(|| Error(ApiError::invalid_param("X-Subject-Token")))?
        .to_owned();
    let hash = token_hash(&text);
    if caller.token_hash.as_deref() != Some(hash.as_str()) && !caller.is_admin() {
        return Err(Error(ApiError::forbidden()));
    }
    let record = state
        .store
        .get_token(&hash)
        .await?
        .filter(|t| !t.revoked && t.expires_at > Timestamp::now())
        .ok_or_else(|| Error(ApiError::identity_not_found("token", "X-Subject-Token")))?;
    Ok((text, record))
}

/// `GET /v3/auth/tokens`: the subject token's body, or 404 if it is not valid.
pub async fn validate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (text, record) = subject(&state, &caller, &headers).await?;
    let user = state
        .store
        .get_user(&record.user_id)
        .await?
        .ok_or_else(|| Error(ApiError::identity_not_found("token", "X-Subject-Token")))?
        .user;
    let project = state
        .store
        .get_project(&record.project_id)
        .await?
        .ok_or_else(|| Error(ApiError::identity_not_found("token", "X-Subject-Token")))?;
    let roles = state.store.roles_of(&user.id, &project.id).await?;
    let body = token_body(
        &state,
        &record,
        &user,
        &project,
        &roles,
        !query.contains_key("nocatalog"),
    )
    .await?;
    let mut out = HeaderMap::new();
    out.insert(
        "x-subject-token",
        HeaderValue::from_str(&text).map_err(|_| Error(ApiError::token_invalid()))?,
    );
    Ok((StatusCode::OK, out, Json(body)).into_response())
}

/// `HEAD /v3/auth/tokens`: 200 if the subject token is valid, else 404.
pub async fn check(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    subject(&state, &caller, &headers).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /v3/auth/tokens`: revokes the subject token.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let (_, record) = subject(&state, &caller, &headers).await?;
    state.store.revoke_token(&record.hash).await?;
    tracing::info!(user_id = %record.user_id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
