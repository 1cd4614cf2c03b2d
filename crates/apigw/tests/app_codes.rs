//! The AppCode family, spec §2 with DESIGN's decisions (200 on GET one, `APIG.3082` for an
//! unknown code, `APIG.3350` for a duplicate value, 5 per app), under the APIG prefix and the
//! ROMA Connect prefix over the same data (§6.1).

mod common;
use common::*;
use serde_json::{json, Value};

/// The base64-like example value of the OTC doc (spec §2.1).
const DOC_CODE: &str = "GjOD3g80AABuuFeEJpVQADBlAjBh3UzC7W+gr4VJBB5BtJ4fdVOQoSvoji3gFxUDb5pWBz9wUcw9+8/bFZ1B/4pq29wCMQC0pQWX6zTndljDEl99As1pw+WntAU9xcq+ffagoH6zDpKUvdxV6Ezj8LcCcPZN6BU=";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";
const CODE_MISSING: &str = "The AppCode does not exist.";

fn is_hex(v: &Value, len: usize) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

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

/// `.../apps/{app}/app-codes` + `rest` under `apigw` or `apic`.
fn codes_path(s: &Session, family: &str, app: &str, rest: &str) -> String {
    let p = format!("/apps/{app}/app-codes{rest}");
    if family == "apic" {
        s.roma(&p)
    } else {
        s.apig(&p)
    }
}

fn post_code(server: &Server, s: &Session, app: &str, value: &str) -> Reply {
    server.call(
        "POST",
        &codes_path(s, "apigw", app, ""),
        Some(&s.token),
        Some(&json!({"app_code": value})),
    )
}

fn list_codes(server: &Server, s: &Session, family: &str, app: &str) -> Reply {
    let r = server.call("GET", &codes_path(s, family, app, ""), Some(&s.token), None);
    assert_eq!(r.status, 200, "list codes: {}", r.text);
    let items = r.json["app_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("app_codes array: {}", r.text));
    assert_eq!(r.json["size"], items.len(), "{}", r.text);
    r
}

fn values(r: &Reply) -> Vec<String> {
    r.json["app_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["app_code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_with_a_value_and_read_back() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "code_app");
    let r = post_code(&server, &admin, &app, DOC_CODE);
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.json;
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["app_code", "app_id", "create_time", "id"],
        "{}",
        r.text
    );
    assert!(is_hex(&c["id"], 32), "{}", r.text);
    assert_eq!(c["app_id"], app.as_str());
    assert_eq!(c["app_code"], DOC_CODE);
    assert!(is_nanos_time(&c["create_time"]), "{}", r.text);
    let id = c["id"].as_str().unwrap();

    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(l.json["total"], 1);
    let item = &l.json["app_codes"][0];
    assert_eq!(item["id"], id);
    assert_eq!(item["app_id"], app.as_str());
    assert_eq!(item["app_code"], DOC_CODE);
    assert!(is_seconds_time(&item["create_time"]), "{}", l.text);
    assert_eq!(item["create_time"], to_seconds(&c["create_time"]).as_str());

    let g = server.call(
        "GET",
        &codes_path(&admin, "apigw", &app, &format!("/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json, *item);
}

#[test]
fn invalid_values_are_2011() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "code_app");
    let bad_values = [
        json!("a".repeat(63)),
        json!("a".repeat(181)),
        json!(format!("_{}", "a".repeat(63))),
        json!(format!("-{}", "a".repeat(63))),
        json!(format!("={}", "a".repeat(63))),
        json!(format!("{}.{}", "a".repeat(30), "a".repeat(33))),
        json!(format!("{} {}", "a".repeat(30), "a".repeat(33))),
        json!(format!("{}~{}", "a".repeat(30), "a".repeat(33))),
        json!(""),
        json!(12345),
        json!(["x"]),
    ];
    for v in bad_values {
        let r = server.call(
            "POST",
            &codes_path(&admin, "apigw", &app, ""),
            Some(&admin.token),
            Some(&json!({"app_code": v})),
        );
        r.assert_error(400, "APIG.2011", Some(&invalid("app_code")));
    }
    for body in [
        json!({}),
        json!({"code": DOC_CODE}),
        json!({"app_code": null}),
    ] {
        let r = server.call(
            "POST",
            &codes_path(&admin, "apigw", &app, ""),
            Some(&admin.token),
            Some(&body),
        );
        r.assert_error(400, "APIG.2011", Some(&invalid("app_code")));
    }
    let r = server.call_raw(
        "POST",
        &codes_path(&admin, "apigw", &app, ""),
        Some(&admin.token),
        "{\"app_code\":",
    );
    r.assert_error(400, "APIG.2000", None);
    assert_eq!(
        list_codes(&server, &admin, "apigw", &app).json["total"],
        0,
        "nothing stored"
    );

    // Boundaries and every allowed character.
    for v in [
        "a".repeat(64),
        "Z".repeat(180),
        format!("/{}", "b".repeat(63)),
        format!("+{}", "c".repeat(63)),
        format!("9{}+_!@#$%-/=", "d".repeat(53)),
    ] {
        let r = post_code(&server, &admin, &app, &v);
        assert_eq!(r.status, 201, "{v}: {}", r.text);
        assert_eq!(r.json["app_code"], v.as_str());
    }
    assert_eq!(list_codes(&server, &admin, "apigw", &app).json["total"], 5);
}

#[test]
fn generate_a_random_code() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "gen_app");
    let path = codes_path(&admin, "apigw", &app, "");
    let r = server.call("PUT", &path, Some(&admin.token), None);
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        is_hex(&r.json["app_code"], 64),
        "64 lowercase hex: {}",
        r.text
    );
    assert!(is_hex(&r.json["id"], 32));
    assert_eq!(r.json["app_id"], app.as_str());
    assert!(is_nanos_time(&r.json["create_time"]), "{}", r.text);
    // A body is ignored, and every draw differs.
    let r2 = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"app_code": DOC_CODE})),
    );
    assert_eq!(r2.status, 201, "{}", r2.text);
    assert!(is_hex(&r2.json["app_code"], 64), "{}", r2.text);
    assert_ne!(r.json["app_code"], r2.json["app_code"]);
    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(
        values(&l),
        [
            r2.json["app_code"].as_str().unwrap(),
            r.json["app_code"].as_str().unwrap()
        ]
    );
}

