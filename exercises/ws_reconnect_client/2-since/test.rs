//! Lesson 08, exercise 2: catching up asks `GET /api/messages?since=ID`, with the
//! newest id the client has shown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::{Program, Server, TIMEOUT, bin_path};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_reconnect_client"))
}

fn server_bin() -> PathBuf {
    bin_path("http_ws_server")
}

#[test]
fn catching_up_asks_since_the_last_id() {
    let first = Server::start(&server_bin());
    let addr = first.addr.clone();
    let said = testkit::http::post(&addr, "/api/messages", r#"{"name": "curl", "text": "one"}"#);
    assert_eq!(said.status, 201);
    let mut client = Program::start_interactive(client(), &["--addr", &addr]);
    client.wait_for("curl: one");
    client.wait_for("* guest-1 joined (1 online)");
    drop(first);
    client.wait_for("Reconnecting in");
    let mut second = Server::start_with(&server_bin(), &["--addr", &addr], &[]);
    second.program.wait_for_within("GET /api/messages?since=1 -> 200", Duration::from_secs(30));
    client.type_line("/quit");
    client.wait_exit(TIMEOUT);
}
