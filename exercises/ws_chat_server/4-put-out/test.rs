//! Lesson 05, exercise 4: when the room puts out a client that stopped reading, the
//! others hear why, instead of the usual `left`.

use std::net::TcpStream;
use std::path::Path;
use std::thread;

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
fn the_room_hears_who_was_put_out_and_why() {
    let server = server();
    let mut talker = join(&server);
    assert_eq!(next_line(&mut talker), "guest-1 joined (1 online)");
    let _stuck = join(&server); // never reads again
    assert_eq!(next_line(&mut talker), "guest-2 joined (2 online)");
    // 600 lines of 32 KiB: more than the stuck client's socket buffers hold, so its
    // queue fills, and after 2 s the room puts it out.
    let count = 600;
    let filler = "y".repeat(32 * 1024);
    let mut reader = talker.try_clone().expect("a second handle");
    let notices = thread::spawn(move || {
        let mut notices = Vec::new();
        let mut echoes = 0;
        while echoes < count {
            let line = next_line(&mut reader);
            if line.starts_with("you: ") {
                echoes += 1;
            } else {
                notices.push(line);
            }
        }
        notices
    });
    for n in 0..count {
        ws::send_text(&mut talker, &format!("{n:03} {filler}"));
    }
    let mut notices = notices.join().expect("the talker's reader");
    // The notice may come after the last echo: read on until it does.
    while notices.is_empty() {
        notices.push(next_line(&mut talker));
    }
    assert_eq!(notices, ["guest-2 was put out for not reading (1 online)"]);
}
