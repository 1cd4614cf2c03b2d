//! Environment variables (`/env-variables`), black-box through the real binary: create, show,
//! change, delete and list with Huawei's fields; every refusal with its code (bad fields, a
//! name taken in the group and environment, the limit of 50, unknown group, environment or
//! variable, the mandatory `group_id` of the list); what reaches the database; variables
//! going with their environment; scoping by project and role; and APIs naming variables in
//! their backend.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn create(server: &Server, s: &Session, body: &Value) -> Reply {
    server.call(
        "POST",
        &s.apig("/env-variables"),
        Some(&s.token),
        Some(body),
    )
}

fn variable(group: &str, env: &str, name: &str, value: &str) -> Value {
    json!({"group_id": group, "env_id": env, "variable_name": name, "variable_value": value})
}

fn invalid(field: &str) -> String {
    format!(
        "Invalid parameter value,parameterName:{field}. Please refer to the support documentation"
    )
}

#[test]
fn create_show_change_list_and_delete_a_variable() {
    let server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);

    let created = create(
        &server,
        &admin,
        &variable(&group, RELEASE, "address", "192.168.1.5"),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(
        created.json,
        json!({"id": id, "group_id": group, "env_id": RELEASE,
               "variable_name": "address", "variable_value": "192.168.1.5"})
    );
    let stored = db_texts(
        &server,
        &format!(
            "SELECT group_id || '|' || env_id || '|' || name || '|' || value FROM env_variables \
             WHERE id = '{id}'"
        ),
    );
    assert_eq!(stored, [format!("{group}|{RELEASE}|address|192.168.1.5")]);

    let path = admin.apig(&format!("/env-variables/{id}"));
    let shown = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json, created.json);

    // Only the value changes; name, group and environment stay.
    let changed = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"variable_value": "backend.internal:8080", "variable_name": "ignored"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["variable_value"], "backend.internal:8080");
    assert_eq!(changed.json["variable_name"], "address");
    let stored = db_texts(
        &server,
        &format!("SELECT name || '|' || value FROM env_variables WHERE id = '{id}'"),
    );
    assert_eq!(stored, ["address|backend.internal:8080"]);

    // A second variable, and a DEV environment with one of the same name.
    let dev = server.call(
        "POST",
        &admin.apig("/envs"),
        Some(&admin.token),
        Some(&json!({"name": "DEV"})),
    );
    let dev = dev.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        create(
            &server,
            &admin,
            &variable(&group, RELEASE, "Path", "/Stage/test")
        )
        .status,
        201
    );
    assert_eq!(
        create(
            &server,
            &admin,
            &variable(&group, &dev, "address", "10.0.0.2")
        )
        .status,
        201
    );
    let list = |query: &str| {
        let r = server.call(
            "GET",
            &admin.apig(&format!("/env-variables?{query}")),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        r.json
    };
    let all = list(&format!("group_id={group}"));
    assert_eq!(
        (all["total"].clone(), all["size"].clone()),
        (json!(3), json!(3))
    );
    let names: Vec<&str> = all["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["variable_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["address", "Path", "address"], "oldest first");
    assert_eq!(all["variables"][0], changed.json);
    assert_eq!(list(&format!("group_id={group}&env_id={dev}"))["total"], 1);
    assert_eq!(
        list(&format!("group_id={group}&variable_name=dd"))["total"],
        2
    );
    let exact = format!("group_id={group}&variable_name=Pat&precise_search=variable_name");
    assert_eq!(list(&exact)["total"], 0);
    let exact = format!("group_id={group}&variable_name=Path&precise_search=variable_name");
    assert_eq!(list(&exact)["total"], 1);
    let paged = list(&format!("group_id={group}&offset=1&limit=1"));
    assert_eq!(
        (paged["total"].clone(), paged["size"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(paged["variables"][0]["variable_name"], "Path");

    let deleted = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let gone = format!("The environment variable does not exist, id: {id}");
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3011", Some(&gone));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3011", Some(&gone));
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"variable_value": "x"})),
        )
        .assert_error(404, "APIG.3011", Some(&gone));
    assert_eq!(list(&format!("group_id={group}"))["total"], 2);

    // Deleting the environment deletes its variables.
    let offline = server.call(
        "DELETE",
        &admin.apig(&format!("/envs/{dev}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(offline.status, 204, "{}", offline.text);
    let left = db_texts(&server, "SELECT env_id FROM env_variables");
    assert_eq!(left, [RELEASE]);
}

#[test]
fn every_bad_input_is_refused_with_its_code() {
    let server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);
    let good = variable(&group, RELEASE, "address", "10.0.0.1");
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    for (field, bad) in [
        ("variable_name", json!("ab")),
        ("variable_name", json!("1abc")),
        ("variable_name", json!("a.bc")),
        ("variable_name", json!("a".repeat(33))),
        ("variable_name", json!(5)),
        ("variable_value", json!("")),
        ("variable_value", json!("a b")),
        ("variable_value", json!("a#b")),
        ("variable_value", json!("v".repeat(256))),
        ("variable_value", json!(["x"])),
        ("group_id", json!("a b")),
        ("group_id", json!(7)),
        ("env_id", json!("g".repeat(65))),
    ] {
        create(&server, &admin, &with(field, bad.clone())).assert_error(
            400,
            "APIG.2011",
            Some(&invalid(field)),
        );
    }
    for field in ["group_id", "env_id", "variable_name", "variable_value"] {
        create(&server, &admin, &without(field)).assert_error(
            400,
            "APIG.2011",
            Some(&invalid(field)),
        );
    }
    server
        .call_raw(
            "POST",
            &admin.apig("/env-variables"),
            Some(&admin.token),
            "not json",
        )
        .assert_error(400, "APIG.2000", None);
    let missing_group = "0123456789abcdef0123456789abcdef";
    create(&server, &admin, &with("group_id", json!(missing_group))).assert_error(
        404,
        "APIG.3001",
        Some(&format!("API group {missing_group} does not exist")),
    );
    create(&server, &admin, &with("env_id", json!("nope"))).assert_error(
        404,
        "APIG.3003",
        Some("Environment nope does not exist"),
    );

    assert_eq!(create(&server, &admin, &good).status, 201);
    create(&server, &admin, &good).assert_error(
        400,
        "APIG.3303",
        Some("The environment variable already exists."),
    );
    // Names are case-sensitive: `Address` is another variable.
    assert_eq!(
        create(&server, &admin, &with("variable_name", json!("Address"))).status,
        201
    );
    for i in 2..50 {
        let r = create(
            &server,
            &admin,
            &with("variable_name", json!(format!("var{i}"))),
        );
        assert_eq!(r.status, 201, "{i}: {}", r.text);
    }
    create(
        &server,
        &admin,
        &with("variable_name", json!("one_too_many")),
    )
    .assert_error(
        403,
        "APIG.3106",
        Some("The number of variables exceeds the maximum allowed limit."),
    );
    let count = db_texts(&server, "SELECT CAST(COUNT(*) AS TEXT) FROM env_variables");
    assert_eq!(count, ["50"]);

    // The list needs its group.
    let list = |query: &str| {
        server.call(
            "GET",
            &admin.apig(&format!("/env-variables{query}")),
            Some(&admin.token),
            None,
        )
    };
    list("").assert_error(400, "APIG.2012", Some(&invalid("group_id")));
    list("?group_id=a%20b").assert_error(400, "APIG.2012", Some(&invalid("group_id")));
    list(&format!("?group_id={missing_group}")).assert_error(404, "APIG.3001", None);
    list(&format!("?group_id={group}&limit=x")).assert_error(400, "APIG.2012", None);
    let path = admin.apig("/env-variables/bad%20id");
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(400, "APIG.2012", Some(&invalid("env_variable_id")));
    let first = list(&format!("?group_id={group}")).json["variables"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = admin.apig(&format!("/env-variables/{first}"));
    for body in [
        json!({}),
        json!({"variable_value": ""}),
        json!({"variable_value": 1}),
    ] {
        server
            .call("PUT", &path, Some(&admin.token), Some(&body))
            .assert_error(400, "APIG.2011", Some(&invalid("variable_value")));
    }
}

#[test]
fn variables_are_scoped_by_project_and_role() {
    let server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);
    let created = create(
        &server,
        &admin,
        &variable(&group, RELEASE, "address", "10.0.0.1"),
    );
    let id = created.json["id"].as_str().unwrap().to_owned();

    let other = server.user_session(&admin, "dave", "proj_d", "admin");
    let theirs = other.apig(&format!("/env-variables/{id}"));
    for method in ["GET", "DELETE"] {
        server
            .call(method, &theirs, Some(&other.token), None)
            .assert_error(404, "APIG.3011", None);
    }
    server
        .call(
            "PUT",
            &theirs,
            Some(&other.token),
            Some(&json!({"variable_value": "evil"})),
        )
        .assert_error(404, "APIG.3011", None);
    // Their instance does not hold this group.
    create(&server, &other, &variable(&group, RELEASE, "address", "x")).assert_error(
        404,
        "APIG.3001",
        None,
    );
    server
        .call(
            "GET",
            &other.apig(&format!("/env-variables?group_id={group}")),
            Some(&other.token),
            None,
        )
        .assert_error(404, "APIG.3001", None);
    // Our instance through their token.
    server
        .call(
            "GET",
            &admin.apig(&format!("/env-variables/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);

    let reader = server.user_session(&admin, "rex", "admin", "reader");
    let ours = admin.apig(&format!("/env-variables/{id}"));
    assert_eq!(
        server.call("GET", &ours, Some(&reader.token), None).status,
        200
    );
    server
        .call(
            "PUT",
            &ours,
            Some(&reader.token),
            Some(&json!({"variable_value": "x"})),
        )
        .assert_error(403, "APIG.1005", None);
    server
        .call("DELETE", &ours, Some(&reader.token), None)
        .assert_error(403, "APIG.1005", None);
    create(&server, &reader, &variable(&group, RELEASE, "other", "x")).assert_error(
        403,
        "APIG.1005",
        None,
    );
    server
        .call("GET", &ours, None, None)
        .assert_error(401, "APIG.1000", None);
    server
        .call("GET", &ours, Some("not-a-token"), None)
        .assert_error(401, "APIG.1002", None);
    let stored = db_texts(&server, "SELECT value FROM env_variables");
    assert_eq!(stored, ["10.0.0.1"], "nothing changed by the refused calls");
}

#[test]
fn an_api_s_backend_may_name_variables() {
    let server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);
    let api = |url_domain: &str, req_uri: &str| {
        json!({
            "group_id": group, "name": format!("api_{}", url_domain.len() + req_uri.len()),
            "type": 1, "req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/v",
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": url_domain, "req_protocol": "HTTP",
                            "req_method": "GET", "req_uri": req_uri, "timeout": 5000}
        })
    };
    let created = server.call(
        "POST",
        &admin.apig("/apis"),
        Some(&admin.token),
        Some(&api("#address#:8080", "/#Path#/items")),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["backend_api"]["url_domain"], "#address#:8080");
    assert_eq!(created.json["backend_api"]["req_uri"], "/#Path#/items");
    for (url_domain, req_uri, field) in [
        ("#address", "/x", "backend_api.url_domain"),
        ("#ab#", "/x", "backend_api.url_domain"),
        ("#address#:port", "/x", "backend_api.url_domain"),
        ("example.com", "/#Path", "backend_api.req_uri"),
        ("example.com", "#Path#/x", "backend_api.req_uri"),
    ] {
        server
            .call(
                "POST",
                &admin.apig("/apis"),
                Some(&admin.token),
                Some(&api(url_domain, req_uri)),
            )
            .assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
}
