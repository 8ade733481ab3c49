//! Lesson 07, exercise 3: `{"type":"typing"}` from a client reaches everyone as
//! `{"type":"typing","name":"guest-1"}`.

use std::net::TcpStream;
use std::path::Path;

use testkit::Server;
use testkit::ws;

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_http_ws_server")))
}

/// A WebSocket client at /ws that has read its welcome.
fn join(server: &Server) -> TcpStream {
    let (mut stream, _) = ws::open(&server.addr, "/ws");
    assert!(next(&mut stream).starts_with(r#"{"type":"welcome""#));
    stream
}

fn next(stream: &mut TcpStream) -> String {
    ws::read_data(stream).text().to_string()
}

#[test]
fn typing_reaches_the_room() {
    let server = server();
    let mut a = join(&server);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-1","online":1}"#);
    let mut b = join(&server);
    assert_eq!(next(&mut b), r#"{"type":"joined","name":"guest-2","online":2}"#);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-2","online":2}"#);
    ws::send_text(&mut a, r#"{"type":"typing"}"#);
    assert_eq!(next(&mut b), r#"{"type":"typing","name":"guest-1"}"#);
}
