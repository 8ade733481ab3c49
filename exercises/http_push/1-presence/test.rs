//! Lesson 13, exercise 1: `joined` and `left` go out as `event: presence`, apart
//! from the chat.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::Server;

/// Opens `/api/events` and returns the socket, its head read.
fn open(addr: &str) -> TcpStream {
    let mut stream = testkit::http::connect(addr);
    stream.write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").expect("ask");
    stream
}

/// Reads until `needle` has come, or fails after the timeout.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let deadline = Instant::now() + testkit::TIMEOUT;
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in {:?}", String::from_utf8_lossy(&got));
        stream.set_read_timeout(Some(Duration::from_millis(200))).expect("a timeout");
        if let Ok(n) = stream.read(&mut buffer) {
            got.extend_from_slice(&buffer[..n]);
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn joins_and_leaves_are_presence_events_and_chat_is_not() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_push")));
    let mut first = open(&server.addr);
    read_until(&mut first, r#""type":"welcome""#);
    let second = open(&server.addr);
    read_until(&mut first, "event: presence\ndata: {\"type\":\"joined\"");
    drop(second);
    // The server learns that a stream has gone when it next writes to it: say
    // lines, which it writes to both, until the leave comes.
    let left = "event: presence\ndata: {\"type\":\"left\"";
    let mut got = String::new();
    let deadline = Instant::now() + testkit::TIMEOUT;
    while !got.contains(left) {
        assert!(Instant::now() < deadline, "no {left:?} in {got:?}");
        let said = testkit::http::post(&server.addr, "/api/messages", r#"{"name":"Ann","text":"hi"}"#);
        assert_eq!(said.status, 201);
        got += &read_until(&mut first, r#""text":"hi""#);
    }
    assert!(got.contains("\ndata: {\"type\":\"chat\""), "a chat line stays unnamed: {got}");
    assert!(!got.contains("event: presence\ndata: {\"type\":\"chat\""), "{got}");
}
