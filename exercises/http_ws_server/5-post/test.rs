//! Lesson 07, exercise 5 (from the first version): `POST /api/messages` says a line
//! that every WebSocket client hears, answers 201, and answers 400 to a body that
//! is not a client's JSON.

use testkit::ws;
use testkit::{Server, example_path, http};

#[test]
fn a_line_posted_is_heard_on_the_websocket() {
    let example = example_path("http_ws_server_first", "http_ws_server_exercise_post");
    let server = Server::start(&example);
    let (mut ann, _) = ws::open(&server.addr, "/ws");
    // Once Ann hears her own line she is surely in the room.
    ws::send_text(&mut ann, r#"{"type":"chat","text":"here"}"#);
    assert_eq!(
        ws::read_data(&mut ann).text(),
        r#"{"type":"chat","id":1,"from":"guest-1","text":"here"}"#
    );
    let posted = http::post(&server.addr, "/api/messages", r#"{"text":"hi over HTTP"}"#);
    assert_eq!(posted.status, 201, "POST a line: {posted:?}");
    let heard = ws::read(&mut ann).expect("the posted line on the WebSocket");
    assert_eq!(heard.text(), r#"{"type":"chat","id":2,"from":"http","text":"hi over HTTP"}"#);
    let refused = http::post(&server.addr, "/api/messages", "hi, not JSON");
    assert_eq!(refused.status, 400, "POST a body that is not JSON: {refused:?}");
    let history = http::get(&server.addr, "/api/messages");
    assert_eq!(history.body.matches(r#""type":"chat""#).count(), 2, "{history:?}");
}
