//! Failed password logins are throttled per user name and per client address: after the limit,
//! even the right password gets 429 `APIG.0308` until the window has passed.

mod common;
use common::*;

#[test]
fn brute_force_meets_429_and_the_window_releases_it() {
    let server = Server::start_with(
        Opts::default()
            .arg("--login-failure-limit")
            .arg("3")
            .arg("--login-failure-window")
            .arg("2s"),
    );
    for _ in 0..3 {
        server
            .login("admin", "wrong-password", "admin")
            .assert_error(401, "APIG.1002", None);
    }
    let blocked = server.login("admin", ADMIN_PASSWORD, "admin");
    blocked.assert_error(
        429,
        "APIG.0308",
        Some("The throttling threshold has been reached."),
    );
    assert_eq!(blocked.json["error"]["code"], 429);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let ok = server.login("admin", ADMIN_PASSWORD, "admin");
    assert_eq!(ok.status, 201, "{}", ok.text);
}
