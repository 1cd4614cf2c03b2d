//! API groups (spec §3.1), black-box: create, get, update, delete and list through the real
//! binary; the `DEFAULT` group every instance has (also after the 0002 migration on an older
//! database); duplicates, 404s, the 403 for a group with APIs; scoping by project and role; and
//! what reaches the database.

mod common;
use common::*;
use serde_json::{json, Value};

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Whether `t` is an RFC 3339 UTC time with nanoseconds (`true`) or whole seconds (`false`).
fn assert_time(t: &Value, nanos: bool) {
    let t = t
        .as_str()
        .unwrap_or_else(|| panic!("time expected, got {t}"));
    let len = if nanos { 30 } else { 20 };
    assert_eq!(t.len(), len, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
}

fn create_group(server: &Server, s: &Session, name: &str) -> Value {
    let r = server.call(
        "POST",
        &s.apig("/api-groups"),
        Some(&s.token),
        Some(&json!({"name": name, "remark": "group remark"})),
    );
    assert_eq!(r.status, 201, "create group {name}: {}", r.text);
    r.json
}

fn api_body(group_id: &str, name: &str, uri: &str) -> Value {
    json!({
        "group_id": group_id, "name": name, "type": 1, "req_protocol": "HTTPS", "req_method": "GET",
        "req_uri": uri, "auth_type": "NONE", "backend_type": "HTTP",
        "backend_api": {"url_domain": "backend.test:8080", "req_protocol": "HTTP", "req_method": "GET",
                        "req_uri": "/b", "timeout": 5000}
    })
}

fn group_not_found(id: &str) -> String {
    format!("API group {id} does not exist")
}

#[test]
fn every_instance_has_a_default_group_that_cannot_be_deleted_or_renamed() {
    let server = Server::start();
    let admin = server.admin();
    let l = server.call("GET", &admin.apig("/api-groups"), Some(&admin.token), None);
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["size"], 1);
    let default = &l.json["groups"][0];
    assert_eq!(default["name"], "DEFAULT");
    assert_eq!(default["is_default"], 1);
    assert_eq!(default["status"], 1);
    assert_time(&default["register_time"], false);
    let id = default["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id));
    let path = admin.apig(&format!("/api-groups/{id}"));

    let g = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(g.status, 200);
    assert_eq!(g.json["id"], id.as_str());
    assert_eq!(g.json["is_default"], 1);

    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(
            403,
            "APIG.1101",
            Some("No permissions to perform operations on this API group."),
        );
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "RENAMED"})),
        )
        .assert_error(403, "APIG.1101", None);
    // Keeping the name, the remark may change.
    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "DEFAULT", "remark": "mine"})),
    );
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json["remark"], "mine");
    assert_eq!(u.json["is_default"], 1);
    // A user group named DEFAULT is a duplicate.
    server
        .call(
            "POST",
            &admin.apig("/api-groups"),
            Some(&admin.token),
            Some(&json!({"name": "DEFAULT"})),
        )
        .assert_error(400, "APIG.3201", Some("The API group name already exists."));

    // A new instance and a new project's instance each get their own DEFAULT group.
    let created = server.call(
        "POST",
        &format!("/v2/{}/apigw/instances", admin.project_id),
        Some(&admin.token),
        Some(&json!({"instance_name": "second"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let second = Session {
        instance_id: created.json["id"].as_str().unwrap().to_owned(),
        ..admin.clone()
    };
    let l2 = server.call("GET", &second.apig("/api-groups"), Some(&admin.token), None);
    assert_eq!(l2.json["total"], 1);
    assert_eq!(l2.json["groups"][0]["name"], "DEFAULT");
    assert_ne!(l2.json["groups"][0]["id"], id.as_str());
    let other = server.user_session(&admin, "alice", "proj_a", "member");
    let l3 = server.call("GET", &other.apig("/api-groups"), Some(&other.token), None);
    assert_eq!(l3.json["groups"][0]["is_default"], 1);

    // Stored: one default group per instance.
    let rows = db_texts(
        &server,
        "SELECT instance_id || ':' || name FROM api_groups WHERE is_default = 1 ORDER BY instance_id",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.ends_with(":DEFAULT")));
}

#[test]
fn create_read_update_delete_a_group() {
    let server = Server::start();
    let admin = server.admin();
    let c = create_group(&server, &admin, "api_group_001");
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id));
    assert_eq!(c["name"], "api_group_001");
    assert_eq!(c["remark"], "group remark");
    assert_eq!(c["status"], 1);
    assert_eq!(c["is_default"], 2);
    assert_eq!(c["on_sell_status"], 2);
    assert_eq!(c["version"], "V1");
    assert_eq!(c["sl_domain"], format!("{id}.apic.default").as_str());
    assert_eq!(c["sl_domains"], json!([format!("{id}.apic.default")]));
    assert_eq!(c["url_domains"], json!([]));
    assert_time(&c["register_time"], true);
    assert_time(&c["update_time"], true);

    let path = admin.apig(&format!("/api-groups/{id}"));
    let g = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(g.status, 200);
    assert_eq!(g.json["name"], "api_group_001");
    assert_time(&g.json["register_time"], false);
    assert_eq!(
        &g.json["register_time"].as_str().unwrap()[..19],
        &c["register_time"].as_str().unwrap()[..19]
    );

    // Update: name mandatory, remark kept when absent.
    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "renamed.group(v2)"})),
    );
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json["name"], "renamed.group(v2)");
    assert_eq!(u.json["remark"], "group remark");
    assert_time(&u.json["update_time"], true);
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"remark": "x"})),
        )
        .assert_error(400, "APIG.2011", Some(&invalid("name")));
    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "renamed.group(v2)", "remark": ""})),
    );
    assert_eq!(u.json["remark"], "");
    create_group(&server, &admin, "taken");
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "taken"})),
        )
        .assert_error(400, "APIG.3201", Some("The API group name already exists."));
    let stored = db_texts(
        &server,
        &format!("SELECT name || '|' || remark FROM api_groups WHERE id = '{id}'"),
    );
    assert_eq!(stored, ["renamed.group(v2)|"]);

    // A group holding an API cannot be deleted.
    let api = server.call(
        "POST",
        &admin.apig("/apis"),
        Some(&admin.token),
        Some(&api_body(&id, "in_group", "/x")),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(
            403,
            "APIG.3415",
            Some("The API group cannot be deleted because it contains APIs."),
        );
    let api_id = api.json["id"].as_str().unwrap();
    let d = server.call(
        "DELETE",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204);

    let d = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(d.status, 204, "{}", d.text);
    assert!(d.text.is_empty());
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3001", Some(&group_not_found(&id)));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3001", Some(&group_not_found(&id)));
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "again"})),
        )
        .assert_error(404, "APIG.3001", Some(&group_not_found(&id)));
    assert!(db_texts(
        &server,
        &format!("SELECT id FROM api_groups WHERE id = '{id}'")
    )
    .is_empty());
    // The name is free again.
    create_group(&server, &admin, "renamed.group(v2)");
}

