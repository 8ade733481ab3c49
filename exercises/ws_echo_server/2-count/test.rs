//! Lesson 03, exercise 2: each answer starts with its number on its connection.

use std::path::Path;

use testkit::Server;
use testkit::ws;

#[test]
fn answers_are_numbered_per_connection() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_ws_echo_server")));
    let (mut first, _) = ws::open(&server.addr, "/");
    let (mut second, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut first, "a");
    assert_eq!(ws::read_data(&mut first).text(), "#1 Server received: a");
    ws::send_text(&mut first, "b");
    assert_eq!(ws::read_data(&mut first).text(), "#2 Server received: b");
    ws::send_text(&mut second, "c");
    assert_eq!(ws::read_data(&mut second).text(), "#1 Server received: c");
}
