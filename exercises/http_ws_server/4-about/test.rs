//! Lesson 07, exercise 4: `GET /about` serves a second HTML page.

use std::path::Path;

use testkit::Server;
use testkit::http::get;

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_http_ws_server")))
}

#[test]
fn about_is_a_page() {
    let server = server();
    let about = get(&server.addr, "/about");
    assert_eq!(about.status, 200, "{}", about.body);
    assert_eq!(about.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(about.body.contains("<h1>About"), "{}", about.body);
    let post = testkit::http::request(&server.addr, "POST", "/about");
    assert_eq!(post.status, 405);
    assert!(get(&server.addr, "/nope").body.contains("/about"), "the 404 lists /about");
}
