//! Lesson 01, exercise 4: each request's log line ends with its `User-Agent`, in
//! parentheses (`-` when there is none).

use std::io::Write;
use std::path::Path;

use testkit::Server;
use testkit::http::{connect, read_response};

#[test]
fn the_log_says_who_asked() {
    let mut server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_server")));
    let mut stream = connect(&server.addr);
    let request = "GET /hello?name=Alice HTTP/1.1\r\nHost: x\r\nUser-Agent: exercise/1.0\r\n\r\n";
    stream.write_all(request.as_bytes()).expect("send");
    read_response(&mut stream, false).expect("a response");
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    read_response(&mut stream, false).expect("a response");
    let line = server.program.wait_for("req #1");
    assert!(line.ends_with("GET /hello?name=Alice -> 200 OK (exercise/1.0)"), "{line}");
    let line = server.program.wait_for("req #2");
    assert!(line.ends_with("GET / -> 200 OK (-)"), "{line}");
}
