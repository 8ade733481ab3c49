//! Lesson 07's first version (`cargo run -p http_ws_server_first`), black-box: what
//! the page shows it print, a line said with websocat and read back with curl, and
//! the same program in Python doing the same.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, CURL, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "07-http-ws-server.md";

/// The page's websocat line, then its curl, against the server at `addr`.
fn say_and_ask(addr: &str) {
    let say = tools::inline_command(
        PAGE,
        r#"printf '{"type":"chat","text":"hello"}\n' | websocat --linemode-strip-newlines ws://127.0.0.1:5003/ws"#,
    );
    let say = tools::at(say, common::HTTP_WS_ADDR, addr);
    let (status, _) = tools::shell(&say, &std::env::temp_dir()).wait_exit(testkit::TIMEOUT);
    assert!(status.success(), "{say}");
    // The line is kept when the server reads it, which may be a moment after
    // websocat has sent it and gone: ask until it is there.
    let deadline = std::time::Instant::now() + testkit::TIMEOUT;
    while testkit::http::get(addr, "/api/messages").body == "[]" {
        assert!(std::time::Instant::now() < deadline, "the line never reached the history");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    tools::check_block(PAGE, "first-curl", common::HTTP_WS_ADDR, addr, true);
}

#[test]
fn first_version_keeps_and_answers_what_page_07_shows() {
    let mut server = Server::start(&bin_path("http_ws_server_first"));
    // What it prints as it starts, which the page shows (not what it may print
    // later about the test's clients going away).
    let started = server.program.output();
    if tools::available("page 07's first websocat and curl", &[&WEBSOCAT, &CURL]) {
        say_and_ask(&server.addr);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_does_the_same() {
    if !tools::available("page 07's Python server", &[&tools::PY_WEBSOCKETS, &WEBSOCAT, &CURL]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/07_page_api_chat.py");
    testkit::page::record_command("python3 scripts/interop/first/07_page_api_chat.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, common::HTTP_WS_ADDR);
    // What it prints as it starts, which the page shows; what it logs later about
    // the test's clients (websockets logs a client that hangs up mid-close) is not.
    let started = python.program.output();
    say_and_ask(&python.addr);
    assert_matches(&block(PAGE, "first-python"), &started);
}
