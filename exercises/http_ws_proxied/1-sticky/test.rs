//! Lesson 10, exercise 1: with `ip_hash` in `proxy/nginx.conf`'s upstream instead
//! of `least_conn`, nginx sends every client from one address to one instance.
//! (Two WebSockets from this machine, both held open: `least_conn` puts the second
//! on the other instance; `ip_hash` on the same one.)

use std::path::Path;

use testkit::nginx::Nginx;
use testkit::redis::Redis;
use testkit::ws;
use testkit::{Server, tools};

/// Opens a WebSocket through nginx and waits for its welcome.
fn open(addr: &str) -> std::net::TcpStream {
    let (mut stream, _) = ws::open(addr, "/ws");
    let welcome = ws::read_data(&mut stream);
    assert!(welcome.text().contains(r#""type":"welcome""#), "{welcome:?}");
    stream
}

#[test]
fn two_clients_from_one_address_reach_one_instance() {
    if !tools::available("exercise 10.1", &[&tools::NGINX]) {
        return;
    }
    let Some(redis) = Redis::start("exercise-10-sticky") else { return };
    let bin = Path::new(env!("CARGO_BIN_EXE_http_ws_proxied"));
    let env = [("LESSON_REDIS", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with(bin, &["--addr", "127.0.0.1:0"], &env);
    let b = Server::start_with(bin, &["--addr", "127.0.0.1:0"], &env);
    let Some(mut nginx) = Nginx::start("exercise-10-sticky", [&a.addr, &b.addr], |c| c) else {
        return;
    };
    // Both open at once, so that `least_conn` has a reason to choose the other one.
    let mut ann = open(&nginx.addr);
    let mut bob = open(&nginx.addr);
    // nginx logs a WebSocket when it ends, with the instance it went to.
    let mut upstreams = Vec::new();
    for stream in [&mut ann, &mut bob] {
        ws::send(stream, 0x8, &ws::close_payload(1000, ""), true);
        ws::read_close(stream);
        let line = nginx.wait_for(r#""GET /ws HTTP/1.1" 101 -> "#);
        upstreams.push(line.rsplit(" -> ").next().expect("an upstream").to_string());
    }
    assert_eq!(
        upstreams[0], upstreams[1],
        "both WebSockets came from 127.0.0.1 and should reach one instance (ip_hash)"
    );
}
