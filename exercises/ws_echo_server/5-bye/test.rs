//! Lesson 03, exercise 5 (from the first version): `bye` gets a Close frame with
//! code 1000 and reason `bye`; anything else is echoed as before.

use testkit::ws;
use testkit::{Server, example_path};

#[test]
fn bye_gets_a_close_1000() {
    let example = example_path("ws_echo_server_first", "ws_echo_server_exercise_bye");
    let server = Server::start(&example);
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut stream, "hello");
    let echo = ws::read(&mut stream).expect("an answer to hello: does answer still panic?");
    assert_eq!(echo.text(), "Server received: hello");
    ws::send_text(&mut stream, "bye");
    let frame =
        ws::read(&mut stream).expect("a Close frame in answer to bye, not a dropped connection");
    assert_eq!(frame.close_code(), (1000, "bye".to_string()), "{frame:?}");
    // Our Close in answer, as a real client sends one; then the server hangs up.
    ws::send(&mut stream, 0x8, &ws::close_payload(1000, ""), true);
    assert_eq!(ws::read(&mut stream), None, "the server hangs up after the close handshake");
}
