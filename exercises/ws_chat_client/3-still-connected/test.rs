//! Lesson 06, exercise 3: `(still connected)` after every 5 seconds of silence.

use std::time::{Duration, Instant};

use testkit::{Program, Server, TIMEOUT, bin_path};

#[test]
fn silence_is_reported_every_five_seconds() {
    let server = Server::start(&bin_path("ws_chat_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_chat_client"));
    let mut program = Program::start_interactive(client, &["--addr", &server.addr]);
    program.wait_for("guest-1 joined (1 online)");
    let quiet = Instant::now();
    program.wait_for_within("(still connected)", Duration::from_secs(8));
    let waited = quiet.elapsed();
    assert!(waited >= Duration::from_secs(4), "after {waited:?} only");
    program.end_input();
    program.wait_exit(TIMEOUT);
}
