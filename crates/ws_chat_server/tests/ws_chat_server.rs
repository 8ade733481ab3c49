//! Lesson 05, black-box: the real binary, on port 0, with raw WebSocket clients.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p ws_chat_server --test defences` still runs it alone.
mod defences;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use testkit::http::{connect, read_response, read_to_close};
use testkit::ws::{self, BINARY, CLOSE, PING, TEXT};
use testkit::{Server, TIMEOUT};

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_ws_chat_server")))
}

/// A client that has joined: it read its welcome and its own arrival.
fn join(server: &Server, number: u32, online: usize) -> TcpStream {
    let (mut stream, _) = ws::open(&server.addr, "/");
    assert_eq!(
        ws::read_data(&mut stream).text(),
        format!(
            "Welcome, guest-{number}! Type a message and press Enter; /name NEW changes your name."
        )
    );
    assert_eq!(
        ws::read_data(&mut stream).text(),
        format!("guest-{number} joined ({online} online)")
    );
    stream
}

fn next_line(stream: &mut TcpStream) -> String {
    ws::read_data(stream).text().to_string()
}

#[test]
fn three_clients_see_joins_messages_and_leaves() {
    let server = server();
    let mut a = join(&server, 1, 1);
    let mut b = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    let mut c = join(&server, 3, 3);
    assert_eq!(next_line(&mut a), "guest-3 joined (3 online)");
    assert_eq!(next_line(&mut b), "guest-3 joined (3 online)");

    ws::send_text(&mut b, "Hello, 小明 👋");
    assert_eq!(next_line(&mut b), "you: Hello, 小明 👋");
    assert_eq!(next_line(&mut a), "guest-2: Hello, 小明 👋");
    assert_eq!(next_line(&mut c), "guest-2: Hello, 小明 👋");

    ws::send(&mut c, CLOSE, &ws::close_payload(1000, "bye"), true);
    assert_eq!(ws::read_close(&mut c), (1000, "bye".to_string()));
    assert_eq!(next_line(&mut a), "guest-3 left (2 online)");
    assert_eq!(next_line(&mut b), "guest-3 left (2 online)");
}

#[test]
fn names_can_change_but_not_to_a_taken_or_silly_one() {
    let server = server();
    let mut a = join(&server, 1, 1);
    let mut b = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");

    ws::send_text(&mut a, "/name Alice");
    assert_eq!(next_line(&mut a), "guest-1 is now Alice");
    assert_eq!(next_line(&mut b), "guest-1 is now Alice");
    ws::send_text(&mut b, "/name Alice");
    assert_eq!(next_line(&mut b), "Cannot rename: Alice is taken.");
    ws::send_text(&mut b, "/name two words");
    assert_eq!(next_line(&mut b), "Cannot rename: a name is 1 to 20 letters, digits, - or _.");
    ws::send_text(&mut a, "hi");
    assert_eq!(next_line(&mut a), "you: hi");
    assert_eq!(next_line(&mut b), "Alice: hi");
}

#[test]
fn control_frames_are_never_forwarded() {
    let server = server();
    let mut a = join(&server, 1, 1);
    let mut b = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    ws::send(&mut b, PING, b"ping", true);
    ws::send(&mut b, BINARY, b"\x00\x01", true);
    assert_eq!(next_line(&mut b), "This chat takes text messages only.");
    ws::send_text(&mut b, "text");
    // What `a` sees next is b's text: no ping, no binary, nothing in between.
    assert_eq!(next_line(&mut a), "guest-2: text");
    // b's Close ends b's connection only.
    ws::send(&mut b, CLOSE, &ws::close_payload(1000, ""), true);
    assert_eq!(next_line(&mut a), "guest-2 left (1 online)");
    ws::send_text(&mut a, "still here");
    assert_eq!(next_line(&mut a), "you: still here");
}

#[test]
fn clients_that_vanish_are_counted_out() {
    let server = server();
    let mut a = join(&server, 1, 1);
    let b = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    // No Close frame: the process died, or the network went.
    drop(b);
    assert_eq!(next_line(&mut a), "guest-2 left (1 online)");

    // Ninety at once, then the count is back to one.
    let many: Vec<_> = (0..90).map(|_| ws::open(&server.addr, "/").0).collect();
    // They join in whatever order their handshakes finish; the count goes up by one
    // each time.
    for n in 0..90 {
        let line = next_line(&mut a);
        assert!(line.ends_with(&format!(" joined ({} online)", n + 2)), "{line}");
    }
    drop(many);
    let mut last = String::new();
    for _ in 0..90 {
        last = next_line(&mut a);
        assert!(last.contains(" left ("), "{last}");
    }
    assert!(last.ends_with(" left (1 online)"), "{last}");
}

