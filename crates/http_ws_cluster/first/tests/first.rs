//! Lesson 09's first version (`cargo run -p http_ws_cluster_first`), black-box: two
//! instances and a real Redis as the page shows, and the same program in Python.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::redis::Redis;
use testkit::tools::{self, SCRIPT, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "09-http-ws-cluster.md";

/// The page's watcher on `first` and talker on `second`.
fn watch_and_talk(first: &str, second: &str) {
    let watcher = block(PAGE, "first-version-websocat");
    let command = tools::at(watcher.command(), common::CLUSTER_ADDR, first);
    let mut watching = tools::terminal(&command, true);
    // Its own line back, through Redis, shows it is in the room.
    watching.type_keys("hello\r");
    watching.wait_for("guest-1: hello");
    let talker = tools::inline_command(PAGE, "printf 'hi all\\n' | websocat ws://127.0.0.1:5005/");
    let talk = tools::at(talker, "127.0.0.1:5005", second);
    let (_, _) = tools::shell(&talk, &std::env::temp_dir()).wait_exit(testkit::TIMEOUT);
    watching.wait_for("hi all");
    assert_matches(&watcher, &tools::screen(&watching.output()));
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
    watch_and_talk(&first.addr, &second.addr);
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
    watch_and_talk(&first.addr, &second.addr);
    assert_matches(&block(PAGE, "first-version-python"), &started);
}
