//! Importing and exporting API definitions as OpenAPI documents (`POST /openapi/import`,
//! `POST /openapi/export`): the way a group's APIs move from Huawei's APIG to apigw and back,
//! or between instances. The document mapping lives in `apigw_domain::openapi`; this module
//! reads the call, picks the APIs and writes them.
//!
//! Import (multipart form, the file in `file_name`, JSON or YAML): with `is_create_group`
//! (the default) a new group named by `info.title`, else the group `group_id`. Each operation
//! is created as an API, checked as a create call would check it; one that fails is listed in
//! `failure` with its error and the others go on. An operation whose method and path an API of
//! the group already has is left alone with `api_mode` `merge` (the default; listed in
//! `ignore`) and replaces that API's definition with `override` (`action` `update`).
//! `mock_mode` gives every API a `MOCK` backend (and drops the document's backend policies). Ours: `simple_mode` true is refused (2011),
//! and `extend_mode` is read but there is nothing for it to do, since apigw imports no
//! throttling or access control extensions.
//!
//! Export: the APIs of `group_id` published in `env_id` (`define` `spec`, the default, `proxy`
//! or `all`), or the group's current definitions (`dev`), optionally only those in `apis`, as
//! Swagger 2.0 (`oas_version` 2.0, the default) or OpenAPI 3.0, in JSON (the default) or YAML.

use super::{group_apis, refusal, Addressed};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::NothingChanged;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::{sl_domain, ApiDefinition, GroupName, Remark, GROUP_REMARK_MAX};
use apigw_domain::openapi::{
    read_document, write_document, Define, GroupHead, ImportOptions, ImportedOperation, OasVersion,
};
use apigw_domain::{ApiError, Timestamp};
use apigw_store::apis::{ApiGroup, NewGroup};
use apigw_store::Scope;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type InstancePath = PathArgs<(String, String)>;

/// What to do with an operation whose method and path an API of the group already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    /// `merge`: keep the API as it is.
    Keep,
    /// `override`: replace its definition.
    Replace,
}

/// The form fields of an import.
#[derive(Debug)]
struct ImportForm {
    create_group: bool,
    group_id: Option<String>,
    conflict: Conflict,
    options: ImportOptions,
    file: Bytes,
}

fn form_bool(value: &str, field: &str) -> ApiResult<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error(ApiError::invalid_body_field(field))),
    }
}

fn form_mode(value: &str, field: &str) -> ApiResult<Conflict> {
    match value.trim() {
        "merge" => Ok(Conflict::Keep),
        "override" => Ok(Conflict::Replace),
        _ => Err(Error(ApiError::invalid_body_field(field))),
    }
}

impl ImportForm {
    async fn read(form: Result<Multipart, MultipartRejection>) -> ApiResult<Self> {
        let unreadable = |e: &dyn std::fmt::Display| {
            Error(ApiError::malformed_body(format!(
                "the body must be a multipart/form-data form with the document in file_name: {e}"
            )))
        };
        let mut form = form.map_err(|e| unreadable(&e))?;
        let mut read = Self {
            create_group: true,
            group_id: None,
            conflict: Conflict::Keep,
            options: ImportOptions::default(),
            file: Bytes::new(),
        };
        let mut file = None;
        while let Some(field) = form.next_field().await.map_err(|e| unreadable(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            let value = field.bytes().await.map_err(|e| unreadable(&e))?;
            if name == "file_name" {
                file = Some(value);
                continue;
            }
            let text = std::str::from_utf8(&value)
                .map_err(|_| Error(ApiError::invalid_body_field(&name)))?;
            match name.as_str() {
                "is_create_group" => read.create_group = form_bool(text, &name)?,
                "group_id" => read.group_id = Some(text.trim().to_owned()),
                "api_mode" => read.conflict = form_mode(text, &name)?,
                "extend_mode" => {
                    form_mode(text, &name)?;
                }
                "mock_mode" => read.options.mock_mode = form_bool(text, &name)?,
                "simple_mode" if form_bool(text, &name)? => {
                    return Err(Error(ApiError::invalid_body_field(&name)));
                }
                _ => {}
            }
        }
        read.file = file.ok_or_else(|| Error(ApiError::missing_field("file_name")))?;
        Ok(read)
    }
}

/// The document in a file: JSON when it opens with `{`, else YAML (a superset of JSON).
fn parse_document(file: &[u8]) -> ApiResult<Value> {
    let bad = || Error(ApiError::invalid_body_field("file_name"));
    let json = file
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if json {
        serde_json::from_slice(file).map_err(|_| bad())
    } else {
        serde_yaml_ng::from_slice(file).map_err(|_| bad())
    }
}

/// A group of the scope, or 404.
pub(super) async fn existing_group(
    state: &AppState,
    scope: &Scope,
    group_id: &str,
    instance_id: &str,
) -> ApiResult<ApiGroup> {
    let at = Addressed {
        instance: instance_id,
        group: group_id,
        ..Addressed::default()
    };
    state
        .store
        .get_group(scope, group_id)
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::api_group_not_found(group_id)))
}

