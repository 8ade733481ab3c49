//! Lesson 08, exercise 3: with `--log FILE`, every chat line the client shows is
//! also appended to FILE.

use std::path::{Path, PathBuf};

use testkit::{Program, Server, TIMEOUT, bin_path};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_reconnect_client"))
}

fn server_bin() -> PathBuf {
    bin_path("http_ws_server")
}

#[test]
fn chat_lines_go_to_the_log_file_too() {
    let server = Server::start(&server_bin());
    let log = std::env::temp_dir().join(format!("lesson08-log-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let said = testkit::http::post(&server.addr, "/api/messages", r#"{"name": "curl", "text": "one"}"#);
    assert_eq!(said.status, 201);
    let log_arg = log.to_str().expect("a UTF-8 path");
    let mut client =
        Program::start_interactive(client(), &["--addr", &server.addr, "--log", log_arg]);
    client.wait_for("curl: one");
    client.type_line("two");
    client.wait_for("guest-1: two");
    client.type_line("/quit");
    let (status, _) = client.wait_exit(TIMEOUT);
    assert!(status.success());
    let text = std::fs::read_to_string(&log).expect("the log file");
    assert_eq!(text, "curl: one\nguest-1: two\n");
    let _ = std::fs::remove_file(&log);
}
