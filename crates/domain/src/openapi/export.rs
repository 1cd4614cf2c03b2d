//! Writing API definitions as an OpenAPI document (`POST /openapi/export`), the shapes Huawei's
//! exports have, so what apigw writes imports into APIG and back into apigw.

use super::{
    OasVersion, ANY_METHOD, AUTH_APP, METHODS, REQUEST_PROTOCOL, SCHEME_APP, SCHEME_APP_CODE,
    SCHEME_IAM,
};
use crate::api::ApiDefinition;
use crate::ApiError;
use serde_json::{json, Map, Value};

/// How much of each API an export writes (`define`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Define {
    /// `spec`: the request side only, of the APIs published in the environment.
    Spec,
    /// `proxy`: request and backend, of the APIs published in the environment.
    Proxy,
    /// `all`: as `proxy` (apigw writes no throttling, access control or authorizer extensions
    /// yet).
    All,
    /// `dev`: request and backend of the group's current definitions, published or not.
    Dev,
}

impl Define {
    /// Reads `define` (`spec`, the default when absent, `proxy`, `all` or `dev`).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "spec" => Ok(Self::Spec),
            "proxy" => Ok(Self::Proxy),
            "all" => Ok(Self::All),
            "dev" => Ok(Self::Dev),
            _ => Err(ApiError::invalid_body_field("define")),
        }
    }

    /// Whether the published definitions of an environment are exported (else the current
    /// ones).
    pub fn published(self) -> bool {
        self != Self::Dev
    }

    fn with_backend(self) -> bool {
        self != Self::Spec
    }
}

/// The group a document describes.
#[derive(Debug, Clone, Copy)]
pub struct GroupHead<'a> {
    /// `info.title`.
    pub name: &'a str,
    /// `info.description` (left out when empty).
    pub remark: &'a str,
    /// `host` (2.0) or the host of `servers` (3.0): a name bound to the group, else its
    /// subdomain.
    pub host: &'a str,
}

/// The document for `apis` of `group`; `doc_version` is `info.version`; `channel_name` names
/// a VPC channel by its id (documents name channels, not ids).
pub fn write_document(
    group: GroupHead<'_>,
    apis: &[&ApiDefinition],
    define: Define,
    oas: OasVersion,
    doc_version: &str,
    channel_name: &dyn Fn(&str) -> Option<String>,
) -> Value {
    let writer = Writer {
        oas,
        define,
        host: group.host,
        channel_name,
    };
    let mut paths = Map::new();
    for api in apis {
        let wire = api.to_json();
        let method = wire["req_method"].as_str().unwrap_or("ANY");
        let key = METHODS
            .iter()
            .find(|(_, m)| *m == method)
            .map_or(ANY_METHOD, |(k, _)| k);
        let item = paths
            .entry(api.req_uri().as_str().to_owned())
            .or_insert_with(|| json!({}));
        item[key] = writer.operation(&wire);
    }
    let mut info = json!({ "title": group.name, "version": doc_version });
    if !group.remark.is_empty() {
        info["description"] = json!(group.remark);
    }
    let schemes = json!({
        SCHEME_APP: {"type": "apiKey", "name": "Authorization", "in": "header",
                     "x-apigateway-auth-type": AUTH_APP},
        SCHEME_APP_CODE: {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-apigateway-auth-type": AUTH_APP,
                          "x-apigateway-auth-opt": {"appcode-auth-type": "header"}},
        SCHEME_IAM: {"type": "apiKey", "name": "unused", "in": "header",
                     "x-apigateway-auth-type": "IAM"},
    });
    let default_response = json!({ "default": { "description": "response example" } });
    match oas {
        OasVersion::Swagger2 => json!({
            "swagger": "2.0",
            "info": info,
            "host": group.host,
            "paths": paths,
            "responses": default_response,
            "securityDefinitions": schemes,
        }),
        OasVersion::OpenApi3 => json!({
            "openapi": "3.0.1",
            "info": info,
            "servers": [
                {"url": format!("https://{}", group.host)},
                {"url": format!("http://{}", group.host)},
            ],
            "paths": paths,
            "components": { "responses": default_response, "securitySchemes": schemes },
        }),
    }
}

struct Writer<'a> {
    oas: OasVersion,
    define: Define,
    host: &'a str,
    channel_name: &'a dyn Fn(&str) -> Option<String>,
}