/// A failed operation as `failure` lists it.
fn failure(op: &ImportedOperation, e: &ApiError) -> Value {
    json!({
        "path": op.path,
        "method": op.method,
        "error_code": e.code,
        "error_msg": e.message,
    })
}

/// `POST /openapi/import`: 200 with what became of every operation.
pub async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let form = ImportForm::read(form).await?;
    let channels: HashMap<String, String> = state
        .store
        .vpc_channels_in_force(&scope.instance_id)
        .await?
        .into_iter()
        .map(|c| (c.spec.name, c.id))
        .collect();
    let doc = read_document(&parse_document(&form.file)?, form.options, &|name| {
        channels.get(name).cloned()
    })?;

    let group = if form.create_group {
        let name = GroupName::parse(&doc.title)?;
        let remark = Remark::parse(
            doc.description.as_deref().unwrap_or(""),
            "remark",
            GROUP_REMARK_MAX,
        )?;
        super::groups::create_in(&state, &scope, &instance_id, NewGroup { name, remark }).await?
    } else {
        let id = form
            .group_id
            .as_deref()
            .ok_or_else(|| Error(ApiError::missing_field("group_id")))?;
        let id = path_id(id, "group_id")?;
        existing_group(&state, &scope, id.as_str(), &instance_id).await?
    };

    let mut existing: HashMap<String, String> = group_apis(&state, &scope, &group.id)
        .await?
        .into_iter()
        .map(|a| (a.definition.route_key(), a.id))
        .collect();
    let (mut success, mut failed, mut ignored) = (Vec::new(), Vec::new(), Vec::new());
    let mut updated = 0;
    for op in &doc.operations {
        let definition = match op.definition(&group.id) {
            Ok(d) => d,
            Err(e) => {
                failed.push(failure(op, &e));
                continue;
            }
        };
        let at = Addressed {
            instance: &instance_id,
            group: &group.id,
            ..Addressed::default()
        };
        let route = definition.route_key();
        let outcome = match (existing.get(&route), form.conflict) {
            (Some(_), Conflict::Keep) => {
                ignored.push(json!({ "path": op.path, "method": op.method }));
                continue;
            }
            (Some(id), Conflict::Replace) => state
                .store
                .update_api(&scope, id, definition)
                .await
                .map(|api| (api, "update")),
            (None, _) => state
                .store
                .create_api(&scope, definition)
                .await
                .map(|api| (api, "create")),
        };
        match outcome {
            Ok((api, action)) => {
                updated += usize::from(action == "update");
                existing.insert(route, api.id.clone());
                success.push(json!({
                    "path": op.path, "method": op.method, "action": action, "id": api.id,
                }));
            }
            Err(e) => failed.push(failure(op, &refusal(e, at).0)),
        }
    }
    tracing::info!(
        group_id = %group.id,
        created = success.len() - updated,
        updated,
        ignored = ignored.len(),
        failed = failed.len(),
        "API definitions imported"
    );
    let digest = hex::encode(Sha256::digest(&form.file));
    let result = format!(
        "{} created, {} updated, {} ignored, {} failed",
        success.len() - updated,
        updated,
        ignored.len(),
        failed.len()
    );
    Ok(Json(json!({
        "success": success,
        "failure": failed,
        "ignore": ignored,
        "group_id": group.id,
        "swagger": { "id": &digest[..32], "result": result },
    })))
}

