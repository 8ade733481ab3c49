//! Lesson 01, exercise 1: `GET /time` answers the seconds since 1970, and the 404
//! body and the 405 answer know the new route.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use testkit::Server;
use testkit::http::{get, request};

#[test]
fn time_answers_the_seconds_since_1970() {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_http_server")));
    let response = get(&server.addr, "/time");
    assert_eq!(response.status, 200, "{}", response.body);
    let seconds: u64 = response.body.trim().parse().expect("a number of seconds");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    assert!(seconds.abs_diff(now) <= 5, "{seconds} is not now ({now})");
    assert!(get(&server.addr, "/nope").body.contains("GET /time"), "the 404 lists /time");
    assert_eq!(request(&server.addr, "POST", "/time").status, 405);
}
