//! VPC channels, black-box: through the management API (create, list, show, replace, delete
//! channels; add, replace, list, remove, enable and disable their servers; the health check;
//! every refusal, scope and roles) and through the gateway, where an API on a channel spreads
//! its calls over the channel's real backends by weight, skips disabled servers and those its
//! health check finds down, falls back to backup servers, and sends the caller's or the
//! proxy host's `Host`; the members' `health_status` shows what the checks decided; backend
//! server groups are managed and lend their weight to their servers.

mod common;
use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn channel_body(name: &str, members: Value) -> Value {
    json!({"name": name, "port": 8080, "balance_strategy": 1, "member_type": "ip",
           "type": 2, "members": members})
}

fn create_ok(m: &Mgmt, body: &Value) -> Value {
    let r = m.call("POST", "/vpc-channels", Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn missing_channel(id: &str) -> String {
    format!("The VPC channel does not exist,id:{id}")
}

#[test]
fn channels_are_created_listed_replaced_and_deleted_under_their_rules() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let made = create_ok(
        &m,
        &json!({"name": "web_servers", "port": 8080, "balance_strategy": 2, "member_type": "ip",
            "type": 2, "dict_code": "shop.v1",
            "members": [{"host": "10.0.0.1", "weight": 3},
                        {"host": "10.0.0.2", "port": 9090, "is_backup": true, "status": 2}],
            "vpc_health_config": {"protocol": "http", "path": "/health", "port": 0,
                "threshold_normal": 2, "threshold_abnormal": 3, "time_interval": 10,
                "http_code": "200,300-399", "timeout": 5}}),
    );
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["name"], "web_servers");
    assert_eq!(made["port"], 8080);
    assert_eq!(made["balance_strategy"], 2);
    assert_eq!(made["member_type"], "ip");
    assert_eq!(made["type"], 2);
    assert_eq!(made["dict_code"], "shop.v1");
    assert_eq!(made["status"], 1);
    assert_eq!(made["member_groups"], json!([]));
    assert!(is_nanos_time(&made["create_time"]));
    assert!(
        made.get("members").is_none(),
        "only the details show members"
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"), 2);

    // Details: members with ids, the health check with Huawei's fields.
    let shown = m.call("GET", &format!("/vpc-channels/{id}"), None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    let members = shown.json["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["host"], "10.0.0.1");
    assert_eq!(members[0]["weight"], 3);
    assert_eq!(members[0]["port"], 0);
    assert_eq!(members[0]["status"], 1);
    assert_eq!(members[0]["is_backup"], false);
    assert_eq!(members[0]["ecs_id"], "10.0.0.1");
    assert_eq!(members[0]["vpc_channel_id"], id.as_str());
    assert!(is_seconds_time(&members[0]["create_time"]));
    assert_eq!(members[1]["port"], 9090);
    assert_eq!(members[1]["status"], 2);
    assert_eq!(members[1]["is_backup"], true);
    // No published API uses the channel, so no gateway node checks its servers.
    assert_eq!(members[0]["health_status"], "unknown");
    assert_eq!(members[1]["health_status"], "unknown");
    let first_member = members[0]["id"].as_str().unwrap().to_owned();
    let health = &shown.json["vpc_health_config"];
    assert_eq!(health["protocol"], "HTTP");
    assert_eq!(health["path"], "/health");
    assert_eq!(health["method"], "GET");
    assert_eq!(health["http_code"], "200,300-399");
    assert_eq!(
        (&health["threshold_normal"], &health["threshold_abnormal"]),
        (&json!(2), &json!(3))
    );
    assert_eq!(
        (&health["time_interval"], &health["timeout"]),
        (&json!(10), &json!(5))
    );
    assert_eq!(health["vpc_channel_id"], id.as_str());

    // Every rule, and nothing stored on a refusal.
    for (body, field) in [
        (json!({"name": "ab", "port": 80}), "name"),
        (json!({"name": "9abc", "port": 80}), "name"),
        (json!({"name": "abc"}), "port"),
        (json!({"name": "abc", "port": 70000}), "port"),
        (
            json!({"name": "abc", "port": 80, "balance_strategy": 9}),
            "balance_strategy",
        ),
        (
            json!({"name": "abc", "port": 80, "member_type": "vm"}),
            "member_type",
        ),
        (json!({"name": "abc", "port": 80, "type": 1}), "type"),
        (
            json!({"name": "abc", "port": 80, "member_type": "ip", "members": [{"host": "not an address"}]}),
            "members[0].host",
        ),
        (
            json!({"name": "abc", "port": 80, "member_type": "ip", "members": [{"host": "10.0.0.1", "weight": 10001}]}),
            "members[0].weight",
        ),
        (
            json!({"name": "abc", "port": 80, "members": [{"host": "10.0.0.1"}]}),
            "members[0].ecs_id",
        ),
        (
            json!({"name": "abc", "port": 80, "vpc_health_config": {"protocol": "HTTP",
                "threshold_normal": 2, "threshold_abnormal": 2, "time_interval": 10, "http_code": "200"}}),
            "vpc_health_config.path",
        ),
        (
            json!({"name": "abc", "port": 80, "vpc_health_config": {"protocol": "TCP",
                "threshold_normal": 2, "threshold_abnormal": 2, "time_interval": 5, "timeout": 5}}),
            "vpc_health_config.timeout",
        ),
    ] {
        m.call("POST", "/vpc-channels", Some(&body)).assert_error(
            400,
            "APIG.2011",
            Some(&invalid(field)),
        );
    }
    let r = m.call(
        "POST",
        "/vpc-channels",
        Some(&json!({"name": "abc", "port": 80, "type": 3})),
    );
    r.assert_error(400, "APIG.2011", None);
    assert!(r.text.contains("not supported"), "{}", r.text);
    m.call(
        "POST",
        "/vpc-channels",
        Some(&channel_body("web_servers", json!([]))),
    )
    .assert_error(
        400,
        "APIG.3208",
        Some("The VPC channel name already exists."),
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_channels"), 1);

    // The list and its filters.
    create_ok(
        &m,
        &channel_body("web_servers_2", json!([{"host": "10.0.0.7", "port": 81}])),
    );
    let list = |q: &str| m.call("GET", &format!("/vpc-channels{q}"), None).json;
    let all = list("");
    assert_eq!(all["total"], 2);
    assert_eq!(
        all["vpc_channels"][0]["name"], "web_servers_2",
        "newest first"
    );
    assert!(is_seconds_time(&all["vpc_channels"][0]["create_time"]));
    assert_eq!(list("?name=servers")["total"], 2);
    assert_eq!(list("?name=web_servers&precise_search=name")["total"], 1);
    assert_eq!(
        list(&format!("?id={id}"))["vpc_channels"][0]["id"],
        id.as_str()
    );
    assert_eq!(list("?member_host=10.0.0.7")["total"], 1);
    assert_eq!(
        list("?member_port=9090")["vpc_channels"][0]["id"],
        id.as_str()
    );
    assert_eq!(list("?member_port=8080")["total"], 1, "the channel's port");
    assert_eq!(list("?dict_code=shop.v1")["total"], 1);
    assert_eq!(list("?member_group_name=g")["total"], 0);
    assert_eq!(
        list("?limit=1&offset=1")["vpc_channels"][0]["id"],
        id.as_str()
    );
    m.call("GET", "/vpc-channels?member_port=x", None)
        .assert_error(400, "APIG.2012", None);
    m.call("GET", "/vpc-channels?limit=0x", None)
        .assert_error(400, "APIG.2012", None);

    // Members: add (a known host is updated, keeping its id), list, remove.
    let added = m.call(
        "POST",
        &format!("/vpc-channels/{id}/members"),
        Some(&json!({"members": [{"host": "10.0.0.1", "weight": 5}, {"host": "10.0.0.3"}]})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["total"], 3);
    assert_eq!(added.json["members"][0]["id"], first_member.as_str());
    assert_eq!(added.json["members"][0]["weight"], 5);
    assert_eq!(added.json["members"][2]["weight"], 1, "default weight");
    let listed = m.call(
        "GET",
        &format!("/vpc-channels/{id}/members?name=10.0.0"),
        None,
    );
    assert_eq!(listed.json["total"], 3);
    let listed = m.call(
        "GET",
        &format!("/vpc-channels/{id}/members?name=10.0.0.3&precise_search=name"),
        None,
    );
    assert_eq!(listed.json["total"], 1);
    let third = listed.json["members"][0]["id"].as_str().unwrap().to_owned();
    m.call(
        "POST",
        &format!("/vpc-channels/{id}/members"),
        Some(&json!({})),
    )
    .assert_error(400, "APIG.2001", None);
    let gone = m.call(
        "DELETE",
        &format!("/vpc-channels/{id}/members/{third}"),
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.text);
    m.call(
        "DELETE",
        &format!("/vpc-channels/{id}/members/{third}"),
        None,
    )
    .assert_error(
        404,
        "APIG.3024",
        Some(&format!("The VPC instance does not exist,id:{third}")),
    );

    // Enable and disable, all or nothing.
    let enabled = m.call(
        "POST",
        &format!("/vpc-channels/{id}/members/batch-enable"),
        Some(&json!({"member_ids": [first_member]})),
    );
    assert_eq!(enabled.status, 204, "{}", enabled.text);
    let disabled = m.call(
        "POST",
        &format!("/vpc-channels/{id}/members/batch-disable"),
        Some(&json!({"member_ids": [first_member]})),
    );
    assert_eq!(disabled.status, 204, "{}", disabled.text);
    m.call(
        "POST",
        &format!("/vpc-channels/{id}/members/batch-enable"),
        Some(&json!({"member_ids": [first_member, RANDOM_ID]})),
    )
    .assert_error(404, "APIG.3024", None);
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT status FROM vpc_members WHERE id = '{first_member}'")
        ),
        2,
        "the refused call changed nothing"
    );

    // Replace the members: the kept host keeps its id, the others go.
    let replaced = m.call(
        "PUT",
        &format!("/vpc-channels/{id}/members"),
        Some(&json!({"members": [{"host": "10.0.0.1", "weight": 2}, {"host": "10.0.0.4"}]})),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json["total"], 2);
    assert_eq!(replaced.json["members"][0]["id"], first_member.as_str());
    assert_eq!(replaced.json["members"][0]["status"], 1);

    // The health check alone.
    let health = m.call(
        "PUT",
        &format!("/vpc-channels/{id}/health-config"),
        Some(
            &json!({"protocol": "TCP", "threshold_normal": 1, "threshold_abnormal": 1,
            "time_interval": 5, "timeout": 2}),
        ),
    );
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.json["protocol"], "TCP");
    assert_eq!(health.json["vpc_channel_id"], id.as_str());
    m.call(
        "PUT",
        &format!("/vpc-channels/{id}/health-config"),
        Some(&json!({"protocol": "ICMP"})),
    )
    .assert_error(400, "APIG.2011", Some(&invalid("protocol")));

    // Replacing the channel replaces its members too (Huawei's rule).
    let updated = m.call(
        "PUT",
        &format!("/vpc-channels/{id}"),
        Some(
            &json!({"name": "web_renamed", "port": 8081, "balance_strategy": 4,
            "member_type": "ip", "members": [{"host": "10.0.0.1", "weight": 9}]}),
        ),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["name"], "web_renamed");
    assert_eq!(updated.json["balance_strategy"], 4);
    let shown = m.call("GET", &format!("/vpc-channels/{id}"), None).json;
    assert_eq!(shown["members"].as_array().unwrap().len(), 1);
    assert_eq!(shown["members"][0]["id"], first_member.as_str());
    assert!(
        shown.get("vpc_health_config").is_none(),
        "the body had none"
    );
    m.call(
        "PUT",
        &format!("/vpc-channels/{id}"),
        Some(&channel_body("web_servers_2", json!([]))),
    )
    .assert_error(400, "APIG.3208", None);

    // Unknown and malformed ids.
    for (method, path) in [
        ("GET", format!("/vpc-channels/{RANDOM_ID}")),
        ("DELETE", format!("/vpc-channels/{RANDOM_ID}")),
        ("GET", format!("/vpc-channels/{RANDOM_ID}/members")),
    ] {
        m.call(method, &path, None).assert_error(
            404,
            "APIG.3023",
            Some(&missing_channel(RANDOM_ID)),
        );
    }
    m.call(
        "PUT",
        &format!("/vpc-channels/{RANDOM_ID}"),
        Some(&channel_body("whatever", json!([]))),
    )
    .assert_error(404, "APIG.3023", None);
    m.call("GET", "/vpc-channels/not%20an%20id", None)
        .assert_error(400, "APIG.2012", None);

    // An API on a channel: the channel must exist, and cannot go while the API names it.
    let group = default_group(&server, &admin);
    let mut api = channel_api_body(&group, "on_channel", "/on-channel", RANDOM_ID);
    m.call("POST", "/apis", Some(&api)).assert_error(
        404,
        "APIG.3023",
        Some(&missing_channel(RANDOM_ID)),
    );
    api["backend_api"]["vpc_channel_info"]["vpc_channel_id"] = json!(id);
    let created = m.call("POST", "/apis", Some(&api));
    assert_eq!(created.status, 201, "{}", created.text);
    let backend = &created.json["backend_api"];
    assert_eq!(backend["vpc_channel_status"], 1);
    assert_eq!(backend["vpc_channel_info"]["vpc_channel_id"], id.as_str());
    assert_eq!(backend["url_domain"], id.as_str());
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    m.call("DELETE", &format!("/vpc-channels/{id}"), None)
        .assert_error(
            403,
            "APIG.3414",
            Some("The VPC channel is already being used by another API."),
        );
    let deleted = m.call("DELETE", &format!("/apis/{api_id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let deleted = m.call("DELETE", &format!("/vpc-channels/{id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT COUNT(*) FROM vpc_members WHERE channel_id = '{id}'")
        ),
        0
    );
}

#[test]
fn an_instance_holds_at_most_thirty_channels_and_a_channel_two_hundred_servers() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    for i in 0..30 {
        create_ok(&m, &channel_body(&format!("channel_{i}"), json!([])));
    }
    m.call(
        "POST",
        "/vpc-channels",
        Some(&channel_body("channel_30", json!([]))),
    )
    .assert_error(
        403,
        "APIG.3109",
        Some("The number of VPC channels exceeds the maximum allowed limit."),
    );
    let id = m
        .call(
            "GET",
            "/vpc-channels?name=channel_0&precise_search=name",
            None,
        )
        .json["vpc_channels"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hosts = |from: usize, n: usize| -> Value {
        (from..from + n)
            .map(|i| json!({"host": format!("10.1.{}.{}", i / 200, i % 200 + 1)}))
            .collect()
    };
    let added = m.call(
        "POST",
        &format!("/vpc-channels/{id}/members"),
        Some(&json!({"members": hosts(0, 150)})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    m.call(
        "POST",
        &format!("/vpc-channels/{id}/members"),
        Some(&json!({"members": hosts(150, 51)})),
    )
    .assert_error(403, "APIG.3110", None);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"),
        150,
        "all or nothing"
    );
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "amy", "proj_vpc", "member");
    let reader = server.user_session(&admin, "rob", "proj_vpc", "reader");
    let other = server.user_session(&admin, "oli", "proj_vpc_other", "member");
    let mine = Mgmt {
        server: &server,
        s: &member,
    };
    let id = create_ok(
        &mine,
        &channel_body("member_channel", json!([{"host": "10.0.0.1"}])),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_reader = Mgmt {
        server: &server,
        s: &reader,
    };
    assert_eq!(
        as_reader.call("GET", "/vpc-channels", None).json["total"],
        1
    );
    assert_eq!(
        as_reader
            .call("GET", &format!("/vpc-channels/{id}/members"), None)
            .json["total"],
        1
    );
    let forbidden = Some("No permissions to request this method");
    as_reader
        .call(
            "POST",
            "/vpc-channels",
            Some(&channel_body("reader_channel", json!([]))),
        )
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call("DELETE", &format!("/vpc-channels/{id}"), None)
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call(
            "POST",
            &format!("/vpc-channels/{id}/member-groups"),
            Some(&json!({"member_groups": [{"member_group_name": "readers"}]})),
        )
        .assert_error(403, "APIG.1005", forbidden);
    assert_eq!(
        as_reader
            .call("GET", &format!("/vpc-channels/{id}/member-groups"), None)
            .json["total"],
        0
    );
    as_reader
        .call(
            "POST",
            &format!("/vpc-channels/{id}/members/batch-disable"),
            Some(&json!({"member_ids": []})),
        )
        .assert_error(403, "APIG.1005", forbidden);
    let theirs = Mgmt {
        server: &server,
        s: &other,
    };
    for (method, path, body) in [
        ("GET", format!("/vpc-channels/{id}"), None),
        ("DELETE", format!("/vpc-channels/{id}"), None),
        (
            "PUT",
            format!("/vpc-channels/{id}"),
            Some(channel_body("stolen", json!([]))),
        ),
        (
            "POST",
            format!("/vpc-channels/{id}/members"),
            Some(json!({"members": [{"host": "10.9.9.9"}]})),
        ),
        ("GET", format!("/vpc-channels/{id}/member-groups"), None),
        (
            "POST",
            format!("/vpc-channels/{id}/member-groups"),
            Some(json!({"member_groups": [{"member_group_name": "stolen"}]})),
        ),
    ] {
        theirs
            .call(method, &path, body.as_ref())
            .assert_error(404, "APIG.3023", None);
    }
    assert_eq!(theirs.call("GET", "/vpc-channels", None).json["total"], 0);
    // Their API cannot use our channel.
    let group = default_group(&server, &other);
    theirs
        .call(
            "POST",
            "/apis",
            Some(&channel_api_body(&group, "their_api", "/theirs", &id)),
        )
        .assert_error(404, "APIG.3023", None);
    let url = member.apig("/vpc-channels");
    server
        .call("GET", &url, None, None)
        .assert_error(401, "APIG.1000", None);
    server
        .call("GET", &url, Some("not-a-token"), None)
        .assert_error(401, "APIG.1002", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"), 1);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_groups"),
        0
    );
}

/// An API without authentication, `GET <uri>` (SWA) on both listeners → the servers of
/// channel `channel` at `/backend`.
fn channel_api_body(group: &str, name: &str, uri: &str, channel: &str) -> Value {
    json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": uri, "match_mode": "SWA", "auth_type": "NONE",
        "backend_type": "HTTP",
        "backend_api": {"vpc_channel_status": 1, "vpc_channel_info": {"vpc_channel_id": channel},
                        "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/backend",
                        "timeout": 5000}
    })
}

/// The requests each backend has answered so far.
fn hits(backends: &[&EchoBackend]) -> Vec<usize> {
    backends
        .iter()
        .map(|b| b.hits.load(Ordering::SeqCst))
        .collect()
}

#[test]
fn an_api_on_a_channel_spreads_its_calls_over_the_healthy_servers() {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--metrics-listen")
            .arg("127.0.0.1:0")
            .arg("--gateway-listen")
            .arg("127.0.0.1:0"),
    );
    let https = format!("127.0.0.1:{}", server.port_of("gateway listening (HTTPS)"));
    let metrics = format!(
        "http://127.0.0.1:{}/metrics",
        server.port_of("metrics listening")
    );
    let gateway = format!(
        "http://127.0.0.1:{}",
        server.port_of("gateway listening (plain HTTP)")
    );
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let client = Client::new();
    let call = |path: &str| -> Reply {
        Reply::from(
            client
                .get(format!("{gateway}{path}"))
                .send()
                .expect("gateway answers"),
        )
    };
    let (a, b, backup) = (
        EchoBackend::start_on("127.0.0.2"),
        EchoBackend::start_on("127.0.0.3"),
        EchoBackend::start_on("127.0.0.4"),
    );
    let member = |host: &str, port: u16, weight: u32, is_backup: bool| json!({"host": host, "port": port, "weight": weight, "is_backup": is_backup});
    let channel = create_ok(
        &m,
        &channel_body(
            "echo_servers",
            json!([
                member("127.0.0.2", a.port, 3, false),
                member("127.0.0.3", b.port, 1, false),
                member("127.0.0.4", backup.port, 1, true)
            ]),
        ),
    );
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let shown = m
        .call("GET", &format!("/vpc-channels/{channel_id}"), None)
        .json;
    let member_id = |i: usize| shown["members"][i]["id"].as_str().unwrap().to_owned();
    let group = default_group(&server, &admin);
    // No retries at first: a call that fails shows.
    let mut body = channel_api_body(&group, "spread", "/spread", &channel_id);
    body["backend_api"]["retry_count"] = json!("0");
    let api = m.call("POST", "/apis", Some(&body));
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    let online = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201, "{}", online.text);
    let backends = [&a, &b, &backup];

    // Weighted round robin, 3:1; the backup takes nothing; the caller's Host goes on.
    for _ in 0..8 {
        let r = call("/spread/x?q=1");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["path"], "/backend/x?q=1");
        assert_eq!(
            r.json["headers"]["host"],
            gateway.trim_start_matches("http://")
        );
    }
    assert_eq!(hits(&backends), [6, 2, 0]);
    // Over HTTP/2 the caller's authority is the Host the server gets.
    let h2 = Client::builder()
        .danger_accept_invalid_certs(true)
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2.get(format!("https://{https}/spread")).send().unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let echoed: Value = r.json().unwrap();
    assert_eq!(echoed["headers"]["host"], https.as_str());
    // (Which of the two: wherever the balancer's turns began.)
    let [first, second, backups] = <[usize; 3]>::try_from(hits(&backends)).unwrap();
    assert_eq!((first + second, backups), (9, 0));

    // A disabled server takes nothing from the next call on.
    let toggle = |action: &str, ids: Vec<String>| {
        let r = m.call(
            "POST",
            &format!("/vpc-channels/{channel_id}/members/{action}"),
            Some(&json!({ "member_ids": ids })),
        );
        assert_eq!(r.status, 204, "{}", r.text);
    };
    toggle("batch-disable", vec![member_id(0)]);
    for _ in 0..3 {
        assert_eq!(call("/spread").status, 200);
    }
    assert_eq!(hits(&backends), [first, second + 3, 0]);
    // With every primary server disabled, the backup takes the calls.
    toggle("batch-disable", vec![member_id(1)]);
    for _ in 0..2 {
        assert_eq!(call("/spread").status, 200);
    }
    assert_eq!(hits(&backends), [first, second + 3, 2]);
    // With none left: 502 APIG.0202.
    toggle("batch-disable", vec![member_id(2)]);
    let r = call("/spread");
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.json["error_code"], "APIG.0202");
    toggle(
        "batch-enable",
        vec![member_id(0), member_id(1), member_id(2)],
    );

    // A server that is down: a health check takes it out within its thresholds, and every
    // call succeeds again.
    let down_port = free_port();
    let added = m.call(
        "POST",
        &format!("/vpc-channels/{channel_id}/members"),
        Some(&json!({"members": [member("127.0.0.5", down_port, 10, false)]})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    let failed = (0..14).filter(|_| call("/spread").status == 502).count();
    assert!(
        failed >= 9,
        "without a health check the dead server takes its turns: {failed}"
    );
    let health = m.call(
        "PUT",
        &format!("/vpc-channels/{channel_id}/health-config"),
        Some(
            &json!({"protocol": "HTTP", "path": "/health", "method": "GET",
            "threshold_normal": 1, "threshold_abnormal": 1, "time_interval": 1, "timeout": 1,
            "http_code": "200"}),
        ),
    );
    assert_eq!(health.status, 200, "{}", health.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let statuses: Vec<u16> = (0..14).map(|_| call("/spread").status).collect();
        if statuses.iter().all(|&s| s == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the health check never took the dead server out: {statuses:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        server.log_text().contains("VPC channel server unhealthy"),
        "the log says which server went out"
    );
    let unhealthy = || {
        let exposition = client.get(&metrics).send().unwrap().text().unwrap();
        exposition
            .lines()
            .find(|l| {
                l.starts_with("apigw_vpc_channel_servers_unhealthy{")
                    && l.contains(&format!("vpc_channel=\"{channel_id}\""))
            })
            .and_then(|l| l.rsplit_once(' '))
            .map(|(_, v)| v.parse::<f64>().unwrap())
    };
    assert_eq!(unhealthy(), Some(1.0), "the metrics count it");
    // The management API shows what the checks decided, and the database holds this node's
    // view (published off the request path, so awaited).
    let health_statuses = || -> Vec<(String, String)> {
        let listed = m.call("GET", &format!("/vpc-channels/{channel_id}/members"), None);
        assert_eq!(listed.status, 200, "{}", listed.text);
        listed.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let status = m["health_status"].as_str().unwrap().to_owned();
                (m["host"].as_str().unwrap().to_owned(), status)
            })
            .collect()
    };
    let until_statuses = |want: &[(&str, &str)]| {
        let want: Vec<(String, String)> = want
            .iter()
            .map(|&(h, s)| (h.to_owned(), s.to_owned()))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = health_statuses();
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "health_status {got:?}, not {want:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until_statuses(&[
        ("127.0.0.2", "healthy"),
        ("127.0.0.3", "healthy"),
        ("127.0.0.4", "healthy"),
        ("127.0.0.5", "unhealthy"),
    ]);
    let details = m.call("GET", &format!("/vpc-channels/{channel_id}"), None);
    assert_eq!(details.json["members"][3]["health_status"], "unhealthy");
    assert_eq!(details.json["members"][0]["health_status"], "healthy");
    assert_eq!(
        db_scalar(
            &server,
            "SELECT COUNT(*) FROM vpc_member_health WHERE healthy = 0"
        ),
        1
    );
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_health"),
        4
    );
    // A disabled server is not checked: its health is unknown.
    let dead_id = details.json["members"][3]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    toggle("batch-disable", vec![dead_id.clone()]);
    until_statuses(&[
        ("127.0.0.2", "healthy"),
        ("127.0.0.3", "healthy"),
        ("127.0.0.4", "healthy"),
        ("127.0.0.5", "unknown"),
    ]);
    toggle("batch-enable", vec![dead_id]);
    until_statuses(&[
        ("127.0.0.2", "healthy"),
        ("127.0.0.3", "healthy"),
        ("127.0.0.4", "healthy"),
        ("127.0.0.5", "unhealthy"),
    ]);
    // The live servers answered the health check's probes too.
    assert!(
        a.probes.load(Ordering::SeqCst) > 0,
        "probes reach live servers"
    );

    // Without the check, a retry goes to another server: every call succeeds although the
    // dead one keeps its turns.
    let without_check = m.call(
        "PUT",
        &format!("/vpc-channels/{channel_id}"),
        Some(
            &json!({"name": "echo_servers", "port": 8080, "balance_strategy": 1,
            "member_type": "ip",
            "members": [member("127.0.0.2", a.port, 1, false),
                        member("127.0.0.5", down_port, 1, false)]}),
        ),
    );
    assert_eq!(without_check.status, 200, "{}", without_check.text);
    assert_eq!(
        unhealthy(),
        Some(0.0),
        "a server no check watches counts as healthy"
    );
    until_statuses(&[("127.0.0.2", "unknown"), ("127.0.0.5", "unknown")]);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_health"),
        0,
        "nothing is checked any more"
    );
    body["backend_api"]["retry_count"] = json!("1");
    let updated = m.call("PUT", &format!("/apis/{api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    let online = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201, "{}", online.text);
    let before = a.hits.load(Ordering::SeqCst);
    for _ in 0..6 {
        let r = call("/spread");
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(a.hits.load(Ordering::SeqCst) - before, 6);

    // Source hashing: one caller keeps reaching one server.
    let strategy = m.call(
        "PUT",
        &format!("/vpc-channels/{channel_id}"),
        Some(
            &json!({"name": "echo_servers", "port": 8080, "balance_strategy": 3,
            "member_type": "ip",
            "members": [member("127.0.0.2", a.port, 1, false),
                        member("127.0.0.3", b.port, 1, false)]}),
        ),
    );
    assert_eq!(strategy.status, 200, "{}", strategy.text);
    let before = hits(&backends);
    for _ in 0..6 {
        assert_eq!(call("/spread").status, 200);
    }
    let after = hits(&backends);
    let moved: Vec<usize> = after.iter().zip(&before).map(|(x, y)| x - y).collect();
    assert!(
        moved == [6, 0, 0] || moved == [0, 6, 0],
        "one caller, one server: {moved:?}"
    );

    // A proxy host is the Host the servers get.
    body["backend_api"]["vpc_channel_info"]["vpc_channel_proxy_host"] =
        json!("backend.example:8443");
    let updated = m.call("PUT", &format!("/apis/{api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(
        updated.json["backend_api"]["vpc_channel_info"]["vpc_channel_proxy_host"],
        "backend.example:8443"
    );
    let online = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201, "{}", online.text);
    let r = call("/spread");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["headers"]["host"], "backend.example:8443");

    // A node that stops withdraws its view of the servers' health.
    let tcp_check = m.call(
        "PUT",
        &format!("/vpc-channels/{channel_id}/health-config"),
        Some(
            &json!({"protocol": "TCP", "threshold_normal": 1, "threshold_abnormal": 1,
            "time_interval": 1, "timeout": 1}),
        ),
    );
    assert_eq!(tcp_check.status, 200, "{}", tcp_check.text);
    until_statuses(&[("127.0.0.2", "healthy"), ("127.0.0.3", "healthy")]);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_health"),
        2
    );
    let mut server = server;
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_health"),
        0,
        "withdrawn on stop"
    );
}

