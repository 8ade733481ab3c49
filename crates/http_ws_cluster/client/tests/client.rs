//! Lesson 09's client, black-box: against two real instances of lesson 09's server
//! and a real Redis (started here on a free port, stopped by its process id).
//! Without redis-server, each test prints one line and passes (CI installs it and
//! sets LESSONS_REQUIRE_TOOLS=1, under which it fails instead).

use std::path::Path;

use testkit::http::post;
use testkit::redis::Redis;
use testkit::{Program, Server, TIMEOUT, bin_path};

/// Redis and two instances of lesson 09's server, A and B, on free ports.
fn two_instances(test: &str) -> Option<(Redis, Server, Server)> {
    let redis = Redis::start(test)?;
    let server = bin_path("http_ws_cluster");
    let url = redis.url();
    let env = [("LESSON_REDIS", url.as_str())];
    let a = Server::start_with(&server, &["--addr", "127.0.0.1:0"], &env);
    let b = Server::start_with(&server, &["--addr", "127.0.0.1:0"], &env);
    Some((redis, a, b))
}

#[test]
fn the_reconnecting_client_moves_to_a_live_instance_and_misses_nothing() {
    let Some((_redis, mut a, b)) = two_instances("failover") else { return };
    let client = Path::new(env!("CARGO_BIN_EXE_http_ws_cluster_client"));
    let args = ["--addr", &a.addr, "--addr", &b.addr, "--heartbeat", "0.5"];
    let mut reader = Program::start_interactive(client, &args);
    reader.wait_for("* you are guest-1 (1 online)");
    for n in 1..=3 {
        let body = format!(r#"{{"name": "curl", "text": "line {n}"}}"#);
        assert_eq!(post(&b.addr, "/api/messages", &body).status, 201);
    }
    reader.wait_for("curl: line 3");
    a.program.kill();
    // Said while the client is between servers: it must get these from B's history.
    for n in 4..=6 {
        let body = format!(r#"{{"name": "curl", "text": "line {n}"}}"#);
        assert_eq!(post(&b.addr, "/api/messages", &body).status, 201);
    }
    reader.wait_for("curl: line 6");
    reader.type_line("/quit");
    let (status, output) = reader.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    let lines: Vec<&String> = output.iter().filter(|line| line.starts_with("curl: ")).collect();
    let expected: Vec<String> = (1..=6).map(|n| format!("curl: line {n}")).collect();
    assert_eq!(lines, expected.iter().collect::<Vec<_>>(), "each line once, in order: {output:#?}");
    assert!(!output.iter().any(|line| line.contains("restarted")), "{output:#?}");
    let moved = format!(" INFO Connected to ws://{}/ws", b.addr);
    assert!(output.contains(&moved), "{output:#?}");
}
