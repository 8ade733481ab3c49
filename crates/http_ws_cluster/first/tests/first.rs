//! Lesson 09's first version (`cargo run -p http_ws_cluster_first`), black-box: two
//! instances and a real Redis as the page shows, lesson 08's client on one and
//! websocat on the other, and the same program in Python.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::redis::Redis;
use testkit::tools::{self, SCRIPT, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "09-http-ws-cluster.md";

/// The page's watcher (lesson 08's client) on `first` and talker on `second`; the
/// watcher's name is `guest-2` on the Rust first version, which counts TCP
/// connections, and `guest-1` on the Python one, which counts WebSockets (as page 07
/// and page 09 say).
fn watch_and_talk(first: &str, second: &str, python: bool) {
    let watcher = block(PAGE, "first-version-client");
    // `cargo run -p ws_reconnect_client -- --addr ...`, as lesson 08's binary.
    let command = tools::at(watcher.command(), common::CLUSTER_ADDR, first);
    let client = bin_path("ws_reconnect_client");
    let command =
        command.replace("cargo run -p ws_reconnect_client --", client.to_str().expect("UTF-8"));
    let mut watching = tools::terminal(&command, true);
    watching.wait_for("Connected to");
    // Its own line back, through Redis, shows it is in the room.
    watching.type_keys("hello\r");
    let name = if python { "guest-1" } else { "guest-2" };
    watching.wait_for(&format!("{name}: hello"));
    let talker = tools::inline_command(
        PAGE,
        r#"printf '{"type":"chat","text":"hi all"}\n' | websocat --linemode-strip-newlines ws://127.0.0.1:5005/ws"#,
    );
    let talk = tools::at(talker, "127.0.0.1:5005", second);
    let (_, _) = tools::shell(&talk, &std::env::temp_dir()).wait_exit(testkit::TIMEOUT);
    watching.wait_for("guest-1: hi all");
    let screen = tools::screen(&watching.output());
    if python {
        let lines: Vec<String> =
            screen.iter().map(|line| line.replace("guest-1: hello", "guest-2: hello")).collect();
        assert_matches(&watcher, &lines);
    } else {
        assert_matches(&watcher, &screen);
    }
}

#[test]
fn first_version_makes_one_room_of_two_instances_as_page_09_shows() {
    if !tools::available("page 09's first version", &[&WEBSOCAT, &SCRIPT]) {
        return;
    }
    let Some(redis) = Redis::start("first-09") else { return };
    let env = [(common::REDIS_ENV, redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bin = bin_path("http_ws_cluster_first");
    let mut first = Server::start_with(&bin, &["--addr", "127.0.0.1:0"], &env);
    // What it prints as it starts, which the page shows (not what it may print
    // later about the test's clients going away).
    let started = first.program.output();
    let second = Server::start_with(&bin, &["--addr", "127.0.0.1:0"], &env);
    watch_and_talk(&first.addr, &second.addr, false);
    testkit::page::record_command("cargo run -p http_ws_cluster_first");
    assert_matches(&block(PAGE, "first-version"), &started);
}

#[test]
fn first_version_in_python_does_the_same() {
    let tools = [&tools::PY_WEBSOCKETS, &tools::PY_REDIS, &WEBSOCAT, &SCRIPT];
    if !tools::available("page 09's Python first version", &tools) {
        return;
    }
    let Some(redis) = Redis::start("first-09-python") else { return };
    let script = testkit::workspace_root().join("scripts/interop/first/09_two_servers.py");
    let script = script.to_str().expect("UTF-8");
    testkit::page::record_command("python3 scripts/interop/first/09_two_servers.py");
    let url = redis.url();
    let start = || {
        let env = [(common::ADDR_ENV, "127.0.0.1:0"), (common::REDIS_ENV, url.as_str())];
        Program::start_with(Path::new("python3"), &[script], &env)
    };
    let mut first = Server::from_program(start(), common::CLUSTER_ADDR);
    // What it prints as it starts, which the page shows; what it logs later about
    // the test's clients (websockets logs a client that hangs up mid-close) is not.
    let started = first.program.output();
    let second = Server::from_program(start(), "127.0.0.1:5005");
    watch_and_talk(&first.addr, &second.addr, true);
    assert_matches(&block(PAGE, "first-version-python"), &started);
}

/// Page 09 says lesson 08's clients talk to the first version as to lesson 07's:
/// the full client on the page's demo, and the first client here, saying a line on
/// one instance and hearing it back from Redis.
#[test]
fn lesson_08s_first_client_talks_to_it_too() {
    if !tools::available(
        "lesson 08's first client against page 09's first version",
        &[&tools::REDIS],
    ) {
        return;
    }
    let Some(redis) = Redis::start("first-09-client-08") else { return };
    let url = redis.url();
    let env = [(common::REDIS_ENV, url.as_str())];
    let bin = bin_path("http_ws_cluster_first");
    let first = Server::start_with(&bin, &["--addr", "127.0.0.1:0"], &env);
    let second = Server::start_with(&bin, &["--addr", "127.0.0.1:0"], &env);
    let client = bin_path("ws_reconnect_client_first");
    let mut one = Program::start(&client, &["--addr", &first.addr, "hello"]);
    one.wait_for(r#"on_message: {"type":"chat","id":1,"from":"guest-1","text":"hello"}"#);
    let mut two = Program::start(&client, &["--addr", &second.addr, "hi all"]);
    one.wait_for(r#"on_message: {"type":"chat","id":2,"from":"guest-1","text":"hi all"}"#);
    two.wait_for(r#""text":"hi all"}"#);
    one.kill();
    two.kill();
}