/// The format of an exported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileType {
    Json,
    Yaml,
}

/// `POST /openapi/export?oas_version=`: 200 with the document as a file.
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
    body: JsonObject,
) -> ApiResult<Response> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let oas = match q.get("oas_version") {
        None | Some("") => OasVersion::Swagger2,
        Some(v) => OasVersion::parse(v)?,
    };
    let define = Define::parse(body.opt_str("define")?.unwrap_or("spec"))?;
    let file_type = match body.opt_str("type")?.unwrap_or("json") {
        "json" => FileType::Json,
        "yaml" | "yml" => FileType::Yaml,
        _ => return Err(Error(ApiError::invalid_body_field("type"))),
    };
    let doc_version = match body.opt_str("version")? {
        Some(v) if (1..=64).contains(&v.chars().count()) => v.to_owned(),
        Some(_) => return Err(Error(ApiError::invalid_body_field("version"))),
        None => Timestamp::now().document_version(),
    };
    let only: Option<Vec<&str>> = match body.0.get("apis") {
        None | Some(Value::Null) => None,
        Some(_) => Some(body.req_str_array("apis")?),
    };
    let group_id = path_id(body.req_str("group_id")?, "group_id")?;
    let group = existing_group(&state, &scope, group_id.as_str(), &instance_id).await?;

    let (definitions, stage) = if define.published() {
        let env_id = body.req_str("env_id")?;
        let at = Addressed {
            instance: &instance_id,
            env: env_id,
            ..Addressed::default()
        };
        let env = state
            .store
            .get_environment(&scope, env_id)
            .await
            .map_err(|e| refusal(e, at))?
            .ok_or_else(|| Error(ApiError::environment_not_found(env_id)))?;
        let published = state.store.published_apis(&scope.instance_id).await?;
        let definitions: Vec<_> = published
            .into_iter()
            .filter(|p| p.env_id == env.id && p.group.id == group.id)
            .map(|p| (p.api_id, p.definition))
            .collect();
        (definitions, Some(env.name.as_str().to_owned()))
    } else {
        let apis = group_apis(&state, &scope, &group.id).await?;
        let definitions = apis.into_iter().map(|a| (a.id, a.definition)).collect();
        (definitions, None)
    };
    let mut definitions: Vec<_> = definitions
        .into_iter()
        .filter(|(id, _)| only.as_ref().is_none_or(|ids| ids.contains(&id.as_str())))
        .collect();
    definitions.sort_by(|a, b| a.1.name().as_str().cmp(b.1.name().as_str()));

    let channels: HashMap<String, String> = state
        .store
        .vpc_channels_in_force(&scope.instance_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.spec.name))
        .collect();
    let apis: Vec<&ApiDefinition> = definitions.iter().map(|(_, d)| d).collect();
    let domains = state.store.group_domains(&scope, Some(&group.id)).await?;
    let host = domains
        .iter()
        .find(|d| !d.domain.as_str().starts_with('*'))
        .map(|d| d.domain.as_str().to_owned())
        .unwrap_or_else(|| sl_domain(&group.id, &state.config.region));
    let head = GroupHead {
        name: group.name.as_str(),
        remark: group.remark.as_str(),
        host: &host,
    };
    let doc = write_document(head, &apis, define, oas, &doc_version, &|id| {
        channels.get(id).cloned()
    });
    let (content, content_type, extension) = match file_type {
        FileType::Json => (
            serde_json::to_vec_pretty(&doc).map_err(|_| Error(ApiError::internal()))?,
            "application/json",
            "json",
        ),
        FileType::Yaml => (
            serde_yaml_ng::to_string(&doc)
                .map_err(|_| Error(ApiError::internal()))?
                .into_bytes(),
            "application/x-yaml",
            "yaml",
        ),
    };
    let define_name = format!("{define:?}").to_ascii_lowercase();
    let stem = match stage {
        Some(env) => format!("{}_{env}_{define_name}", group.name.as_str()),
        None => format!("{}_{define_name}", group.name.as_str()),
    };
    let file_name: String = format!("{stem}.{extension}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    tracing::info!(group_id = %group.id, apis = apis.len(), define = %define_name, "API definitions exported");
    Ok((
        NothingChanged,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        content,
    )
        .into_response())
}
