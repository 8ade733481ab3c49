//! Lesson 11, exercise 1: `GET /api/online` answers only a logged-in browser; 401,
//! with what to do, to anyone else.

use std::io::Write;
use std::path::Path;

use testkit::Server;
use testkit::http::{connect, get, post, read_response};

#[test]
fn who_is_online_is_for_those_logged_in() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_ws_login")));
    let nobody = get(&server.addr, "/api/online");
    assert_eq!(nobody.status, 401, "without a session: {nobody:?}");
    assert!(nobody.body.contains("log in"), "{}", nobody.body);
    let login = post(&server.addr, "/api/login", r#"{"name": "Ada"}"#);
    let cookie = login.header("set-cookie").expect("a session cookie");
    let pair = cookie.split(';').next().expect("name=value");
    let mut stream = connect(&server.addr);
    let request = format!(
        "GET /api/online HTTP/1.1\r\nHost: {}\r\nCookie: {pair}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).expect("send");
    let online = read_response(&mut stream, false).expect("an answer");
    assert_eq!(online.status, 200, "with a session: {online:?}");
    assert_eq!(online.body, "[]", "nobody has opened a WebSocket yet");
}
