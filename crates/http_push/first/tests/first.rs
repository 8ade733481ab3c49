//! Lesson 13's first version (`cargo run -p http_push_first`), black-box: what the
//! page shows it print, the event stream read with `curl -N` while curl says a line
//! in another terminal, and the same program in Python doing the same.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, CURL};
use testkit::{Program, Server, TIMEOUT, bin_path};

const PAGE: &str = "13-http-push.md";
const ADDR: &str = common::PUSH_ADDR;

/// The page's two terminals: `curl -N` on the event stream, then, once the server
/// has it in the room, a line said with `curl --json`; what each one shows.
fn hear_and_say(server: &mut Server) {
    let addr = server.addr.clone();
    let listen = block(PAGE, "first-events");
    let mut curl = tools::terminal(&tools::at(listen.command(), ADDR, &addr), false);
    server.program.wait_for("hears the room as events");
    tools::check_block(PAGE, "first-say", ADDR, &addr, true);
    let mut heard = Vec::new();
    while heard.len() < listen.output.len() {
        let line = curl.next_line(TIMEOUT).expect("curl prints the event");
        heard.push(tools::back(&tools::plain(&line), ADDR, &addr));
    }
    curl.kill();
    assert_matches(&listen, &heard);
}

#[test]
fn first_version_streams_what_page_13_shows() {
    let mut server = Server::start(&bin_path("http_push_first"));
    // What it prints as it starts, which the page shows.
    let started = server.program.output();
    assert_matches(&block(PAGE, "first"), &started);
    if tools::available("page 13's curl -N", &[&CURL]) {
        hear_and_say(&mut server);
    }
}

#[test]
fn first_version_in_python_does_the_same() {
    if !tools::available("page 13's Python server", &[&tools::PY_AIOHTTP, &CURL]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/13_events.py");
    testkit::page::record_command("python3 scripts/interop/first/13_events.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, ADDR);
    let started = python.program.output();
    assert_matches(&block(PAGE, "first-python"), &started);
    hear_and_say(&mut python);
}
