//! Lesson 05, exercise 1: `/who` answers, to the sender only, `Online: ` and every
//! name, in the order they joined.

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
fn who_lists_everyone_online() {
    let server = server();
    let mut a = join(&server);
    assert_eq!(next_line(&mut a), "guest-1 joined (1 online)");
    let mut b = join(&server);
    assert_eq!(next_line(&mut b), "guest-2 joined (2 online)");
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    ws::send_text(&mut a, "/who");
    assert_eq!(next_line(&mut a), "Online: guest-1, guest-2");
    // Only the sender hears it: b's next line is its own message.
    ws::send_text(&mut b, "hi");
    assert_eq!(next_line(&mut b), "you: hi");
}
