//! Lesson 05, exercise 4: a client that falls behind is closed with 1008 (policy
//! violation) instead of being told what it missed.

use std::thread;
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
fn a_client_that_lags_is_closed_with_1008() {
    let server = server();
    let mut talker = join(&server);
    assert_eq!(next_line(&mut talker), "guest-1 joined (1 online)");
    let mut slow = join(&server);
    assert_eq!(next_line(&mut talker), "guest-2 joined (2 online)");
    // 600 lines of 32 KiB: more than the slow client's socket buffers hold, so its
    // task waits while the room's 256-line ring moves on.
    let count = 600;
    let filler = "y".repeat(32 * 1024);
    let mut reader = talker.try_clone().expect("a second handle");
    let echoes = thread::spawn(move || (0..count).map(|_| ws::read_data(&mut reader)).count());
    for n in 0..count {
        ws::send_text(&mut talker, &format!("{n:03} {filler}"));
    }
    assert_eq!(echoes.join().expect("the echo reader"), count);
    // Now the slow client reads: some lines, then a Close with 1008.
    loop {
        let frame = ws::read(&mut slow).expect("a frame");
        if frame.opcode == ws::CLOSE {
            assert_eq!(u16::from_be_bytes([frame.payload[0], frame.payload[1]]), 1008);
            break;
        }
        assert!(!frame.text().starts_with("(you missed"), "told, not closed");
    }
}
