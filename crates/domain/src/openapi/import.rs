//! Reading an OpenAPI document into API definitions (`POST /openapi/import`). Each operation
//! becomes the body of an API create call, which [`ApiDefinition::parse`] then checks with every
//! rule of a create call: an operation that breaks one fails alone, with the error a create
//! call would have given.

use super::{OasVersion, AUTH_APP, METHODS, REQUEST_PROTOCOL};
use crate::api::ApiDefinition;
use crate::ApiError;
use serde_json::{json, Map, Value};

/// Most operations (APIs) one document may hold.
pub const MAX_OPERATIONS: usize = 1000;

/// How an import treats the document's backends.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// `mock_mode`: every API gets a `MOCK` backend (an empty answer) whatever the document says.
    pub mock_mode: bool,
}

/// A document read: the group it describes and one entry per operation.
#[derive(Debug)]
pub struct ImportedDocument {
    /// Which generation it was written in.
    pub version: OasVersion,
    /// `info.title`: the name of a group created for it.
    pub title: String,
    /// `info.description`: that group's description.
    pub description: Option<String>,
    /// The operations, in document order.
    pub operations: Vec<ImportedOperation>,
}

/// One operation of a document: where it is, and the API create body it reads as (or why it
/// does not read as one).
#[derive(Debug)]
pub struct ImportedOperation {
    /// The API's method (`ANY` for `x-apigateway-any-method`).
    pub method: &'static str,
    /// The API's path (`basePath` prepended).
    pub path: String,
    body: Result<Map<String, Value>, ApiError>,
}

impl ImportedOperation {
    /// The API this operation defines in group `group_id`, checked as a create call checks it.
    pub fn definition(&self, group_id: &str) -> Result<ApiDefinition, ApiError> {
        let mut body = self.body.clone()?;
        body.insert("group_id".to_owned(), json!(group_id));
        ApiDefinition::parse(&body)
    }
}

/// Reads a parsed document (JSON or YAML). `channel_id` turns the name of a VPC channel of the
/// instance into its id. Errors (`APIG.2011` naming `file_name`) concern the whole document:
/// neither Swagger 2.0 nor OpenAPI 3.x, no `paths`, more than [`MAX_OPERATIONS`] operations.
pub fn read_document(
    doc: &Value,
    options: ImportOptions,
    channel_id: &dyn Fn(&str) -> Option<String>,
) -> Result<ImportedDocument, ApiError> {
    let bad = || ApiError::invalid_body_field("file_name");
    let root = doc.as_object().ok_or_else(bad)?;
    let version = if root.get("swagger").and_then(Value::as_str) == Some("2.0") {
        OasVersion::Swagger2
    } else if root
        .get("openapi")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("3."))
    {
        OasVersion::OpenApi3
    } else {
        return Err(bad());
    };
    let info = root.get("info").and_then(Value::as_object);
    let text = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_str);
    let paths = root
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(bad)?;
    let base_path = match (version, root.get("basePath").and_then(Value::as_str)) {
        (OasVersion::Swagger2, Some(b)) => b.trim_end_matches('/'),
        _ => "",
    };
    let reader = Reader {
        version,
        doc,
        options,
        channel_id,
    };
    let mut operations = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            return Err(bad());
        };
        let shared = item.get("parameters");
        for (key, method) in METHODS {
            let Some(op) = item.get(key) else { continue };
            if operations.len() == MAX_OPERATIONS {
                return Err(bad());
            }
            let full = format!("{base_path}{path}");
            let body = match op.as_object() {
                Some(op) => reader.operation(method, &full, op, shared),
                None => Err(ApiError::invalid_body_field(key)),
            };
            operations.push(ImportedOperation {
                method,
                path: full,
                body,
            });
        }
    }
    Ok(ImportedDocument {
        version,
        title: text("title").unwrap_or_default().to_owned(),
        description: text("description").map(str::to_owned),
        operations,
    })
}

/// The document-wide context an operation is read in.
struct Reader<'a> {
    version: OasVersion,
    doc: &'a Value,
    options: ImportOptions,
    channel_id: &'a dyn Fn(&str) -> Option<String>,
}

