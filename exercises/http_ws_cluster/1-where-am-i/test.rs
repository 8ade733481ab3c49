//! Lesson 09, exercise 1: the welcome names the instance the client is on,
//! `{"type":"welcome","name":"guest-1","online":1,"instance":"127.0.0.1:PORT/TAG"}`.

use std::path::Path;

use testkit::Server;
use testkit::redis::Redis;
use testkit::ws;

fn instance(redis: &Redis) -> Server {
    let bin = Path::new(env!("CARGO_BIN_EXE_http_ws_cluster"));
    Server::start_with(bin, &["--addr", "127.0.0.1:0"], &[("LESSON_REDIS", &redis.url())])
}

#[test]
fn the_welcome_names_the_instance() {
    let Some(redis) = Redis::start("exercise-09-1") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    for server in [&a, &b] {
        let (mut stream, _) = ws::open(&server.addr, "/ws");
        let welcome: serde_json::Value =
            serde_json::from_str(ws::read_data(&mut stream).text()).expect("JSON");
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let named = welcome["instance"].as_str().unwrap_or_default();
        // The instance's name in Redis: its address, `/`, and its tag.
        let tag = named.strip_prefix(&format!("{}/", server.addr));
        assert!(tag.is_some_and(|tag| tag.len() == 4), "{welcome}");
    }
}
