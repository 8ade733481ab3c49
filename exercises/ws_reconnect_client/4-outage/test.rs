//! Lesson 08, exercise 4: once back after an outage, the client says how long it
//! lasted: `* back after N.N s`.

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
fn the_outage_is_measured() {
    let first = Server::start(&server_bin());
    let addr = first.addr.clone();
    let mut client = Program::start_interactive(client(), &["--addr", &addr]);
    client.wait_for("* guest-1 joined (1 online)");
    drop(first);
    client.wait_for("Reconnecting in");
    let _second = Server::start_with(&server_bin(), &["--addr", &addr], &[]);
    let line = client.wait_for_within("* back after ", Duration::from_secs(30));
    let seconds = line.trim_start_matches("* back after ").strip_suffix(" s").expect("N.N s");
    let seconds: f64 = seconds.parse().expect("a number of seconds");
    assert!(seconds > 0.0 && seconds < 30.0, "{line}");
    client.type_line("/quit");
    client.wait_exit(TIMEOUT);
}
