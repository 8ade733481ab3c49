//! Lesson 12's first version (`cargo run -p ws_login_client_first`), black-box:
//! against lesson 11's server, whose session ends under it as the page shows, and
//! the same program in Python (requests and websocket-client).

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Program, Server, bin_path, tools};

const PAGE: &str = "12-ws-login-client.md";

#[test]
fn first_version_reconnects_into_401_as_page_12_shows() {
    let lesson_11 = bin_path("http_ws_login");
    let server = Server::start_with(&lesson_11, &["--addr", "127.0.0.1:0", "--session", "5"], &[]);
    let shown = block(PAGE, "first");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(shown.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Program::start(&bin_path("ws_login_client_first"), &args);
    // The session ends after 5 s; 5 s later it tries again, with the dead cookie.
    client.wait_for("on_close: 4401");
    client.wait_for_within("on_error: HTTP error: 401", std::time::Duration::from_secs(20));
    let output = client.output();
    client.kill();
    assert_matches(&shown, &output);
}

#[test]
fn first_version_in_python_starts_the_same() {
    let python_tools = [&tools::PY_WEBSOCKET_CLIENT, &tools::PY_REQUESTS];
    if !tools::available("page 12's WebSocketApp with a login", &python_tools) {
        return;
    }
    let server = Server::start(&bin_path("http_ws_login"));
    let script = testkit::workspace_root().join("scripts/interop/first/12_login_client.py");
    testkit::page::record_command("python3 scripts/interop/first/12_login_client.py Ada hello");
    let env = [(common::ADDR_ENV, server.addr.as_str())];
    let args = [script.to_str().expect("UTF-8"), "Ada", "hello"];
    let mut python = Program::start_with(Path::new("python3"), &args, &env);
    python.wait_for(r#""text":"hello"}"#);
    let output = python.output();
    python.kill();
    assert_matches(&block(PAGE, "first-python"), &output);
}
