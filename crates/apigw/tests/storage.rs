//! Storage and process life cycle, black-box: what reaches the disk (no plaintext secrets),
//! durability of acknowledged writes across SIGKILL, restarts, the master key, first-start
//! messages, graceful shutdown on SIGTERM and the CLI help.

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Standard base64 (with padding), enough for a 32-byte master key.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut buf)
        .unwrap();
    buf
}

/// Every regular file in `dir` (not recursive) with its bytes.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && haystack.windows(n.len()).any(|w| w == n)
}

fn create_app(server: &Server, s: &Session, body: Value) -> Value {
    let r = server.call("POST", &s.apig("/apps"), Some(&s.token), Some(&body));
    assert_eq!(r.status, 201, "create app {body}: {}", r.text);
    r.json
}

fn with_max_apps() -> Opts {
    Opts::default().arg("--max-apps-per-instance").arg("100000")
}

#[test]
fn database_files_hold_no_plaintext_secrets() {
    let mut server = Server::start();
    let admin = server.admin();

    // An app with a chosen secret, and one with a generated one.
    let custom_secret = "SecretValue_12345";
    let a1 = create_app(
        &server,
        &admin,
        json!({"name": "storage_app_custom", "app_secret": custom_secret}),
    );
    assert_eq!(a1["app_secret"], custom_secret);
    let a1_id = a1["id"].as_str().unwrap().to_owned();
    let a2 = create_app(&server, &admin, json!({"name": "storage_app_generated"}));
    let generated_secret = a2["app_secret"].as_str().unwrap().to_owned();
    assert_eq!(generated_secret.len(), 32, "{a2}");
    let a2_id = a2["id"].as_str().unwrap().to_owned();

    // A chosen AppCode and a generated one.
    let custom_code = format!("KnownAppCodeValue+/{}", "Zq7".repeat(20));
    let c = server.call(
        "POST",
        &admin.apig(&format!("/apps/{a1_id}/app-codes")),
        Some(&admin.token),
        Some(&json!({"app_code": custom_code})),
    );
    assert_eq!(c.status, 201, "{}", c.text);
    let g = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{a2_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(g.status, 201, "{}", g.text);
    let generated_code = g.json["app_code"].as_str().unwrap().to_owned();
    assert_eq!(generated_code.len(), 64);

    // A user with a known password.
    let user_password = "UserPlainPassword_9876";
    let u = server.call("POST", "/v3/users", Some(&admin.token),
        Some(&json!({"user": {"name": "storage_user", "password": user_password, "domain_id": "default"}})));
    assert_eq!(u.status, 201, "{}", u.text);

    // An access key; its secret is shown once.
    let k = server.call(
        "POST",
        "/v3.0/OS-CREDENTIAL/credentials",
        Some(&admin.token),
        Some(&json!({"credential": {"user_id": admin.user_id, "description": "storage"}})),
    );
    assert_eq!(k.status, 201, "{}", k.text);
    let sk = k.json["credential"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(sk.len(), 40);

    assert_eq!(
        server.terminate(),
        Some(0),
        "exit code after SIGTERM; log:\n{}",
        server.log_text()
    );

    let mut files = files_in(&server.data_dir);
    if let Some(db) = &server.db {
        // PostgreSQL: the whole database as pg_dump writes it stands in for the SQLite files.
        let dump = std::process::Command::new("pg_dump")
            .arg(&db.url)
            .output()
            .expect("pg_dump runs");
        assert!(dump.status.success(), "pg_dump failed");
        files.push(("apigw.db (pg_dump)".to_owned(), dump.stdout));
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("apigw.db")),
        "data dir holds {names:?}"
    );
    let secrets = [
        ("custom app_secret", custom_secret),
        ("generated app_secret", generated_secret.as_str()),
        ("custom AppCode", custom_code.as_str()),
        ("generated AppCode", generated_code.as_str()),
        ("user password", user_password),
        ("access key secret", sk.as_str()),
        ("bearer token", admin.token.as_str()),
    ];
    for (file, bytes) in &files {
        for (what, secret) in secrets {
            assert!(
                !contains(bytes, secret),
                "{what} {secret:?} appears in plaintext in {file}"
            );
        }
    }
    // Proof that we read the real database: the (non-secret) app names are there.
    let db: Vec<u8> = files
        .iter()
        .filter(|(n, _)| n.starts_with("apigw.db"))
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    for name in [
        "storage_app_custom",
        "storage_app_generated",
        "storage_user",
    ] {
        assert!(
            contains(&db, name),
            "{name} not found in the database files {names:?}"
        );
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let mut server = Server::start_with(with_max_apps());
    let admin = server.admin();
    let url = server.url(&admin.apig("/apps"));
    let token = admin.token.clone();
    let acked = Arc::new(AtomicUsize::new(0));
    let acked_in = acked.clone();
    let writer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let mut ids = Vec::new();
        let mut unexpected = Vec::new();
        for i in 0..100_000 {
            let sent = client
                .post(&url)
                .header("X-Auth-Token", &token)
                .header("Content-Type", "application/json")
                .body(json!({"name": format!("crash_app_{i}")}).to_string())
                .send();
            let Ok(resp) = sent else { break };
            let status = resp.status().as_u16();
            let Ok(text) = resp.text() else { break };
            if status != 201 {
                unexpected.push((status, text));
                continue;
            }
            // A 201 whose body did not arrive whole was not acknowledged.
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                break;
            };
            ids.push(v["id"].as_str().unwrap().to_owned());
            acked_in.fetch_add(1, Ordering::SeqCst);
        }
        (ids, unexpected)
    });
    // Let the stream run for a while (and at least a few creates), then pull the plug.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(150) || acked.load(Ordering::SeqCst) < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "app creates do not progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    let (ids, unexpected) = writer.join().unwrap();
    assert!(
        unexpected.is_empty(),
        "non-201 answers before the kill: {unexpected:?}"
    );
    assert!(ids.len() >= 5, "only {} apps acknowledged", ids.len());
    eprintln!("{} app creates acknowledged before SIGKILL", ids.len());

    let dir = server.keep_dir();
    let server = Server::start_in(dir.path(), with_max_apps()).expect("restart after SIGKILL");
    let admin = server.admin();
    let mut missing = Vec::new();
    for id in &ids {
        let r = server.call(
            "GET",
            &admin.apig(&format!("/apps/{id}")),
            Some(&admin.token),
            None,
        );
        if r.status != 200 {
            missing.push((id.clone(), r.status));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged apps lost after SIGKILL: {missing:?}",
        missing.len(),
        ids.len()
    );
    let list = server.call(
        "GET",
        &admin.apig("/apps?limit=1"),
        Some(&admin.token),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(
        list.json["total"].as_u64().unwrap() >= ids.len() as u64,
        "{}",
        list.text
    );
}

#[test]
fn restart_keeps_apps_codes_users_projects_and_tokens() {
    let mut server = Server::start();
    let admin = server.admin();
    let bob = server.user_session(&admin, "bob", "projb", "member");
    let app = create_app(
        &server,
        &admin,
        json!({"name": "restart_app", "remark": "kept"}),
    );
    let app_id = app["id"].as_str().unwrap().to_owned();
    let code = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(code.status, 201, "{}", code.text);
    let bob_app = create_app(&server, &bob, json!({"name": "bob_app"}));
    let key = server.call(
        "POST",
        "/v3.0/OS-CREDENTIAL/credentials",
        Some(&admin.token),
        Some(&json!({"credential": {"user_id": admin.user_id, "description": "kept"}})),
    );
    assert_eq!(key.status, 201, "{}", key.text);
    let access = key.json["credential"]["access"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(server.terminate(), Some(0));
    let dir = server.keep_dir();
    let server = Server::start_in(dir.path(), Opts::default()).expect("restart");

    // Old tokens still work, for both users.
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        got.status, 200,
        "old admin token after restart: {}",
        got.text
    );
    assert_eq!(got.json["name"], "restart_app");
    assert_eq!(got.json["remark"], "kept");
    assert_eq!(got.json["app_key"], app["app_key"]);
    assert_eq!(
        got.json["app_secret"], app["app_secret"],
        "secret decrypts to the same value"
    );
    let check = server
        .client
        .head(server.url("/v3/auth/tokens"))
        .header("X-Auth-Token", &admin.token)
        .header("X-Subject-Token", &bob.token)
        .send()
        .unwrap();
    assert_eq!(
        check.status(),
        200,
        "bob's old token validates after restart"
    );
    let b = server.call(
        "GET",
        &bob.apig(&format!("/apps/{}", bob_app["id"].as_str().unwrap())),
        Some(&bob.token),
        None,
    );
    assert_eq!(b.status, 200, "old bob token after restart: {}", b.text);
    assert_eq!(b.json["app_secret"], bob_app["app_secret"]);

    let codes = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(codes.status, 200, "{}", codes.text);
    assert_eq!(codes.json["total"], 1);
    assert_eq!(
        codes.json["app_codes"][0]["app_code"],
        code.json["app_code"]
    );
    assert_eq!(codes.json["app_codes"][0]["id"], code.json["id"]);

    let users = server.call("GET", "/v3/users", Some(&admin.token), None);
    assert_eq!(users.status, 200, "{}", users.text);
    assert!(users.text.contains("\"bob\""), "{}", users.text);
    let projects = server.call("GET", "/v3/projects?name=projb", Some(&admin.token), None);
    assert_eq!(projects.status, 200, "{}", projects.text);
    assert_eq!(
        projects.json["projects"][0]["id"],
        bob.project_id.as_str(),
        "{}",
        projects.text
    );
    let relogin = server.login("bob", "user-password-1", "projb");
    assert_eq!(
        relogin.status, 201,
        "bob logs in after restart: {}",
        relogin.text
    );
    assert_eq!(
        relogin.json["token"]["project"]["id"],
        bob.project_id.as_str()
    );
    let k = server.call(
        "GET",
        &format!("/v3.0/OS-CREDENTIAL/credentials/{access}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(k.status, 200, "access key after restart: {}", k.text);
    let inst = server.call(
        "GET",
        &format!("/v2/{}/apigw/instances", bob.project_id),
        Some(&bob.token),
        None,
    );
    assert_eq!(inst.status, 200, "{}", inst.text);
    assert!(inst.text.contains(&bob.instance_id), "{}", inst.text);
}

#[test]
fn master_key_file_and_wrong_key() {
    let mut server = Server::start();
    let key_path = server.data_dir.join("master.key");
    let meta =
        std::fs::metadata(&key_path).expect("<data-dir>/master.key exists after first start");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "master.key mode");
    let admin = server.admin();
    let app = create_app(
        &server,
        &admin,
        json!({"name": "mk_app", "app_secret": "MasterKeyCheck_1"}),
    );
    assert_eq!(server.terminate(), Some(0));
    let dir = server.keep_dir();

    // Another key cannot open the stored secrets: refuse to start, and say why.
    let other = base64(&random_bytes(32));
    let err = match Server::start_in(dir.path(), Opts::default().env("APIGW_MASTER_KEY", &other)) {
        Ok(_) => panic!("server started with a different master key"),
        Err(e) => e,
    };
    assert!(
        err.to_lowercase().contains("master key"),
        "error should mention the master key:\n{err}"
    );
    assert!(
        err.contains("decrypt"),
        "error should say the key cannot decrypt:\n{err}"
    );

    // The right key (file) still works, and the file was not replaced.
    let server =
        Server::start_in(dir.path(), Opts::default()).expect("restart with the original key");
    let admin = server.admin();
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{}", app["id"].as_str().unwrap())),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["app_secret"], "MasterKeyCheck_1");
}

#[test]
fn master_key_file_flag_creates_the_key_there() {
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("custom-master.key");
    let mut server = Server::start_with(
        Opts::default()
            .arg("--master-key-file")
            .arg(path.to_str().unwrap()),
    );
    let meta = std::fs::metadata(&path).expect("--master-key-file is created");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 44, "32 bytes of base64: {text:?}");
    assert!(
        !server.data_dir.join("master.key").exists(),
        "no default key file next to the explicit one"
    );
    let admin = server.admin();
    let app = create_app(
        &server,
        &admin,
        json!({"name": "flag_app", "app_secret": "FlagKeySecret_1"}),
    );
    assert_eq!(server.terminate(), Some(0));
    let dir = server.keep_dir();
    // Restart with the same file: works; without the flag (a new default key): refused.
    let server = Server::start_in(
        dir.path(),
        Opts::default()
            .arg("--master-key-file")
            .arg(path.to_str().unwrap()),
    )
    .expect("restart with the same key file");
    let admin = server.admin();
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{}", app["id"].as_str().unwrap())),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.json["app_secret"], "FlagKeySecret_1", "{}", got.text);
    drop(server);
    let err = Server::start_in(dir.path(), Opts::default())
        .err()
        .expect("a new default key cannot open the data");
    assert!(err.to_lowercase().contains("master key"), "{err}");
}

#[test]
fn first_start_and_second_start_logs() {
    let mut server = Server::start();
    let log = server.log_text();
    for needle in [
        "first start",
        "created",
        "project admin",
        "user admin",
        "instance default",
    ] {
        assert!(
            log.contains(needle),
            "first-start log lacks {needle:?}:\n{log}"
        );
    }
    assert!(
        !log.contains("generated password"),
        "password came from the environment:\n{log}"
    );
    assert!(
        !log.contains(ADMIN_PASSWORD),
        "the admin password is not echoed:\n{log}"
    );
    assert_eq!(server.terminate(), Some(0));
    let dir = server.keep_dir();
    let server = Server::start_in(dir.path(), Opts::default()).expect("second start");
    let log = server.log_text();
    assert!(
        log.contains("existing installation"),
        "second-start log:\n{log}"
    );
    assert!(
        !log.contains("first start:"),
        "second start is not a first start:\n{log}"
    );
}

#[test]
fn generated_admin_password_is_printed_and_works() {
    let server = Server::start_with(Opts::default().env("APIGW_ADMIN_PASSWORD", ""));
    let log = server.log_text();
    let pw = log
        .lines()
        .find_map(|l| l.split("generated password: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no `generated password: ` line in:\n{log}"))
        .to_owned();
    assert!(pw.len() >= 8, "generated password {pw:?}");
    let r = server.login("admin", &pw, "admin");
    assert_eq!(
        r.status, 201,
        "login with the generated password: {}",
        r.text
    );
    let bad = server.login("admin", ADMIN_PASSWORD, "admin");
    assert_eq!(
        bad.status, 401,
        "the test default password is not the admin's: {}",
        bad.text
    );
}

#[derive(Debug)]
#[allow(dead_code)] // the fields are read through `Debug` in failure messages
enum Outcome {
    /// A response arrived whole (status, body length, sent before SIGTERM and finished after it).
    Complete(u16, usize, bool),
    /// The request got no response (refused or closed before the answer).
    NoResponse,
    /// Headers arrived but the body did not arrive whole or is not the JSON it should be.
    Partial(String),
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut server = Server::start();
    let admin = server.admin();
    for i in 0..10 {
        create_app(&server, &admin, json!({"name": format!("graceful_{i}")}));
    }
    let threads = 20;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    // Milliseconds after `epoch` at which SIGTERM was sent (u64::MAX: not yet).
    let epoch = Instant::now();
    let term_at = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let mut handles = Vec::new();
    for t in 0..threads {
        let barrier = barrier.clone();
        let stop = stop.clone();
        let base = server.base.clone();
        let list = server.url(&admin.apig("/apps"));
        let token = admin.token.clone();
        let term_at = term_at.clone();
        handles.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(40))
                .build()
                .unwrap();
            let login = json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
            .to_string();
            let mut outcomes = Vec::new();
            barrier.wait();
            for i in 0..400 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let is_login = (i + t) % 2 == 0;
                let req = if is_login {
                    client
                        .post(format!("{base}/v3/auth/tokens"))
                        .header("Content-Type", "application/json")
                        .body(login.clone())
                } else {
                    client.get(&list).header("X-Auth-Token", &token)
                };
                let sent_before_term = term_at.load(Ordering::SeqCst) == u64::MAX;
                let Ok(resp) = req.send() else {
                    outcomes.push(Outcome::NoResponse);
                    break;
                };
                let status = resp.status().as_u16();
                let has_token = resp.headers().contains_key("x-subject-token");
                match resp.bytes() {
                    Err(e) => {
                        outcomes.push(Outcome::Partial(format!("status {status}, body error {e}")))
                    }
                    Ok(b) => match serde_json::from_slice::<Value>(&b) {
                        Err(e) => outcomes.push(Outcome::Partial(format!(
                            "status {status}, {} bytes not JSON ({e}): {}",
                            b.len(),
                            String::from_utf8_lossy(&b)
                        ))),
                        Ok(_) if is_login && status == 201 && !has_token => outcomes
                            .push(Outcome::Partial("login 201 without X-Subject-Token".into())),
                        Ok(_) => {
                            let finished_after_term = term_at.load(Ordering::SeqCst) != u64::MAX;
                            outcomes.push(Outcome::Complete(
                                status,
                                b.len(),
                                sent_before_term && finished_after_term,
                            ))
                        }
                    },
                }
            }
            outcomes
        }));
    }
    barrier.wait();
    std::thread::sleep(Duration::from_millis(40));
    term_at.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
    let code = server.terminate();
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<Outcome> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(
        code,
        Some(0),
        "exit code after SIGTERM; log:\n{}",
        server.log_text()
    );
    let partial: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Partial(_)))
        .collect();
    assert!(
        partial.is_empty(),
        "partial responses during shutdown: {partial:?}"
    );
    let bad: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Complete(s, _, _) if *s != 200 && *s != 201))
        .collect();
    assert!(
        bad.is_empty(),
        "unexpected statuses during shutdown: {bad:?}"
    );
    let complete = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Complete(..)))
        .count();
    let straddling = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Complete(_, _, true)))
        .count();
    eprintln!(
        "{complete} complete responses ({straddling} in flight at SIGTERM), {} without response",
        outcomes.len() - complete
    );
    assert!(
        straddling > 0,
        "no request was in flight at SIGTERM; the test proves nothing: {outcomes:?}"
    );
    assert!(
        complete >= threads / 2,
        "only {complete} complete responses"
    );
    let log = server.log_text();
    assert!(log.contains("SIGTERM"), "log mentions the signal:\n{log}");
}

