//! Black-box harness: starts the real `apigw` binary with a fresh data directory, its management
//! API on a port the system picks (read from the server's log), waits for `/health`, and offers a small HTTP client with token and AK/SK helpers.
#![allow(dead_code)]

use reqwest::blocking::{Client, Response};
use reqwest::Method;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub use apigw_store::test_db::TestDatabase;

/// Password of the bootstrap admin in every test server.
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// The port in the first line of a server log that has `marker` (text or JSON lines), as
/// `127.0.0.1:<port>`: where a listener given port 0 listens.
fn port_logged(log: &str, marker: &str) -> Option<u16> {
    let line = log.lines().find(|l| l.contains(marker))?;
    let at = line.find("127.0.0.1:")? + "127.0.0.1:".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `apigw serve` process. Killed (SIGKILL) on drop unless stopped first.
pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    pub base: String,
    pub client: Client,
    pub log: PathBuf,
    /// The PostgreSQL database when the suite runs on PostgreSQL (`APIGW_TEST_DATABASE`).
    pub db: Option<Arc<TestDatabase>>,
    _tmp: Option<tempfile::TempDir>,
}

/// A data directory kept beyond its server (for restarts), with its database.
pub struct KeptDir {
    tmp: tempfile::TempDir,
    _db: Option<Arc<TestDatabase>>,
}

impl KeptDir {
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
}

/// The PostgreSQL database of each data directory, so a restart on a directory finds its data.
static DATABASES: Mutex<Vec<(PathBuf, Weak<TestDatabase>)>> = Mutex::new(Vec::new());

/// The database for data directory `dir`: the one it already has, or a new one.
fn database_for(dir: &Path) -> Arc<TestDatabase> {
    let mut all = DATABASES.lock().unwrap();
    all.retain(|(_, db)| db.strong_count() > 0);
    if let Some(db) = all
        .iter()
        .find(|(d, _)| d == dir)
        .and_then(|(_, db)| db.upgrade())
    {
        return db;
    }
    let db = Arc::new(TestDatabase::create());
    all.push((dir.to_path_buf(), Arc::downgrade(&db)));
    db
}

/// Whether this run of the suite uses PostgreSQL.
pub fn on_postgres() -> bool {
    apigw_store::test_db::postgres_selected()
}

/// Options for starting a server.
#[derive(Default, Clone)]
pub struct Opts {
    /// Extra command-line arguments for `apigw serve`.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Opts {
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_owned());
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_apigw")
}

impl Server {
    /// Starts a server with a fresh temporary data directory.
    pub fn start() -> Server {
        Self::start_with(Opts::default())
    }

