//! Lesson 01, exercise 3: with `Accept: application/json`, `/hello` answers
//! `{"greeting":"Hello, Alice!"}` as JSON, quotes in the name escaped.

use std::io::Write;
use std::path::Path;

use testkit::Server;
use testkit::http::{connect, get, read_response};

fn json(addr: &str, target: &str) -> testkit::http::Response {
    let mut stream = connect(addr);
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    read_response(&mut stream, false).expect("a response")
}

#[test]
fn accept_json_gets_json() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_server")));
    let answer = json(&server.addr, "/hello?name=Alice");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.body, r#"{"greeting":"Hello, Alice!"}"#);
    let quoted = json(&server.addr, "/hello?name=Al%22ice");
    assert_eq!(quoted.body, r#"{"greeting":"Hello, Al\"ice!"}"#);
    // Without the header, text as before.
    assert_eq!(get(&server.addr, "/hello?name=Alice").body, "Hello, Alice!\n");
}