#[test]
fn list_newest_first_and_paging() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "list_app");
    let mut made = Vec::new();
    for ch in ['a', 'b', 'c', 'd'] {
        let v = ch.to_string().repeat(64);
        assert_eq!(post_code(&server, &admin, &app, &v).status, 201);
        made.push(v);
    }
    made.reverse();
    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(l.json["total"], 4);
    assert_eq!(l.json["size"], 4);
    assert_eq!(values(&l), made, "newest first");
    for c in l.json["app_codes"].as_array().unwrap() {
        assert!(is_seconds_time(&c["create_time"]), "{c}");
        assert_eq!(c["app_id"], app.as_str());
    }
    let page = server.call(
        "GET",
        &codes_path(&admin, "apigw", &app, "?offset=1&limit=2"),
        Some(&admin.token),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["total"], 4);
    assert_eq!(page.json["size"], 2);
    assert_eq!(values(&page), made[1..3]);
    let bad = server.call(
        "GET",
        &codes_path(&admin, "apigw", &app, "?offset=x"),
        Some(&admin.token),
        None,
    );
    bad.assert_error(400, "APIG.2012", Some(&invalid("offset")));

    // Codes of another app are not listed.
    let other = new_app(&server, &admin, "other_app");
    assert_eq!(
        list_codes(&server, &admin, "apigw", &other).json["total"],
        0
    );
}

