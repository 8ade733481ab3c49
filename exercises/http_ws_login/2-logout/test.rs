//! Lesson 11, exercise 2 (from the first version): `POST /api/logout` ends the
//! session, so that its cookie opens no WebSocket any more.

use std::io::Write;

use testkit::http::{connect, post, post_with, read_response};
use testkit::{Server, example_path};

/// A WebSocket handshake with the cookie `pair`: the status of the answer.
fn handshake(addr: &str, pair: &str) -> u16 {
    let mut stream = connect(addr);
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\nCookie: {pair}\r\n\r\n",
        testkit::ws::KEY
    );
    stream.write_all(request.as_bytes()).expect("send the handshake");
    read_response(&mut stream, true).expect("an answer").status
}

#[test]
fn a_logged_out_cookie_opens_no_websocket() {
    let example = example_path("http_ws_login_first", "http_ws_login_exercise_logout");
    let server = Server::start(&example);
    let login = post(&server.addr, "/api/login", r#"{"name": "Ada"}"#);
    let cookie = login.header("set-cookie").expect("a session cookie");
    let pair = cookie.split(';').next().expect("name=value").to_string();
    assert_eq!(handshake(&server.addr, &pair), 101, "logged in");
    let out = post_with(&server.addr, "/api/logout", &format!("Cookie: {pair}\r\n"), "");
    assert_eq!(out.status, 200, "the logout: {out:?}");
    assert_eq!(handshake(&server.addr, &pair), 401, "logged out, the cookie is no session");
    // Another session lives on.
    let bob = post(&server.addr, "/api/login", r#"{"name": "Bob"}"#);
    let bob = bob.header("set-cookie").expect("a cookie").split(';').next().expect("a pair");
    assert_eq!(handshake(&server.addr, bob), 101, "Bob is still logged in");
}
