//! Lesson 05, exercise 3: a newcomer gets the last 10 chat lines after its welcome.

use std::net::TcpStream;
use std::path::Path;

use testkit::Server;
use testkit::ws;

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_ws_chat_server")))
}

/// A client that has read its welcome.
fn join(server: &Server) -> TcpStream {
    let (mut stream, _) = ws::open(&server.addr, "/");
    assert!(next_line(&mut stream).starts_with("Welcome, "));
    stream
}

fn next_line(stream: &mut TcpStream) -> String {
    ws::read_data(stream).text().to_string()
}

#[test]
fn a_newcomer_gets_the_last_ten_lines() {
    let server = server();
    let mut a = join(&server);
    assert_eq!(next_line(&mut a), "guest-1 joined (1 online)");
    for n in 1..=12 {
        ws::send_text(&mut a, &format!("line {n}"));
        assert_eq!(next_line(&mut a), format!("you: line {n}"));
    }
    let mut b = join(&server);
    for n in 3..=12 {
        assert_eq!(next_line(&mut b), format!("guest-1: line {n}"));
    }
    assert_eq!(next_line(&mut b), "guest-2 joined (2 online)");
}
