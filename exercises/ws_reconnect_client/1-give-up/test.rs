//! Lesson 08, exercise 1: after 3 failed attempts in a row, the client gives up
//! with one line and exit status 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::{Program, Server, bin_path};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_reconnect_client"))
}

fn server_bin() -> PathBuf {
    bin_path("http_ws_server")
}

#[test]
fn three_failures_and_it_gives_up() {
    let mut server = Server::start(&server_bin());
    let mut client = Program::start_interactive(client(), &["--addr", &server.addr]);
    client.wait_for("* guest-1 joined (1 online)");
    server.program.kill();
    let (status, output) = client.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{output:?}");
    let last = output.last().expect("a last line");
    assert!(last.starts_with("error: gave up after 3 attempts"), "{output:?}");
}
