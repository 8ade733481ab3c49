//! Lesson 09, exercise 2: `GET /api/instances` says how many are online on each
//! instance of the room, as a JSON object: `{"127.0.0.1:5004/3f2a":1, ...}`.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::Path;

use testkit::Server;
use testkit::http::get;
use testkit::redis::Redis;
use testkit::ws;

fn instance(redis: &Redis) -> Server {
    let bin = Path::new(env!("CARGO_BIN_EXE_http_ws_cluster"));
    Server::start_with(bin, &["--addr", "127.0.0.1:0"], &[("LESSON_REDIS", &redis.url())])
}

/// A client that has joined, seen its own arrival and the room at `online`.
fn join(server: &Server, online: usize) -> TcpStream {
    let (mut stream, _) = ws::open(&server.addr, "/ws");
    loop {
        let message = ws::read_data(&mut stream).text().to_string();
        if message.contains(r#""type":"joined""#) && message.ends_with(&format!(":{online}}}")) {
            return stream;
        }
    }
}

fn instances(server: &Server) -> BTreeMap<String, usize> {
    let response = get(&server.addr, "/api/instances");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    serde_json::from_str(&response.body).expect("a JSON object of counts")
}

#[test]
fn each_instance_with_its_count() {
    let Some(redis) = Redis::start("exercise-09-2") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    let mut one = join(&a, 1);
    let _two = join(&b, 2);
    let _three = join(&b, 3);
    // Once the client on A has heard of the third arrival, A knows of all three.
    while !ws::read_data(&mut one).text().ends_with(r#""online":3}"#) {}
    for server in [&a, &b] {
        let counts = instances(server);
        let on = |s: &Server| {
            counts.iter().find(|(name, _)| name.starts_with(&format!("{}/", s.addr))).map(|c| *c.1)
        };
        assert_eq!((counts.len(), on(&a), on(&b)), (2, Some(1), Some(2)), "{counts:?}");
    }
}
