//! Importing and exporting API definitions as OpenAPI documents (`POST /openapi/import`,
//! `POST /openapi/export`), black-box: the real server and store, multipart forms on the wire,
//! documents in Huawei's `x-apigateway-*` shapes, and calls through the gateway listener to a
//! real backend reaching what an import created.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const BOUNDARY: &str = "apigw-test-boundary-7d1f";

/// A multipart/form-data body: text `fields`, then the document as `file_name`.
fn form(fields: &[(&str, &str)], file: Option<&str>) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body += &format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    if let Some(file) = file {
        body += &format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file_name\"; \
             filename=\"api.yaml\"\r\nContent-Type: application/octet-stream\r\n\r\n{file}\r\n"
        );
    }
    body += &format!("--{BOUNDARY}--\r\n");
    body.into_bytes()
}

/// `POST /openapi/import` with `fields` and `file`.
fn import(server: &Server, s: &Session, fields: &[(&str, &str)], file: Option<&str>) -> Reply {
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(server.url(&s.apig("/openapi/import")))
        .header("X-Auth-Token", &s.token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form(fields, file))
        .send()
        .unwrap();
    Reply::from(r)
}

/// A Swagger 2.0 document of group `title` in the shapes of Huawei's documentation: an APP API
/// taking AppCodes proxied to the echo backend on `port` with backend parameters, a mock on
/// every method without authentication, and three operations apigw cannot serve (IAM, a
/// FunctionGraph backend, no backend at all).
fn document(title: &str, port: u16, timeout: u32) -> String {
    format!(
        r#"swagger: "2.0"
info:
  title: "{title}"
  description: "imported from APIG"
  version: "1.0"
host: "api.account.com"
basePath: /v1
paths:
  '/users/{{userId}}':
    parameters:
    - name: "X-Tenant"
      in: header
      type: string
      description: "tenant"
    get:
      operationId: "getUser"
      description: "get user by userId"
      tags: [users]
      security:
      - apig-auth-app-header: []
      schemes: [http, https]
      parameters:
      - name: "userId"
        description: "user id"
        type: "string"
        in: "path"
        required: true
      - name: "limit"
        in: query
        type: integer
        minimum: 1
        maximum: 50
        default: 10
        x-example: 5
      - name: "payload"
        in: body
        schema: {{type: object}}
      responses:
        "200":
          description: "user information"
        x-apigateway-result-normal-sample: '{{"id": 1}}'
      x-apigateway-request-type: "private"
      x-apigateway-cors: true
      x-apigateway-match-mode: "NORMAL"
      x-apigateway-backend:
        type: "HTTP"
        parameters:
        - name: "uid"
          value: "userId"
          in: "query"
          origin: "REQUEST"
          description: "user id"
        - name: "X-Invoke-User"
          value: "apigateway"
          in: "header"
          origin: "CONSTANT"
        httpEndpoints:
          address: "127.0.0.1:{port}"
          scheme: "http"
          method: "GET"
          path: "/backend/users"
          timeout: {timeout}
          retryCount: "2"
  '/mock':
    x-apigateway-any-method:
      schemes: [http]
      x-apigateway-match-mode: SWA
      x-apigateway-backend:
        type: MOCK
        mockEndpoints:
          result-content: "mocked"
  '/iam':
    post:
      operationId: "iamOnly"
      security:
      - apig-auth-iam: []
      x-apigateway-backend:
        type: MOCK
  '/function':
    get:
      operationId: "viaFunction"
      x-apigateway-backend:
        type: FUNCTION
        functionEndpoints:
          function-urn: "urn:fss:x"
          version: latest
          invocation-type: sync
  '/nobackend':
    get:
      operationId: "noBackend"
securityDefinitions:
  apig-auth-app-header:
    in: header
    name: Authorization
    type: apiKey
    x-apigateway-auth-type: AppSigv1
    x-apigateway-auth-opt:
      appcode-auth-type: header
  apig-auth-iam:
    in: header
    name: unused
    type: apiKey
    x-apigateway-auth-type: IAM
"#
    )
}