/// `value` with a local `$ref` (`#/parameters/x`, `#/components/parameters/x`) followed.
fn resolved<'v>(doc: &'v Value, value: &'v Value) -> &'v Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/") => doc.pointer(&r[1..]).unwrap_or(value),
        _ => value,
    }
}

/// A name for an operation without `operationId`: its method and path in the API name
/// alphabet (`GET_users_userId`).
fn derived_name(method: &str, path: &str) -> String {
    let mut name = String::from(method);
    for c in path.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && name.ends_with('_')) {
            name.push(c);
        }
    }
    let trimmed = name.trim_end_matches('_');
    trimmed.chars().take(255).collect()
}

/// A scalar of the document as the text APIG fields hold (`5`, `true`, `abc`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole number of the document (`5` or `5.0`).
fn whole(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

impl Reader<'_> {
    fn operation(
        &self,
        method: &'static str,
        path: &str,
        op: &Map<String, Value>,
        shared: Option<&Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut api = Map::new();
        let name = match op.get("operationId") {
            Some(Value::String(id)) => id.clone(),
            None => derived_name(method, path),
            Some(_) => return Err(ApiError::invalid_body_field("operationId")),
        };
        api.insert("name".into(), json!(name));
        let api_type = match op.get("x-apigateway-request-type").and_then(Value::as_str) {
            None | Some("public") => 1,
            Some("private") => 2,
            Some(_) => return Err(ApiError::invalid_body_field("x-apigateway-request-type")),
        };
        api.insert("type".into(), json!(api_type));
        api.insert("req_method".into(), json!(method));
        api.insert("req_uri".into(), json!(path));
        api.insert("req_protocol".into(), json!(self.protocol(op)?));
        for (from, to) in [
            ("x-apigateway-match-mode", "match_mode"),
            ("x-apigateway-cors", "cors"),
            ("tags", "tags"),
        ] {
            if let Some(v) = op.get(from) {
                api.insert(to.into(), v.clone());
            }
        }
        if let Some(remark) = ["description", "summary"]
            .iter()
            .find_map(|k| op.get(*k).and_then(Value::as_str))
        {
            api.insert("remark".into(), json!(remark));
        }
        let (auth_type, app_code) = self.auth(op)?;
        api.insert("auth_type".into(), json!(auth_type));
        api.insert("auth_opt".into(), json!({ "app_code_auth_type": app_code }));
        api.insert("req_params".into(), Value::Array(self.params(shared, op)?));
        self.samples(op, &mut api);
        self.backend(op, &mut api)?;
        Ok(api)
    }

    /// `HTTP`, `HTTPS` or `BOTH`, from the operation's `schemes` (2.0) or `servers` (3.0), else
    /// the document's; HTTPS when neither says. Our `x-apigateway-request-protocol` wins.
    fn protocol(&self, op: &Map<String, Value>) -> Result<String, ApiError> {
        if let Some(p) = op.get(REQUEST_PROTOCOL) {
            return p
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid_body_field(REQUEST_PROTOCOL));
        }
        let schemes: Vec<String> = match self.version {
            OasVersion::Swagger2 => op
                .get("schemes")
                .or_else(|| self.doc.get("schemes"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default(),
            OasVersion::OpenApi3 => op
                .get("servers")
                .or_else(|| self.doc.get("servers"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.get("url").and_then(Value::as_str))
                        .filter_map(|u| u.split_once("://").map(|(s, _)| s.to_ascii_lowercase()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let http = schemes.iter().any(|s| s == "http");
        let https = schemes.iter().any(|s| s == "https");
        Ok(match (http, https) {
            (true, true) => "BOTH",
            (true, false) => "HTTP",
            _ => "HTTPS",
        }
        .to_owned())
    }

    /// `auth_type` and `app_code_auth_type` from the scheme the operation's (or the document's)
    /// `security` names: `AppSigv1` is `APP`, with AppCodes when its `x-apigateway-auth-opt`
    /// says `appcode-auth-type: header`; no requirement is `NONE`. Other modes (`IAM`, custom
    /// authorizers) are not served by apigw and fail the operation.
    fn auth(&self, op: &Map<String, Value>) -> Result<(&'static str, &'static str), ApiError> {
        let requirements = op.get("security").or_else(|| self.doc.get("security"));
        let scheme_name = requirements
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .find_map(|r| r.keys().next());
        let Some(scheme_name) = scheme_name else {
            return Ok(("NONE", "DISABLE"));
        };
        let schemes = match self.version {
            OasVersion::Swagger2 => self.doc.get("securityDefinitions"),
            OasVersion::OpenApi3 => self.doc.pointer("/components/securitySchemes"),
        };
        let scheme = schemes
            .and_then(|s| s.get(scheme_name))
            .ok_or_else(|| ApiError::invalid_body_field("security"))?;
        if scheme.get("x-apigateway-auth-type").and_then(Value::as_str) != Some(AUTH_APP) {
            return Err(ApiError::invalid_body_field("x-apigateway-auth-type"));
        }
        let app_code = scheme
            .pointer("/x-apigateway-auth-opt/appcode-auth-type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("header"));
        Ok(("APP", if app_code { "HEADER" } else { "DISABLE" }))
    }

    /// The path, query and header parameters of the path item and the operation (the
    /// operation's win), as `req_params`; body, form and cookie parameters have no APIG
    /// counterpart and are left out.
    fn params(
        &self,
        shared: Option<&Value>,
        op: &Map<String, Value>,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out: Vec<Value> = Vec::new();
        let all = shared
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for p in all {
            let p = resolved(self.doc, p);
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => "PATH",
                Some("query") => "QUERY",
                Some("header") => "HEADER",
                _ => continue,
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid_body_field("parameters.name"))?;
            let schema = match self.version {
                OasVersion::Swagger2 => p,
                OasVersion::OpenApi3 => p.get("schema").map_or(p, |s| resolved(self.doc, s)),
            };
            let param = self.param(name, location, p, schema);
            let same = |q: &Value| {
                q["location"] == json!(location)
                    && q["name"].as_str().is_some_and(|n| {
                        n == name || (location == "HEADER" && n.eq_ignore_ascii_case(name))
                    })
            };
            match out.iter_mut().find(|q| same(q)) {
                Some(q) => *q = param,
                None => out.push(param),
            }
        }
        Ok(out)
    }

    fn param(&self, name: &str, location: &str, p: &Value, schema: &Value) -> Value {
        let number = matches!(
            schema.get("type").and_then(Value::as_str),
            Some("integer" | "number")
        );
        let mut v = json!({
            "name": name,
            "type": if number { "NUMBER" } else { "STRING" },
            "location": location,
            "required": if p.get("required").and_then(Value::as_bool).unwrap_or(location == "PATH") { 1 } else { 2 },
        });
        let mut rules = false;
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let values: Vec<String> = values.iter().filter_map(scalar_text).collect();
            if !values.is_empty() {
                v["enumerations"] = json!(values.join(","));
                rules = true;
            }
        }
        // Huawei's own exports write 0 for bounds nobody set.
        let (max, min) = (whole(schema.get("maximum")), whole(schema.get("minimum")));
        if number && (max, min) != (Some(0), Some(0)) {
            for (key, value) in [("max_num", max), ("min_num", min)] {
                if let Some(n) = value {
                    v[key] = json!(n);
                    rules = true;
                }
            }
        }
        if !number {
            for (key, value) in [
                ("max_size", whole(schema.get("maxLength"))),
                ("min_size", whole(schema.get("minLength"))),
            ] {
                if let Some(n) = value.filter(|&n| n > 0) {
                    v[key] = json!(n);
                    rules = true;
                }
            }
        }
        v["valid_enable"] = json!(if rules { 1 } else { 2 });
        if let Some(d) = schema.get("default").and_then(scalar_text) {
            v["default_value"] = json!(d);
        }
        let example = match self.version {
            OasVersion::Swagger2 => p.get("x-example"),
            OasVersion::OpenApi3 => p.get("example"),
        };
        if let Some(e) = example.and_then(scalar_text).filter(|e| !e.is_empty()) {
            v["sample_value"] = json!(e);
        }
        if let Some(d) = p.get("description").and_then(Value::as_str) {
            v["remark"] = json!(d);
        }
        v
    }

    /// `result_normal_sample` / `result_failure_sample`: beside the responses (2.0) or inside
    /// one (3.0).
    fn samples(&self, op: &Map<String, Value>, api: &mut Map<String, Value>) {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return;
        };
        for (from, to) in [
            ("x-apigateway-result-normal-sample", "result_normal_sample"),
            (
                "x-apigateway-result-failure-sample",
                "result_failure_sample",
            ),
        ] {
            let found = responses
                .get(from)
                .or_else(|| responses.values().find_map(|r| r.get(from)))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            if let Some(s) = found {
                api.insert(to.into(), json!(s));
            }
        }
    }

    /// `backend_type` with its object and `backend_params`, from `x-apigateway-backend`, and
    /// the backend policies of `x-apigateway-backend-policies`.
    fn backend(
        &self,
        op: &Map<String, Value>,
        api: &mut Map<String, Value>,
    ) -> Result<(), ApiError> {
        if self.options.mock_mode {
            api.insert("backend_type".into(), json!("MOCK"));
            api.insert("mock_info".into(), json!({ "result_content": "" }));
            return Ok(());
        }
        const FIELD: &str = "x-apigateway-backend";
        let backend = op
            .get(FIELD)
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::missing_field(FIELD))?;
        let mock = match self.target(backend, FIELD, api)? {
            Target::Server(backend_type, server) => {
                api.insert("backend_type".into(), json!(backend_type));
                api.insert("backend_api".into(), Value::Object(server));
                false
            }
            Target::Mock(content) => {
                api.insert("backend_type".into(), json!("MOCK"));
                api.insert("mock_info".into(), json!({ "result_content": content }));
                true
            }
        };
        let params = backend_params(backend);
        if !params.is_empty() {
            api.insert("backend_params".into(), Value::Array(params));
        }
        const POLICIES: &str = "x-apigateway-backend-policies";
        let Some(items) = op.get(POLICIES) else {
            return Ok(());
        };
        let items = items
            .as_array()
            .ok_or_else(|| ApiError::invalid_body_field(POLICIES))?;
        let mut policies = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("{POLICIES}[{i}]");
            let item = item
                .as_object()
                .ok_or_else(|| ApiError::invalid_body_field(&field))?;
            let mut policy = match self.target(item, &field, api)? {
                Target::Server(_, server) => server,
                Target::Mock(content) => {
                    let mut m = Map::new();
                    m.insert("result_content".into(), content);
                    m
                }
            };
            policy.insert(
                "name".into(),
                item.get("name").cloned().unwrap_or(Value::Null),
            );
            let effect_mode = item.get("effectMode").or_else(|| item.get("effect_mode"));
            policy.insert(
                "effect_mode".into(),
                effect_mode.cloned().unwrap_or(json!("ANY")),
            );
            let conditions: Vec<Value> = item
                .get("conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(condition)
                .collect();
            policy.insert("conditions".into(), Value::Array(conditions));
            policy.insert("backend_params".into(), Value::Array(backend_params(item)));
            policies.push(Value::Object(policy));
        }
        let field = if mock { "policy_mocks" } else { "policy_https" };
        api.insert(field.into(), Value::Array(policies));
        Ok(())
    }

    /// What a backend object (`x-apigateway-backend` or a policy, named `field` in errors)
    /// sends calls to: `HTTP` (`httpEndpoints`), `HTTP-VPC` (`httpVpcEndpoints`, the channel
    /// by name), `MOCK` (`mockEndpoints`), or our `GRPC` (either endpoint object).
    fn target(
        &self,
        holder: &Map<String, Value>,
        field: &str,
        api: &Map<String, Value>,
    ) -> Result<Target, ApiError> {
        let kind = holder.get("type").and_then(Value::as_str).unwrap_or("");
        let endpoint = |key: &str| {
            holder
                .get(key)
                .and_then(Value::as_object)
                .ok_or_else(|| ApiError::missing_field(&format!("{field}.{key}")))
        };
        let via_channel =
            kind == "HTTP-VPC" || (kind == "GRPC" && holder.contains_key("httpVpcEndpoints"));
        let backend_type = if kind == "GRPC" { "GRPC" } else { "HTTP" };
        match kind {
            "HTTP" | "GRPC" if !via_channel => {
                let e = endpoint("httpEndpoints")?;
                let mut server = server(e, api);
                server.insert(
                    "url_domain".into(),
                    e.get("address").cloned().unwrap_or(Value::Null),
                );
                Ok(Target::Server(backend_type, server))
            }
            "HTTP-VPC" | "GRPC" => {
                let e = endpoint("httpVpcEndpoints")?;
                let channel = e
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|name| (self.channel_id)(name))
                    .ok_or_else(|| {
                        ApiError::invalid_body_field(&format!("{field}.httpVpcEndpoints.name"))
                    })?;
                let mut server = server(e, api);
                server.insert("vpc_channel_status".into(), json!(1));
                server.insert(
                    "vpc_channel_info".into(),
                    json!({ "vpc_channel_id": channel }),
                );
                Ok(Target::Server(backend_type, server))
            }
            "MOCK" => Ok(Target::Mock(
                holder
                    .get("mockEndpoints")
                    .and_then(|m| m.get("result-content"))
                    .cloned()
                    .unwrap_or(json!("")),
            )),
            _ => Err(ApiError::invalid_body_field(&format!("{field}.type"))),
        }
    }
}

/// Where a backend object sends calls.
enum Target {
    /// A server: `backend_type` (`HTTP` or `GRPC`) and the `backend_api` fields.
    Server(&'static str, Map<String, Value>),
    /// A mock's `result_content`.
    Mock(Value),
}

/// The `backend_params` of a backend object's `parameters`.
fn backend_params(holder: &Map<String, Value>) -> Vec<Value> {
    holder
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let upper = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase)
            };
            let mut v = json!({
                "name": p.get("name").cloned().unwrap_or(Value::Null),
                "value": p.get("value").and_then(scalar_text),
                "location": upper("in"),
                "origin": upper("origin"),
            });
            if let Some(d) = p.get("description").and_then(Value::as_str) {
                v["remark"] = json!(d);
            }
            v
        })
        .collect()
}

