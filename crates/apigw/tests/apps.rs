//! The APIG v2 App family, spec §1 with DESIGN's decisions: create, update, delete, get, list,
//! reset AppSecret, verify and the app quantities, with every validation rule of §1.2.

mod common;
use common::*;
use serde_json::{json, Value};

const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn create(server: &Server, s: &Session, body: Value) -> Reply {
    server.call("POST", &s.apig("/apps"), Some(&s.token), Some(&body))
}

fn create_ok(server: &Server, s: &Session, name: &str) -> Value {
    let r = create(server, s, json!({"name": name}));
    assert_eq!(r.status, 201, "create {name}: {}", r.text);
    r.json
}

fn get(server: &Server, s: &Session, id: &str) -> Reply {
    server.call("GET", &s.apig(&format!("/apps/{id}")), Some(&s.token), None)
}

fn list(server: &Server, s: &Session, query: &str) -> Reply {
    let r = server.call(
        "GET",
        &s.apig(&format!("/apps{query}")),
        Some(&s.token),
        None,
    );
    if r.status == 200 {
        let apps = r.json["apps"]
            .as_array()
            .unwrap_or_else(|| panic!("apps array: {}", r.text));
        assert_eq!(
            r.json["size"],
            apps.len(),
            "size = items in page: {}",
            r.text
        );
        assert!(r.json["total"].is_u64(), "{}", r.text);
    }
    r
}