fn apis_of(server: &Server, s: &Session, group: &str) -> Vec<Value> {
    let r = server.call(
        "GET",
        &s.apig(&format!("/apis?group_id={group}&limit=500")),
        Some(&s.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut apis = r.json["apis"].as_array().unwrap().clone();
    apis.sort_by_key(|a| a["name"].as_str().unwrap().to_owned());
    apis
}

fn by_name<'a>(apis: &'a [Value], name: &str) -> &'a Value {
    apis.iter().find(|a| a["name"] == name).expect(name)
}

#[test]
fn an_import_creates_the_group_and_its_apis_and_the_gateway_serves_them() {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--allow-app-code-over-http"),
    );
    let gateway = format!(
        "http://127.0.0.1:{}",
        server.port_of("gateway listening (plain HTTP)")
    );
    let backend = EchoBackend::start();
    let s = server.admin();
    let r = import(
        &server,
        &s,
        &[],
        Some(&document("users_v1", backend.port, 7000)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let group = r.json["group_id"].as_str().unwrap().to_owned();
    let success = r.json["success"].as_array().unwrap();
    assert_eq!(success.len(), 2, "{}", r.text);
    // Operations are answered in path order.
    assert_eq!(
        (
            &success[0]["path"],
            &success[0]["method"],
            &success[0]["action"]
        ),
        (&json!("/v1/mock"), &json!("ANY"), &json!("create"))
    );
    assert_eq!(
        (&success[1]["path"], &success[1]["method"]),
        (&json!("/v1/users/{userId}"), &json!("GET"))
    );
    let failures: Vec<(String, String, String)> = r.json["failure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["error_code"].as_str().unwrap().to_owned(),
                f["error_msg"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            (
                "/v1/function".into(),
                "APIG.2011".into(),
                invalid("x-apigateway-backend.type")
            ),
            (
                "/v1/iam".into(),
                "APIG.2011".into(),
                invalid("x-apigateway-auth-type")
            ),
            (
                "/v1/nobackend".into(),
                "APIG.2001".into(),
                "The request parameters must be specified,parameterName:x-apigateway-backend"
                    .into()
            ),
        ]
    );
    assert_eq!(r.json["ignore"], json!([]));
    assert_eq!(r.json["swagger"]["id"].as_str().unwrap().len(), 32);
    assert_eq!(
        r.json["swagger"]["result"],
        "2 created, 0 updated, 0 ignored, 3 failed"
    );

    // The group, and the APIs as the management API shows them.
    let g = server.call(
        "GET",
        &s.apig(&format!("/api-groups/{group}")),
        Some(&s.token),
        None,
    );
    assert_eq!(
        (&g.json["name"], &g.json["remark"]),
        (&json!("users_v1"), &json!("imported from APIG"))
    );
    let apis = apis_of(&server, &s, &group);
    let user = by_name(&apis, "getUser");
    assert_eq!(user["id"], success[1]["id"]);
    assert_eq!(
        (&user["auth_type"], &user["auth_opt"]["app_code_auth_type"]),
        (&json!("APP"), &json!("HEADER"))
    );
    assert_eq!(
        (&user["req_protocol"], &user["type"], &user["cors"]),
        (&json!("BOTH"), &json!(2), &json!(true))
    );
    assert_eq!(
        (&user["remark"], &user["tags"]),
        (&json!("get user by userId"), &json!(["users"]))
    );
    assert_eq!(user["result_normal_sample"], r#"{"id": 1}"#);
    let params = user["req_params"].as_array().unwrap();
    assert_eq!(
        params.len(),
        3,
        "the body parameter is left out: {params:?}"
    );
    let param = |name: &str| params.iter().find(|p| p["name"] == name).unwrap();
    assert_eq!(
        (
            &param("X-Tenant")["location"],
            &param("X-Tenant")["required"]
        ),
        (&json!("HEADER"), &json!(2))
    );
    let limit = param("limit");
    assert_eq!(
        (&limit["type"], &limit["min_num"], &limit["max_num"]),
        (&json!("NUMBER"), &json!(1), &json!(50))
    );
    assert_eq!(
        (
            &limit["valid_enable"],
            &limit["default_value"],
            &limit["sample_value"]
        ),
        (&json!(1), &json!("10"), &json!("5"))
    );
    let server_api = &user["backend_api"];
    assert_eq!(
        (&server_api["url_domain"], &server_api["req_uri"]),
        (
            &json!(format!("127.0.0.1:{}", backend.port)),
            &json!("/backend/users")
        )
    );
    assert_eq!(
        (&server_api["timeout"], &server_api["retry_count"]),
        (&json!(7000), &json!("2"))
    );
    assert_eq!(user["backend_params"].as_array().unwrap().len(), 2);
    let mock = by_name(&apis, "ANY_v1_mock");
    assert_eq!(
        (
            &mock["auth_type"],
            &mock["match_mode"],
            &mock["mock_info"]["result_content"]
        ),
        (&json!("NONE"), &json!("SWA"), &json!("mocked"))
    );

    // Published and authorized, the imported APIs answer through the gateway.
    let mgmt = Mgmt {
        server: &server,
        s: &s,
    };
    for api in [user, mock] {
        mgmt.publish(api["id"].as_str().unwrap());
    }
    let app = mgmt.call("POST", "/apps", Some(&json!({"name": "importer_app"})));
    let app_id = app.json["id"].as_str().unwrap();
    let code = mgmt.call("PUT", &format!("/apps/{app_id}/app-codes"), None);
    let code = code.json["app_code"].as_str().unwrap().to_owned();
    let auth = mgmt.call(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [user["id"]]})),
    );
    assert_eq!(auth.status, 201, "{}", auth.text);
    let host = format!("{group}.apic.default");
    let client = reqwest::blocking::Client::new();
    let call = |path: &str, code: Option<&str>| {
        let mut req = client.get(format!("{gateway}{path}")).header("Host", &host);
        if let Some(c) = code {
            req = req.header("X-Apig-AppCode", c);
        }
        Reply::from(req.send().unwrap())
    };
    let echoed = call("/v1/users/u42", Some(&code));
    assert_eq!(echoed.status, 200, "{}", echoed.text);
    let path = echoed.json["path"].as_str().unwrap();
    assert!(
        path.starts_with("/backend/users?") && path.contains("uid=u42"),
        "{path}"
    );
    assert_eq!(echoed.json["headers"]["x-invoke-user"], "apigateway");
    call("/v1/users/u42", None).assert_error(401, "APIG.0303", None);
    let mocked = call("/v1/mock/anything", None);
    assert_eq!((mocked.status, mocked.text.as_str()), (200, "mocked"));

    // The group's name is taken now: importing the same document again creates nothing.
    let again = import(
        &server,
        &s,
        &[],
        Some(&document("users_v1", backend.port, 7000)),
    );
    again.assert_error(400, "APIG.3201", Some("The API group name already exists."));
    assert_eq!(apis_of(&server, &s, &group).len(), 2);
}

