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

/// Page 03's line-by-line table says where the two differ: the Python twin answers a
/// binary message as text, its bytes written out; the Rust first version answers
/// only text (so the first answer to a binary message and then a text one is the
/// text's).
#[test]
fn a_binary_message_is_answered_by_the_python_twin_only() {
    let first_answer = |addr: &str| {
        let (mut stream, _) = testkit::ws::open(addr, "/");
        testkit::ws::send(&mut stream, 0x2, b"\x01\x02", true);
        testkit::ws::send_text(&mut stream, "and text");
        testkit::ws::read_data(&mut stream).text().to_string()
    };
    let rust = Server::start(&bin_path("ws_echo_server_first"));
    assert_eq!(first_answer(&rust.addr), "Server received: and text");
    let page = std::fs::read_to_string(testkit::workspace_root().join("lessons").join(PAGE))
        .expect("page 03");
    assert!(
        page.contains(
            "| a binary message: answered in text, as `b'...'` | `if let Message::Text`: no answer"
        ),
        "page 03 says so"
    );
    if !tools::available("page 03's Python echo server", &[&tools::PY_WEBSOCKETS]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/03_echo_server.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let python = Server::from_program(program, common::WS_ECHO_ADDR);
    assert_eq!(first_answer(&python.addr), r"Server received: b'\x01\x02'");
}
