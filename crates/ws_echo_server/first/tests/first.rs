//! Lesson 03's first version (`cargo run -p ws_echo_server_first`), black-box: what
//! the page shows it print, wscat's session with it, and the same program in Python
//! (websockets) answering websocat.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, SCRIPT, WEBSOCAT, WSCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "03-ws-echo-server.md";

#[test]
fn first_version_prints_and_answers_wscat_as_page_03_shows() {
    let mut server = Server::start(&bin_path("ws_echo_server_first"));
    // What it prints as it starts, which the page shows (not what it may print
    // later about the test's clients going away).
    let started = server.program.output();
    if tools::available("page 03's first wscat session", &[&WSCAT, &SCRIPT]) {
        tools::check_wscat_session(PAGE, "first-wscat", common::WS_ECHO_ADDR, &server.addr);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_starts_and_answers_as_page_03_shows() {
    if !tools::available("page 03's Python echo server", &[&tools::PY_WEBSOCKETS, &WEBSOCAT]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/03_echo_server.py");
    testkit::page::record_command("python3 scripts/interop/first/03_echo_server.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, common::WS_ECHO_ADDR);
    // What it prints as it starts, which the page shows; what it logs later about
    // the test's clients (websockets logs a client that hangs up mid-close) is not.
    let started = python.program.output();
    tools::check_block(PAGE, "first-python-websocat", common::WS_ECHO_ADDR, &python.addr, true);
    assert_matches(&block(PAGE, "first-python"), &started);
}