fn run_cli(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .env_remove("APIGW_ADMIN_LISTEN")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn top_level_help_mentions_the_listener_and_data_dir() {
    // What a first-time user sees: the subcommands and where the server listens and keeps data.
    let (code, top) = run_cli(&["--help"]);
    assert_eq!(code, Some(0), "{top}");
    for needle in [
        "serve",
        "call",
        "--admin-listen",
        "--data-dir",
        "APIGW_ADMIN_LISTEN",
    ] {
        assert!(
            top.contains(needle),
            "`apigw --help` lacks {needle:?}:\n{top}"
        );
    }
}

#[test]
fn subcommand_help_lists_flags_and_variables() {
    let (code, serve) = run_cli(&["serve", "--help"]);
    assert_eq!(code, Some(0), "{serve}");
    for needle in [
        "--admin-listen",
        "--data-dir",
        "APIGW_ADMIN_LISTEN",
        "APIGW_DATA_DIR",
        "--master-key-file",
        "--metrics-listen",
        "--access-log",
        "--log-format",
        "--client-header-timeout",
        "--client-body-timeout",
        "--client-send-timeout",
        "--worker-threads",
    ] {
        assert!(
            serve.contains(needle),
            "`apigw serve --help` lacks {needle:?}:\n{serve}"
        );
    }
    // Bad values of the observability and timeout flags are refused before anything starts.
    for (args, says) in [
        (
            &["serve", "--log-format", "xml"][..],
            "possible values: text, json",
        ),
        (
            &["serve", "--metrics-listen", "nope"],
            "invalid socket address",
        ),
        (
            &["serve", "--client-header-timeout", "0s"],
            "must be longer than 0s",
        ),
        (
            &["serve", "--client-body-timeout", "0s"],
            "must be longer than 0s",
        ),
        (
            &["serve", "--client-send-timeout", "0s"],
            "must be longer than 0s",
        ),
        (&["serve", "--worker-threads", "0"], "must be at least 1"),
        (&["serve", "--worker-threads", "many"], "whole number"),
    ] {
        let (code, text) = run_cli(args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
    }
    let (code, call) = run_cli(&["call", "--help"]);
    assert_eq!(code, Some(0), "{call}");
    assert!(call.contains("--dry-run"), "{call}");
}
