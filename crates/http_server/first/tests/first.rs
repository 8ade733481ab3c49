//! Lesson 01's first version (`cargo run -p http_server_first`), black-box: what the
//! page shows it print, curl's view of it, and the same program in Python (Flask).

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Program, Server, bin_path, tools};

const PAGE: &str = "01-http-server.md";

#[test]
fn first_version_prints_and_answers_what_page_01_shows() {
    let mut server = Server::start(&bin_path("http_server_first"));
    // What it prints as it starts, which the page shows (not what it may print
    // later about the test's clients going away).
    let started = server.program.output();
    if tools::available("page 01's first curl", &[&tools::CURL]) {
        tools::check_block(PAGE, "first-curl", common::HTTP_ADDR, &server.addr, true);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_starts_as_page_01_shows_and_answers_the_same() {
    if !tools::available("page 01's Flask program", &[&tools::PY_FLASK]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/01_hello.py");
    let script = script.to_str().expect("a UTF-8 path");
    testkit::page::record_command("python3 scripts/interop/first/01_hello.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let mut flask = Program::start_with(Path::new("python3"), &[script], &env);
    let line = flask.wait_for(" * Running on http://");
    let addr = line.rsplit("http://").next().expect("an address").trim().to_string();
    // The banner's last line, which may come a moment after the address.
    flask.wait_for("Press CTRL+C to quit");
    testkit::page::map_address(&addr, common::HTTP_ADDR);
    // Flask and the first version answer `/` alike.
    let answer = testkit::http::get(&addr, "/");
    assert_eq!((answer.status, answer.body.as_str()), (200, "Hello, World!\n"));
    let mut output = flask.output();
    output.retain(|line| !line.contains("\"GET / HTTP/1.1\""));
    assert_matches(&block(PAGE, "first-python"), &output);
}
