//! Lesson 03, exercise 1: a message that starts with `!` is answered in capitals.

use std::path::Path;

use testkit::Server;
use testkit::ws;

#[test]
fn a_bang_gets_capitals() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_ws_echo_server")));
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut stream, "!hello, straße");
    assert_eq!(ws::read_data(&mut stream).text(), "SERVER RECEIVED: !HELLO, STRASSE");
    ws::send_text(&mut stream, "hello");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: hello");
}
