//! Lesson 13, exercise 2 (from the first version): `GET /api/messages?since=N`
//! answers with the lines after line N only.

use testkit::http::{get, post};
use testkit::{Server, example_path};

#[test]
fn a_poll_gets_only_the_lines_after_since() {
    let server = Server::start(&example_path("http_push_first", "http_push_exercise_since"));
    for text in ["one", "two", "three"] {
        let said = post(&server.addr, "/api/messages", &format!(r#"{{"name":"Ann","text":"{text}"}}"#));
        assert_eq!(said.status, 201, "{said:?}");
    }
    let after_two = get(&server.addr, "/api/messages?since=2");
    assert_eq!(after_two.body, r#"[{"type":"chat","id":3,"from":"Ann","text":"three"}]"#);
    assert_eq!(get(&server.addr, "/api/messages?since=3").body, "[]");
    assert_eq!(get(&server.addr, "/api/messages?since=0").body.matches(r#""id":"#).count(), 3);
    // A place past the end is nothing new, not a crash.
    assert_eq!(get(&server.addr, "/api/messages?since=9").body, "[]");
}