#[test]
fn an_import_into_a_group_keeps_or_replaces_what_is_there() {
    let server = Server::start();
    let s = server.admin();
    let groups = server.call("GET", &s.apig("/api-groups"), Some(&s.token), None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let into = |mode: &str, timeout: u32| {
        import(
            &server,
            &s,
            &[
                ("is_create_group", "false"),
                ("group_id", &group),
                ("api_mode", mode),
            ],
            Some(&document("ignored_title", 9, timeout)),
        )
    };
    let first = into("merge", 1000);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["group_id"], group.as_str());
    let id = first.json["success"][1]["id"].clone();

    let kept = into("merge", 2000);
    assert_eq!(kept.json["success"], json!([]), "{}", kept.text);
    assert_eq!(
        kept.json["ignore"],
        json!([{"path": "/v1/mock", "method": "ANY"},
               {"path": "/v1/users/{userId}", "method": "GET"}])
    );
    let timeout = |server: &Server| {
        by_name(&apis_of(server, &s, &group), "getUser")["backend_api"]["timeout"].clone()
    };
    assert_eq!(timeout(&server), 1000);

    let replaced = into("override", 3000);
    assert_eq!(
        replaced.json["success"][1]["action"], "update",
        "{}",
        replaced.text
    );
    assert_eq!(replaced.json["success"][1]["id"], id);
    assert_eq!(timeout(&server), 3000);
    assert_eq!(apis_of(&server, &s, &group).len(), 2);

    // Mock mode: every API answers from a mock, whatever the document's backend.
    let mocked = import(
        &server,
        &s,
        &[("mock_mode", "true")],
        Some(&document("mocked_group", 9, 1000)),
    );
    let mocked_group = mocked.json["group_id"].as_str().unwrap().to_owned();
    let apis = apis_of(&server, &s, &mocked_group);
    assert_eq!(by_name(&apis, "getUser")["backend_type"], "MOCK");
    assert_eq!(
        mocked.json["failure"].as_array().unwrap().len(),
        1,
        "IAM still fails"
    );

    // Refusals of the call as a whole.
    let zeros = "0".repeat(32);
    let cases: Vec<(Reply, u16, &str, String)> = vec![
        (
            import(&server, &s, &[], None),
            400,
            "APIG.2001",
            "The request parameters must be specified,parameterName:file_name".into(),
        ),
        (
            import(&server, &s, &[], Some("swagger: 1.2\npaths: {}")),
            400,
            "APIG.2011",
            invalid("file_name"),
        ),
        (
            import(&server, &s, &[], Some("{not json")),
            400,
            "APIG.2011",
            invalid("file_name"),
        ),
        (
            import(
                &server,
                &s,
                &[("is_create_group", "false")],
                Some(&document("x_y_z", 9, 1)),
            ),
            400,
            "APIG.2001",
            "The request parameters must be specified,parameterName:group_id".into(),
        ),
        (
            import(
                &server,
                &s,
                &[("is_create_group", "false"), ("group_id", &zeros)],
                Some(&document("x_y_z", 9, 1)),
            ),
            404,
            "APIG.3001",
            format!("API group {zeros} does not exist"),
        ),
        (
            import(
                &server,
                &s,
                &[("simple_mode", "true")],
                Some(&document("x_y_z", 9, 1)),
            ),
            400,
            "APIG.2011",
            invalid("simple_mode"),
        ),
        (
            import(
                &server,
                &s,
                &[("api_mode", "replace")],
                Some(&document("x_y_z", 9, 1)),
            ),
            400,
            "APIG.2011",
            invalid("api_mode"),
        ),
        (
            import(&server, &s, &[], Some(&document("a b", 9, 1))),
            400,
            "APIG.2011",
            invalid("name"),
        ),
        (
            server.call(
                "POST",
                &s.apig("/openapi/import"),
                Some(&s.token),
                Some(&json!({})),
            ),
            400,
            "APIG.2000",
            String::new(),
        ),
    ];
    for (reply, status, code, message) in cases {
        let message = (!message.is_empty()).then_some(message.as_str());
        reply.assert_error(status, code, message);
    }
    let groups = server.call("GET", &s.apig("/api-groups"), Some(&s.token), None);
    assert_eq!(groups.json["total"], 2, "no refused import created a group");
}