#[test]
fn group_fields_are_validated() {
    let server = Server::start();
    let admin = server.admin();
    let post = |body: Value| {
        server.call(
            "POST",
            &admin.apig("/api-groups"),
            Some(&admin.token),
            Some(&body),
        )
    };
    for name in [
        json!("ab"),
        json!("_abc"),
        json!("a b c"),
        json!("a".repeat(256)),
        json!(5),
        Value::Null,
    ] {
        post(json!({"name": name})).assert_error(400, "APIG.2011", Some(&invalid("name")));
    }
    post(json!({})).assert_error(400, "APIG.2011", Some(&invalid("name")));
    post(json!({"name": "good_name", "remark": "r".repeat(1001)})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("remark")),
    );
    post(json!({"name": "good_name", "remark": 1})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("remark")),
    );
    let ok = post(json!({"name": "1group:a/b.c-d_e", "remark": "r".repeat(1000)}));
    assert_eq!(ok.status, 201, "{}", ok.text);
    let r = server.call_raw(
        "POST",
        &admin.apig("/api-groups"),
        Some(&admin.token),
        "{not json",
    );
    r.assert_error(400, "APIG.2000", None);
    server
        .call(
            "GET",
            &admin.apig("/api-groups/a.b"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("group_id")));
    server
        .call(
            "GET",
            &admin.apig("/api-groups?limit=x"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("limit")));
}