fn names(r: &Reply) -> Vec<String> {
    r.json["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

fn total(server: &Server, s: &Session) -> u64 {
    list(server, s, "").json["total"].as_u64().unwrap()
}

const APP_FIELDS: [&str; 10] = [
    "id",
    "name",
    "remark",
    "creator",
    "update_time",
    "app_key",
    "app_secret",
    "register_time",
    "status",
    "app_type",
];

// ---- create ---------------------------------------------------------------------------------

#[test]
fn create_returns_every_app_info_field() {
    let server = Server::start();
    let admin = server.admin();
    let r = create(
        &server,
        &admin,
        json!({"name": "app_demo", "remark": "Demo app"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let a = &r.json;
    for f in APP_FIELDS {
        assert!(a.get(f).is_some(), "field {f} in {}", r.text);
    }
    assert!(is_hex32(&a["id"]), "id: {}", a["id"]);
    assert!(is_hex32(&a["app_key"]), "app_key: {}", a["app_key"]);
    assert!(
        is_hex32(&a["app_secret"]),
        "plaintext 32-hex app_secret to the owner: {}",
        a["app_secret"]
    );
    assert_ne!(a["app_key"], a["app_secret"]);
    assert_ne!(a["id"], a["app_key"]);
    assert_eq!(a["name"], "app_demo");
    assert_eq!(a["remark"], "Demo app");
    assert_eq!(a["creator"], "USER");
    assert_eq!(a["status"], 1);
    assert_eq!(a["app_type"], "apig");
    assert!(
        is_nanos_time(&a["register_time"]),
        "register_time {}",
        a["register_time"]
    );
    assert!(
        is_nanos_time(&a["update_time"]),
        "update_time {}",
        a["update_time"]
    );
    assert!(a["update_time"].as_str() >= a["register_time"].as_str());
    assert!(
        a.get("bind_num").is_none(),
        "bind_num only in lists: {}",
        r.text
    );

    // Read back: the same object, times in whole seconds.
    let id = a["id"].as_str().unwrap();
    let g = get(&server, &admin, id);
    assert_eq!(g.status, 200, "{}", g.text);
    for f in [
        "id",
        "name",
        "remark",
        "creator",
        "app_key",
        "app_secret",
        "status",
        "app_type",
    ] {
        assert_eq!(g.json[f], a[f], "{f}: {}", g.text);
    }
    assert!(is_seconds_time(&g.json["register_time"]), "{}", g.text);
    assert!(is_seconds_time(&g.json["update_time"]), "{}", g.text);
    assert_eq!(
        g.json["register_time"],
        to_seconds(&a["register_time"]).as_str()
    );
    assert_eq!(
        g.json["update_time"],
        to_seconds(&a["update_time"]).as_str()
    );

    // Two apps get different generated values.
    let b = create_ok(&server, &admin, "app_other");
    for f in ["id", "app_key", "app_secret"] {
        assert_ne!(a[f], b[f], "{f}");
    }
}

#[test]
fn create_without_remark_and_with_custom_key_and_secret() {
    let server = Server::start();
    let admin = server.admin();
    let plain = create_ok(&server, &admin, "no_remark");
    assert!(
        plain["remark"].is_null() || plain["remark"] == "",
        "{plain}"
    );

    let r = create(
        &server,
        &admin,
        json!({"name": "custom_creds", "app_key": "myKey_0001-x", "app_secret": "s3cret!@#$%_-"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["app_key"], "myKey_0001-x");
    assert_eq!(r.json["app_secret"], "s3cret!@#$%_-");
    let g = get(&server, &admin, r.json["id"].as_str().unwrap());
    assert_eq!(g.json["app_key"], "myKey_0001-x");
    assert_eq!(g.json["app_secret"], "s3cret!@#$%_-");

    // Fields Huawei's SDK may send but OTC ignores do no harm.
    let r = create(
        &server,
        &admin,
        json!({"name": "extra_fields", "related_domain_id": "d", "related_project_id": "p", "unknown": [1, 2]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], "extra_fields");

    // Empty strings mean "generate".
    let r = create(
        &server,
        &admin,
        json!({"name": "empty_creds", "app_key": "", "app_secret": ""}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        is_hex32(&r.json["app_key"]) && is_hex32(&r.json["app_secret"]),
        "{}",
        r.text
    );
}

#[test]
fn create_validation_rules() {
    let server = Server::start();
    let admin = server.admin();
    let cases: Vec<(Value, &str)> = vec![
        // name: 3-64, letter first, letters/digits/_
        (json!({"name": "ab"}), "name"),
        (json!({"name": "a".repeat(65)}), "name"),
        (json!({"name": "1app"}), "name"),
        (json!({"name": "_app"}), "name"),
        (json!({"name": "app-x"}), "name"),
        (json!({"name": "app x"}), "name"),
        (json!({"name": "app.x"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": ["app_list"]}), "name"),
        (json!({"remark": "no name"}), "name"),
        (json!({}), "name"),
        (json!({"name": null}), "name"),
        // remark: <= 255, no < >
        (
            json!({"name": "app_ok", "remark": "r".repeat(256)}),
            "remark",
        ),
        (json!({"name": "app_ok", "remark": "a<b"}), "remark"),
        (json!({"name": "app_ok", "remark": "a>b"}), "remark"),
        (json!({"name": "app_ok", "remark": 5}), "remark"),
        // app_key: 8-200, letter/digit first, letters/digits/-/_
        (json!({"name": "app_ok", "app_key": "abcdefg"}), "app_key"),
        (
            json!({"name": "app_ok", "app_key": "k".repeat(201)}),
            "app_key",
        ),
        (json!({"name": "app_ok", "app_key": "-abcdefgh"}), "app_key"),
        (json!({"name": "app_ok", "app_key": "_abcdefgh"}), "app_key"),
        (json!({"name": "app_ok", "app_key": "abcd.efgh"}), "app_key"),
        (json!({"name": "app_ok", "app_key": "abcd!efgh"}), "app_key"),
        (json!({"name": "app_ok", "app_key": 12345678}), "app_key"),
        // app_secret: 8-128, letter/digit first, letters/digits/_-!@#$%
        (
            json!({"name": "app_ok", "app_secret": "abc^defgh"}),
            "app_secret",
        ),
        (
            json!({"name": "app_ok", "app_secret": "abc defgh"}),
            "app_secret",
        ),
        (
            json!({"name": "app_ok", "app_secret": "short12"}),
            "app_secret",
        ),
        (
            json!({"name": "app_ok", "app_secret": "s".repeat(129)}),
            "app_secret",
        ),
        (
            json!({"name": "app_ok", "app_secret": "!abcdefgh"}),
            "app_secret",
        ),
    ];
    for (body, field) in cases {
        let r = create(&server, &admin, body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        r.assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    assert_eq!(total(&server, &admin), 0, "no invalid app was stored");

    // The boundaries are accepted.
    let ok: Vec<Value> = vec![
        json!({"name": "abc"}),
        json!({"name": format!("A{}", "b_9".repeat(21))}),
        json!({"name": "remark_max", "remark": "r".repeat(255)}),
        json!({"name": "remark_chars", "remark": "é".repeat(255)}),
        json!({"name": "应用_1"}),
        json!({"name": "remark_empty", "remark": ""}),
        json!({"name": "key_min", "app_key": "0bc-ef_h"}),
        json!({"name": "key_max", "app_key": "K".repeat(200)}),
        json!({"name": "secret_min", "app_secret": "9!@#$%_-"}),
        json!({"name": "secret_max", "app_secret": "S".repeat(128)}),
    ];
    let n = ok.len();
    for body in ok {
        let r = create(&server, &admin, body.clone());
        assert_eq!(r.status, 201, "{body}: {}", r.text);
        for f in ["name", "remark", "app_key", "app_secret"] {
            if let Some(v) = body.get(f) {
                assert_eq!(&r.json[f], v, "{f}");
            }
        }
    }
    assert_eq!(total(&server, &admin), n as u64);
}

#[test]
fn malformed_bodies_are_2000() {
    let server = Server::start();
    let admin = server.admin();
    let path = admin.apig("/apps");
    for raw in [
        "{\"name\":",
        "not json",
        "{\"name\": \"abc\",}",
        "[1]",
        "[{\"name\": \"app_arr\"}]",
        "\"app_str\"",
        "42",
    ] {
        let r = server.call_raw("POST", &path, Some(&admin.token), raw);
        r.assert_error(400, "APIG.2000", None);
    }
    // An empty body is an object without a name.
    let r = server.call_raw("POST", &path, Some(&admin.token), "");
    r.assert_error(400, "APIG.2011", Some(&invalid("name")));
    assert_eq!(total(&server, &admin), 0);
}

#[test]
fn duplicate_name_and_app_key() {
    let server = Server::start();
    let admin = server.admin();
    let first = create(
        &server,
        &admin,
        json!({"name": "dup_app", "app_key": "shared_key_1"}),
    );
    assert_eq!(first.status, 201, "{}", first.text);

    let r = create(&server, &admin, json!({"name": "dup_app"}));
    r.assert_error(400, "APIG.3203", Some("The app name already exists."));
    let r = create(
        &server,
        &admin,
        json!({"name": "other_app", "app_key": "shared_key_1"}),
    );
    r.assert_error(400, "APIG.3310", Some("The AppKey already exists."));

    let l = list(&server, &admin, "");
    assert_eq!(l.json["total"], 1, "{}", l.text);
    assert_eq!(l.json["apps"][0]["name"], "dup_app");
    assert_eq!(l.json["apps"][0]["app_key"], "shared_key_1");

    // Names are case-sensitive values; a different case is another name.
    let r = create(&server, &admin, json!({"name": "other_app"}));
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn app_limit_per_instance() {
    let server = Server::start_with(Opts::default().arg("--max-apps-per-instance").arg("3"));
    let admin = server.admin();
    let ids: Vec<String> = ["lim_a", "lim_b", "lim_c"]
        .iter()
        .map(|n| {
            create_ok(&server, &admin, n)["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let r = create(&server, &admin, json!({"name": "lim_d"}));
    r.assert_error(
        403,
        "APIG.3103",
        Some("The number of apps exceeds the maximum allowed limit."),
    );
    assert_eq!(total(&server, &admin), 3);
    // Deleting one frees a place.
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/apps/{}", ids[0])),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    let r = create(&server, &admin, json!({"name": "lim_d"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(total(&server, &admin), 3);
}

// ---- update ---------------------------------------------------------------------------------

#[test]
fn update_name_and_remark() {
    let server = Server::start();
    let admin = server.admin();
    let a = create(
        &server,
        &admin,
        json!({"name": "before", "remark": "old remark"}),
    )
    .json;
    let id = a["id"].as_str().unwrap();
    create_ok(&server, &admin, "taken_name");
    std::thread::sleep(std::time::Duration::from_millis(5));

    let path = admin.apig(&format!("/apps/{id}"));
    let r = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "after", "remark": "new remark"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for f in APP_FIELDS {
        assert!(r.json.get(f).is_some(), "field {f} in {}", r.text);
    }
    assert_eq!(r.json["id"], id);
    assert_eq!(r.json["name"], "after");
    assert_eq!(r.json["remark"], "new remark");
    assert_eq!(r.json["app_key"], a["app_key"]);
    assert_eq!(r.json["app_secret"], a["app_secret"]);
    assert_eq!(r.json["creator"], "USER");
    assert_eq!(r.json["status"], 1);
    assert!(is_nanos_time(&r.json["update_time"]), "{}", r.text);
    assert!(is_nanos_time(&r.json["register_time"]), "{}", r.text);
    assert!(
        r.json["update_time"].as_str() > a["update_time"].as_str(),
        "update_time moves: {}",
        r.text
    );
    assert_eq!(
        r.json["register_time"], a["register_time"],
        "register_time stays"
    );

    let g = get(&server, &admin, id);
    assert_eq!(g.json["name"], "after");
    assert_eq!(g.json["remark"], "new remark");
    assert_eq!(
        g.json["update_time"],
        to_seconds(&r.json["update_time"]).as_str()
    );
    // The old name is free again, the new one is taken.
    assert_eq!(
        create(&server, &admin, json!({"name": "before"})).status,
        201
    );

    // Keeping its own name is not a duplicate.
    let same = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "after"})),
    );
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(
        same.json["remark"], "new remark",
        "an absent remark is left unchanged"
    );

    // Another app's name is.
    let dup = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "taken_name"})),
    );
    dup.assert_error(400, "APIG.3203", Some("The app name already exists."));
    assert_eq!(get(&server, &admin, id).json["name"], "after");
}

#[test]
fn update_to_another_apps_key_is_3310() {
    let server = Server::start();
    let admin = server.admin();
    let a = create(
        &server,
        &admin,
        json!({"name": "key_owner", "app_key": "owned_key_1"}),
    )
    .json;
    let b = create_ok(&server, &admin, "key_thief");
    let b_id = b["id"].as_str().unwrap();
    let r = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{b_id}")),
        Some(&admin.token),
        Some(&json!({"name": "key_thief", "app_key": "owned_key_1"})),
    );
    r.assert_error(400, "APIG.3310", Some("The AppKey already exists."));
    assert_eq!(get(&server, &admin, b_id).json["app_key"], b["app_key"]);
    assert_eq!(
        get(&server, &admin, a["id"].as_str().unwrap()).json["app_key"],
        "owned_key_1"
    );
}

#[test]
fn limits_and_uniqueness_hold_under_concurrency() {
    let server = Server::start_with(Opts::default().arg("--max-apps-per-instance").arg("3"));
    let admin = server.admin();
    // Ten different names at once: exactly three fit.
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (server, admin) = (&server, &admin);
                sc.spawn(move || create(server, admin, json!({"name": format!("race_{i}")})).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(total(&server, &admin), 3);

    // The same name at once on a fresh server: exactly one wins.
    let server = Server::start();
    let admin = server.admin();
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (server, admin) = (&server, &admin);
                sc.spawn(move || create(server, admin, json!({"name": "same_name"})).status)
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
        7,
        "{statuses:?}"
    );
    assert_eq!(total(&server, &admin), 1);
}

#[test]
fn update_validation_and_missing_app() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "upd_app");
    let path = admin.apig(&format!("/apps/{}", a["id"].as_str().unwrap()));
    for (body, field) in [
        (json!({"name": "x"}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": "upd_app", "remark": "<script>"}), "remark"),
        (json!({"name": "upd_app", "app_key": "bad key!"}), "app_key"),
        (
            json!({"name": "upd_app", "app_secret": "bad^secret"}),
            "app_secret",
        ),
    ] {
        let r = server.call("PUT", &path, Some(&admin.token), Some(&body));
        r.assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    let r = server.call_raw("PUT", &path, Some(&admin.token), "{oops");
    r.assert_error(400, "APIG.2000", None);
    let g = get(&server, &admin, a["id"].as_str().unwrap());
    assert_eq!(g.json["name"], "upd_app");
    assert_eq!(g.json["app_key"], a["app_key"]);
    assert_eq!(g.json["app_secret"], a["app_secret"]);

    let r = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{RANDOM_ID}")),
        Some(&admin.token),
        Some(&json!({"name": "ghost_app"})),
    );
    r.assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
    assert_eq!(total(&server, &admin), 1);
}

#[test]
fn update_without_name_keeps_the_name() {
    // Spec §1.4 marks `name` mandatory, but otcextensions' update_app sends only the changed
    // fields (sdk-tests/NOTES.md R7), so an absent or null name keeps the current one.
    let server = Server::start();
    let admin = server.admin();
    let a = create(
        &server,
        &admin,
        json!({"name": "upd_app", "remark": "kept"}),
    )
    .json;
    let id = a["id"].as_str().unwrap();
    let path = admin.apig(&format!("/apps/{id}"));
    for (body, remark) in [
        (json!({"remark": "only the remark"}), "only the remark"),
        (json!({}), "only the remark"),
        (json!({"name": null, "remark": "x"}), "x"),
    ] {
        let r = server.call("PUT", &path, Some(&admin.token), Some(&body));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["name"], "upd_app");
        assert_eq!(r.json["remark"], remark);
        let g = get(&server, &admin, id);
        assert_eq!(g.json["name"], "upd_app", "{}", g.text);
        assert_eq!(g.json["remark"], remark, "{}", g.text);
    }
    // A name that is present must still obey the rule.
    let r = server.call("PUT", &path, Some(&admin.token), Some(&json!({"name": 7})));
    r.assert_error(400, "APIG.2011", Some(&invalid("name")));
}

// ---- delete and get -------------------------------------------------------------------------

#[test]
fn delete_then_get_is_404() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "to_delete");
    let b = create_ok(&server, &admin, "to_keep");
    let id = a["id"].as_str().unwrap();
    let path = admin.apig(&format!("/apps/{id}"));
    let r = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    get(&server, &admin, id).assert_error(404, "APIG.3004", Some(&app_missing(id)));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3004", Some(&app_missing(id)));
    let l = list(&server, &admin, "");
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["apps"][0]["id"], b["id"]);
    // The name is free again.
    assert_eq!(
        create(&server, &admin, json!({"name": "to_delete"})).status,
        201
    );
}

#[test]
fn get_unknown_app_is_3004() {
    let server = Server::start();
    let admin = server.admin();
    get(&server, &admin, RANDOM_ID).assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
    // Dashed ROMA-style ids are well-formed, just unknown.
    let dashed = "98df09fb-d459-4cbf-83a7-2b55ca6f3d5d";
    get(&server, &admin, dashed).assert_error(404, "APIG.3004", Some(&app_missing(dashed)));
}

#[test]
fn malformed_app_id_in_path_is_2012() {
    let server = Server::start();
    let admin = server.admin();
    let long = "a".repeat(65);
    for bad in [long.as_str(), "abc.def", "abc%20def", "abc@def"] {
        let calls: [(&str, String, Option<Value>); 5] = [
            ("GET", format!("/apps/{bad}"), None),
            (
                "PUT",
                format!("/apps/{bad}"),
                Some(json!({"name": "good_name"})),
            ),
            ("DELETE", format!("/apps/{bad}"), None),
            ("PUT", format!("/apps/secret/{bad}"), None),
            ("GET", format!("/apps/validation/{bad}"), None),
        ];
        for (method, rest, body) in &calls {
            let r = server.call(method, &admin.apig(rest), Some(&admin.token), body.as_ref());
            assert_eq!(r.status, 400, "{method} {rest}: {}", r.text);
            r.assert_error(400, "APIG.2012", Some(&invalid("app_id")));
        }
    }
    // 64 characters is still a well-formed id.
    let ok = "a".repeat(64);
    get(&server, &admin, &ok).assert_error(404, "APIG.3004", Some(&app_missing(&ok)));
}

// ---- list -----------------------------------------------------------------------------------

#[test]
fn list_newest_first_with_bind_num_and_filters() {
    let server = Server::start();
    let admin = server.admin();
    let one = create(
        &server,
        &admin,
        json!({"name": "alpha_one", "remark": "first"}),
    )
    .json;
    let two = create_ok(&server, &admin, "beta_two");
    let three = create_ok(&server, &admin, "alpha_three");

    let l = list(&server, &admin, "");
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["total"], 3);
    assert_eq!(l.json["size"], 3);
    assert_eq!(
        names(&l),
        ["alpha_three", "beta_two", "alpha_one"],
        "newest first"
    );
    let items = l.json["apps"].as_array().unwrap();
    for item in items {
        assert_eq!(item["bind_num"], 0, "{item}");
        for f in APP_FIELDS {
            assert!(item.get(f).is_some(), "field {f} in {item}");
        }
        assert!(is_seconds_time(&item["register_time"]), "{item}");
        assert!(is_seconds_time(&item["update_time"]), "{item}");
    }
    let first = items.iter().find(|a| a["id"] == one["id"]).unwrap();
    assert_eq!(
        first["app_secret"], one["app_secret"],
        "plaintext by default"
    );
    assert_eq!(first["app_key"], one["app_key"]);
    assert_eq!(first["remark"], "first");
    assert_eq!(
        first["register_time"],
        to_seconds(&one["register_time"]).as_str()
    );

    let check = |query: &str, want: &[&str]| {
        let r = list(&server, &admin, query);
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(names(&r), want, "{query}");
        assert_eq!(r.json["total"], want.len(), "{query}");
    };
    check(
        &format!("?id={}", two["id"].as_str().unwrap()),
        &["beta_two"],
    );
    check(&format!("?id={RANDOM_ID}"), &[]);
    check("?name=alpha", &["alpha_three", "alpha_one"]);
    check("?name=pha_t", &["alpha_three"]);
    check("?name=a", &["alpha_three", "beta_two", "alpha_one"]);
    check("?name=gamma", &[]);
    check("?name=alpha&precise_search=name", &[]);
    check("?name=alpha_one&precise_search=name", &["alpha_one"]);
    check("?name=alpha_on&precise_search=name", &[]);
    check("?status=1", &["alpha_three", "beta_two", "alpha_one"]);
    check("?status=2", &[]);
    check(
        &format!("?app_key={}", three["app_key"].as_str().unwrap()),
        &["alpha_three"],
    );
    check(
        &format!("?app_key={}", &three["app_key"].as_str().unwrap()[..10]),
        &[],
    );
    check("?creator=USER", &["alpha_three", "beta_two", "alpha_one"]);
    check("?creator=MARKET", &[]);
    check(
        "?name=alpha&creator=USER&status=1",
        &["alpha_three", "alpha_one"],
    );
    check("?name=%25", &[]);
    check("?name=alpha%25", &[]);
    check("?name=", &["alpha_three", "beta_two", "alpha_one"]);

    let r = list(&server, &admin, &format!("?name={}", "n".repeat(65)));
    r.assert_error(400, "APIG.2012", Some(&invalid("name")));

    let r = list(&server, &admin, "?creator=BAD");
    r.assert_error(400, "APIG.2012", Some(&invalid("creator")));
    let r = list(&server, &admin, "?status=abc");
    r.assert_error(400, "APIG.2012", Some(&invalid("status")));
}

#[test]
fn list_offset_and_limit_rules() {
    let server = Server::start();
    let admin = server.admin();
    let mut created = Vec::new();
    for i in 0..22 {
        created.push(
            create_ok(&server, &admin, &format!("page_app_{i:02}"))["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    created.reverse(); // newest first
    let page = |query: &str| {
        let r = list(&server, &admin, query);
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(r.json["total"], 22, "{query}");
        names(&r)
    };
    assert_eq!(page(""), created[..20], "default limit 20");
    assert_eq!(page("?limit=0"), created[..20], "limit 0 -> 20");
    assert_eq!(page("?limit=-5"), created[..20], "limit < 0 -> 20");
    assert_eq!(page("?limit=501"), created, "limit 501 -> 500");
    assert_eq!(page("?limit=500"), created);
    assert_eq!(page("?limit=3"), created[..3]);
    assert_eq!(page("?offset=1&limit=2"), created[1..3]);
    assert_eq!(page("?offset=20"), created[20..]);
    assert_eq!(page("?offset=22"), Vec::<String>::new());
    assert_eq!(page("?offset=100&limit=5"), Vec::<String>::new());
    assert_eq!(page("?offset=-1&limit=2"), created[..2], "offset < 0 -> 0");

    list(&server, &admin, "?offset=abc").assert_error(400, "APIG.2012", Some(&invalid("offset")));
    list(&server, &admin, "?limit=x").assert_error(400, "APIG.2012", Some(&invalid("limit")));
    list(&server, &admin, "?limit=1.5").assert_error(400, "APIG.2012", Some(&invalid("limit")));
}

#[test]
fn mask_secret_in_list_setting() {
    let server = Server::start_with(Opts::default().arg("--mask-secret-in-list"));
    let admin = server.admin();
    let a = create_ok(&server, &admin, "masked_app");
    let b = create(
        &server,
        &admin,
        json!({"name": "custom_masked", "app_secret": "416abcdefab8"}),
    )
    .json;
    let secret = a["app_secret"].as_str().unwrap();
    assert!(is_hex32(&a["app_secret"]), "create shows plaintext: {a}");

    let l = list(&server, &admin, "");
    let find = |id: &Value| {
        l.json["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == *id)
            .unwrap()
            .clone()
    };
    let want = format!(
        "{}************{}",
        &secret[..3],
        &secret[secret.len() - 3..]
    );
    assert_eq!(find(&a["id"])["app_secret"], want.as_str(), "{}", l.text);
    assert_eq!(
        find(&b["id"])["app_secret"],
        "416************ab8",
        "{}",
        l.text
    );
    assert_eq!(
        find(&a["id"])["app_key"],
        a["app_key"],
        "the key is not masked"
    );

    let g = get(&server, &admin, a["id"].as_str().unwrap());
    assert_eq!(g.json["app_secret"], secret, "GET shows plaintext");
    let u = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{}", a["id"].as_str().unwrap())),
        Some(&admin.token),
        Some(&json!({"name": "masked_app"})),
    );
    assert_eq!(u.json["app_secret"], secret, "update shows plaintext");

    // Without the setting lists show plaintext.
    let plain = Server::start();
    let admin = plain.admin();
    let a = create_ok(&plain, &admin, "plain_app");
    let l = list(&plain, &admin, "");
    assert_eq!(l.json["apps"][0]["app_secret"], a["app_secret"]);
}

// ---- reset secret ---------------------------------------------------------------------------

#[test]
fn reset_app_secret() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "resettable");
    let id = a["id"].as_str().unwrap();
    let path = admin.apig(&format!("/apps/secret/{id}"));
    let mut seen = vec![a["app_secret"].clone()];

    // No body at all.
    let r = server.call("PUT", &path, Some(&admin.token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(is_hex32(&r.json["app_secret"]), "{}", r.text);
    assert!(!seen.contains(&r.json["app_secret"]), "a new secret");
    assert_eq!(r.json["id"], id);
    assert_eq!(r.json["app_key"], a["app_key"], "the key stays");
    assert_eq!(r.json["name"], "resettable");
    assert!(is_nanos_time(&r.json["update_time"]), "{}", r.text);
    assert_eq!(
        get(&server, &admin, id).json["app_secret"],
        r.json["app_secret"]
    );
    seen.push(r.json["app_secret"].clone());

    // An empty object and an empty string mean "generate" too.
    for body in [
        json!({}),
        json!({"app_secret": ""}),
        json!({"app_secret": null}),
    ] {
        let r = server.call("PUT", &path, Some(&admin.token), Some(&body));
        assert_eq!(r.status, 200, "{body}: {}", r.text);
        assert!(is_hex32(&r.json["app_secret"]), "{}", r.text);
        assert!(
            !seen.contains(&r.json["app_secret"]),
            "{body}: a new secret"
        );
        assert_eq!(
            get(&server, &admin, id).json["app_secret"],
            r.json["app_secret"]
        );
        seen.push(r.json["app_secret"].clone());
    }

    // A given secret is taken.
    let r = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"app_secret": "My_new-secret!1"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["app_secret"], "My_new-secret!1");
    assert_eq!(
        get(&server, &admin, id).json["app_secret"],
        "My_new-secret!1"
    );

    // A bad one is refused and changes nothing.
    for bad in ["bad^secret", "short", "-leading-dash"] {
        let r = server.call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"app_secret": bad})),
        );
        r.assert_error(400, "APIG.2011", Some(&invalid("app_secret")));
    }
    assert_eq!(
        get(&server, &admin, id).json["app_secret"],
        "My_new-secret!1"
    );

    let r = server.call(
        "PUT",
        &admin.apig(&format!("/apps/secret/{RANDOM_ID}")),
        Some(&admin.token),
        None,
    );
    r.assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
}

// ---- verify and quantities ------------------------------------------------------------------

#[test]
fn verify_returns_only_id_name_remark() {
    let server = Server::start();
    let admin = server.admin();
    let a = create(
        &server,
        &admin,
        json!({"name": "app_demo", "remark": "Demo app"}),
    )
    .json;
    let id = a["id"].as_str().unwrap();
    let r = server.call(
        "GET",
        &admin.apig(&format!("/apps/validation/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"id": id, "name": "app_demo", "remark": "Demo app"})
    );
    assert!(!r.text.contains(a["app_secret"].as_str().unwrap()));
    assert!(!r.text.contains(a["app_key"].as_str().unwrap()));

    let r = server.call(
        "GET",
        &admin.apig(&format!("/apps/validation/{RANDOM_ID}")),
        Some(&admin.token),
        None,
    );
    r.assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
}

#[test]
fn app_quantities_outline() {
    let server = Server::start();
    let admin = server.admin();
    let path = admin.apig("/resources/outline/apps");
    let r = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"authed_nums": 0, "unauthed_nums": 0}));
    create_ok(&server, &admin, "count_one");
    let b = create_ok(&server, &admin, "count_two");
    create_ok(&server, &admin, "count_three");
    let r = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(r.json, json!({"authed_nums": 0, "unauthed_nums": 3}));
    server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{}", b["id"].as_str().unwrap())),
        Some(&admin.token),
        None,
    );
    let r = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(r.json, json!({"authed_nums": 0, "unauthed_nums": 2}));
}
