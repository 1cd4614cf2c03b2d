//! The identity service: a Keystone v3 subset (tokens, projects, users, roles) and Huawei IAM
//! access keys. Answers use Keystone's shapes; errors carry APIG's `error_code`/`error_msg` and
//! Keystone's `error` object, so both kinds of client understand them.

pub mod credentials;
pub mod password;
pub mod projects;
pub mod roles;
pub mod tokens;
pub mod users;

use crate::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use http_body_util::BodyExt;

/// Routes that need no credentials: login and version discovery.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/v3/auth/tokens", post(tokens::issue))
        .route("/v3", get(version))
        .route("/v3/", get(version))
}

/// Routes behind authentication.
pub fn protected_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v3/auth/tokens",
            get(tokens::validate)
                .head(tokens::check)
                .delete(tokens::revoke),
        )
        .route("/v3/projects", get(projects::list).post(projects::create))
        .route("/v3/projects/{project_id}", get(projects::show))
        .route("/v3/users", get(users::list).post(users::create))
        .route("/v3/users/{user_id}", get(users::show))
        .route("/v3/roles", get(roles::list))
        .route(
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            put(roles::assign),
        )
        .route(
            "/v3.0/OS-CREDENTIAL/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/v3.0/OS-CREDENTIAL/credentials/{access}",
            get(credentials::show)
                .put(credentials::update)
                .delete(credentials::delete),
        )
}

/// `GET /v3`: the version document keystoneauth reads during discovery.
async fn version(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": format!("{}/v3/", state.config.public_url)}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
        }
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Middleware: on `/v3` paths, adds Keystone's `{"error":{"code","message","title"}}` to
/// APIG-shaped error bodies (keystoneauth and openstacksdk read that object).
pub async fn keystone_error_shape(req: Request, next: Next) -> Response {
    let keystone = req.uri().path().starts_with("/v3");
    let response = next.run(req).await;
    if !keystone || response.status().as_u16() < 400 {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let bytes = collected.to_bytes();
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_slice(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let status = parts.status.as_u16();
    let message = obj.get("error_msg").cloned().unwrap_or_default();
    obj.insert(
        "error".into(),
        serde_json::json!({"code": status, "message": message, "title": reason(status)}),
    );
    let out = serde_json::to_vec(&obj).unwrap_or_default();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}
