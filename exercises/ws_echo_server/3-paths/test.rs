//! Lesson 03, exercise 3: the handshake is accepted on `/echo` only; any other path
//! gets 404.

use std::io::Write;
use std::path::Path;

use testkit::Server;
use testkit::http::{connect, read_response};
use testkit::ws;

#[test]
fn only_echo_upgrades() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_ws_echo_server")));
    let (mut stream, _) = ws::open(&server.addr, "/echo");
    ws::send_text(&mut stream, "hi");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: hi");
    for path in ["/", "/other"] {
        let mut stream = connect(&server.addr);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            ws::KEY
        );
        stream.write_all(request.as_bytes()).expect("send");
        assert_eq!(read_response(&mut stream, true).expect("a response").status, 404, "{path}");
    }
}
