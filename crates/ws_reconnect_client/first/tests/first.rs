//! Lesson 08's first version (`cargo run -p ws_reconnect_client_first`), black-box:
//! against lesson 07's first version, stopped and started again as the page shows,
//! and the same program in Python (websocket-client's WebSocketApp).

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Program, Server, bin_path, tools};

const PAGE: &str = "08-ws-reconnect-client.md";

#[test]
fn first_version_comes_back_after_a_restart_as_page_08_shows() {
    let server_bin = bin_path("http_ws_server_first");
    // Started again on the same port: a port no connection can take meanwhile.
    let server = Server::start_with(&server_bin, &["--addr", &testkit::free_addr()], &[]);
    let addr = server.addr.clone();
    let shown = block(PAGE, "first");
    let mut args = vec!["--addr".to_string(), addr.clone()];
    args.extend(shown.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Program::start(&bin_path("ws_reconnect_client_first"), &args);
    client.wait_for(r#"on_message: {"type":"chat","id":1,"from":"guest-1","text":"hello"}"#);
    // Ctrl-C: the first version has no handler for it, so it just stops.
    server.program.interrupt();
    client.wait_for("on_close");
    drop(server);
    // Started again on the same port within the 5 s: the next try finds it.
    let again = Server::start_with(&server_bin, &["--addr", &addr], &[]);
    client.wait_for(r#"on_message: {"type":"chat","id":1,"from":"guest-1","text":"hello"}"#);
    let output = client.output();
    client.kill();
    assert_matches(&shown, &output);
    drop(again);
}

#[test]
fn first_version_in_python_starts_the_same() {
    if !tools::available("page 08's WebSocketApp", &[&tools::PY_WEBSOCKET_CLIENT]) {
        return;
    }
    let server = Server::start(&bin_path("http_ws_server_first"));
    let script = testkit::workspace_root().join("scripts/interop/first/08_app_client.py");
    testkit::page::record_command("python3 scripts/interop/first/08_app_client.py hello");
    let env = [(common::ADDR_ENV, server.addr.as_str())];
    let args = [script.to_str().expect("UTF-8"), "hello"];
    let mut python = Program::start_with(Path::new("python3"), &args, &env);
    python.wait_for(r#""text":"hello"}"#);
    let output = python.output();
    python.kill();
    assert_matches(&block(PAGE, "first-python"), &output);
}