/// Creates [`channel_api_body`]'s API `name` at `uri` on `channel` in the default group, and
/// publishes it in RELEASE.
fn publish_channel_api(m: &Mgmt<'_>, name: &str, uri: &str, channel: &str) {
    let group = default_group(m.server, m.s);
    let api = m.call(
        "POST",
        "/apis",
        Some(&channel_api_body(&group, name, uri, channel)),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    let online = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api.json["id"], "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201, "{}", online.text);
}

/// A backend on loopback address `ip` that answers `GET /backend/hold` with a chunked body
/// whose end it sends only when `release` receives, and every other call with its address.
fn holding_backend(ip: &'static str, release: std::sync::mpsc::Receiver<()>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let release = std::sync::Arc::new(std::sync::Mutex::new(release));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { continue };
            let release = release.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(out.try_clone().unwrap());
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let answer = if head.starts_with("GET /backend/hold ") {
                        let start =
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n";
                        if out.write_all(start.as_bytes()).is_err() {
                            return;
                        }
                        let _ = release.lock().unwrap().recv();
                        "0\r\n\r\n".to_owned()
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{ip}",
                            ip.len()
                        )
                    };
                    if out.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn least_connections_counts_a_call_until_its_response_body_is_through() {
    let (server, gateway) = server_with_plain_gateway();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let (release_a, hold_a) = std::sync::mpsc::channel();
    let (release_b, hold_b) = std::sync::mpsc::channel();
    let ports = [
        holding_backend("127.0.0.6", hold_a),
        holding_backend("127.0.0.7", hold_b),
    ];
    let mut body = channel_body(
        "streams",
        json!([{"host": "127.0.0.6", "port": ports[0]}, {"host": "127.0.0.7", "port": ports[1]}]),
    );
    body["balance_strategy"] = json!(2);
    let channel = create_ok(&m, &body);
    publish_channel_api(&m, "streams", "/streams", channel["id"].as_str().unwrap());
    let client = Client::new();
    let call = || {
        let r = client.get(format!("{gateway}/streams/x")).send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };

    // A call whose body is still streaming keeps its server busy: the next calls, each
    // answered whole before the next, all go to the other server.
    let mut held = client
        .get(format!("{gateway}/streams/hold"))
        .send()
        .unwrap();
    assert_eq!(held.status(), 200);
    let mut first = [0_u8; 5];
    std::io::Read::read_exact(&mut held, &mut first).unwrap();
    assert_eq!(&first, b"first");
    let answered: Vec<String> = (0..4).map(|_| call()).collect();
    let other = answered[0].clone();
    assert!(
        answered.iter().all(|a| *a == other),
        "the busy server took calls: {answered:?}"
    );
    // Once the body is through, both servers take calls again.
    release_a.send(()).unwrap();
    release_b.send(()).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut held, &mut rest).unwrap();
    assert_eq!(rest, "");
    let answered: std::collections::BTreeSet<String> = (0..4).map(|_| call()).collect();
    assert_eq!(answered.len(), 2, "{answered:?}");
}