/// A number for a `NUMBER` parameter's value when the text is one, else the text.
fn typed(text: &str, number: bool) -> Value {
    if number {
        if let Ok(n) = text.parse::<i64>() {
            return json!(n);
        }
        if let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    json!(text)
}

fn lower(v: &Value) -> Value {
    json!(v.as_str().unwrap_or_default().to_ascii_lowercase())
}

impl Writer<'_> {
    fn operation(&self, w: &Map<String, Value>) -> Value {
        let mut op = json!({ "operationId": w["name"] });
        if let Some(r) = w
            .get("remark")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            op["description"] = json!(r);
        }
        if let Some(tags) = w
            .get("tags")
            .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        {
            op["tags"] = tags.clone();
        }
        let protocol = w["req_protocol"].as_str().unwrap_or("HTTPS");
        let schemes: &[&str] = match protocol {
            "HTTP" => &["http"],
            "BOTH" => &["http", "https"],
            _ => &["https"],
        };
        if protocol == "GRPCS" {
            op[REQUEST_PROTOCOL] = json!(protocol);
        }
        match self.oas {
            OasVersion::Swagger2 => op["schemes"] = json!(schemes),
            OasVersion::OpenApi3 => {
                op["servers"] = schemes
                    .iter()
                    .map(|s| json!({ "url": format!("{s}://{}", self.host) }))
                    .collect()
            }
        }
        let params: Vec<Value> = w["req_params"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.param(p))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if w["auth_type"] == "APP" {
            let scheme = if w["auth_opt"]["app_code_auth_type"] == "HEADER" {
                SCHEME_APP_CODE
            } else {
                SCHEME_APP
            };
            op["security"] = json!([{ scheme: [] }]);
        }
        op["responses"] = self.responses(w);
        op["x-apigateway-request-type"] = json!(if w["type"] == 2 { "private" } else { "public" });
        op["x-apigateway-match-mode"] = w["match_mode"].clone();
        op["x-apigateway-cors"] = w["cors"].clone();
        if self.define.with_backend() {
            let kind = w["backend_type"].as_str().unwrap_or("HTTP");
            let mock = w.get("mock_info").unwrap_or(&Value::Null);
            let mut b = self.target(kind, w.get("backend_api"), mock);
            put_params(&mut b, w.get("backend_params"));
            op["x-apigateway-backend"] = b;
            let policies = w.get("policy_https").or_else(|| w.get("policy_mocks"));
            if let Some(Value::Array(policies)) = policies {
                let written: Vec<Value> = policies.iter().map(|p| self.policy(kind, p)).collect();
                op["x-apigateway-backend-policies"] = Value::Array(written);
            }
        }
        op
    }

    fn param(&self, p: &Value) -> Value {
        let number = p["type"] == "NUMBER";
        let mut v = json!({
            "name": p["name"],
            "in": lower(&p["location"]),
            "required": p["required"] == 1,
        });
        if let Some(r) = p.get("remark") {
            v["description"] = r.clone();
        }
        let mut schema = json!({ "type": if number { "number" } else { "string" } });
        if let Some(d) = p.get("default_value").and_then(Value::as_str) {
            schema["default"] = typed(d, number);
        }
        if let Some(e) = p.get("enumerations").and_then(Value::as_str) {
            let values: Vec<Value> = e
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| typed(s, number))
                .collect();
            schema["enum"] = Value::Array(values);
        }
        for (from, to) in [
            ("max_num", "maximum"),
            ("min_num", "minimum"),
            ("max_size", "maxLength"),
            ("min_size", "minLength"),
        ] {
            if let Some(n) = p.get(from) {
                schema[to] = n.clone();
            }
        }
        let sample = p.get("sample_value");
        match self.oas {
            OasVersion::Swagger2 => {
                if let (Some(s), Some(v)) = (schema.as_object(), v.as_object_mut()) {
                    v.extend(s.clone());
                }
                if let Some(s) = sample {
                    v["x-example"] = s.clone();
                }
            }
            OasVersion::OpenApi3 => {
                v["schema"] = schema;
                if let Some(s) = sample {
                    v["example"] = s.clone();
                }
            }
        }
        v
    }

    /// The default response, with the API's sample answers beside it (2.0) or in it (3.0), as
    /// Huawei writes them.
    fn responses(&self, w: &Map<String, Value>) -> Value {
        let samples = [
            ("x-apigateway-result-normal-sample", "result_normal_sample"),
            (
                "x-apigateway-result-failure-sample",
                "result_failure_sample",
            ),
        ];
        match self.oas {
            OasVersion::Swagger2 => {
                let mut r = json!({ "default": { "$ref": "#/responses/default" } });
                for (to, from) in samples {
                    r[to] = w.get(from).cloned().unwrap_or(json!(""));
                }
                r
            }
            OasVersion::OpenApi3 => {
                let mut d = json!({ "description": "response example" });
                for (to, from) in samples {
                    d[to] = w.get(from).cloned().unwrap_or(json!(""));
                }
                json!({ "default": d })
            }
        }
    }
}