#[test]
fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let server = server();
    let pid = server.program.pid();
    let mut talker = join(&server, 1, 1);
    let _stuck = join(&server, 2, 2); // never reads again
    let mut listener = join(&server, 3, 3);
    for line in ["guest-2 joined (2 online)", "guest-3 joined (3 online)"] {
        assert_eq!(next_line(&mut talker), line);
    }
    let before = testkit::rss_kib(pid);

    // The talker sends 5,000 lines of 1 KiB from one thread and reads its own lines
    // back on another, as a real client would. On a busy machine the delivery may
    // take longer than the 2 s the server gives a full queue, and then the stuck
    // client is put out in the middle of it: everyone hears that it left, between
    // two lines. That is the defence working, so the readers let that line by.
    let count = 5_000;
    let left = "guest-2 left (2 online)";
    let (talker, mut reader) = ws::split(talker);
    let echoes = thread::spawn(move || {
        let mut echoed = 0;
        while echoed < count {
            let data = reader.read_data();
            let text = data.text();
            if text.starts_with("you: ") {
                echoed += 1;
            } else {
                assert_eq!(text, left, "after {echoed} of our own lines");
            }
        }
        echoed
    });
    let started = Instant::now();
    let filler = "x".repeat(1000);
    let mut burst = Vec::new();
    for n in 0..count {
        burst.extend(ws::encode(TEXT, format!("{n:05} {filler}").as_bytes(), true));
    }
    talker.write_all(&burst);

    for n in 0..count {
        let mut line = next_line(&mut listener);
        if line == left {
            line = next_line(&mut listener);
        }
        assert_eq!(line, format!("guest-1: {n:05} {filler}"), "line {n} of {count}");
    }
    let took = started.elapsed();
    println!("the listener got all {count} lines in {took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(echoes.join().expect("the echo reader"), count);

    let after = testkit::rss_kib(pid);
    println!("server RSS {before} KiB -> {after} KiB");
    assert!(after < before + 32 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn a_big_room_does_not_announce_every_join() {
    let mut server = server();
    let mut a = join(&server, 1, 1);
    // 120 more: everyone hears of the joins up to 100 online, and of none after.
    let many: Vec<_> = (0..120).map(|_| ws::open(&server.addr, "/").0).collect();
    for n in 2..=100 {
        let line = next_line(&mut a);
        assert!(line.ends_with(&format!(" joined ({n} online)")), "{line}");
    }
    server.program.wait_for("joined as guest-121");
    ws::send_text(&mut a, "hello, big room");
    assert_eq!(next_line(&mut a), "you: hello, big room", "no join after the 100th");
    drop(many);
}

#[test]
fn a_slow_reader_gets_every_line_and_a_non_reader_is_put_out() {
    let mut server = server();
    let mut talker = join(&server, 1, 1);
    let mut slow = join(&server, 2, 2);
    assert_eq!(next_line(&mut talker), "guest-2 joined (2 online)");
    let _stuck = join(&server, 3, 3); // never reads again
    assert_eq!(next_line(&mut talker), "guest-3 joined (3 online)");
    assert_eq!(next_line(&mut slow), "guest-3 joined (3 online)");

    // 600 lines of 32 KiB: about 19 MB, more than the stuck client's socket buffers
    // hold, so its queue fills and stays full, and the room puts it out.
    let count = 600;
    let filler = "y".repeat(32 * 1024);
    let (talker, mut reader) = ws::split(talker);
    let echoes = thread::spawn(move || (0..count).map(|_| reader.read_data()).count());
    // The slow client reads all the time, but slower than the talker sends: a
    // line every 2 ms at most, about 16 MB/s.
    let slow = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            let line = next_line(&mut slow);
            if line == "guest-1: the end" {
                return got;
            }
            if let Some(said) = line.strip_prefix("guest-1: ") {
                got.push(said[..3].to_string());
            }
            thread::sleep(Duration::from_millis(2));
        }
    });
    for n in 0..count {
        talker.send_text(&format!("{n:03} {filler}"));
    }
    talker.send_text("the end");
    assert_eq!(echoes.join().expect("the echo reader"), count);
    let got = slow.join().expect("the slow reader");
    let expected: Vec<String> = (0..count).map(|n| format!("{n:03}")).collect();
    assert!(got == expected, "the slow reader got {} of {count} lines, or out of order", got.len());
    server.program.wait_for("conn #3 put out of the room");
    server.program.wait_for(r#"conn #3 closed by us: 1008 "too slow: you stopped reading""#);
}

