//! App ACLs, spec §1.12, black-box: configure (201), query (200; `{}` when none), delete (204),
//! validation of every value form (IPv4, IPv6, ranges, CIDR), the value limit, missing apps,
//! scope and roles, and what reaches the database (the ACL goes with its app).

mod common;
use common::*;
use serde_json::{json, Value};

const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn new_app(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/apps"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    assert_eq!(r.status, 201, "create app: {}", r.text);
    r.json["id"].as_str().unwrap().to_owned()
}

fn acl_path(s: &Session, app: &str) -> String {
    s.apig(&format!("/apps/{app}/app-acl"))
}

fn put_acl(server: &Server, s: &Session, app: &str, body: Value) -> Reply {
    server.call("PUT", &acl_path(s, app), Some(&s.token), Some(&body))
}

fn get_acl(server: &Server, s: &Session, app: &str) -> Reply {
    server.call("GET", &acl_path(s, app), Some(&s.token), None)
}

fn db_text(server: &Server, sql: &str) -> String {
    common::db_texts(server, sql).remove(0)
}

#[test]
fn configure_query_replace_and_delete() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "acl_app");

    // No ACL yet: 200 with an empty object.
    let r = get_acl(&server, &admin, &app);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({}));

    // The three documented forms plus IPv6, kept as given and in order.
    let values = json!([
        "192.168.0.1",
        "192.168.0.5-192.168.0.10",
        "192.168.0.100/28",
        "2001:db8::/32"
    ]);
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "PERMIT", "app_acl_values": values}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let expected = json!({"app_id": app, "app_acl_type": "PERMIT", "app_acl_values": values});
    assert_eq!(r.json, expected);
    assert!(r.header("x-request-id").is_some());
    let r = get_acl(&server, &admin, &app);
    assert_eq!(r.status, 200);
    assert_eq!(r.json, expected);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_acls"), 1);
    assert_eq!(
        db_text(
            &server,
            &format!("SELECT acl_type FROM app_acls WHERE app_id = '{app}'")
        ),
        "PERMIT"
    );

    // PUT again replaces type and values.
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "DENY", "app_acl_values": ["10.0.0.0/8"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let expected = json!({"app_id": app, "app_acl_type": "DENY", "app_acl_values": ["10.0.0.0/8"]});
    assert_eq!(r.json, expected);
    assert_eq!(get_acl(&server, &admin, &app).json, expected);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_acls"), 1);

    // DELETE: 204 and gone; deleting again is still 204.
    let r = server.call("DELETE", &acl_path(&admin, &app), Some(&admin.token), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(get_acl(&server, &admin, &app).json, json!({}));
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_acls"), 0);
    let r = server.call("DELETE", &acl_path(&admin, &app), Some(&admin.token), None);
    assert_eq!(r.status, 204, "{}", r.text);
}

#[test]
fn every_value_form_is_validated() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "acl_rules");
    let good = json!(["1.2.3.4"]);
    assert_eq!(
        put_acl(
            &server,
            &admin,
            &app,
            json!({"app_acl_type": "PERMIT", "app_acl_values": good})
        )
        .status,
        201
    );

    // Valid: IPv6 single, range and CIDR; /0 and /32, /128; a range of one address.
    let ok = json!([
        "::1",
        "2001:db8::1-2001:db8::ff",
        "fd00::/8",
        "0.0.0.0/0",
        "10.1.1.1/32",
        "2001:db8::5/128",
        "10.9.9.9-10.9.9.9",
        "255.255.255.255"
    ]);
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "DENY", "app_acl_values": ok}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["app_acl_values"], ok);

    let bad_values = invalid("app_acl_values");
    for bad in [
        "",
        "1.2.3",
        "1.2.3.256",
        "01.2.3.4",
        " 1.2.3.4",
        "1.2.3.4/33",
        "1.2.3.4/",
        "1.2.3.4/x",
        "::1/129",
        "10.0.0.9-10.0.0.1",
        "2001:db8::ff-2001:db8::1",
        "1.2.3.4-2001:db8::1",
        "1.2.3.4-",
        "1.2.3.4-1.2.3.5-1.2.3.6",
        "1.2.3.0/24-1.2.3.9",
        "gggg::1",
        "localhost",
    ] {
        let r = put_acl(
            &server,
            &admin,
            &app,
            json!({"app_acl_type": "PERMIT", "app_acl_values": [bad]}),
        );
        r.assert_error(400, "APIG.2011", Some(&bad_values));
    }
    // List-level rules: empty, repeated, not strings, not a list, absent, over 300.
    for values in [
        json!([]),
        json!(["1.2.3.4", "1.2.3.4"]),
        json!(["1.2.3.4", 5]),
        json!("1.2.3.4"),
        json!(null),
    ] {
        let r = put_acl(
            &server,
            &admin,
            &app,
            json!({"app_acl_type": "PERMIT", "app_acl_values": values}),
        );
        r.assert_error(400, "APIG.2011", Some(&bad_values));
    }
    let r = put_acl(&server, &admin, &app, json!({"app_acl_type": "PERMIT"}));
    r.assert_error(400, "APIG.2011", Some(&bad_values));
    let many: Vec<String> = (0..301)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "PERMIT", "app_acl_values": many}),
    );
    r.assert_error(400, "APIG.2011", Some(&bad_values));

    // The type.
    let bad_type = invalid("app_acl_type");
    for t in [
        json!("permit"),
        json!("ALLOW"),
        json!(""),
        json!(1),
        json!(null),
    ] {
        let r = put_acl(
            &server,
            &admin,
            &app,
            json!({"app_acl_type": t, "app_acl_values": ["1.2.3.4"]}),
        );
        r.assert_error(400, "APIG.2011", Some(&bad_type));
    }
    let r = server.call_raw("PUT", &acl_path(&admin, &app), Some(&admin.token), "{");
    r.assert_error(400, "APIG.2000", None);

    // Nothing refused was stored: the last good ACL stands.
    let r = get_acl(&server, &admin, &app);
    assert_eq!(r.json["app_acl_type"], "DENY");
    assert_eq!(r.json["app_acl_values"], ok);

    // Exactly 300 values are accepted.
    let max: Vec<String> = (0..300)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "PERMIT", "app_acl_values": max}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["app_acl_values"].as_array().unwrap().len(), 300);
}

