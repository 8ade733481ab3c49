//! Lesson 05, exercise 2: `/msg NAME text` reaches NAME only, as
//! `guest-1 (private): text`; the sender sees `you to NAME: text`.

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
fn a_private_message_reaches_one_client() {
    let server = server();
    let mut a = join(&server);
    assert_eq!(next_line(&mut a), "guest-1 joined (1 online)");
    let mut b = join(&server);
    assert_eq!(next_line(&mut b), "guest-2 joined (2 online)");
    let mut c = join(&server);
    assert_eq!(next_line(&mut c), "guest-3 joined (3 online)");
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    assert_eq!(next_line(&mut a), "guest-3 joined (3 online)");
    assert_eq!(next_line(&mut b), "guest-3 joined (3 online)");
    ws::send_text(&mut a, "/msg guest-2 psst");
    assert_eq!(next_line(&mut a), "you to guest-2: psst");
    assert_eq!(next_line(&mut b), "guest-1 (private): psst");
    // guest-3 heard nothing: its next line is the next public one.
    ws::send_text(&mut a, "hello all");
    assert_eq!(next_line(&mut c), "guest-1: hello all");
    ws::send_text(&mut a, "/msg nobody hi");
    assert_eq!(next_line(&mut a), "you: hello all");
    assert_eq!(next_line(&mut a), "Nobody called nobody is here.");
}