/// A policy condition in APIG's fields: `type` `equal`/`enum`/`pattern` is `condition_type`
/// `EXACT`/`ENUM`/`PATTERN`; `origin` `request` reads the request parameter `parameter` (or
/// `parameter_name`, as one of Huawei's examples spells it), `source` the client address,
/// and ours `system` (`parameter` `req_path`/`req_method`) and `cookie` (`parameter` the
/// cookie's name).
fn condition(c: &Value) -> Value {
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    let parameter = text("parameter").or_else(|| text("parameter_name"));
    let mut v = json!({ "condition_value": c.get("value").and_then(scalar_text) });
    if let Some(t) = text("type") {
        let t = match t.to_ascii_lowercase().as_str() {
            "equal" => "EXACT".to_owned(),
            other => other.to_ascii_uppercase(),
        };
        v["condition_type"] = json!(t);
    }
    let origin = match text("origin").map(str::to_ascii_lowercase).as_deref() {
        Some("request") | Some("param") => {
            v["req_param_name"] = json!(parameter);
            "param"
        }
        Some("system") => {
            v["sys_param_name"] = json!(parameter);
            "system"
        }
        Some("cookie") => {
            v["cookie_param_name"] = json!(parameter);
            "cookie"
        }
        Some("source") => "source",
        _ => "",
    };
    v["condition_origin"] = json!(origin);
    v
}

