//! API versions across the schema migration that introduced them: an installation whose APIs
//! were published before it finds each publication kept as the version in force, listed,
//! readable and able to be rolled back to. (The versions themselves are driven through the
//! gateway in `gateway_e2e.rs`.)

mod common;
use common::*;
use serde_json::json;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

#[test]
fn migration_keeps_what_was_published_as_the_version_in_force() {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: this tests a SQLite schema migration");
        return;
    }
    let mut server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);
    let api = server.call(
        "POST",
        &admin.apig("/apis"),
        Some(&admin.token),
        Some(&echo_api_body(&group, "before_versions", 9)),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    let published = server.call(
        "POST",
        &admin.apig("/apis/action"),
        Some(&admin.token),
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE, "remark": "old"})),
    );
    assert_eq!(published.status, 201, "{}", published.text);
    let version_id = published.json["version_id"].as_str().unwrap().to_owned();

    // A database from before 0013: drop what it created and forget it was applied.
    let dir = server.keep_dir();
    assert_eq!(server.terminate(), Some(0));
    let path = server.data_dir.join("apigw.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        for sql in [
            "DROP TABLE api_versions",
            "DELETE FROM _sqlx_migrations WHERE version = 13",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    });

    let server = Server::start_in(dir.path(), Opts::default()).expect("restart");
    let admin = server.admin();
    let listed = server.call(
        "GET",
        &admin.apig(&format!("/apis/publish/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["total"], 1);
    let v = &listed.json["api_versions"][0];
    assert_eq!(v["version_id"], version_id.as_str());
    assert_eq!(
        (v["status"].clone(), v["remark"].clone()),
        (json!(1), json!("old"))
    );
    let detail = server.call(
        "GET",
        &admin.apig(&format!("/apis/versions/{version_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.json["name"], "before_versions");
    let switched = server.call(
        "PUT",
        &admin.apig(&format!("/apis/publish/{api_id}")),
        Some(&admin.token),
        Some(&json!({"version_id": version_id})),
    );
    assert_eq!(switched.status, 200, "{}", switched.text);
}