#[test]
fn backend_server_groups_are_managed_and_lend_their_weight_to_their_servers() {
    let (server, gateway) = server_with_plain_gateway();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let (a, b, c) = (
        EchoBackend::start_on("127.0.0.8"),
        EchoBackend::start_on("127.0.0.9"),
        EchoBackend::start_on("127.0.0.10"),
    );
    let backends = [&a, &b, &c];
    let mut body = channel_body(
        "grouped",
        json!([
            {"host": "127.0.0.8", "port": a.port, "member_group_name": "blue"},
            {"host": "127.0.0.9", "port": b.port, "member_group_name": "green"},
            {"host": "127.0.0.10", "port": c.port}
        ]),
    );
    body["member_groups"] = json!([
        {"member_group_name": "blue", "member_group_remark": "the blue half", "member_group_weight": 3},
        {"member_group_name": "green", "dict_code": "green-code"}
    ]);
    let channel = create_ok(&m, &body);
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let groups = channel["member_groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 2, "{channel}");
    assert_eq!(groups[0]["member_group_name"], "blue");
    assert_eq!(groups[0]["member_group_remark"], "the blue half");
    assert_eq!(groups[0]["member_group_weight"], 3);
    assert!(groups[1].get("member_group_weight").is_none());
    assert_eq!(groups[1]["dict_code"], "green-code");
    let blue = groups[0]["member_group_id"].as_str().unwrap().to_owned();
    let green = groups[1]["member_group_id"].as_str().unwrap().to_owned();
    let shown = m.call("GET", &format!("/vpc-channels/{channel_id}"), None);
    let members = shown.json["members"].as_array().unwrap().clone();
    assert_eq!(members[0]["member_group_name"], "blue");
    assert_eq!(members[0]["member_group_id"], blue.as_str());
    assert_eq!(members[0]["weight"], 1, "the member keeps its own weight");
    assert_eq!(members[2]["member_group_name"], "");
    assert_eq!(members[2]["member_group_id"], "");
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_groups"),
        2
    );

    // Through the gateway the blue group's weight, 3, is its server's.
    publish_channel_api(&m, "grouped", "/grouped", &channel_id);
    let client = Client::new();
    let spread = |n: usize| {
        let before = hits(&backends);
        for _ in 0..n {
            let r = client.get(format!("{gateway}/grouped")).send().unwrap();
            assert_eq!(r.status(), 200);
        }
        let after = hits(&backends);
        after
            .iter()
            .zip(&before)
            .map(|(x, y)| x - y)
            .collect::<Vec<_>>()
    };
    assert_eq!(spread(10), [6, 2, 2]);

    // A member naming a group the channel lacks is refused, and nothing changes.
    let bad = m.call(
        "POST",
        &format!("/vpc-channels/{channel_id}/members"),
        Some(&json!({"members": [{"host": "127.0.0.11", "member_group_name": "nope"}]})),
    );
    bad.assert_error(
        400,
        "APIG.2011",
        Some(&invalid("members[0].member_group_name")),
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"), 3);

    // Added or updated by name: blue keeps its id with a weight of 1, red is new.
    let groups_path = format!("/vpc-channels/{channel_id}/member-groups");
    let added = m.call(
        "POST",
        &groups_path,
        Some(&json!({"member_groups": [
            {"member_group_name": "blue", "member_group_weight": 1},
            {"member_group_name": "red"},
            {"member_group_name": "red", "member_group_weight": 7}
        ]})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["total"], 3);
    assert_eq!(
        added.json["member_groups"][0]["member_group_id"],
        blue.as_str()
    );
    assert_eq!(added.json["member_groups"][0]["member_group_weight"], 1);
    assert!(
        added.json["member_groups"][2]
            .get("member_group_weight")
            .is_none(),
        "a name given twice keeps its first definition"
    );
    assert_eq!(spread(9), [3, 3, 3]);

    // Listed with the filters; shown; replaced; refused where wrong.
    let listed = |query: &str| m.call("GET", &format!("{groups_path}?{query}"), None).json;
    assert_eq!(listed("")["total"], 3);
    assert_eq!(
        listed("member_group_name=re")["member_groups"][0]["member_group_name"],
        "green"
    );
    assert_eq!(listed("member_group_name=re")["total"], 2);
    assert_eq!(
        listed("member_group_name=re&precise_search=member_group_name")["total"],
        0
    );
    assert_eq!(
        listed("member_group_name=red&precise_search=member_group_name")["total"],
        1
    );
    assert_eq!(listed("dict_code=green-code")["total"], 1);
    assert_eq!(
        listed("limit=1&offset=2")["member_groups"][0]["member_group_name"],
        "red"
    );
    let one = m.call("GET", &format!("{groups_path}/{green}"), None);
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json["member_group_name"], "green");
    let missing = "0".repeat(32);
    m.call("GET", &format!("{groups_path}/{missing}"), None)
        .assert_error(
            404,
            "APIG.3025",
            Some(&format!(
                "The VPC channel backend server group does not exist,id:{missing}"
            )),
        );
    let clash = m.call(
        "PUT",
        &format!("{groups_path}/{green}"),
        Some(&json!({"member_group_name": "blue"})),
    );
    clash.assert_error(400, "APIG.2011", Some(&invalid("member_group_name")));
    let renamed = m.call(
        "PUT",
        &format!("{groups_path}/{green}"),
        Some(&json!({"member_group_name": "teal", "member_group_weight": 2})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["member_group_name"], "teal");
    assert_eq!(renamed.json["member_group_id"], green.as_str());
    let microservice = m.call(
        "POST",
        &groups_path,
        Some(
            &json!({"member_groups": [{"member_group_name": "svc", "microservice_version": "v1"}]}),
        ),
    );
    assert_eq!(microservice.status, 400, "{}", microservice.text);
    assert!(
        microservice.text.contains("not supported"),
        "{}",
        microservice.text
    );
    let none = m.call("POST", &groups_path, Some(&json!({})));
    assert_eq!(
        (none.status, none.json["error_code"].as_str()),
        (400, Some("APIG.2001"))
    );
    assert_eq!(spread(8), [2, 4, 2], "teal's weight, 2, is its server's");

    // A replacement within one group touches that group's servers only; the servers given of
    // other groups are ignored (APIG's rule).
    let members_path = format!("/vpc-channels/{channel_id}/members");
    let within = |members: Value| {
        let body = json!({"member_group_name": "red", "members": members});
        m.call("PUT", &members_path, Some(&body))
    };
    let replaced = within(json!([
        {"host": "127.0.0.12", "port": 9, "member_group_name": "red"},
        {"host": "127.0.0.8", "port": 9, "member_group_name": "red_herring"},
        {"host": "127.0.0.10", "port": 9}
    ]));
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let hosts = |answer: &Value| -> Vec<(String, String)> {
        answer["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let group = m["member_group_name"].as_str().unwrap().to_owned();
                (m["host"].as_str().unwrap().to_owned(), group)
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|&(h, g)| (h.to_owned(), g.to_owned()))
            .collect()
    };
    assert_eq!(
        hosts(&replaced.json),
        pairs(&[
            ("127.0.0.8", "blue"),
            ("127.0.0.9", "teal"),
            ("127.0.0.10", ""),
            ("127.0.0.12", "red")
        ])
    );
    let emptied = within(json!([]));
    assert_eq!(emptied.status, 200, "{}", emptied.text);
    assert_eq!(
        hosts(&emptied.json),
        pairs(&[
            ("127.0.0.8", "blue"),
            ("127.0.0.9", "teal"),
            ("127.0.0.10", "")
        ])
    );
    m.call(
        "PUT",
        &members_path,
        Some(&json!({"member_group_name": "nope", "members": []})),
    )
    .assert_error(404, "APIG.3025", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"), 3);

    // The members and channels lists filter by group.
    let by_group = m.call(
        "GET",
        &format!("/vpc-channels/{channel_id}/members?member_group_name=teal"),
        None,
    );
    assert_eq!(by_group.json["total"], 1);
    assert_eq!(by_group.json["members"][0]["host"], "127.0.0.9");
    let by_id = m.call(
        "GET",
        &format!("/vpc-channels/{channel_id}/members?member_group_id={blue}"),
        None,
    );
    assert_eq!(by_id.json["members"][0]["host"], "127.0.0.8");
    let channels =
        |q: &str| m.call("GET", &format!("/vpc-channels?{q}"), None).json["total"].clone();
    assert_eq!(channels("member_group_name=teal"), 1);
    assert_eq!(channels("member_group_name=nope"), 0);
    assert_eq!(channels(&format!("member_group_id={blue}")), 1);

    // Deleted, a group leaves its servers without one; they take their own weight again.
    let del = m.call("DELETE", &format!("{groups_path}/{green}"), None);
    assert_eq!(del.status, 204, "{}", del.text);
    let member = m.call(
        "GET",
        &format!("/vpc-channels/{channel_id}/members?name=127.0.0.9"),
        None,
    );
    assert_eq!(member.json["members"][0]["member_group_name"], "");
    assert_eq!(member.json["members"][0]["member_group_id"], "");
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM vpc_member_groups"),
        2
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM vpc_members"), 3);
    m.call("DELETE", &format!("{groups_path}/{green}"), None)
        .assert_error(404, "APIG.3025", None);
    assert_eq!(spread(3), [1, 1, 1]);
}