    pub fn start_with(opts: Opts) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, opts).expect("server starts");
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing data directory (for restarts). Err(log) if it exits early.
    pub fn start_in(dir: &Path, opts: Opts) -> Result<Server, String> {
        // Each start its own log (a restart on the same directory keeps the earlier ones).
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("server-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin());
        let db = on_postgres().then(|| database_for(dir));
        if let Some(db) = &db {
            // Several nodes share one database and one key: the key lives in the data dir
            // (where SQLite keeps it by default), named explicitly as PostgreSQL requires.
            cmd.env("APIGW_DATABASE_URL", &db.url)
                .env("APIGW_MASTER_KEY_FILE", dir.join("master.key"));
        }
        cmd.arg("serve")
            // Port 0: the server binds a port the system picks and logs it. A port picked here
            // and bound later by the server could be taken in between by a server of another
            // test, whose answers this harness would then read as its own.
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir)
            .args(&opts.args)
            .env("APIGW_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("APIGW_MASTER_KEY")
            .env("APIGW_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn apigw");
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut port = None;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("apigw exited early with {status}:\n{text}"));
            }
            if port.is_none() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                port = port_logged(&text, "management API listening");
            }
            if let Some(port) = port {
                let health = client.get(format!("http://127.0.0.1:{port}/health")).send();
                if health.is_ok_and(|r| r.status() == 200) {
                    break;
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("apigw did not become healthy");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = port.expect("port read from the log");
        let base = format!("http://127.0.0.1:{port}");
        Ok(Server {
            child: Some(child),
            port,
            data_dir: dir.to_path_buf(),
            base,
            client,
            log,
            db,
            _tmp: None,
        })
    }

    /// The port of the listener whose start-up log line has `marker` (e.g. `"gateway listening
    /// (HTTPS)"`): for listeners given port 0, so that no other test's server can take the
    /// port between picking and binding it.
    pub fn port_of(&self, marker: &str) -> u16 {
        let log = self.log_text();
        port_logged(&log, marker).unwrap_or_else(|| panic!("no {marker:?} in the log:\n{log}"))
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("apigw did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Takes the temporary directory out so the data survives this server (for restarts).
    pub fn keep_dir(&mut self) -> KeptDir {
        KeptDir {
            tmp: self._tmp.take().expect("temporary data dir"),
            _db: self.db.clone(),
        }
    }

    /// The URL of the server's database (SQLite file or PostgreSQL database).
    pub fn db_url(&self) -> String {
        match &self.db {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("apigw.db").display()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A raw request with optional token and JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            self.url(path),
        );
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        Reply::from(req.send().expect("request sent"))
    }

    /// A request with a raw body string.
    pub fn call_raw(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
        let req = self
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        let req = match token {
            Some(t) => req.header("X-Auth-Token", t),
            None => req,
        };
        Reply::from(req.send().expect("request sent"))
    }

    /// Logs in with a password and project name; returns the reply (201 + X-Subject-Token on success).
    pub fn login(&self, user: &str, password: &str, project: &str) -> Reply {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password, "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}});
        self.call("POST", "/v3/auth/tokens", None, Some(&body))
    }

    /// An admin session on project `admin`.
    pub fn admin(&self) -> Session {
        let r = self.login("admin", ADMIN_PASSWORD, "admin");
        assert_eq!(r.status, 201, "admin login: {}", r.text);
        Session::from_login(self, &r)
    }

    /// Creates a project (as `admin`), a user with `role` on it, and logs that user in.
    pub fn user_session(&self, admin: &Session, user: &str, project: &str, role: &str) -> Session {
        let p = self.call(
            "POST",
            "/v3/projects",
            Some(&admin.token),
            Some(&json!({"project": {"name": project, "domain_id": "default"}})),
        );
        let project_id = if p.status == 201 {
            p.json["project"]["id"].as_str().unwrap().to_owned()
        } else {
            let l = self.call(
                "GET",
                &format!("/v3/projects?name={project}"),
                Some(&admin.token),
                None,
            );
            l.json["projects"][0]["id"]
                .as_str()
                .expect("project exists")
                .to_owned()
        };
        let u = self.call("POST", "/v3/users", Some(&admin.token),
            Some(&json!({"user": {"name": user, "password": "user-password-1", "domain_id": "default", "default_project_id": project_id}})));
        assert_eq!(u.status, 201, "create user: {}", u.text);
        let user_id = u.json["user"]["id"].as_str().unwrap().to_owned();
        let a = self.call(
            "PUT",
            &format!("/v3/projects/{project_id}/users/{user_id}/roles/{role}"),
            Some(&admin.token),
            None,
        );
        assert_eq!(a.status, 204, "assign role: {}", a.text);
        let r = self.login(user, "user-password-1", project);
        assert_eq!(r.status, 201, "user login: {}", r.text);
        Session::from_login(self, &r)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A logged-in user: token, project id, user id and the project's default instance id.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub project_id: String,
    pub user_id: String,
    pub instance_id: String,
}

impl Session {
    pub fn from_login(server: &Server, r: &Reply) -> Session {
        let token = r
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_owned();
        let project_id = r.json["token"]["project"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let user_id = r.json["token"]["user"]["id"].as_str().unwrap().to_owned();
        let list = server.call(
            "GET",
            &format!("/v2/{project_id}/apigw/instances"),
            Some(&token),
            None,
        );
        let instance_id = list.json["instances"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["instance_name"] == "default"))
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .unwrap_or_default();
        Session {
            token,
            project_id,
            user_id,
            instance_id,
        }
    }

    /// `/v2/{project}/apigw/instances/{instance}` + `rest`.
    pub fn apig(&self, rest: &str) -> String {
        format!(
            "/v2/{}/apigw/instances/{}{}",
            self.project_id, self.instance_id, rest
        )
    }

    /// `/v2/{project}/apic/instances/{instance}` + `rest` (ROMA Connect).
    pub fn roma(&self, rest: &str) -> String {
        format!(
            "/v2/{}/apic/instances/{}{}",
            self.project_id, self.instance_id, rest
        )
    }

    /// `/v1/{project}/app-auth` + `rest` (ModelArts).
    pub fn modelarts(&self, rest: &str) -> String {
        format!("/v1/{}/app-auth{}", self.project_id, rest)
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl From<Response> for Reply {
    fn from(r: Response) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an APIG error: status, code and (when given) exact message; also X-Request-Id.
    pub fn assert_error(&self, status: u16, code: &str, message: Option<&str>) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.json["error_code"], code, "code of {}", self.text);
        if let Some(m) = message {
            assert_eq!(self.json["error_msg"], m, "message of {}", self.text);
        }
        let rid = self.header("x-request-id").expect("X-Request-Id on errors");
        assert_eq!(rid.len(), 32);
    }
}

/// The APIG 400 message for a parameter.
pub fn invalid(field: &str) -> String {
    format!(
        "Invalid parameter value,parameterName:{field}. Please refer to the support documentation"
    )
}

/// A real HTTP/1.1 backend on loopback that answers every request with a JSON echo of its
/// method, path (with query), headers and body; keeps connections alive like a real server.
/// A request with `X-Echo-Allow-Origin: O` is answered with `Access-Control-Allow-Origin: O`
/// (a backend that does CORS itself).
pub struct EchoBackend {
    pub port: u16,
    /// Requests answered so far (health probes apart).
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The gateway's health probes answered so far (`User-Agent: apigw-health-check`).
    pub probes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl EchoBackend {
    pub fn start() -> EchoBackend {
        Self::start_on("127.0.0.1")
    }

    /// An echo backend on loopback address `ip` (any of 127.0.0.0/8): several backends
    /// told apart by their address, as the servers of a VPC channel are.
    pub fn start_on(ip: &str) -> EchoBackend {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let probes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (counted, probed) = (hits.clone(), probes.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (counted, probed) = (counted.clone(), probed.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut out = stream;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_owned();
                        let target = parts.next().unwrap_or_default().to_owned();
                        let mut headers = serde_json::Map::new();
                        let mut length = 0usize;
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                let k = k.trim().to_ascii_lowercase();
                                if k == "content-length" {
                                    length = v.trim().parse().unwrap_or(0);
                                }
                                headers.insert(k, Value::String(v.trim().to_owned()));
                            }
                        }
                        let mut body = vec![0u8; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        // A backend with CORS fields of its own, when asked for them.
                        let own_cors = headers
                            .get("x-echo-allow-origin")
                            .and_then(Value::as_str)
                            .map(|o| format!("Access-Control-Allow-Origin: {o}\r\n"))
                            .unwrap_or_default();
                        let echo = json!({
                            "method": method,
                            "path": target,
                            "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        })
                        .to_string();
                        // A status of the caller's choosing (`X-Echo-Status`), else 200.
                        let status = headers
                            .get("x-echo-status")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse::<u16>().ok())
                            .unwrap_or(200);
                        let response = format!(
                            "HTTP/1.1 {status} Echo\r\nContent-Type: application/json\r\n{own_cors}Content-Length: {}\r\n\r\n{}",
                            echo.len(),
                            echo
                        );
                        let probe = headers.get("user-agent").and_then(Value::as_str)
                            == Some("apigw-health-check");
                        let counter = if probe { &probed } else { &counted };
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if out.write_all(response.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        EchoBackend { port, hits, probes }
    }
}

/// A server with a plain-HTTP gateway listener, and that listener's base URL.
pub fn server_with_plain_gateway() -> (Server, String) {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0"),
    );
    let port = server.port_of("gateway listening (plain HTTP)");
    (server, format!("http://127.0.0.1:{port}"))
}

/// The body of an APP-auth API `GET /echo/{name}` (AppCode in a header allowed) in `group`,
/// proxied to the loopback backend on `port` at `/backend/{name}`.
pub fn echo_api_body(group: &str, name: &str, port: u16) -> Value {
    json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": "/echo/{name}", "auth_type": "APP",
        "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "HTTP",
        "backend_api": {"url_domain": format!("127.0.0.1:{port}"),
                        "req_protocol": "HTTP", "req_method": "GET",
                        "req_uri": "/backend/{name}", "timeout": 5000},
        "backend_params": [{"name": "name", "value": "name", "location": "PATH", "origin": "REQUEST"}]
    })
}

// ---- shared assertions and shortcuts of the black-box suites ----

/// Whether `v` is a string of `pattern`'s shape (`D` stands for any digit).
pub fn shaped(v: &Value, pattern: &str) -> bool {
    let Some(s) = v.as_str() else { return false };
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| {
            if p == b'D' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

/// An RFC 3339 UTC time with nanoseconds, as create and update answers show.
pub fn is_nanos_time(v: &Value) -> bool {
    shaped(v, "DDDD-DD-DDTDD:DD:DD.DDDDDDDDDZ")
}

/// An RFC 3339 UTC time in whole seconds, as reads show.
pub fn is_seconds_time(v: &Value) -> bool {
    shaped(v, "DDDD-DD-DDTDD:DD:DDZ")
}

/// A nanosecond time cut to the whole-second form reads show.
pub fn to_seconds(v: &Value) -> String {
    format!("{}Z", &v.as_str().unwrap()[..19])
}

/// The `APIG.3004` message for app `id`.
pub fn app_missing(id: &str) -> String {
    format!("App {id} does not exist")
}

/// Runs `sql` on the server's database (either backend) and hands the rows to `read`.
pub fn db_rows<T>(server: &Server, sql: &str, read: impl Fn(&sqlx::any::AnyRow) -> T) -> Vec<T> {
    let url = server.db_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        rows.iter().map(read).collect()
    })
}

/// Runs one scalar query on the server's database.
pub fn db_scalar(server: &Server, sql: &str) -> i64 {
    use sqlx::Row;
    db_rows(server, sql, |r| r.try_get::<i64, _>(0).unwrap())[0]
}

/// Column 0 (as text) of every row of `sql` on the server's database.
pub fn db_texts(server: &Server, sql: &str) -> Vec<String> {
    use sqlx::Row;
    db_rows(server, sql, |r| r.try_get::<String, _>(0).unwrap())
}

/// Management calls of one session, for the suites of policies bound to published APIs.
pub struct Mgmt<'a> {
    pub server: &'a Server,
    pub s: &'a Session,
}

impl Mgmt<'_> {
    /// `method` on the session's instance path `path`.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.server
            .call(method, &self.s.apig(path), Some(&self.s.token), body)
    }

    /// An APP API `name` at `GET uri` (one `{name}` segment), published in RELEASE: (api id,
    /// publication record id).
    pub fn published_api(&self, name: &str, uri: &str) -> (String, String) {
        let groups = self.call("GET", "/api-groups", None);
        let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
        let mut body = echo_api_body(&group, name, 9);
        body["req_uri"] = json!(uri);
        let api = self.call("POST", "/apis", Some(&body));
        assert_eq!(api.status, 201, "{}", api.text);
        let api_id = api.json["id"].as_str().unwrap().to_owned();
        let publish_id = self.publish(&api_id);
        (api_id, publish_id)
    }

    /// Publishes API `api_id` in RELEASE: the publication record's id.
    pub fn publish(&self, api_id: &str) -> String {
        let published = self.call(
            "POST",
            "/apis/action",
            Some(&json!({"action": "online", "api_id": api_id,
                "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})),
        );
        assert_eq!(published.status, 201, "{}", published.text);
        published.json["publish_id"].as_str().unwrap().to_owned()
    }
}

impl Mgmt<'_> {
    /// A new group `shop` with one API published in RELEASE: any method on `/echo...` (both
    /// protocols, no authentication) → `backend` at `/backend...`; the group's and the API's
    /// ids.
    pub fn shop_group(&self, backend: &EchoBackend) -> (String, String) {
        let group = self.call("POST", "/api-groups", Some(&json!({"name": "shop"})));
        assert_eq!(group.status, 201, "{}", group.text);
        let group_id = group.json["id"].as_str().unwrap().to_owned();
        let api = self.call(
            "POST",
            "/apis",
            Some(&json!({
                "group_id": group_id, "name": "shop_echo", "type": 1, "req_protocol": "BOTH",
                "req_method": "ANY", "req_uri": "/echo", "match_mode": "SWA", "auth_type": "NONE",
                "backend_type": "HTTP",
                "backend_api": {"url_domain": format!("127.0.0.1:{}", backend.port),
                                "req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/backend",
                                "timeout": 5000}
            })),
        );
        assert_eq!(api.status, 201, "{}", api.text);
        let api_id = api.json["id"].as_str().unwrap().to_owned();
        self.publish(&api_id);
        (group_id, api_id)
    }
}

/// Sleeps past the end of the current wall-clock window of `window_ms` when no more than
/// `margin_ms` of it are left (throttling windows start on the epoch's multiples), so a test's
/// calls all fall in one window.
pub fn away_from_window_end(window_ms: u64, margin_ms: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let left = window_ms - (now.as_millis() % u128::from(window_ms)) as u64;
    if left <= margin_ms {
        std::thread::sleep(std::time::Duration::from_millis(left + 20));
    }
}

/// The leaf certificate (DER) the HTTPS listener presents to a new connection asking for
/// `name` (SNI; the name resolves to the listener's address).
pub fn presented_for_name(https: &str, name: Option<&str>) -> Vec<u8> {
    let mut client = Client::builder()
        .danger_accept_invalid_certs(true)
        .tls_info(true);
    let mut url = format!("{https}/any");
    if let Some(name) = name {
        let addr: std::net::SocketAddr = https.trim_start_matches("https://").parse().unwrap();
        client = client.resolve(name, addr);
        url = format!("https://{name}:{}/any", addr.port());
    }
    let response = client.build().unwrap().get(url).send().expect("handshake");
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS info");
    info.peer_certificate().expect("a certificate").to_vec()
}

/// The DER of the first certificate of a PEM text.
pub fn der_of(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// The id of the `DEFAULT` API group of `s`'s instance.
pub fn default_group(server: &Server, s: &Session) -> String {
    let groups = server.call("GET", &s.apig("/api-groups"), Some(&s.token), None);
    groups.json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["is_default"] == 1)
        .expect("DEFAULT group")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