#[test]
fn list_groups_with_filters_and_paging() {
    let server = Server::start();
    let admin = server.admin();
    let mut ids = Vec::new();
    for name in ["shop_api", "shop_api_v2", "billing", "shopping"] {
        ids.push(
            create_group(&server, &admin, name)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = |q: &str| {
        let r = server.call(
            "GET",
            &admin.apig(&format!("/api-groups{q}")),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    };
    let names = |v: &Value| -> Vec<String> {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // DEFAULT first, then newest first.
    let all = list("");
    assert_eq!(all["total"], 5);
    assert_eq!(
        names(&all),
        ["DEFAULT", "shopping", "billing", "shop_api_v2", "shop_api"]
    );
    assert_time(&all["groups"][1]["update_time"], false);
    let fuzzy = list("?name=shop");
    assert_eq!(names(&fuzzy), ["shopping", "shop_api_v2", "shop_api"]);
    let exact = list("?name=shop_api&precise_search=name");
    assert_eq!(names(&exact), ["shop_api"]);
    let by_id = list(&format!("?id={}", ids[2]));
    assert_eq!(names(&by_id), ["billing"]);
    assert_eq!(list("?id=00000000000000000000000000000000")["total"], 0);
    let page = list("?offset=1&limit=2");
    assert_eq!(page["total"], 5);
    assert_eq!(page["size"], 2);
    assert_eq!(names(&page), ["shopping", "billing"]);
    assert_eq!(list("?offset=10")["size"], 0);
}

#[test]
fn groups_are_scoped_by_project_and_role() {
    let server = Server::start();
    let admin = server.admin();
    let g = create_group(&server, &admin, "admins_group");
    let id = g["id"].as_str().unwrap();
    let other = server.user_session(&admin, "bob", "proj_b", "admin");
    // Through the other project's own instance: indistinguishable from a missing group.
    server
        .call(
            "GET",
            &other.apig(&format!("/api-groups/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(404, "APIG.3001", Some(&group_not_found(id)));
    server
        .call(
            "DELETE",
            &other.apig(&format!("/api-groups/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(404, "APIG.3001", None);
    let l = server.call("GET", &other.apig("/api-groups"), Some(&other.token), None);
    assert_eq!(l.json["total"], 1);
    // Through the admin project's path: 403.
    server
        .call(
            "GET",
            &admin.apig(&format!("/api-groups/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
    server
        .call("GET", &admin.apig("/api-groups"), Some(&other.token), None)
        .assert_error(403, "APIG.1005", None);
    // A reader reads but does not write.
    let reader = server.user_session(&admin, "rita", "admin", "reader");
    let l = server.call("GET", &admin.apig("/api-groups"), Some(&reader.token), None);
    assert_eq!(l.status, 200);
    server
        .call(
            "POST",
            &admin.apig("/api-groups"),
            Some(&reader.token),
            Some(&json!({"name": "nope_group"})),
        )
        .assert_error(403, "APIG.1005", None);
    server
        .call(
            "DELETE",
            &admin.apig(&format!("/api-groups/{id}")),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
    // No token, unknown instance.
    server
        .call("GET", &admin.apig("/api-groups"), None, None)
        .assert_error(401, "APIG.1000", None);
    let unknown = Session {
        instance_id: "0123456789abcdef0123456789abcdef".into(),
        ..admin.clone()
    };
    server
        .call(
            "GET",
            &unknown.apig("/api-groups"),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3030", None);
}

#[test]
fn migration_gives_existing_instances_a_default_group_and_release() {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: this tests a SQLite schema migration");
        return;
    }
    // A database from before 0002: drop what 0002 created and forget it was applied.
    let mut server = Server::start();
    let admin = server.admin();
    let instance_id = admin.instance_id.clone();
    let dir = server.keep_dir();
    assert_eq!(server.terminate(), Some(0));
    let path = server.data_dir.join("apigw.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(false);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        for sql in [
            "DROP TABLE publications",
            "DROP TABLE apis",
            "DROP TABLE environments",
            "DROP TABLE api_groups",
            "DELETE FROM _sqlx_migrations WHERE version = 2",
            // 0021 added a column to the table 0002 makes again.
            "DELETE FROM _sqlx_migrations WHERE version = 21",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    });

    // Declared after `dir`, so this server stops before the directory is removed.
    let server = Server::start_in(dir.path(), Opts::default()).expect("restart");
    let admin = server.admin();
    assert_eq!(admin.instance_id, instance_id);
    let l = server.call("GET", &admin.apig("/api-groups"), Some(&admin.token), None);
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["groups"][0]["name"], "DEFAULT");
    assert_eq!(l.json["groups"][0]["is_default"], 1);
    assert!(is_hex32(l.json["groups"][0]["id"].as_str().unwrap()));
    let e = server.call("GET", &admin.apig("/envs"), Some(&admin.token), None);
    assert_eq!(e.json["total"], 1);
    assert_eq!(e.json["envs"][0]["id"], "DEFAULT_ENVIRONMENT_RELEASE_ID");
    // And it works as before: an API in the backfilled group.
    let gid = l.json["groups"][0]["id"].as_str().unwrap();
    let api = server.call(
        "POST",
        &admin.apig("/apis"),
        Some(&admin.token),
        Some(&api_body(gid, "after_migration", "/m")),
    );
    assert_eq!(api.status, 201, "{}", api.text);
}

/// `GET {gateway}/ping` with `host` as `Host`.
fn ping(client: &reqwest::blocking::Client, gateway: &str, host: &str) -> Reply {
    Reply::from(
        client
            .get(format!("{gateway}/ping"))
            .header("Host", host)
            .send()
            .unwrap(),
    )
}

/// `PUT /api-groups/{id}/sl-domain-access-settings`: a closed debugging subdomain routes
/// nowhere on the gateway (not even to the DEFAULT group), while a name bound to the group
/// still reaches it; the setting shows in the group and survives a restart.
#[test]
fn a_closed_debugging_subdomain_routes_nowhere() {
    let (mut server, gateway) = server_with_plain_gateway();
    let s = server.admin();
    let group = create_group(&server, &s, "closable");
    let group_id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["sl_domain_access_enabled"], true);
    let m = Mgmt {
        server: &server,
        s: &s,
    };
    let api = m.call(
        "POST",
        "/apis",
        Some(
            &json!({"group_id": group_id, "name": "closable_ping", "type": 1,
            "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/ping",
            "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "pong"}}),
        ),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    m.publish(api.json["id"].as_str().unwrap());
    let bound = m.call(
        "POST",
        &format!("/api-groups/{group_id}/domains"),
        Some(&json!({"url_domain": "api.closable.example"})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let client = reqwest::blocking::Client::new();
    let call = |host: &str| ping(&client, &gateway, host);
    let subdomain = format!("{group_id}.apic.default");
    let set = |open: Value| {
        m.call(
            "PUT",
            &format!("/api-groups/{group_id}/sl-domain-access-settings"),
            Some(&json!({ "sl_domain_access_enabled": open })),
        )
    };
    assert_eq!(call(&subdomain).text, "pong");

    let closed = set(json!(false));
    assert_eq!((closed.status, closed.text.as_str()), (204, ""));
    call(&subdomain).assert_error(404, "APIG.0101", None);
    assert_eq!(call("api.closable.example").text, "pong");
    let shown = m.call("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(shown.json["sl_domain_access_enabled"], false);
    let listed = m.call("GET", "/apis?name=closable_ping", None);
    assert_eq!(
        listed.json["apis"][0]["api_group_info"]["sl_domain_access_enabled"],
        false
    );
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT sl_domain_access FROM api_groups WHERE id = '{group_id}'")
        ),
        0
    );

    // Refusals.
    let path = format!("/api-groups/{group_id}/sl-domain-access-settings");
    m.call("PUT", &path, Some(&json!({}))).assert_error(
        400,
        "APIG.2001",
        Some("The request parameters must be specified,parameterName:sl_domain_access_enabled"),
    );
    m.call(
        "PUT",
        &path,
        Some(&json!({"sl_domain_access_enabled": "no"})),
    )
    .assert_error(400, "APIG.2011", Some(&invalid("sl_domain_access_enabled")));
    let zeros = "0".repeat(32);
    m.call(
        "PUT",
        &format!("/api-groups/{zeros}/sl-domain-access-settings"),
        Some(&json!({"sl_domain_access_enabled": true})),
    )
    .assert_error(404, "APIG.3001", None);
    let other = server.user_session(&s, "sl_other", "sl_other_project", "member");
    server
        .call(
            "PUT",
            &other.apig(&format!("/api-groups/{group_id}/sl-domain-access-settings")),
            Some(&other.token),
            Some(&json!({"sl_domain_access_enabled": true})),
        )
        .assert_error(404, "APIG.3001", None);
    call(&subdomain).assert_error(404, "APIG.0101", None);

    // Kept across a restart, and opened again.
    let dir = server.keep_dir();
    server.terminate();
    let server = Server::start_in(
        dir.path(),
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0"),
    )
    .unwrap();
    let gateway = format!(
        "http://127.0.0.1:{}",
        server.port_of("gateway listening (plain HTTP)")
    );
    let s = server.admin();
    let m = Mgmt {
        server: &server,
        s: &s,
    };
    let call = |host: &str| ping(&client, &gateway, host);
    call(&subdomain).assert_error(404, "APIG.0101", None);
    let opened = m.call(
        "PUT",
        &format!("/api-groups/{group_id}/sl-domain-access-settings"),
        Some(&json!({"sl_domain_access_enabled": true})),
    );
    assert_eq!(opened.status, 204, "{}", opened.text);
    assert_eq!(call(&subdomain).text, "pong");
}
