//! Lesson 07, exercise 1: `GET /api/online` answers
//! `{"count":N,"online":[...]}`.

use std::net::TcpStream;
use std::path::Path;

use testkit::Server;
use testkit::http::get;
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
fn online_with_a_count() {
    let server = server();
    assert_eq!(get(&server.addr, "/api/online").body, r#"{"count":0,"online":[]}"#);
    let mut a = join(&server);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-1","online":1}"#);
    assert_eq!(get(&server.addr, "/api/online").body, r#"{"count":1,"online":["guest-1"]}"#);
}
