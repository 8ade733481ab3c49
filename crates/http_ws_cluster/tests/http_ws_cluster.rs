//! Lesson 09, black-box: real instances of the server on port 0, sharing a real
//! `redis-server` that each test starts on a free port and stops by its process id.
//! Without redis-server installed, each test prints one line and passes (CI
//! installs it and sets LESSONS_REQUIRE_TOOLS=1, under which they fail instead).

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p http_ws_cluster --test defences` still runs it alone.
mod defences;

use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::http::{get, post};
use testkit::page::{self, assert_matches, block};
use testkit::redis::Redis;
use testkit::tools::{self, REDIS_CLI};
use testkit::ws::{self, TEXT};
use testkit::{Program, Server, TIMEOUT, bin_path, process};

const PAGE: &str = "09-http-ws-cluster.md";
/// The page's second instance.
const SECOND: &str = "127.0.0.1:5005";
/// What the server promises: the people of an instance killed with `kill -9` are
/// counted out within 4 s (`GHOST_BOUND`). The tests allow some slack on a busy
/// machine, and print what they measured.
const GHOST_BOUND: Duration = Duration::from_secs(4);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_ws_cluster"))
}

/// An instance on a free port, meeting the others at `redis` (through the
/// environment variable, so the command recorded for the page is the page's).
fn instance(redis: &Redis) -> Server {
    Server::start_with(bin(), &["--addr", "127.0.0.1:0"], &[("LESSON_REDIS", &redis.url())])
}

/// The page's second instance, `--addr 127.0.0.1:5005`, on a free port.
fn second_instance(redis: &Redis) -> Server {
    let addr = testkit::free_addr();
    page::map_address(&addr, SECOND);
    let server = Server::start_with(bin(), &["--addr", &addr], &[("LESSON_REDIS", &redis.url())]);
    page::map_address(&server.addr, SECOND);
    server
}

/// Redis and two instances, A and B.
fn two_instances(test: &str) -> Option<(Redis, Server, Server)> {
    let redis = Redis::start(test)?;
    let a = instance(&redis);
    let b = second_instance(&redis);
    Some((redis, a, b))
}

/// A WebSocket client on `server`: returns it once it has seen its welcome and its
/// own arrival, with its name.
fn join(server: &Server, online: usize) -> (TcpStream, String) {
    let (mut stream, _) = ws::open(&server.addr, "/ws");
    let welcome: serde_json::Value = serde_json::from_str(&next(&mut stream)).expect("JSON");
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["online"], online, "{welcome}");
    let name = welcome["name"].as_str().expect("a name").to_string();
    let joined = format!(r#"{{"type":"joined","name":"{name}","online":{online}}}"#);
    wait_for(&mut stream, &joined);
    (stream, name)
}

/// Waits until `server` counts `online` people in the room (`/api/online`): a join on
/// one instance reaches the other through Redis, a moment later. Until then the
/// other's welcome counts one fewer, which a test that joins there must not race.
fn until_online(server: &Server, online: usize) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let names: Vec<String> =
            serde_json::from_str(&get(&server.addr, "/api/online").body).expect("JSON");
        if names.len() == online {
            return;
        }
        assert!(Instant::now() < deadline, "{} counts {names:?}, not {online}", server.addr);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn next(stream: &mut TcpStream) -> String {
    let frame = ws::read_data(stream);
    assert_eq!(frame.opcode, TEXT);
    frame.text().to_string()
}

/// Reads until `wanted` arrives (within the read timeout of each frame), and returns
/// what came before it.
fn wait_for(stream: &mut TcpStream, wanted: &str) -> Vec<String> {
    wait_until(stream, wanted, |message| message == wanted)
}

/// Reads until a message for which `wanted` is true, and returns what came before;
/// fails, saying what it waited for and what came, if none does in time.
fn wait_until(stream: &mut TcpStream, what: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let mut before = Vec::new();
    loop {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next(stream)));
        let Ok(message) = read else { panic!("waited in vain for {what}; came: {before:#?}") };
        if wanted(&message) {
            return before;
        }
        before.push(message);
    }
}

fn say(stream: &mut TcpStream, text: &str) {
    ws::send_text(stream, &serde_json::json!({ "type": "chat", "text": text }).to_string());
}

fn chat(id: u64, from: &str, text: &str) -> String {
    format!(r#"{{"type":"chat","id":{id},"from":"{from}","text":"{text}"}}"#)
}

#[test]
fn two_instances_are_one_room() {
    let Some((_redis, a, b)) = two_instances("one-room") else { return };
    let (mut ann, ann_name) = join(&a, 1);
    until_online(&b, 1);
    let (mut bob, bob_name) = join(&b, 2);
    wait_for(&mut ann, &format!(r#"{{"type":"joined","name":"{bob_name}","online":2}}"#));

    say(&mut ann, "hello from A");
    wait_for(&mut bob, &chat(1, &ann_name, "hello from A"));
    wait_for(&mut ann, &chat(1, &ann_name, "hello from A"));
    let response = post(&b.addr, "/api/messages", r#"{"name": "curl", "text": "hi from B"}"#);
    assert_eq!(response.body, r#"{"id":2,"from":"curl","text":"hi from B"}"#);
    // Its Location answers at once, on either instance: it is read from Redis.
    assert_eq!((response.status, response.header("location")), (201, Some("/api/messages/2")));
    for server in [&a, &b] {
        assert_eq!(get(&server.addr, "/api/messages/2").body, response.body);
    }
    wait_for(&mut ann, &chat(2, "curl", "hi from B"));

    ws::send_text(&mut bob, r#"{"type": "rename", "name": "Bob"}"#);
    let renamed = format!(r#"{{"type":"renamed","old":"{bob_name}","new":"Bob"}}"#);
    wait_for(&mut ann, &renamed);
    ws::send_text(&mut ann, r#"{"type": "rename", "name": "Bob"}"#);
    wait_for(&mut ann, r#"{"type":"error","message":"Bob is taken"}"#);

    // Both instances serve one history and one list of who is online, and the same
    // history id (a client moving between them sees no restart).
    let (from_a, from_b) = (get(&a.addr, "/api/messages"), get(&b.addr, "/api/messages"));
    assert_eq!(from_a.body, from_b.body);
    assert!(from_a.body.ends_with(r#"{"id":2,"from":"curl","text":"hi from B"}]"#));
    assert_eq!(from_a.header("server-instance"), from_b.header("server-instance"));
    let online = |server: &Server| {
        let mut names: Vec<String> =
            serde_json::from_str(&get(&server.addr, "/api/online").body).expect("JSON");
        names.sort();
        names
    };
    assert_eq!(online(&a), online(&b));
    assert_eq!(online(&a).len(), 2);

    ws::send(&mut bob, ws::CLOSE, &ws::close_payload(1000, ""), true);
    wait_for(&mut ann, r#"{"type":"left","name":"Bob","online":1}"#);
}

#[test]
fn a_killed_instance_leaves_no_ghosts_and_its_history_stays() {
    let Some((_redis, a, mut b)) = two_instances("ghosts") else { return };
    let (mut ann, _) = join(&a, 1);
    until_online(&b, 1);
    let (mut bob, bob_name) = join(&b, 2);
    let (_carl, carl_name) = join(&b, 3);
    say(&mut bob, "said on B");
    wait_for(&mut ann, &chat(1, &bob_name, "said on B"));

    // kill -9: B says goodbye to nobody.
    b.program.kill();
    let killed = Instant::now();
    let before =
        wait_for(&mut ann, &format!(r#"{{"type":"left","name":"{bob_name}","online":1}}"#));
    let took = killed.elapsed();
    eprintln!("the killed instance's people were counted out after {took:?}");
    assert!(
        before.contains(&format!(r#"{{"type":"left","name":"{carl_name}","online":2}}"#)),
        "{before:?}"
    );
    assert!(took < GHOST_BOUND + Duration::from_secs(2), "{took:?}");
    let online: Vec<String> = serde_json::from_str(&get(&a.addr, "/api/online").body).unwrap();
    assert_eq!(online.len(), 1, "{online:?}");
    // What B's people said stays: the history is Redis's, not B's.
    assert!(get(&a.addr, "/api/messages").body.contains("said on B"));
    drop(bob);
}

#[test]
fn without_redis_the_server_says_how_to_start_it() {
    // Nothing listens at this Redis address; the page shows Redis's default.
    let redis = testkit::free_addr_as("127.0.0.1:6379");
    let url = format!("redis://{redis}");
    let line = testkit::only_an_error_line(bin(), &["--addr", "127.0.0.1:0", "--redis", &url]);
    let expected = format!(
        "error: cannot reach Redis at redis://{redis} (connection refused: nothing listens \
         there). Start it in another terminal: redis-server --port 6379 --bind 127.0.0.1 (or \
         point to yours: --redis redis://IP:PORT)"
    );
    assert_eq!(line, expected);
    // A host name is refused before anything is dialled: this course dials addresses.
    let usage = testkit::usage_error(bin(), &["--redis", "redis://localhost:6379"]);
    assert!(usage.contains("write redis://IP:PORT, such as redis://127.0.0.1:6379"), "{usage}");
}

#[test]
fn losing_redis_splits_the_room_and_its_return_heals_it() {
    let Some((mut redis, a, b)) = two_instances("split") else { return };
    let (mut ann, ann_name) = join(&a, 1);
    until_online(&b, 1);
    let (mut bob, bob_name) = join(&b, 2);
    say(&mut ann, "before");
    wait_for(&mut bob, &chat(1, &ann_name, "before"));

    redis.stop();
    let split = |online: usize| {
        format!(
            r#"{{"type":"notice","text":"the room is split: this server lost Redis, so only the {online} online here hear you"}}"#
        )
    };
    wait_for(&mut ann, &split(1));
    wait_for(&mut bob, &split(1));
    // Split, each side still chats: heard here, without an id, not kept.
    say(&mut ann, "only A hears this");
    wait_for(
        &mut ann,
        &format!(r#"{{"type":"chat","from":"{ann_name}","text":"only A hears this"}}"#),
    );
    // Said over HTTP while split: passed on here, but nothing kept to point to.
    let response = post(&a.addr, "/api/messages", r#"{"name": "curl", "text": "split"}"#);
    assert_eq!((response.status, response.header("location")), (200, None), "{}", response.body);
    assert_eq!(response.body, r#"{"from":"curl","text":"split"}"#);
    assert_eq!(get(&a.addr, "/api/messages/1").status, 200, "the copy here serves");
    wait_for(&mut ann, r#"{"type":"chat","from":"curl","text":"split"}"#);
    say(&mut bob, "only B hears this");
    wait_for(
        &mut bob,
        &format!(r#"{{"type":"chat","from":"{bob_name}","text":"only B hears this"}}"#),
    );

    redis.restart();
    // Each side hears that the room is whole again, and then (if the other side was
    // not back yet) that the other one joined: 2 online, and nothing said while split.
    let whole = r#"{"type":"notice","text":"the room is whole again"#;
    let back = |message: &str| {
        message.starts_with(whole) && message.ends_with(r#"2 online"}"#)
            || message.starts_with(r#"{"type":"joined""#) && message.ends_with(r#""online":2}"#)
    };
    for stream in [&mut ann, &mut bob] {
        let heard = wait_until(stream, "2 online", back);
        assert!(!heard.iter().any(|m| m.contains("hears this") || m.contains("split\"")));
    }
    say(&mut bob, "after");
    wait_for(&mut ann, &chat(2, &bob_name, "after"));
}

#[test]
fn a_frozen_instance_does_not_slow_the_others() {
    let Some((_redis, a, b)) = two_instances("frozen") else { return };
    let (mut ann, ann_name) = join(&a, 1);
    until_online(&b, 1);
    let (_bob, bob_name) = join(&b, 2);
    // B stops (as under a debugger, or swapped out): it reads nothing from Redis.
    process::signal(b.program.pid(), process::SIGSTOP).expect("freeze B");
    let started = Instant::now();
    for n in 1..=200 {
        say(&mut ann, &n.to_string());
        wait_for(&mut ann, &chat(n, &ann_name, &n.to_string()));
    }
    let took = started.elapsed();
    eprintln!("200 lines said and heard on A while B was frozen: {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Frozen, B stops beating too: A counts its people out, and back in when it wakes.
    wait_for(&mut ann, &format!(r#"{{"type":"left","name":"{bob_name}","online":1}}"#));
    process::signal(b.program.pid(), process::SIGCONT).expect("wake B");
    wait_for(&mut ann, &format!(r#"{{"type":"joined","name":"{bob_name}","online":2}}"#));
}

/// The lines `program` printed after the first `skip`, up to and with the first
/// that contains `last`.
fn printed_until(program: &mut Program, skip: usize, last: &str) -> Vec<String> {
    program.wait_for(last);
    let output = program.output();
    let end = skip + output[skip..].iter().position(|l| l.contains(last)).expect("printed") + 1;
    output[skip..end].to_vec()
}

#[test]
fn page_09_run_it_and_break_it() {
    let Some(mut redis) = Redis::start("page-09") else { return };
    // Terminal 1: Redis, started as the page says.
    assert_matches(&block(PAGE, "redis"), &redis.output());
    let mut a = instance(&redis);
    a.program.wait_for("Open http");
    assert_matches(&block(PAGE, "first"), &a.program.output());
    let mut b = second_instance(&redis);
    b.program.wait_for("Open http");
    assert_matches(&block(PAGE, "second"), &b.program.output());

    // Terminal 4: this lesson's client, given both addresses.
    let client = bin_path("http_ws_cluster_client");
    let mut reader = Program::start_interactive(&client, &["--addr", &a.addr, "--addr", &b.addr]);
    reader.wait_for("* guest-1 joined (1 online)");
    // The second instance has heard of guest-1 through Redis before we ask it.
    until_online(&b, 1);
    // Terminal 5: curl at the second instance (or, without curl, the same by hand).
    let body = r#"{"name": "curl", "text": "hi from 5005"}"#;
    if tools::available("page 09's curl commands", &[&tools::CURL]) {
        tools::check_block(PAGE, "curl-post", SECOND, &b.addr, true);
        tools::check_block(PAGE, "curl-online", SECOND, &b.addr, true);
    } else {
        post(&b.addr, "/api/messages", body);
    }
    let shown = printed_until(&mut reader, 0, "curl: hi from 5005");
    assert_matches(&block(PAGE, "client"), &shown);
    if tools::available("page 09's redis-cli command", &[&REDIS_CLI]) {
        tools::check_block(PAGE, "redis-cli", "127.0.0.1:6379", &redis.addr, true);
    }

    // Break it: Ctrl-Z and `kill -9 %1` in terminal 2.
    process::signal(a.program.pid(), process::SIGSTOP).expect("Ctrl-Z");
    a.program.kill();
    let killed = Instant::now();
    let after = printed_until(&mut reader, shown.len(), "* guest-1 left (1 online)");
    eprintln!("the client moved, and the ghost was counted out, after {:?}", killed.elapsed());
    assert_matches(&block(PAGE, "kill"), &after);

    // Stop Redis, start it again.
    let skip = shown.len() + after.len();
    redis.stop();
    reader.wait_for("* the room is split");
    redis.restart();
    let healed = printed_until(&mut reader, skip, "* the room is whole again");
    assert_matches(&block(PAGE, "split"), &healed);
    reader.type_line("/quit");
    assert!(reader.wait_exit(TIMEOUT).0.success());

    // No Redis at all.
    redis.stop();
    drop(b);
    let finished = testkit::run(
        bin(),
        &["--addr", "127.0.0.1:0"],
        &[("LESSON_REDIS", &redis.url())],
        "",
        TIMEOUT,
    );
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let stderr: Vec<String> = finished.stderr.lines().map(str::to_string).collect();
    assert_matches(&block(PAGE, "no-redis"), &stderr);
}

#[test]
fn scripts_demo_cluster_starts_redis_two_instances_and_two_clients() {
    if !tools::available("scripts/demo-cluster", &[&tools::TMUX, &testkit::tools::REDIS]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/demo-cluster");
    let session = format!("demo-cluster-test-{}", std::process::id());
    let bins = testkit::bin_dir(&["http_ws_cluster", "http_ws_cluster_client"]);
    let env = [("DEMO_CLUSTER_SESSION", session.as_str()), ("DEMO_BIN_DIR", &bins)];
    let redis_port = testkit::free_addr().rsplit(':').next().expect("a port").to_string();
    let args = ["--detached", "--redis-port", &redis_port, "127.0.0.1:0", "127.0.0.1:0"];
    let started = testkit::run(&script, &args, &env, "", Duration::from_secs(180));
    assert!(started.status.success(), "{started:?}");
    // Each client pane shows its welcome; the second one counts two online.
    let pane = |n: usize| {
        let target = format!("{session}:cluster.{n}");
        let capture = ["capture-pane", "-p", "-J", "-t", &target];
        testkit::run(Path::new("tmux"), &capture, &[], "", TIMEOUT).stdout
    };
    // Until both are in, and the second counts the first: an instance counts the
    // other's people when it hears of them (at the latest at the next check-in, a
    // second later), so the second client may be welcomed with 1 online, and told
    // of the first a moment after.
    let deadline = Instant::now() + TIMEOUT;
    let (mut first, mut second) = (String::new(), String::new());
    while Instant::now() < deadline
        && !(first.contains("* you are guest-") && second.contains("(2 online)"))
    {
        (first, second) = (pane(3), pane(4));
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::process::Command::new("tmux").args(["kill-session", "-t", &session]).status();
    assert!(first.contains("* you are guest-"), "{first}");
    assert!(second.contains("(2 online)"), "{second}");
}

/// A WebSocket client with a tiny receive window (as a slow phone may have), that
/// never reads after the handshake: what the server sends it soon stops moving.
fn never_reading_client(addr: &str) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("rt");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("a small window");
        socket.connect(addr.parse().expect("an address")).await.expect("connect")
    });
    let mut stream = stream.into_std().expect("a std stream");
    stream.set_nonblocking(false).expect("blocking");
    let request = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    std::io::Write::write_all(&mut stream, request.as_bytes()).expect("the handshake");
    stream
}

/// Publishes chat lines `first..first + count` on the room's channel as `instance`
/// said them, in one step inside Redis: they reach every instance at once, as fast
/// as Redis can write.
fn burst(redis: &Redis, instance: &str, first: usize, count: usize) {
    let script = r#"
        for n = tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1 do
            local line = '{"type":"chat","id":' .. n .. ',"from":"flood","text":"' .. n .. ' '
                .. ARGV[4] .. '"}'
            redis.call('PUBLISH', KEYS[1], ARGV[1] .. ' ' .. line)
        end
    "#;
    let (first, count, padding) = (first.to_string(), count.to_string(), "x".repeat(2000));
    let args = ["EVAL", script, "1", "chat:events", instance, &first, &count, &padding];
    assert_eq!(redis.command(&args), "$-1", "the script ran");
}

#[test]
fn an_instance_too_far_behind_rejoins_and_the_others_are_not_slowed() {
    let Some((redis, mut a, mut b)) = two_instances("behind") else { return };
    let output = a.program.output();
    let joined = output.iter().find(|line| line.contains("Joined the room in Redis as "));
    let instance_a = joined.and_then(|line| line.rsplit(' ').next()).expect("A's name").to_string();
    let (mut reader, _) = join(&b, 1);
    let _stuck = never_reading_client(&b.addr);
    wait_until(&mut reader, "the stuck client's arrival", |m| m.ends_with(r#""online":2}"#));
    until_online(&a, 2);
    let (mut listener, _) = join(&a, 3);
    // B's reader reads as fast as it can, on a thread of its own, until it has been
    // told the room split and healed.
    let reading = std::thread::spawn(move || {
        let mut notices = Vec::new();
        while notices.len() < 2 {
            let message = next(&mut reader);
            if message.starts_with(r#"{"type":"notice""#) {
                notices.push(message);
            }
        }
        notices
    });
    // 10,000 lines of 2 KB while B is frozen, in bursts that A's listener takes in
    // full, one after another: A keeps up. Then B wakes to 20 MB waiting for it in
    // Redis's buffer, and a client that takes nothing: once that client's socket
    // buffers (4 MB at most on Linux) and queue are full, B waits for it (at most
    // 2 s) while it takes the rest in, falls 4,096 behind, leaves the room and joins
    // it again. (Frozen for more than 3 s, B would be counted out by A and write its
    // people in again on waking; the listener skips what that says.)
    process::signal(b.program.pid(), process::SIGSTOP).expect("freeze B");
    let (bursts, lines) = (5, 2000);
    for first in (0..bursts).map(|n| 1_000_000 + n * lines) {
        burst(&redis, &instance_a, first, lines);
        for n in first..first + lines {
            let line = format!(r#"{{"type":"chat","id":{n},"#);
            wait_until(&mut listener, &line, |m| m.starts_with(&line));
        }
    }
    process::signal(b.program.pid(), process::SIGCONT).expect("wake B");
    b.program.wait_for("fell 4096 events behind Redis");
    b.program.wait_for("Redis is back: the room is whole again");
    let notices = reading.join().expect("B's reader");
    assert!(notices[0].contains("the room is split"), "{notices:?}");
    assert!(notices[1].contains("the room is whole again"), "{notices:?}");
    assert!(!a.program.output().iter().any(|line| line.contains("behind Redis")));
}

#[test]
fn page_09_redis_cli_commands_work_as_shown() {
    let Some(redis) = Redis::start("redis-cli-inline") else { return };
    if !tools::available("page 09's redis-cli commands", &[&REDIS_CLI]) {
        return;
    }
    let a = instance(&redis);
    let here = std::env::temp_dir();
    let default = "127.0.0.1:6379";
    // Watching the channel: every event, after the name of the instance it came from.
    let watch = tools::inline_command(PAGE, "redis-cli -p 6379 subscribe chat:events");
    let mut watching = tools::shell(&tools::at(watch, default, &redis.addr), &here);
    // Redis's answer to SUBSCRIBE: from here on, the channel's events are shown.
    watching.wait_for("chat:events");
    post(&a.addr, "/api/messages", r#"{"name": "curl", "text": "seen on the channel"}"#);
    let said = watching.wait_for("seen on the channel");
    let event = r#"{"type":"chat","id":1,"from":"curl","text":"seen on the channel"}"#;
    let (from, text) = said.split_once(' ').expect("an instance, then the event");
    assert!(from.starts_with(&format!("{}/", a.addr)), "{said}");
    assert_eq!(text, event);
    watching.kill();
    // Emptying Redis: the history is gone.
    let flush = tools::inline_command(PAGE, "redis-cli -p 6379 flushall");
    let mut flushing = tools::shell(&tools::at(flush, default, &redis.addr), &here);
    assert_eq!(flushing.wait_exit(TIMEOUT).1, ["OK"]);
    let port = redis.addr.rsplit(':').next().expect("a port");
    let count = format!("redis-cli -p {port} llen chat:history");
    assert_eq!(tools::shell(&count, &here).wait_exit(TIMEOUT).1, ["0"]);
}

#[test]
fn page_09_try_it_with_websocat_and_curl() {
    let Some(redis) = Redis::start("try-it") else { return };
    let tools = [&tools::WEBSOCAT, &tools::SCRIPT, &tools::CURL];
    if !tools::available("page 09's websocat and curl commands", &tools) {
        return;
    }
    let (a, mut b) = (instance(&redis), second_instance(&redis));
    let here = std::env::temp_dir();
    // websocat on the second instance, in a terminal, as the student runs it.
    let block = block(PAGE, "websocat");
    let mut websocat = tools::terminal(&tools::at(block.command(), SECOND, &b.addr), true);
    let mut shown = Vec::new();
    while shown.len() < 2 {
        shown.push(tools::plain(&websocat.next_line(TIMEOUT).expect("websocat's lines")));
    }
    b.program.wait_for("joined as guest-1");
    // curl on the first instance; websocat hears it.
    let say = r#"curl --json '{"name": "curl", "text": "said on 5004"}' http://127.0.0.1:5004/api/messages"#;
    let say = tools::at(tools::inline_command(PAGE, say), common::CLUSTER_ADDR, &a.addr);
    let (status, said) = tools::shell_stdout(&say, &here).wait_exit(TIMEOUT);
    assert!(status.success(), "{said:?}");
    shown.push(tools::plain(&websocat.next_line(TIMEOUT).expect("the chat line")));
    websocat.kill();
    assert_matches(&block, &shown);
    // Where its Location points, on the other instance.
    let read = "curl http://127.0.0.1:5005/api/messages/1";
    let read = tools::at(tools::inline_command(PAGE, read), SECOND, &b.addr);
    let (_, lines) = tools::shell_stdout(&read, &here).wait_exit(TIMEOUT);
    assert_eq!(lines, said);
}
