//! Lesson 03, exercise 4: the server sends a Ping every 10 seconds and logs how long
//! the Pong took: `conn #N pong after X ms`.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::Server;
use testkit::ws::{self, PING, PONG};

#[test]
fn the_server_pings_and_logs_the_round_trip() {
    let mut server = Server::start(Path::new(env!("CARGO_BIN_EXE_ws_echo_server")));
    let (mut stream, _) = ws::open(&server.addr, "/");
    stream.set_read_timeout(Some(Duration::from_secs(15))).expect("a timeout");
    let started = Instant::now();
    let frame = ws::read_frame(&mut stream).expect("a frame");
    assert_eq!(frame.opcode, PING, "{frame:?}");
    assert!(started.elapsed() >= Duration::from_secs(8), "{:?}", started.elapsed());
    ws::send(&mut stream, PONG, &frame.payload, true);
    let line = server.program.wait_for("pong after");
    assert!(line.contains("conn #1 pong after ") && line.ends_with(" ms"), "{line}");
}
