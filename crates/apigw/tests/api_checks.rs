//! The checks a console makes before writing (`POST /apis/check`, `POST /api-groups/check`),
//! an API's runtime definition (`GET /apis/runtime/{api_id}`), the API counts
//! (`GET /resources/outline/apis`) and the instance's API tags (`GET /tags`), black-box
//! against the real server and store.

mod common;
use common::*;
use serde_json::json;

#[test]
fn checks_answer_as_the_create_call_would_and_runtime_shows_what_is_published() {
    let server = Server::start();
    let s = server.admin();
    let m = Mgmt {
        server: &server,
        s: &s,
    };
    let groups = m.call("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let mut body = echo_api_body(&group, "shop_echo", 9);
    body["req_params"] = json!([{"name": "q", "location": "QUERY", "type": "STRING"}]);
    let api = m.call("POST", "/apis", Some(&body));
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();

    let check = |b: serde_json::Value| m.call("POST", "/apis/check", Some(&b));
    // Names: taken in the group, and anywhere in the instance without a group.
    check(json!({"type": "name", "name": "shop_echo", "group_id": group})).assert_error(
        400,
        "APIG.3202",
        Some("The API name already exists."),
    );
    check(json!({"type": "name", "name": "shop_echo"})).assert_error(400, "APIG.3202", None);
    assert_eq!(
        check(json!({"type": "name", "name": "shop_echo", "api_id": api_id})).status,
        204
    );
    assert_eq!(
        check(json!({"type": "name", "name": "shop_other", "group_id": group})).status,
        204
    );
    // Paths: the same method and path with other parameter names clash.
    check(
        json!({"type": "path", "req_method": "GET", "req_uri": "/echo/{other}",
                 "match_mode": "NORMAL", "group_id": group}),
    )
    .assert_error(400, "APIG.3301", Some("The API already exists."));
    assert_eq!(
        check(
            json!({"type": "path", "req_method": "POST", "req_uri": "/echo/{name}",
                     "group_id": group})
        )
        .status,
        204
    );
    assert_eq!(
        check(
            json!({"type": "path", "req_method": "GET", "req_uri": "/echo/{name}",
                     "group_id": group, "api_id": api_id})
        )
        .status,
        204
    );
    let zeros = "0".repeat(32);
    for (b, status, code, field) in [
        (json!({"type": "size"}), 400, "APIG.2011", "type"),
        (json!({"name": "x_y_z"}), 400, "APIG.2011", "type"),
        (
            json!({"type": "name", "name": "a"}),
            400,
            "APIG.2011",
            "name",
        ),
        (
            json!({"type": "path", "req_method": "FETCH", "req_uri": "/a", "group_id": group}),
            400,
            "APIG.2011",
            "req_method",
        ),
        (
            json!({"type": "path", "req_method": "GET", "req_uri": "a", "group_id": group}),
            400,
            "APIG.2011",
            "req_uri",
        ),
    ] {
        check(b).assert_error(status, code, Some(&invalid(field)));
    }
    check(json!({"type": "path", "req_method": "GET", "req_uri": "/a"})).assert_error(
        400,
        "APIG.2001",
        Some("The request parameters must be specified,parameterName:group_id"),
    );
    check(json!({"type": "path", "req_method": "GET", "req_uri": "/a", "group_id": zeros}))
        .assert_error(404, "APIG.3001", None);

    let group_check = |name: &str| {
        m.call(
            "POST",
            "/api-groups/check",
            Some(&json!({"group_name": name})),
        )
    };
    group_check("DEFAULT").assert_error(
        400,
        "APIG.3201",
        Some("The API group name already exists."),
    );
    assert_eq!(group_check("fresh_group").status, 204);
    group_check("a").assert_error(400, "APIG.2011", Some(&invalid("group_name")));

    // Counts, and the runtime definition once published (the current one may differ).
    let outline = |server: &Server| {
        let r = server.call(
            "GET",
            &s.apig("/resources/outline/apis"),
            Some(&s.token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.json["instance_num"].clone(),
            r.json["nums_on_release"].clone(),
            r.json["nums_off_release"].clone(),
        )
    };
    assert_eq!(outline(&server), (json!(1), json!(0), json!(1)));
    let runtime = |env: &str| m.call("GET", &format!("/apis/runtime/{api_id}{env}"), None);
    runtime("").assert_error(
        404,
        "APIG.3015",
        Some(&format!(
            "The API publication record does not exist,api_id:{api_id},env_id:DEFAULT_ENVIRONMENT_RELEASE_ID"
        )),
    );
    let publish_id = m.publish(&api_id);
    body["remark"] = json!("changed after publishing");
    assert_eq!(
        m.call("PUT", &format!("/apis/{api_id}"), Some(&body))
            .status,
        200
    );
    assert_eq!(outline(&server), (json!(1), json!(1), json!(0)));
    let r = runtime("?env_id=DEFAULT_ENVIRONMENT_RELEASE_ID");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.json["id"], &r.json["name"]),
        (&json!(api_id), &json!("shop_echo"))
    );
    assert_eq!(
        (&r.json["run_env_name"], &r.json["publish_id"]),
        (&json!("RELEASE"), &json!(publish_id))
    );
    assert_eq!(
        r.json["remark"], "",
        "the published definition, not the current one"
    );
    assert_eq!(r.json["req_params"][0]["name"], "q");
    assert_eq!(r.json["sl_domain"], format!("{group}.apic.default"));
    assert!(r.json.get("backend_api").is_none(), "{}", r.text);
    runtime(&format!("?env_id={zeros}")).assert_error(404, "APIG.3015", None);
    m.call("GET", &format!("/apis/runtime/{zeros}"), None)
        .assert_error(404, "APIG.3002", None);

    // The tags the instance's APIs carry, each once, in order and paged.
    for (name, uri, tags) in [
        ("tagged_one", "/t1", json!(["beta", "alpha"])),
        ("tagged_two", "/t2", json!(["alpha", "gamma"])),
    ] {
        let mut b = echo_api_body(&group, name, 9);
        b["req_uri"] = json!(uri);
        b["backend_params"] = json!([]);
        b["backend_api"]["req_uri"] = json!("/b");
        b["tags"] = tags;
        let r = m.call("POST", "/apis", Some(&b));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let tags = m.call("GET", "/tags", None);
    assert_eq!(
        (&tags.json["total"], &tags.json["size"], &tags.json["tags"]),
        (&json!(3), &json!(3), &json!(["alpha", "beta", "gamma"]))
    );
    let page = m.call("GET", "/tags?offset=1&limit=1", None);
    assert_eq!(
        (&page.json["total"], &page.json["size"], &page.json["tags"]),
        (&json!(3), &json!(1), &json!(["beta"]))
    );
    m.call("GET", "/tags?limit=x", None)
        .assert_error(400, "APIG.2012", Some(&invalid("limit")));

    // Another project sees none of it.
    let other = server.user_session(&s, "checker", "checks_other", "member");
    let foreign = server.call(
        "POST",
        &other.apig("/apis/check"),
        Some(&other.token),
        Some(&json!({"type": "path", "req_method": "GET", "req_uri": "/a", "group_id": group})),
    );
    foreign.assert_error(404, "APIG.3001", None);
    let foreign = server.call(
        "GET",
        &other.apig(&format!("/apis/runtime/{api_id}")),
        Some(&other.token),
        None,
    );
    foreign.assert_error(404, "APIG.3002", None);
    let foreign = server.call("GET", &other.apig("/tags"), Some(&other.token), None);
    assert_eq!(foreign.json["tags"], json!([]), "{}", foreign.text);
}

/// The `routes` snapshot updates the data plane has made, read from `/metrics`.
fn routes_updates(metrics: &str) -> f64 {
    let text = reqwest::blocking::get(format!("{metrics}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("apigw_snapshot_updates_total{") && l.contains("kind=\"routes\""))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[test]
fn checks_and_exports_leave_the_data_plane_alone() {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    );
    let metrics = format!("http://127.0.0.1:{}", server.port_of("metrics listening"));
    let s = server.admin();
    let m = Mgmt {
        server: &server,
        s: &s,
    };
    let groups = m.call("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let before = routes_updates(&metrics);
    for (path, body) in [
        ("/apis/check", json!({"type": "name", "name": "free_name"})),
        ("/api-groups/check", json!({"group_name": "free_group"})),
        (
            "/openapi/export",
            json!({"group_id": group, "define": "dev"}),
        ),
    ] {
        let r = m.call("POST", path, Some(&body));
        assert!(r.status == 200 || r.status == 204, "{path}: {}", r.text);
    }
    assert_eq!(routes_updates(&metrics), before, "reads rebuild nothing");
    let api = m.call("POST", "/apis", Some(&echo_api_body(&group, "written", 9)));
    assert_eq!(api.status, 201, "{}", api.text);
    assert_eq!(
        routes_updates(&metrics),
        before + 1.0,
        "a write rebuilds the routes"
    );
}
