//! Lesson 02's first version (`cargo run -p http_client_first`), black-box: against
//! lesson 01's first version as the page shows, the same program in Python
//! (requests), and what it does against a server that closes after each answer.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Program, Server, TIMEOUT, bin_path, run, tools};

const PAGE: &str = "02-http-client.md";

#[test]
fn first_version_prints_what_page_02_shows() {
    let server = Server::start(&bin_path("http_server_first"));
    let client = run(&bin_path("http_client_first"), &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(client.status.success(), "{client:?}");
    assert_matches(&block(PAGE, "first"), &client.stdout_lines());
}

#[test]
fn first_version_in_python_prints_the_same() {
    if !tools::available("page 02's requests program", &[&tools::PY_REQUESTS]) {
        return;
    }
    let server = Server::start(&bin_path("http_server_first"));
    let script = testkit::workspace_root().join("scripts/interop/first/02_two_calls.py");
    testkit::page::record_command("python3 scripts/interop/first/02_two_calls.py");
    let env = [(common::ADDR_ENV, server.addr.as_str())];
    let python = run(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env, "", TIMEOUT);
    assert!(python.status.success(), "{python:?}");
    assert_matches(&block(PAGE, "first-python"), &python.stdout_lines());
}

/// Page 02 shows the keep-alive in lesson 01's full server's log: both programs'
/// two requests come on one connection.
#[test]
fn both_first_versions_send_their_two_requests_on_one_connection() {
    let python = tools::available("page 02's requests program", &[&tools::PY_REQUESTS]);
    let script = testkit::workspace_root().join("scripts/interop/first/02_two_calls.py");
    let rust = (bin_path("http_client_first"), vec![]);
    let twin =
        (Path::new("python3").to_path_buf(), vec![script.to_str().expect("UTF-8").to_string()]);
    for (program, args) in if python { vec![rust, twin] } else { vec![rust] } {
        let mut server = Server::start(&bin_path("http_server"));
        let env = [(common::ADDR_ENV, server.addr.as_str())];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let client = run(&program, &args, &env, "", TIMEOUT);
        assert!(client.status.success(), "{client:?}");
        server.program.wait_for("conn #1 req #2");
        let log = server.program.output();
        assert_matches(&block(PAGE, "first-keep-alive"), &log);
    }
}

/// The page says: against a server that answers `Connection: close` (Flask's), the
/// first version panics on its second request, and requests does not.
#[test]
fn first_version_against_flask_panics_on_the_second_request() {
    if !tools::available("page 02's Flask comparison", &[&tools::PY_FLASK, &tools::PY_REQUESTS]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/01_hello.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let mut flask =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let line = flask.wait_for(" * Running on http://");
    let addr = line.rsplit("http://").next().expect("an address").trim().to_string();
    let rust = run(&bin_path("http_client_first"), &["--addr", &addr], &[], "", TIMEOUT);
    assert!(!rust.status.success(), "{rust:?}");
    assert_eq!(rust.stdout, "200 OK: Hello, World!\n", "{rust:?}");
    assert!(rust.stderr.contains("ChannelClosed"), "{}", rust.stderr);
    let python = testkit::workspace_root().join("scripts/interop/first/02_two_calls.py");
    let env = [(common::ADDR_ENV, addr.as_str())];
    let python = run(Path::new("python3"), &[python.to_str().expect("UTF-8")], &env, "", TIMEOUT);
    assert_eq!(python.stdout, "200 OK: Hello, World!\n200 OK: Hello, World!\n", "{python:?}");
}
