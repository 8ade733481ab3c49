//! Lesson 07, exercise 2: `GET /api/messages?since=ID` returns only the messages
//! after ID.

use std::path::Path;

use testkit::Server;
use testkit::http::{get, post};

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_http_ws_server")))
}

#[test]
fn since_returns_the_newer_messages() {
    let server = server();
    for text in ["one", "two", "three"] {
        let body = format!(r#"{{"name": "poster", "text": "{text}"}}"#);
        assert_eq!(post(&server.addr, "/api/messages", &body).status, 201);
    }
    assert_eq!(
        get(&server.addr, "/api/messages?since=1").body,
        r#"[{"id":2,"from":"poster","text":"two"},{"id":3,"from":"poster","text":"three"}]"#
    );
    assert_eq!(get(&server.addr, "/api/messages?since=3").body, "[]");
    assert!(get(&server.addr, "/api/messages").body.starts_with(r#"[{"id":1,"#));
}