#[test]
fn missing_app_and_bad_ids() {
    let server = Server::start();
    let admin = server.admin();
    let body = json!({"app_acl_type": "PERMIT", "app_acl_values": ["1.2.3.4"]});
    let missing = app_missing(RANDOM_ID);
    put_acl(&server, &admin, RANDOM_ID, body.clone()).assert_error(
        404,
        "APIG.3004",
        Some(&missing),
    );
    get_acl(&server, &admin, RANDOM_ID).assert_error(404, "APIG.3004", Some(&missing));
    server
        .call(
            "DELETE",
            &acl_path(&admin, RANDOM_ID),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3004", Some(&missing));

    let bad = invalid("app_id");
    for id in ["a.b", "x".repeat(65).as_str()] {
        put_acl(&server, &admin, id, body.clone()).assert_error(400, "APIG.2012", Some(&bad));
        get_acl(&server, &admin, id).assert_error(400, "APIG.2012", Some(&bad));
    }

    let path = format!(
        "/v2/{}/apigw/instances/{RANDOM_ID}/apps/{RANDOM_ID}/app-acl",
        admin.project_id
    );
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(
            404,
            "APIG.3030",
            Some(&format!("The instance does not exist;id:{RANDOM_ID}")),
        );
    server
        .call("GET", &acl_path(&admin, RANDOM_ID), None, None)
        .assert_error(401, "APIG.1000", None);
    server
        .call(
            "GET",
            &acl_path(&admin, RANDOM_ID),
            Some("not-a-token"),
            None,
        )
        .assert_error(401, "APIG.1002", None);
    // POST is not an operation here.
    server
        .call(
            "POST",
            &acl_path(&admin, RANDOM_ID),
            Some(&admin.token),
            Some(&body),
        )
        .assert_error(404, "APIG.0101", None);
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mia", "proj_acl", "member");
    let reader = server.user_session(&admin, "rex", "proj_acl", "reader");
    let other = server.user_session(&admin, "oto", "proj_other", "member");
    let app = new_app(&server, &member, "member_app");
    let body = json!({"app_acl_type": "DENY", "app_acl_values": ["172.16.0.0/12"]});
    assert_eq!(put_acl(&server, &member, &app, body.clone()).status, 201);

    // A reader may look, not change.
    assert_eq!(get_acl(&server, &reader, &app).json["app_acl_type"], "DENY");
    let forbidden = "No permissions to request this method";
    put_acl(&server, &reader, &app, body.clone()).assert_error(403, "APIG.1005", Some(forbidden));
    server
        .call(
            "DELETE",
            &acl_path(&reader, &app),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", Some(forbidden));

    // Another project's token on this project's path is 403; on its own instance the app is missing.
    server
        .call("GET", &acl_path(&member, &app), Some(&other.token), None)
        .assert_error(403, "APIG.1005", Some(forbidden));
    get_acl(&server, &other, &app).assert_error(404, "APIG.3004", Some(&app_missing(&app)));
    put_acl(&server, &other, &app, body).assert_error(404, "APIG.3004", Some(&app_missing(&app)));
    server
        .call("DELETE", &acl_path(&other, &app), Some(&other.token), None)
        .assert_error(404, "APIG.3004", Some(&app_missing(&app)));
    assert_eq!(
        get_acl(&server, &member, &app).json["app_acl_values"],
        json!(["172.16.0.0/12"])
    );
}

#[test]
fn the_acl_goes_with_its_app() {
    let server = Server::start();
    let admin = server.admin();
    let keep = new_app(&server, &admin, "keep_app");
    let gone = new_app(&server, &admin, "gone_app");
    for app in [&keep, &gone] {
        let r = put_acl(
            &server,
            &admin,
            app,
            json!({"app_acl_type": "PERMIT", "app_acl_values": ["1.1.1.1"]}),
        );
        assert_eq!(r.status, 201);
    }
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_acls"), 2);
    let r = server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{gone}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_acls"), 1);
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT COUNT(*) FROM app_acls WHERE app_id = '{keep}'")
        ),
        1
    );
    get_acl(&server, &admin, &gone).assert_error(404, "APIG.3004", Some(&app_missing(&gone)));
    assert_eq!(
        get_acl(&server, &admin, &keep).json["app_acl_type"],
        "PERMIT"
    );
}

#[test]
fn acl_survives_a_restart() {
    let mut server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "durable_acl");
    let values = json!(["10.0.0.1", "2001:db8::/64"]);
    let r = put_acl(
        &server,
        &admin,
        &app,
        json!({"app_acl_type": "PERMIT", "app_acl_values": values}),
    );
    assert_eq!(r.status, 201);
    let dir = server.keep_dir();
    assert_eq!(server.terminate(), Some(0));
    let server = Server::start_in(dir.path(), Opts::default()).expect("restart");
    let admin = server.admin();
    let r = get_acl(&server, &admin, &app);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"app_id": app, "app_acl_type": "PERMIT", "app_acl_values": values})
    );
}
