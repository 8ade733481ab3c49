//! Lesson 01, exercise 2: `/hello?name=Alice&lang=fr` answers `Bonjour, Alice!`.

use std::path::Path;

use testkit::Server;
use testkit::http::get;

#[test]
fn lang_fr_says_bonjour() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_server")));
    let body = |target: &str| get(&server.addr, target).body;
    assert_eq!(body("/hello?name=Alice&lang=fr"), "Bonjour, Alice!\n");
    assert_eq!(body("/hello?lang=fr&name=%E5%B0%8F%E6%98%8E"), "Bonjour, 小明!\n");
    assert_eq!(body("/hello?name=Alice"), "Hello, Alice!\n");
    assert_eq!(body("/hello?name=Alice&lang=en"), "Hello, Alice!\n");
    assert_eq!(get(&server.addr, "/hello?name=%G1&lang=fr").status, 400);
}
