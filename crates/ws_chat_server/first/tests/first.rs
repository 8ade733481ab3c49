//! Lesson 05's first version (`cargo run -p ws_chat_server_first`), black-box: what
//! the page shows it print, a websocat watcher seeing another websocat's line, and
//! the same program in Python doing the same.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, SCRIPT, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "05-ws-chat-server.md";

/// The page's watcher and talker against the server at `addr`.
fn watch_and_talk(addr: &str) {
    let here = std::env::temp_dir();
    let watcher = block(PAGE, "first-websocat");
    let mut watching =
        tools::terminal(&tools::at(watcher.command(), common::WS_CHAT_ADDR, addr), true);
    // Its own line back shows it is in the room (the first version logs nothing).
    watching.type_keys("hello\r");
    watching.wait_for("guest-1: hello");
    let talker = tools::inline_command(PAGE, "printf 'hi all\\n' | websocat ws://127.0.0.1:5002/");
    let talk = tools::at(talker, common::WS_CHAT_ADDR, addr);
    let (_, _) = tools::shell(&talk, &here).wait_exit(testkit::TIMEOUT);
    watching.wait_for("hi all");
    assert_matches(&watcher, &tools::screen(&watching.output()));
}

#[test]
fn first_version_passes_a_line_on_as_page_05_shows() {
    let mut server = Server::start(&bin_path("ws_chat_server_first"));
    // What it prints as it starts, which the page shows (not what it may print
    // later about the test's clients going away).
    let started = server.program.output();
    if tools::available("page 05's first websocat clients", &[&WEBSOCAT, &SCRIPT]) {
        watch_and_talk(&server.addr);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_does_the_same() {
    if !tools::available("page 05's Python chat", &[&tools::PY_WEBSOCKETS, &WEBSOCAT, &SCRIPT]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/05_chat_server.py");
    testkit::page::record_command("python3 scripts/interop/first/05_chat_server.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, common::WS_CHAT_ADDR);
    // What it prints as it starts, which the page shows; what it logs later about
    // the test's clients (websockets logs a client that hangs up mid-close) is not.
    let started = python.program.output();
    watch_and_talk(&python.addr);
    assert_matches(&block(PAGE, "first-python"), &started);
}

/// Page 05's box on `oneshot` runs a small program of its own; the page shows what
/// it prints, every time (its `select!` is `biased`, so the order is fixed).
#[test]
fn the_oneshot_example_prints_what_page_05_shows() {
    let bin = testkit::example_path("ws_chat_server_first", "ws_chat_server_oneshot");
    testkit::page::record_command(
        "cargo run -p ws_chat_server_first --example ws_chat_server_oneshot",
    );
    let finished = testkit::run(&bin, &[], &[], "", testkit::TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_matches(&block(PAGE, "oneshot"), &finished.stdout_lines());
}