/// The `backend_api` fields an `httpEndpoints` or `httpVpcEndpoints` object gives: protocol,
/// method (the API's own when absent), path, timeout (Huawei's default 5000 ms) and
/// `retryCount`.
fn server(e: &Map<String, Value>, api: &Map<String, Value>) -> Map<String, Value> {
    let upper = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
    };
    let mut server = Map::new();
    server.insert("req_protocol".into(), json!(upper("scheme")));
    server.insert(
        "req_method".into(),
        json!(upper("method").or_else(|| api["req_method"].as_str().map(str::to_owned))),
    );
    server.insert(
        "req_uri".into(),
        e.get("path").cloned().unwrap_or(Value::Null),
    );
    server.insert(
        "timeout".into(),
        e.get("timeout").cloned().unwrap_or(json!(5000)),
    );
    if let Some(r) = e.get("retryCount") {
        server.insert("retry_count".into(), r.clone());
    }
    if let Some(d) = e
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        server.insert("remark".into(), json!(d));
    }
    server
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(doc: Value) -> ImportedDocument {
        read_document(&doc, ImportOptions::default(), &|name| {
            (name == "web").then(|| "c".repeat(32))
        })
        .unwrap()
    }

    #[test]
    fn names_without_operation_id_come_from_method_and_path() {
        assert_eq!(
            derived_name("GET", "/users/{id}/orders"),
            "GET_users_id_orders"
        );
        assert_eq!(derived_name("ANY", "/"), "ANY");
    }

    #[test]
    fn openapi_3_reads_servers_schemas_and_placeholder_bounds() {
        let doc = read(json!({
            "openapi": "3.0.1",
            "info": {"title": "shop"},
            "servers": [{"url": "http://a.example"}, {"url": "https://a.example"}],
            "paths": {"/items/{id}": {"post": {
                "operationId": "addItem",
                "parameters": [
                    {"name": "id", "in": "path", "required": true,
                     "schema": {"type": "string", "maxLength": 0, "maximum": 0, "minimum": 0}},
                    {"name": "n", "in": "query", "schema": {"type": "integer", "maximum": 0, "minimum": 0}},
                    {"name": "c", "in": "cookie", "schema": {"type": "string"}}
                ],
                "x-apigateway-backend": {"type": "HTTP-VPC", "httpVpcEndpoints": {
                    "name": "web", "scheme": "https", "method": "POST", "path": "/items"}}
            }}}
        }));
        assert_eq!(doc.version, OasVersion::OpenApi3);
        let api = doc.operations[0].definition(&"a".repeat(32)).unwrap();
        assert_eq!(api.req_protocol().as_str(), "BOTH");
        let params = api.req_params();
        assert_eq!(params.len(), 2, "cookies have no APIG counterpart");
        assert!(
            params.iter().all(|p| !p.valid_enable),
            "0 bounds are Huawei's placeholders"
        );
        let server = api.backend_api().unwrap();
        assert_eq!(server.target.channel().unwrap().channel_id, "c".repeat(32));
        assert_eq!(server.timeout_ms, 5000, "Huawei's default timeout");
    }

    #[test]
    fn backend_policies_read_huaweis_spellings() {
        let doc = read(json!({
            "swagger": "2.0",
            "info": {"title": "shop"},
            "paths": {"/users/{userId}": {"get": {
                "operationId": "getUser",
                "x-apigateway-backend": {"type": "HTTP", "httpEndpoints": {
                    "address": "a.example:80", "scheme": "http", "method": "GET", "path": "/u"}},
                "x-apigateway-backend-policies": [{
                    "type": "HTTP-VPC", "name": "vip_users",
                    "httpVpcEndpoints": {"name": "web", "scheme": "HTTP", "method": "GET",
                                         "path": "/vip", "timeout": 3000},
                    "parameters": [{"name": "uid", "value": "userId", "in": "query",
                                    "origin": "REQUEST"}],
                    "conditions": [
                        {"type": "equal", "value": "42", "origin": "request",
                         "parameter_name": "userId"},
                        {"value": "10.0.0.0/8", "origin": "source"}
                    ]
                }]
            }}}
        }));
        let api = doc.operations[0].definition(&"a".repeat(32)).unwrap();
        let policy = &api.policies()[0];
        assert_eq!(policy.name.as_str(), "vip_users");
        assert_eq!(
            policy.effect_mode.as_str(),
            "ANY",
            "the default when a document says none"
        );
        assert_eq!(policy.conditions.len(), 2);
        let server = policy.server().unwrap();
        assert_eq!(server.target.channel().unwrap().channel_id, "c".repeat(32));
        assert_eq!(policy.backend_params.len(), 1);
    }

    #[test]
    fn a_document_of_another_kind_is_refused_whole() {
        for doc in [
            json!({"swagger": "1.2", "paths": {}}),
            json!({"openapi": "3.0.0"}),
            json!([]),
        ] {
            let e = read_document(&doc, ImportOptions::default(), &|_| None).unwrap_err();
            assert_eq!(
                (e.code, e.message.as_ref()),
                (
                    "APIG.2011",
                    ApiError::invalid_body_field("file_name").message.as_ref()
                )
            );
        }
    }
}
