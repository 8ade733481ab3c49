//! Lesson 04, exercise 1: each argument is a message of its own, each answer printed.

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn each_argument_is_a_message() {
    let server = Server::start(&bin_path("ws_echo_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_echo_client"));
    let finished = run(client, &["--addr", &server.addr, "one", "two"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    let lines: Vec<&str> = finished
        .stdout
        .lines()
        .filter(|l| l.starts_with("  Sent:") || l.starts_with("  Received:"))
        .collect();
    assert_eq!(
        lines,
        [
            "  Sent:      one",
            "  Received:  Server received: one",
            "  Sent:      two",
            "  Received:  Server received: two"
        ]
    );
}
