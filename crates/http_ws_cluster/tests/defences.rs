//! Page 09's defence table: each way the pieces of a two-server room can fail, run
//! against the first version (`http_ws_cluster_first`) and the full lesson, with a
//! real Redis.

use std::path::Path;
use std::time::Duration;

use testkit::defence::{how_it_ended, program_rows_with_steps, table_with_steps};
use testkit::page::{assert_matches, block};
use testkit::redis::Redis;
use testkit::ws::{self, CLOSE};
use testkit::{Server, run};

/// Both speak lesson 07's protocol on `/ws`: a chat line as its clients send one.
const PATH: &str = "/ws";

fn say(text: &str) -> String {
    format!(r#"{{"type":"chat","text":"{text}"}}"#)
}

/// Whether `bin` is the full lesson (the first version and its steps say no welcome,
/// and no "split" before "whole again").
fn full(bin: &Path) -> bool {
    bin.file_name().is_some_and(|name| name == "http_ws_cluster")
}

fn two_instances(bin: &Path, redis: &Redis) -> (Server, Server) {
    let url = redis.url();
    let env = [(common::REDIS_ENV, url.as_str())];
    let start = || Server::start_with(bin, &["--addr", "127.0.0.1:0"], &env);
    (start(), start())
}

/// Reads `stream` until a frame contains `text`, or 5 s pass without one.
fn hears(stream: &mut std::net::TcpStream, text: &str) -> bool {
    loop {
        match ws::read_frame_within(stream, Duration::from_secs(5)) {
            ws::Within::Frame(frame) if frame.opcode == CLOSE => return false,
            ws::Within::Frame(frame) if String::from_utf8_lossy(&frame.payload).contains(text) => {
                return true;
            }
            ws::Within::Frame(frame) if frame.opcode == ws::PING => {
                ws::send(stream, ws::PONG, &frame.payload, true);
            }
            ws::Within::Frame(_) => {}
            ws::Within::Closed | ws::Within::Nothing => return false,
        }
    }
}

/// Waits until a client is in the room. The full lesson says so (its welcome); the
/// first version says nothing, and takes a client into its room just after the
/// 101: a line of its own that comes back through Redis shows it is in.
fn in_the_room(bin: &Path, client: &mut std::net::TcpStream) {
    if !full(bin) {
        ws::send_text(client, &say("am I in?"));
        assert!(hears(client, "am I in?"), "its own line back");
    } else {
        assert!(hears(client, "\"welcome\""), "a welcome");
    }
}

fn no_redis(bin: &Path) -> String {
    let nobody = format!("redis://{}", testkit::free_addr());
    let env = [(common::REDIS_ENV, nobody.as_str())];
    how_it_ended(&run(bin, &["--addr", "127.0.0.1:0"], &env, "", testkit::TIMEOUT))
}

/// A name for a cell's Redis: which program, which case.
fn tag(bin: &Path, case: &str) -> String {
    let name = bin.file_name().and_then(|name| name.to_str()).unwrap_or("program");
    format!("defences-{case}-{name}")
}

fn names(bin: &Path) -> String {
    let Some(redis) = Redis::start(&tag(bin, "names")) else { return String::new() };
    let (one, two) = two_instances(bin, &redis);
    let (mut ann, _) = ws::open(&one.addr, PATH);
    let (mut bob, _) = ws::open(&two.addr, PATH);
    in_the_room(bin, &mut ann);
    in_the_room(bin, &mut bob);
    // Each says who they are; each name is what the room calls them.
    ws::send_text(&mut ann, &say("I am Ann"));
    assert!(hears(&mut bob, "I am Ann"), "Ann's line reached Bob");
    ws::send_text(&mut bob, &say("I am Bob"));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let frame = ws::read_data(&mut ann);
        let text = frame.text().to_string();
        if text.contains("I am ") {
            let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            seen.push(json["from"].as_str().unwrap_or_default().to_string());
        }
    }
    seen.sort();
    if seen[0] == seen[1] {
        format!("Ann and Bob are both {}", seen[0])
    } else {
        format!("they are {} and {}", seen[0], seen[1])
    }
}

fn redis_restarts(bin: &Path) -> String {
    let Some(mut redis) = Redis::start(&tag(bin, "restart")) else {
        return String::new();
    };
    let (one, two) = two_instances(bin, &redis);
    let (mut ann, _) = ws::open(&one.addr, PATH);
    let (mut bob, _) = ws::open(&two.addr, PATH);
    in_the_room(bin, &mut ann);
    in_the_room(bin, &mut bob);
    ws::send_text(&mut bob, &say("before"));
    assert!(hears(&mut ann, "before"), "the room works before");
    // Redis stops: a room that splits says so, and its people here still hear each
    // other (Ann her own line, through her instance alone).
    redis.stop();
    let split = hears(&mut ann, "the room is split") && {
        ws::send_text(&mut ann, &say("during"));
        hears(&mut ann, "during")
    };
    // Redis is back: a room that heals says so on both instances.
    redis.restart();
    let healed = hears(&mut ann, "whole again") && hears(&mut bob, "whole again");
    ws::send_text(&mut bob, &say("after"));
    if !hears(&mut ann, "after") {
        return "the room goes silent: lines no longer pass".to_string();
    }
    let split = if split { "splits the room, " } else { "" };
    let healed = if healed { "heals it, and " } else { "" };
    format!("{split}{healed}lines pass again")
}

#[test]
fn page_09_defence_table_is_what_the_programs_do() {
    if !testkit::tools::available("page 09's defence table", &[&testkit::tools::REDIS]) {
        return;
    }
    // Each cell with a Redis and servers of its own, all at once; each row's step
    // must turn it.
    let rows = program_rows_with_steps(
        "http_ws_cluster",
        &[
            ("No Redis at start", 1, no_redis),
            ("Ann on one server, Bob on the other", 2, names),
            ("Redis restarts while they chat", 3, redis_restarts),
        ],
    );
    assert_matches(&block("09-http-ws-cluster.md", "defences"), &table_with_steps(&rows));
}
