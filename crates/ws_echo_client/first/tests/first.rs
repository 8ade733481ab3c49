//! Lesson 04's first version (`cargo run -p ws_echo_client_first`), black-box:
//! against lesson 03's first version as the page shows, the same program in Python,
//! and the two failures the page names.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run, tools};

const PAGE: &str = "04-ws-echo-client.md";

fn client() -> std::path::PathBuf {
    bin_path("ws_echo_client_first")
}

#[test]
fn first_version_prints_what_page_04_shows() {
    let server = Server::start(&bin_path("ws_echo_server_first"));
    let shown = block(PAGE, "first");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(shown.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = run(&client(), &args, &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_matches(&shown, &finished.stdout_lines());
}

#[test]
fn first_version_in_python_prints_the_same() {
    if !tools::available("page 04's Python client", &[&tools::PY_WEBSOCKETS]) {
        return;
    }
    let server = Server::start(&bin_path("ws_echo_server_first"));
    let script = testkit::workspace_root().join("scripts/interop/first/04_client.py");
    testkit::page::record_command("python3 scripts/interop/first/04_client.py hello");
    let env = [(common::ADDR_ENV, server.addr.as_str())];
    let args = [script.to_str().expect("UTF-8"), "hello"];
    let python = run(Path::new("python3"), &args, &env, "", TIMEOUT);
    assert!(python.status.success(), "{python:?}");
    assert_matches(&block(PAGE, "first-python"), &python.stdout_lines());
}

/// The page says: with no server, the first version panics; the full lesson says
/// so in one line.
#[test]
fn first_version_panics_where_the_lesson_says_one_line() {
    let nobody = testkit::free_addr();
    let first = run(&client(), &["--addr", &nobody], &[], "", TIMEOUT);
    assert_eq!(first.status.code(), Some(101), "{first:?}");
    assert!(first.stderr.contains("panicked") && first.stderr.contains("Connection refused"));
    let line = testkit::one_error_line(&bin_path("ws_echo_client"), &["--addr", &nobody]);
    assert!(line.contains("is the server running?"), "{line}");
}