#[test]
fn an_oversized_message_closes_that_connection_with_1009_only() {
    let server = server();
    let mut a = join(&server, 1, 1);
    let mut big = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    let _ = big.write_all(&ws::encode(TEXT, &vec![b'a'; 64 * 1024 + 1], true));
    assert_eq!(ws::read_close(&mut big).0, 1009);
    assert_eq!(next_line(&mut a), "guest-2 left (1 online)");
    ws::send_text(&mut a, "fine");
    assert_eq!(next_line(&mut a), "you: fine");
}

#[test]
fn bad_frames_get_the_close_code_that_says_why() {
    let server = server();
    for (n, (bytes, code)) in [
        (ws::encode(TEXT, &[0xff, 0xfe], true), 1007),
        (ws::encode(TEXT, b"no mask", false), 1002),
        (ws::encode(0x3, b"reserved", true), 1002),
    ]
    .into_iter()
    .enumerate()
    {
        let mut client = join(&server, u32::try_from(n).expect("small") + 1, 1);
        client.write_all(&bytes).expect("send");
        assert_eq!(ws::read_close(&mut client).0, code);
        // The server leaves the room before it hangs up: once the connection is
        // closed, the next client is alone.
        read_to_close(&mut client, TIMEOUT);
    }
}

#[test]
fn plain_http_and_half_handshakes_do_not_hurt() {
    let server = server();
    let mut stream = connect(&server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let response = read_response(&mut stream, false).expect("an answer");
    assert_eq!(response.status, 426);
    assert!(response.body.contains("WebSocket server (ws_chat_server)"), "{}", response.body);

    let mut half = connect(&server.addr);
    half.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    assert!(read_to_close(&mut half, Duration::from_secs(15)).is_empty());
    // Neither joined the room: the next client is the first guest, alone.
    join(&server, 1, 1);
}

#[test]
fn ctrl_c_says_going_away_to_everyone_and_exits_0() {
    let mut server = server();
    let mut a = join(&server, 1, 1);
    let mut b = join(&server, 2, 2);
    assert_eq!(next_line(&mut a), "guest-2 joined (2 online)");
    server.program.interrupt();
    for client in [&mut a, &mut b] {
        assert_eq!(ws::read_close(client), (1001, "server shutting down".to_string()));
        ws::send(client, CLOSE, &ws::close_payload(1001, ""), true);
    }
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success(), "{status:?}");
    assert_eq!(output.last().map(String::as_str), Some(" INFO All connections closed, bye"));
}

#[test]
fn a_port_in_use_gets_one_friendly_line() {
    let server = server();
    let bin = Path::new(env!("CARGO_BIN_EXE_ws_chat_server"));
    let line = testkit::one_error_line(bin, &["--addr", &server.addr]);
    assert!(line.starts_with(&format!("error: {} is already in use", server.addr)), "{line}");
    assert!(line.contains("cargo run -p ws_chat_server -- --addr"), "{line}");
}

#[test]
fn addresses_are_read_one_way_and_mistakes_are_usage_errors() {
    let bin = Path::new(env!("CARGO_BIN_EXE_ws_chat_server"));
    testkit::assert_server_reads_addresses(bin, "ws");
}

