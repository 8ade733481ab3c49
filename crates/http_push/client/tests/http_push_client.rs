//! Lesson 13's terminal client against lesson 13's server, both as a student runs
//! them: it prints what is said, and after a restart of the server it connects
//! again with the last event id, and is told the history began again.

use std::path::Path;

use testkit::http::post;
use testkit::page::{assert_matches, block};
use testkit::{Program, Server, TIMEOUT, bin_path};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_push_client"))
}

fn say(addr: &str, name: &str, text: &str) {
    let said = post(addr, "/api/messages", &format!(r#"{{"name":"{name}","text":"{text}"}}"#));
    assert_eq!(said.status, 201, "{said:?}");
}

#[test]
fn it_prints_what_is_said_and_comes_back_after_a_restart() {
    let server_bin = bin_path("http_push");
    let mut server = Server::start(&server_bin);
    let addr = server.addr.clone();
    let mut listener = Program::start(client(), &["--addr", &addr]);
    listener.wait_for("* you are guest-1, 1 online");
    say(&addr, "Ann", "hi");
    listener.wait_for("Ann: hi");
    // Ctrl-C ends the stream; a new server on the same port has a new history.
    server.program.interrupt();
    server.program.wait_exit(TIMEOUT);
    listener.wait_for("* the stream ended");
    listener.wait_for("* connecting again in 2 s, from ");
    let again = Server::start_with(&server_bin, &["--addr", &addr], &[]);
    listener.wait_for("* the server restarted: its history began again");
    say(&again.addr, "Bob", "after the restart");
    listener.wait_for("Bob: after the restart");
    again.program.interrupt();
}

#[test]
fn with_nothing_listening_it_says_so_in_one_line() {
    let addr = testkit::free_addr();
    let mut listener = Program::start(client(), &["--addr", &addr]);
    let (status, output) = listener.wait_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1), "{output:?}");
    assert_eq!(output.len(), 1, "{output:?}");
    assert!(output[0].starts_with("error: cannot connect to "), "{output:?}");
    assert!(output[0].ends_with("(is the server running? cargo run -p http_push)"), "{output:?}");
}

/// Page 13's Run it: the client beside the server, a line said with curl.
#[test]
fn page_13_the_client_shows_what_the_page_says() {
    let server = Server::start(&bin_path("http_push"));
    let shown = block("13-http-push.md", "client");
    let mut listener = Program::start(client(), &["--addr", &server.addr]);
    listener.wait_for("* you are");
    say(&server.addr, "Ann", "hi");
    listener.wait_for("Ann: hi");
    testkit::page::record_command(&shown.commands[0]);
    assert_matches(&shown, &listener.output());
}