impl Writer<'_> {
    /// A backend object (`x-apigateway-backend`, or a policy's): `HTTP` (`httpEndpoints`),
    /// `HTTP-VPC` (`httpVpcEndpoints` naming the channel), `MOCK` (`mockEndpoints`), or our
    /// `GRPC` (either endpoint object). `server` holds the `backend_api` fields; `mock` the
    /// `mock_info` (or the policy itself, whose `result_content` it carries).
    fn target(&self, kind: &str, server: Option<&Value>, mock: &Value) -> Value {
        let mut b = json!({});
        let Some(s) = server.filter(|_| kind != "MOCK") else {
            b["type"] = json!("MOCK");
            b["mockEndpoints"] = json!({ "result-content": mock["result_content"] });
            return b;
        };
        let mut e = json!({
            "scheme": lower(&s["req_protocol"]),
            "method": s["req_method"],
            "path": s["req_uri"],
            "timeout": s["timeout"],
            "retryCount": s["retry_count"],
        });
        if let Some(r) = s.get("remark") {
            e["description"] = r.clone();
        }
        let via_channel = s["vpc_channel_status"] == 1;
        if via_channel {
            let id = s["vpc_channel_info"]["vpc_channel_id"]
                .as_str()
                .unwrap_or("");
            e["name"] = json!((self.channel_name)(id).unwrap_or_else(|| id.to_owned()));
            b["httpVpcEndpoints"] = e;
        } else {
            e["address"] = s["url_domain"].clone();
            b["httpEndpoints"] = e;
        }
        b["type"] = json!(match (kind, via_channel) {
            ("GRPC", _) => "GRPC",
            (_, true) => "HTTP-VPC",
            _ => "HTTP",
        });
        b
    }

    /// One of `x-apigateway-backend-policies`: its backend, `name`, our `effectMode`,
    /// `parameters` and `conditions` (`type` `equal`/`enum`/`pattern`, `origin` `request` with
    /// the `parameter`, or `source`; ours `system` and `cookie`).
    fn policy(&self, kind: &str, p: &Value) -> Value {
        let mut b = self.target(kind, Some(p), p);
        b["name"] = p["name"].clone();
        b["effectMode"] = p["effect_mode"].clone();
        put_params(&mut b, p.get("backend_params"));
        let conditions: Vec<Value> = p["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let mut v = json!({ "value": c["condition_value"] });
                if let Some(t) = c.get("condition_type").and_then(Value::as_str) {
                    v["type"] = json!(match t {
                        "EXACT" => "equal".to_owned(),
                        other => other.to_ascii_lowercase(),
                    });
                }
                let (origin, parameter) = match c["condition_origin"].as_str() {
                    Some("param") => ("request", c.get("req_param_name")),
                    Some("system") => ("system", c.get("sys_param_name")),
                    Some("cookie") => ("cookie", c.get("cookie_param_name")),
                    _ => ("source", None),
                };
                v["origin"] = json!(origin);
                if let Some(name) = parameter {
                    v["parameter"] = name.clone();
                }
                v
            })
            .collect();
        b["conditions"] = Value::Array(conditions);
        b
    }
}

/// `parameters` of a backend object, from `backend_params` (left out when there are none).
fn put_params(b: &mut Value, params: Option<&Value>) {
    let params: Vec<Value> = params
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let mut v = json!({
                "name": p["name"],
                "value": p["value"],
                "in": lower(&p["location"]),
                "origin": p["origin"],
            });
            if let Some(r) = p.get("remark") {
                v["description"] = r.clone();
            }
            v
        })
        .collect();
    if !params.is_empty() {
        b["parameters"] = Value::Array(params);
    }
}