#[test]
fn scripts_demo_chat_starts_a_chat_or_says_why_it_cannot() {
    use testkit::tools::{self, TMUX};
    if !tools::available("scripts/demo-chat", &[&TMUX]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/demo-chat");
    let session = format!("demo-chat-test-{}", std::process::id());
    let bins = testkit::bin_dir(&["ws_chat_server", "ws_chat_client"]);
    let env = [("DEMO_CHAT_SESSION", session.as_str()), ("DEMO_BIN_DIR", &bins)];
    let help = testkit::run(&script, &["--help"], &env, "", Duration::from_secs(60));
    assert!(
        help.status.success() && help.stdout.starts_with("usage: scripts/demo-chat"),
        "{help:?}"
    );

    // A port in use: the demo says so and fails, rather than claim to run.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("an address").to_string();
    let failed = testkit::run(&script, &["--detached", &addr], &env, "", Duration::from_secs(120));
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(failed.stderr.contains("the server did not start"), "{}", failed.stderr);
    assert!(failed.stderr.contains("is already in use"), "{}", failed.stderr);

    // A free port: the server and three clients, all in the room.
    let started =
        testkit::run(&script, &["--detached", "127.0.0.1:0"], &env, "", Duration::from_secs(120));
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + TIMEOUT;
    let mut pane = String::new();
    while Instant::now() < deadline && !pane.contains("joined as guest-3") {
        let capture = testkit::run(
            Path::new("tmux"),
            &["capture-pane", "-p", "-J", "-t", &format!("{session}:chat.0")],
            &[],
            "",
            TIMEOUT,
        );
        pane = capture.stdout;
        thread::sleep(Duration::from_millis(100));
    }
    let _ = std::process::Command::new("tmux").args(["kill-session", "-t", &session]).status();
    assert!(pane.contains("joined as guest-3"), "{pane}");
}

#[test]
fn page_05_commands_for_other_tools_work_as_shown() {
    use testkit::tools::{self, WEBSOCAT};
    if !tools::available("page 05's websocat commands", &[&WEBSOCAT]) {
        return;
    }
    let page = "05-ws-chat-server.md";
    let default = common::WS_CHAT_ADDR;
    let mut server = server();
    let here = std::env::temp_dir();
    tools::check_block(page, "websocat", default, &server.addr, false);
    server.program.wait_for("conn #1 closed by the client");

    // Many clients at once: the page's loop, as it is.
    let many = tools::inline_command(
        page,
        "for i in $(seq 50); do (sleep 30 | websocat ws://127.0.0.1:5002/ >/dev/null &); done",
    );
    let mut loop_ = tools::shell(&tools::at(many, default, &server.addr), &here);
    server.program.wait_for_within("joined as guest-51", Duration::from_secs(30));
    loop_.kill();

    // A client that never reads: websocat into a pipe nobody reads.
    let stuck = tools::inline_command(page, "websocat ws://127.0.0.1:5002/ | (sleep 3600)");
    let mut stuck = tools::shell(&tools::at(stuck, default, &server.addr), &here);
    server.program.wait_for("joined as guest-52");
    stuck.kill();
}

#[test]
fn interop_a_python_client_against_lesson_05() {
    use testkit::tools::{self, PY_WEBSOCKETS};
    if !tools::available("the interop page's Python client", &[&PY_WEBSOCKETS]) {
        return;
    }
    let server = server();
    tools::check_block("interop.md", "python-client-05", common::WS_CHAT_ADDR, &server.addr, false);
}

/// Page 05's three terminals: this server, a watcher and a talker (lesson 06's
/// client, built by `bin_path` if need be), so that `cargo test -p ws_chat_server`
/// alone checks its page.
#[test]
fn page_05_shows_what_three_terminals_print() {
    use testkit::page::{assert_matches, block};
    use testkit::{Program, bin_path};
    let page = "05-ws-chat-server.md";
    let client = bin_path("ws_chat_client");
    let mut server = server();
    let mut watcher = Program::start_interactive(&client, &["--addr", &server.addr]);
    watcher.wait_for("guest-1 joined (");

    let talker_block = block(page, "talker");
    let mut talker = Program::start_interactive(&client, &["--addr", &server.addr]);
    for line in talker_block.piped_input().lines() {
        talker.type_line(line);
    }
    talker.end_input();
    let (status, talker_output) = talker.wait_exit(TIMEOUT);
    assert!(status.success(), "{talker_output:?}");
    assert_matches(&talker_block, &talker_output);

    watcher.wait_for("Bob left (1 online)");
    server.program.wait_for("conn #2 closed by the client");
    server.program.interrupt();
    let (status, watcher_output) = watcher.wait_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1));
    assert_matches(&block(page, "watcher"), &watcher_output);
    let (status, server_output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&block(page, "server"), &server_output);
}

#[test]
fn page_05_slow_client_lab_shows_the_lag_every_time() {
    use testkit::page::{assert_matches, block};
    use testkit::tools::{self, WEBSOCAT};
    if !tools::available("page 05's slow-client lab", &[&WEBSOCAT, &tools::SCRIPT]) {
        return;
    }
    let mut server = server();
    let here = testkit::workspace_root();
    let stuck = "websocat ws://127.0.0.1:5002/ | (sleep 3600)";
    let stuck = tools::at(
        tools::inline_command("05-ws-chat-server.md", stuck),
        common::WS_CHAT_ADDR,
        &server.addr,
    );
    // In a terminal, as a student runs it: its keyboard stays open, so websocat
    // keeps the connection; only its output, into `sleep`, is never read.
    let mut stuck = tools::terminal(&stuck, true);
    server.program.wait_for("conn #1 joined as guest-1");

    // The page's flood, with lesson 06's binary where it says `cargo run`.
    let flood = block("05-ws-chat-server.md", "flood");
    let command = tools::lesson_command(flood.command(), common::WS_CHAT_ADDR, &server.addr);
    let (status, lines) = tools::shell(&command, &here).wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{lines:?}");
    assert_matches(&flood, &lines);
    // The stuck client took nothing: the room put it out, every time, as the page
    // shows.
    server.program.wait_for("conn #1 put out of the room: 256 lines waited 2 s for it");
    server.program.wait_for(r#"conn #1 closed by us: 1008 "too slow: you stopped reading""#);
    assert_matches(&block("05-ws-chat-server.md", "put-out"), &server.program.output());
    stuck.kill();
}