#[test]
fn an_export_imports_back_as_the_same_apis() {
    let server = Server::start();
    let s = server.admin();
    let backend_port = 9;
    let r = import(
        &server,
        &s,
        &[],
        Some(&document("source_group", backend_port, 4000)),
    );
    let group = r.json["group_id"].as_str().unwrap().to_owned();
    let mgmt = Mgmt {
        server: &server,
        s: &s,
    };
    // A third API through a VPC channel, exported by the channel's name.
    let channel = mgmt.call(
        "POST",
        "/vpc-channels",
        Some(
            &json!({"name": "users_channel", "type": 2, "port": 8080, "balance_strategy": 1,
                     "member_type": "ip", "members": [{"host": "127.0.0.1", "weight": 1}]}),
        ),
    );
    assert_eq!(channel.status, 201, "{}", channel.text);
    let channel_id = channel.json["id"].as_str().unwrap();
    let via_channel = mgmt.call(
        "POST",
        "/apis",
        Some(&json!({
            "group_id": group, "name": "viaChannel", "type": 1, "req_protocol": "HTTPS",
            "req_method": "POST", "req_uri": "/orders", "auth_type": "APP",
            "backend_type": "HTTP",
            "backend_api": {"vpc_channel_status": 1,
                            "vpc_channel_info": {"vpc_channel_id": channel_id},
                            "req_protocol": "HTTP", "req_method": "POST",
                            "req_uri": "/orders", "timeout": 3000}})),
    );
    assert_eq!(via_channel.status, 201, "{}", via_channel.text);
    // A fourth with backend policies: by request parameter, client address, path and cookie,
    // one through the channel; and a mock API with a mock policy.
    let routed = mgmt.call(
        "POST",
        "/apis",
        Some(&json!({
        "group_id": group, "name": "routedOrders", "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": "/routed/{tenant}", "auth_type": "NONE",
        "backend_type": "HTTP",
        "req_params": [{"name": "region", "location": "QUERY", "type": "STRING"}],
        "backend_api": {"url_domain": "127.0.0.1:9", "req_protocol": "HTTP",
                        "req_method": "GET", "req_uri": "/default", "timeout": 3000},
        "policy_https": [
            {"name": "by_tenant", "effect_mode": "ALL",
             "conditions": [
                 {"condition_origin": "param", "req_param_name": "tenant",
                  "condition_type": "EXACT", "condition_value": "acme"},
                 {"condition_origin": "param", "req_param_name": "region",
                  "condition_type": "ENUM", "condition_value": "eu,us"}],
             "url_domain": "10.0.0.7:8080", "req_protocol": "HTTPS", "req_method": "GET",
             "req_uri": "/acme", "timeout": 2000,
             "backend_params": [{"name": "X-Tenant", "value": "tenant",
                                 "location": "HEADER", "origin": "REQUEST"}]},
            {"name": "by_network", "effect_mode": "ANY",
             "conditions": [
                 {"condition_origin": "source", "condition_value": "10.1.0.0/16"},
                 {"condition_origin": "system", "sys_param_name": "req_path",
                  "condition_type": "PATTERN", "condition_value": "^/routed/int"},
                 {"condition_origin": "cookie", "cookie_param_name": "lane",
                  "condition_type": "EXACT", "condition_value": "canary"}],
             "vpc_channel_status": 1, "vpc_channel_info": {"vpc_channel_id": channel_id},
             "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/internal",
             "timeout": 4000}
        ]})),
    );
    assert_eq!(routed.status, 201, "{}", routed.text);
    let mocked = mgmt.call(
        "POST",
        "/apis",
        Some(&json!({
            "group_id": group, "name": "mockedStatus", "type": 1, "req_protocol": "HTTPS",
            "req_method": "GET", "req_uri": "/status", "auth_type": "NONE",
            "backend_type": "MOCK", "mock_info": {"result_content": "ok"},
            "policy_mocks": [{"name": "degraded", "effect_mode": "ANY",
                "conditions": [{"condition_origin": "system", "sys_param_name": "req_method",
                                "condition_type": "ENUM", "condition_value": "GET,HEAD"}],
                "result_content": "degraded"}]})),
    );
    assert_eq!(mocked.status, 201, "{}", mocked.text);
    let user_id = r.json["success"][1]["id"].as_str().unwrap();
    mgmt.publish(user_id);

    let export = |body: Value, oas: &str| {
        server.call(
            "POST",
            &s.apig(&format!("/openapi/export?oas_version={oas}")),
            Some(&s.token),
            Some(&body),
        )
    };
    // `spec` of RELEASE: only the published API, without its backend.
    let spec = export(json!({"group_id": group, "env_id": RELEASE}), "2.0");
    assert_eq!(spec.status, 200, "{}", spec.text);
    assert_eq!(spec.header("content-type"), Some("application/json"));
    assert_eq!(
        spec.header("content-disposition"),
        Some("attachment; filename=\"source_group_RELEASE_spec.json\"")
    );
    assert_eq!(spec.json["swagger"], "2.0");
    assert_eq!(spec.json["info"]["title"], "source_group");
    assert_eq!(spec.json["host"], format!("{group}.apic.default"));
    let paths = spec.json["paths"].as_object().unwrap();
    assert_eq!(paths.keys().collect::<Vec<_>>(), vec!["/v1/users/{userId}"]);
    let op = &paths["/v1/users/{userId}"]["get"];
    assert_eq!(op["operationId"], "getUser");
    assert_eq!(op["security"], json!([{"apig-auth-app-header": []}]));
    assert_eq!(op["schemes"], json!(["http", "https"]));
    assert!(op.get("x-apigateway-backend").is_none(), "{op}");

    // `dev`, the current definitions of the whole group, in both generations and formats:
    // imported into a new group they give the same APIs.
    let originals = apis_of(&server, &s, &group);
    assert_eq!(originals.len(), 5);
    for (oas, file_type) in [("2.0", "json"), ("3.0", "yaml")] {
        let dev = export(
            json!({"group_id": group, "define": "dev", "type": file_type,
                                "version": "v7"}),
            oas,
        );
        assert_eq!(dev.status, 200, "{}", dev.text);
        let title = format!("copy_{}", oas.replace('.', "_"));
        let text = dev
            .text
            .replace("title: source_group", &format!("title: {title}"))
            .replace(
                "\"title\": \"source_group\"",
                &format!("\"title\": \"{title}\""),
            );
        assert!(
            text.contains("v7") && text.contains("users_channel"),
            "{text}"
        );
        let copied = import(&server, &s, &[], Some(&text));
        assert_eq!(copied.status, 200, "{}", copied.text);
        assert_eq!(
            copied.json["success"].as_array().unwrap().len(),
            5,
            "{}",
            copied.text
        );
        let copies = apis_of(&server, &s, copied.json["group_id"].as_str().unwrap());
        for (original, copy) in originals.iter().zip(&copies) {
            for field in [
                "name",
                "type",
                "req_protocol",
                "req_method",
                "req_uri",
                "match_mode",
                "auth_type",
                "auth_opt",
                "backend_type",
                "remark",
                "tags",
                "cors",
                "result_normal_sample",
                "mock_info",
            ] {
                let (a, b) = (&original[field], &copy[field]);
                if field == "mock_info" {
                    assert_eq!(a["result_content"], b["result_content"]);
                } else {
                    assert_eq!(a, b, "{field} of {} ({oas})", original["name"]);
                }
            }
            let strip = |v: &Value| -> Value {
                let mut v = v.clone();
                for key in ["id", "register_time", "update_time", "status"] {
                    if let Some(o) = v.as_object_mut() {
                        o.remove(key);
                    }
                }
                v
            };
            assert_eq!(strip(&original["backend_api"]), strip(&copy["backend_api"]));
            let params =
                |v: &Value| -> Vec<Value> { v.as_array().unwrap().iter().map(strip).collect() };
            assert_eq!(params(&original["req_params"]), params(&copy["req_params"]));
            assert_eq!(
                params(&original["backend_params"]),
                params(&copy["backend_params"])
            );
            for field in ["policy_https", "policy_mocks"] {
                let policies = |v: &Value| -> Vec<Value> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| {
                            let mut p = strip(p);
                            p["conditions"] = Value::Array(params(&p["conditions"]));
                            p
                        })
                        .collect()
                };
                assert_eq!(
                    policies(&original[field]),
                    policies(&copy[field]),
                    "{field} of {} ({oas})",
                    original["name"]
                );
            }
        }
    }

    // Refusals, and a project sees only its own groups.
    let zeros = "0".repeat(32);
    export(json!({"group_id": group}), "2.0").assert_error(
        400,
        "APIG.2011",
        Some(&invalid("env_id")),
    );
    export(json!({"group_id": group, "env_id": zeros}), "2.0").assert_error(404, "APIG.3003", None);
    export(json!({"group_id": group, "define": "full"}), "2.0").assert_error(
        400,
        "APIG.2011",
        Some(&invalid("define")),
    );
    export(
        json!({"group_id": group, "define": "dev", "type": "xml"}),
        "2.0",
    )
    .assert_error(400, "APIG.2011", Some(&invalid("type")));
    export(json!({"group_id": group, "define": "dev"}), "1.0").assert_error(
        400,
        "APIG.2012",
        Some(&invalid("oas_version")),
    );
    let other = server.user_session(&s, "export_reader", "other_project", "member");
    let foreign = server.call(
        "POST",
        &other.apig("/openapi/export"),
        Some(&other.token),
        Some(&json!({"group_id": group, "define": "dev"})),
    );
    foreign.assert_error(404, "APIG.3001", None);
}
