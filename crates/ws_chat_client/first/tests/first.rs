//! Lesson 06's first version (`cargo run -p ws_chat_client_first`), black-box: typed
//! at in a terminal against lesson 05's first version as the page shows, and the
//! same program in Python.

use testkit::page::{assert_matches, block};
use testkit::tools::{self, SCRIPT};
use testkit::{Server, bin_path};

const PAGE: &str = "06-ws-chat-client.md";

/// Runs the block's command in a terminal against a fresh first-version server,
/// types `hello`, and checks the screen against the block.
fn type_hello(id: &str) {
    let server = Server::start(&bin_path("ws_chat_server_first"));
    let shown = block(PAGE, id);
    let command = if shown.command().starts_with("python3 ") {
        // The Python program reads its address as the first versions do: LESSON_ADDR.
        testkit::page::record_command(shown.command());
        let root = testkit::workspace_root();
        format!("cd {} && {}={} {}", root.display(), common::ADDR_ENV, server.addr, shown.command())
    } else {
        tools::lesson_command(shown.command(), common::WS_CHAT_ADDR, &server.addr)
    };
    let mut client = tools::terminal(&command, true);
    // Typed before the connection is up, the line waits in the terminal: it is
    // read once the client reads the keyboard, after connecting.
    client.type_keys("hello\r");
    client.wait_for("guest-1: hello");
    assert_matches(&shown, &tools::screen(&client.output()));
}

#[test]
fn first_version_types_and_receives_as_page_06_shows() {
    if tools::available("page 06's first client in a terminal", &[&SCRIPT]) {
        type_hello("first");
    }
}

#[test]
fn first_version_in_python_does_the_same() {
    if tools::available("page 06's Python client", &[&tools::PY_WEBSOCKETS, &SCRIPT]) {
        type_hello("first-python");
    }
}