#[test]
fn delete_then_get_is_3082() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "del_app");
    let keep = post_code(&server, &admin, &app, &"k".repeat(64)).json;
    let gone = post_code(&server, &admin, &app, DOC_CODE).json;
    let gone_id = gone["id"].as_str().unwrap();
    let path = codes_path(&admin, "apigw", &app, &format!("/{gone_id}"));

    let g = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(g.status, 200, "{}", g.text);
    let d = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(d.status, 204, "{}", d.text);
    assert!(d.text.is_empty());
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["app_codes"][0]["id"], keep["id"]);

    // Unknown code ids, and a code of another app addressed through this app.
    let random = codes_path(&admin, "apigw", &app, &format!("/{RANDOM_ID}"));
    server
        .call("GET", &random, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    server
        .call("DELETE", &random, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    let other = new_app(&server, &admin, "other_app");
    let cross = codes_path(
        &admin,
        "apigw",
        &other,
        &format!("/{}", keep["id"].as_str().unwrap()),
    );
    server
        .call("GET", &cross, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    server
        .call("DELETE", &cross, Some(&admin.token), None)
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    assert_eq!(
        list_codes(&server, &admin, "apigw", &app).json["total"],
        1,
        "the cross delete did nothing"
    );

    // The deleted value is free again.
    assert_eq!(post_code(&server, &admin, &other, DOC_CODE).status, 201);
}

#[test]
fn unknown_app_is_3004_for_all_five_operations() {
    let server = Server::start();
    let admin = server.admin();
    let real = new_app(&server, &admin, "real_app");
    let code = post_code(&server, &admin, &real, DOC_CODE).json;
    let code_id = code["id"].as_str().unwrap();
    for family in ["apigw", "apic"] {
        let calls: [(&str, String, Option<Value>); 5] = [
            (
                "POST",
                codes_path(&admin, family, RANDOM_ID, ""),
                Some(json!({"app_code": "x".repeat(64)})),
            ),
            ("PUT", codes_path(&admin, family, RANDOM_ID, ""), None),
            ("GET", codes_path(&admin, family, RANDOM_ID, ""), None),
            (
                "GET",
                codes_path(&admin, family, RANDOM_ID, &format!("/{code_id}")),
                None,
            ),
            (
                "DELETE",
                codes_path(&admin, family, RANDOM_ID, &format!("/{code_id}")),
                None,
            ),
        ];
        for (method, path, body) in &calls {
            let r = server.call(method, path, Some(&admin.token), body.as_ref());
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
            r.assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
        }
    }
    // Malformed app ids are 2012.
    for bad in ["a.b", &"a".repeat(65)] {
        let r = server.call(
            "GET",
            &codes_path(&admin, "apigw", bad, ""),
            Some(&admin.token),
            None,
        );
        r.assert_error(400, "APIG.2012", Some(&invalid("app_id")));
        let r = server.call(
            "PUT",
            &codes_path(&admin, "apigw", bad, ""),
            Some(&admin.token),
            None,
        );
        r.assert_error(400, "APIG.2012", Some(&invalid("app_id")));
    }
    let l = list_codes(&server, &admin, "apigw", &real);
    assert_eq!(l.json["total"], 1, "{}", l.text);
}

#[test]
fn at_most_five_codes_per_app() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "full_app");
    for i in 0..5 {
        let r = server.call(
            "PUT",
            &codes_path(&admin, "apigw", &app, ""),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 201, "code {i}: {}", r.text);
    }
    let msg = "The number of AppCodes exceeds the maximum allowed limit.";
    post_code(&server, &admin, &app, DOC_CODE).assert_error(403, "APIG.3131", Some(msg));
    server
        .call(
            "PUT",
            &codes_path(&admin, "apigw", &app, ""),
            Some(&admin.token),
            None,
        )
        .assert_error(403, "APIG.3131", Some(msg));
    server
        .call(
            "PUT",
            &codes_path(&admin, "apic", &app, ""),
            Some(&admin.token),
            None,
        )
        .assert_error(403, "APIG.3131", Some(msg));
    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(l.json["total"], 5);
    assert!(!values(&l).contains(&DOC_CODE.to_owned()));
    // Deleting one makes room for one.
    let first = l.json["app_codes"][0]["id"].as_str().unwrap();
    assert_eq!(
        server
            .call(
                "DELETE",
                &codes_path(&admin, "apigw", &app, &format!("/{first}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(post_code(&server, &admin, &app, DOC_CODE).status, 201);
    post_code(&server, &admin, &app, &"z".repeat(64)).assert_error(403, "APIG.3131", Some(msg));
    // The limit is per app.
    let other = new_app(&server, &admin, "other_app");
    assert_eq!(
        post_code(&server, &admin, &other, &"z".repeat(64)).status,
        201
    );
}

#[test]
fn values_are_unique_per_instance() {
    let server = Server::start();
    let admin = server.admin();
    let a = new_app(&server, &admin, "app_a");
    let b = new_app(&server, &admin, "app_b");
    assert_eq!(post_code(&server, &admin, &a, DOC_CODE).status, 201);
    let msg = "The AppCode already exists.";
    post_code(&server, &admin, &b, DOC_CODE).assert_error(400, "APIG.3350", Some(msg));
    post_code(&server, &admin, &a, DOC_CODE).assert_error(400, "APIG.3350", Some(msg));
    let r = server.call(
        "POST",
        &codes_path(&admin, "apic", &b, ""),
        Some(&admin.token),
        Some(&json!({"app_code": DOC_CODE})),
    );
    r.assert_error(400, "APIG.3350", Some(msg));
    assert_eq!(list_codes(&server, &admin, "apigw", &a).json["total"], 1);
    assert_eq!(list_codes(&server, &admin, "apigw", &b).json["total"], 0);

    // Another instance of the same project may use the same value.
    let inst = server.call(
        "POST",
        &format!("/v2/{}/apigw/instances", admin.project_id),
        Some(&admin.token),
        Some(&json!({"instance_name": "second_gw"})),
    );
    assert_eq!(inst.status, 201, "{}", inst.text);
    let second = Session {
        instance_id: inst.json["id"].as_str().unwrap().to_owned(),
        ..admin.clone()
    };
    let c = new_app(&server, &second, "app_c");
    let r = post_code(&server, &second, &c, DOC_CODE);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        values(&list_codes(&server, &second, "apigw", &c)),
        [DOC_CODE]
    );

    // So may another project's instance.
    let bob = server.user_session(&admin, "bob", "proj_b", "member");
    let d = new_app(&server, &bob, "app_d");
    assert_eq!(post_code(&server, &bob, &d, DOC_CODE).status, 201);
}

#[test]
fn deleting_the_app_removes_its_codes() {
    let server = Server::start();
    let admin = server.admin();
    let a = new_app(&server, &admin, "short_app");
    let code = post_code(&server, &admin, &a, DOC_CODE).json;
    let code_id = code["id"].as_str().unwrap();
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/apps/{a}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    server
        .call(
            "GET",
            &codes_path(&admin, "apigw", &a, ""),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3004", Some(&app_missing(&a)));
    server
        .call(
            "GET",
            &codes_path(&admin, "apigw", &a, &format!("/{code_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3004", Some(&app_missing(&a)));
    let b = new_app(&server, &admin, "next_app");
    let r = post_code(&server, &admin, &b, DOC_CODE);
    assert_eq!(r.status, 201, "the value is free again: {}", r.text);
    // A new app with the old name starts without codes.
    let again = new_app(&server, &admin, "short_app");
    assert_eq!(
        list_codes(&server, &admin, "apigw", &again).json["total"],
        0
    );
}

#[test]
fn roma_prefix_serves_the_same_data() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "roma_app");

    // Made via apigw, seen via apic.
    let via_apigw = post_code(&server, &admin, &app, DOC_CODE).json;
    let l = list_codes(&server, &admin, "apic", &app);
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["app_codes"][0]["id"], via_apigw["id"]);
    assert_eq!(l.json["app_codes"][0]["app_code"], DOC_CODE);

    // Made via apic (both ways), seen via apigw.
    let value = "r".repeat(70);
    let posted = server.call(
        "POST",
        &codes_path(&admin, "apic", &app, ""),
        Some(&admin.token),
        Some(&json!({"app_code": value})),
    );
    assert_eq!(posted.status, 201, "{}", posted.text);
    assert_eq!(posted.json["app_code"], value.as_str());
    assert!(is_nanos_time(&posted.json["create_time"]));
    let generated = server.call(
        "PUT",
        &codes_path(&admin, "apic", &app, ""),
        Some(&admin.token),
        None,
    );
    assert_eq!(generated.status, 201, "{}", generated.text);
    assert!(is_hex(&generated.json["app_code"], 64));
    let l = list_codes(&server, &admin, "apigw", &app);
    assert_eq!(l.json["total"], 3);
    assert_eq!(
        values(&l),
        [
            generated.json["app_code"].as_str().unwrap(),
            value.as_str(),
            DOC_CODE
        ],
        "newest first"
    );

    // GET one and DELETE through apic on a code made through apigw, and vice versa.
    let apigw_id = via_apigw["id"].as_str().unwrap();
    let g = server.call(
        "GET",
        &codes_path(&admin, "apic", &app, &format!("/{apigw_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["app_code"], DOC_CODE);
    assert!(is_seconds_time(&g.json["create_time"]));
    let d = server.call(
        "DELETE",
        &codes_path(&admin, "apic", &app, &format!("/{apigw_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204, "{}", d.text);
    server
        .call(
            "GET",
            &codes_path(&admin, "apigw", &app, &format!("/{apigw_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));
    server
        .call(
            "GET",
            &codes_path(&admin, "apic", &app, &format!("/{apigw_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3082", Some(CODE_MISSING));

    let apic_id = posted.json["id"].as_str().unwrap();
    let d = server.call(
        "DELETE",
        &codes_path(&admin, "apigw", &app, &format!("/{apic_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204, "{}", d.text);
    let l = list_codes(&server, &admin, "apic", &app);
    assert_eq!(values(&l), [generated.json["app_code"].as_str().unwrap()]);
}

#[test]
fn readers_may_list_but_not_change_codes() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mo", "proj_c", "member");
    let reader = server.user_session(&admin, "rea", "proj_c", "reader");
    let app = new_app(&server, &member, "shared_app");
    let code = post_code(&server, &member, &app, DOC_CODE).json;
    let code_id = code["id"].as_str().unwrap();

    let l = list_codes(&server, &reader, "apigw", &app);
    assert_eq!(l.json["total"], 1);
    let g = server.call(
        "GET",
        &codes_path(&reader, "apigw", &app, &format!("/{code_id}")),
        Some(&reader.token),
        None,
    );
    assert_eq!(g.status, 200, "{}", g.text);
    for (method, path, body) in [
        (
            "POST",
            codes_path(&reader, "apigw", &app, ""),
            Some(json!({"app_code": "q".repeat(64)})),
        ),
        ("PUT", codes_path(&reader, "apigw", &app, ""), None),
        (
            "DELETE",
            codes_path(&reader, "apigw", &app, &format!("/{code_id}")),
            None,
        ),
        ("PUT", codes_path(&reader, "apic", &app, ""), None),
    ] {
        let r = server.call(method, &path, Some(&reader.token), body.as_ref());
        r.assert_error(
            403,
            "APIG.1005",
            Some("No permissions to request this method"),
        );
    }
    assert_eq!(list_codes(&server, &member, "apigw", &app).json["total"], 1);
}

#[test]
fn limits_and_uniqueness_hold_under_concurrency() {
    let server = Server::start();
    let admin = server.admin();
    let app = new_app(&server, &admin, "race_app");
    let path = codes_path(&admin, "apigw", &app, "");
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let (server, admin, path) = (&server, &admin, &path);
                sc.spawn(move || server.call("PUT", path, Some(&admin.token), None).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(list_codes(&server, &admin, "apigw", &app).json["total"], 5);

    // One value offered to six apps at once: exactly one gets it.
    let apps: Vec<String> = (0..6)
        .map(|i| new_app(&server, &admin, &format!("racer_{i}")))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = apps
            .iter()
            .map(|a| {
                let (server, admin) = (&server, &admin);
                sc.spawn(move || post_code(server, admin, a, DOC_CODE).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        5,
        "{statuses:?}"
    );
    let holders = apps
        .iter()
        .filter(|a| list_codes(&server, &admin, "apigw", a).json["total"] == 1)
        .count();
    assert_eq!(holders, 1);
}
