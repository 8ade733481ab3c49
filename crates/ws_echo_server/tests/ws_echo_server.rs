//! Lesson 03, black-box: the real binary, on port 0, with raw WebSocket frames.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p ws_echo_server --test defences` still runs it alone.
mod defences;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::http::{connect, read_response, read_to_close};
use testkit::page::{assert_matches, block};
use testkit::ws::{self, BINARY, CLOSE, PING, PONG, TEXT};
use testkit::{Server, TIMEOUT, bin_path, tools};

fn server() -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_ws_echo_server")))
}

/// After every abuse, a new client must still be served.
fn assert_still_echoes(server: &Server) {
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut stream, "still there?");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: still there?");
}

#[test]
fn text_is_answered_and_the_handshake_is_logged() {
    let mut server = server();
    let (mut stream, response) = ws::open(&server.addr, "/");
    assert_eq!(
        response.header("upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );
    ws::send_text(&mut stream, "Hello, 小明!");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: Hello, 小明!");

    let line = server.program.wait_for("conn #1 127.0.0.1:");
    assert!(
        line.ends_with(&format!(
            "GET / (upgrade: websocket, connection: Upgrade, sec-websocket-key: {}, sec-websocket-version: 13) -> 101",
            ws::KEY
        )),
        "{line}"
    );
    assert_eq!(server.program.wait_for("text:"), " INFO conn #1 text: \"Hello, 小明!\"");
}

#[test]
fn binary_is_echoed_as_binary() {
    let server = server();
    let (mut stream, _) = ws::open(&server.addr, "/");
    let bytes: Vec<u8> = (0..=255).collect();
    ws::send(&mut stream, BINARY, &bytes, true);
    let frame = ws::read_data(&mut stream);
    assert_eq!((frame.opcode, frame.payload), (BINARY, bytes));
}

#[test]
fn a_ping_gets_a_pong_and_no_echo() {
    let server = server();
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send(&mut stream, PING, b"are you there", true);
    let frame = ws::read_frame(&mut stream).expect("a frame");
    assert_eq!((frame.opcode, frame.payload.as_slice()), (PONG, &b"are you there"[..]));
    // The next data frame is the answer to our text: nothing was echoed for the ping.
    ws::send_text(&mut stream, "after");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: after");
}

#[test]
fn the_close_handshake_is_answered_and_logged() {
    let mut server = server();
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send(&mut stream, CLOSE, &ws::close_payload(1000, "bye"), true);
    assert_eq!(ws::read_close(&mut stream), (1000, "bye".to_string()));
    // After the Close frames, the server closes the TCP connection.
    assert!(read_to_close(&mut stream, TIMEOUT).is_empty());
    server.program.wait_for("conn #1 closed by the client: 1000 \"bye\"");
}

#[test]
fn an_oversized_message_closes_that_connection_with_1009_only() {
    let mut server = server();
    let (mut other, _) = ws::open(&server.addr, "/");
    let (mut big, _) = ws::open(&server.addr, "/");
    // One byte over the 64 KiB limit. The server may stop reading early, so a
    // failed write is fine: the Close frame is what we check.
    let _ = big.write_all(&ws::encode(TEXT, &vec![b'a'; 64 * 1024 + 1], true));
    let (code, reason) = ws::read_close(&mut big);
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("64 KiB"), "{reason}");
    server.program.wait_for("conn #2 closed by us: 1009");

    // Exactly 64 KiB is fine, and the other client never noticed anything.
    ws::send(&mut other, TEXT, &vec![b'b'; 64 * 1024 - "x".len()], true);
    assert_eq!(ws::read_data(&mut other).payload.len(), "Server received: ".len() + 64 * 1024 - 1);
    // The log shows the start of a long message, not 64 KiB of it.
    let line = server.program.wait_for("conn #1 text:");
    assert_eq!(line, format!(" INFO conn #1 text: {:?}... (65535 bytes)", "b".repeat(60)));
    ws::send_text(&mut other, "fine");
    assert_eq!(ws::read_data(&mut other).text(), "Server received: fine");
}

#[test]
fn bad_frames_get_the_close_code_that_says_why() {
    let server = server();
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("invalid UTF-8 in a text frame", ws::encode(TEXT, &[0x66, 0x6f, 0xff, 0xfe], true), 1007),
        ("an unmasked frame", ws::encode(TEXT, b"no mask", false), 1002),
        ("a reserved opcode", ws::encode(0x3, b"what is this", true), 1002),
        (
            "a reserved bit set",
            {
                let mut frame = ws::encode(TEXT, b"rsv", true);
                frame[0] |= 0x40;
                frame
            },
            1002,
        ),
    ];
    for (what, bytes, expected) in cases {
        let (mut stream, _) = ws::open(&server.addr, "/");
        stream.write_all(&bytes).expect("send");
        let (code, reason) = ws::read_close(&mut stream);
        assert_eq!(code, expected, "{what}: {reason}");
    }
    assert_still_echoes(&server);
}

#[test]
fn plain_http_gets_a_426_that_explains_and_the_server_carries_on() {
    let mut server = server();
    let mut stream = connect(&server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let response = read_response(&mut stream, false).expect("an answer");
    assert_eq!(response.status, 426);
    assert_eq!(response.header("upgrade"), Some("websocket"));
    assert!(
        response.body.starts_with("This is a WebSocket server (ws_echo_server)"),
        "{}",
        response.body
    );
    assert!(response.body.contains("cargo run -p ws_echo_client"), "{}", response.body);
    server.program.wait_for("not a WebSocket handshake");

    // A wrong version gets 426 with the version we speak; garbage gets 400.
    let mut stream = connect(&server.addr);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 12\r\n\r\n",
        ws::KEY
    );
    stream.write_all(request.as_bytes()).expect("send");
    let response = read_response(&mut stream, false).expect("an answer");
    assert_eq!((response.status, response.header("sec-websocket-version")), (426, Some("13")));

    let mut stream = connect(&server.addr);
    stream.write_all(b"HELLO THERE\r\n\r\n").expect("send");
    assert_eq!(read_response(&mut stream, false).expect("an answer").status, 400);

    assert_still_echoes(&server);
}

#[test]
fn a_half_finished_handshake_is_dropped() {
    let server = server();
    let mut stream = connect(&server.addr);
    let started = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n").expect("send");
    // ... and never the rest. The server gives up after 5 s; we allow 15.
    let answer = read_to_close(&mut stream, Duration::from_secs(15));
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "dropped too early: {:?}",
        started.elapsed()
    );
    assert_still_echoes(&server);
}

#[test]
fn two_hundred_clients_that_vanish_leave_the_server_serving() {
    let mut server = server();
    let clients: Vec<_> = (0..200).map(|_| ws::open(&server.addr, "/").0).collect();
    drop(clients);
    for _ in 0..200 {
        server.program.wait_for("vanished without a close frame");
    }
    assert_still_echoes(&server);
}

#[test]
fn ctrl_c_says_going_away_to_every_client_and_exits_0() {
    let mut server = server();
    let mut clients: Vec<_> = (0..3).map(|_| ws::open(&server.addr, "/").0).collect();
    for client in &mut clients {
        ws::send_text(client, "hi");
        ws::read_data(client);
    }
    server.program.interrupt();
    for client in &mut clients {
        let (code, reason) = ws::read_close(client);
        assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
        // Answer, as a polite client does.
        ws::send(client, CLOSE, &ws::close_payload(1001, ""), true);
    }
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success(), "{status:?}");
    assert_eq!(output.last().map(String::as_str), Some(" INFO All connections closed, bye"));
}

#[test]
fn a_port_in_use_gets_one_friendly_line() {
    let server = server();
    let bin = Path::new(env!("CARGO_BIN_EXE_ws_echo_server"));
    let line = testkit::one_error_line(bin, &["--addr", &server.addr]);
    assert!(line.starts_with(&format!("error: {} is already in use", server.addr)), "{line}");
}

#[test]
fn idle_connections_are_cheap() {
    let server = server();
    let pid = server.program.pid();
    let before = testkit::rss_kib(pid);
    let clients: Vec<_> = (0..500).map(|_| ws::open(&server.addr, "/").0).collect();
    // The last handshake's answer arrived, so every connection task has its buffers.
    let after = testkit::rss_kib(pid);
    let per_connection = (after.saturating_sub(before)) / 500;
    println!(
        "RSS {before} KiB -> {after} KiB with 500 idle connections: {per_connection} KiB each"
    );
    assert!(per_connection < 40, "{per_connection} KiB per idle connection");
    drop(clients);
}

#[test]
fn page_03_shows_what_the_programs_print() {
    let page = "03-ws-echo-server.md";
    let mut server = server();

    let client = block(page, "client");
    let finished =
        testkit::run(&bin_path("ws_echo_client"), &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_matches(&client, &finished.stdout_lines());
    server.program.wait_for("conn #1 closed by the client");

    let upgrade = block(page, "curl-upgrade");
    let lines = tools::curl_until_shown(&upgrade, common::WS_ECHO_ADDR, &server.addr);
    assert_matches(&upgrade, &lines);
    server.program.wait_for("conn #2 vanished");

    let plain = block(page, "curl-plain");
    let mut lines = tools::curl(&plain, common::WS_ECHO_ADDR, &server.addr);
    // The body names the server's address, so its length depends on how many digits
    // the port has: the page shows port 5001, four digits.
    let port_digits = server.addr.rsplit(':').next().map_or(0, str::len);
    for line in &mut lines {
        if let Some(length) = line.strip_prefix("content-length: ") {
            let length: usize = length.parse().expect("a length");
            *line = format!("content-length: {}", length + 4 - port_digits);
        }
    }
    assert_matches(&plain, &lines);
    server.program.wait_for("conn #3 ");

    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&block(page, "server"), &output);
}

#[test]
fn addresses_are_read_one_way_and_mistakes_are_usage_errors() {
    let bin = Path::new(env!("CARGO_BIN_EXE_ws_echo_server"));
    testkit::assert_server_reads_addresses(bin, "ws");
}

#[test]
#[allow(clippy::too_many_lines, reason = "it follows the page's steps, top to bottom")]
fn page_03_commands_for_other_tools_work_as_shown() {
    use testkit::tools::{NC, SCRIPT, WEBSOCAT, WSCAT};
    let page = "03-ws-echo-server.md";
    let default = common::WS_ECHO_ADDR;
    let mut server = server();
    let addr = server.addr.clone();
    let here = std::env::temp_dir();
    if tools::available("page 03's websocat commands", &[&WEBSOCAT, &SCRIPT]) {
        tools::check_block(page, "websocat", default, &addr, false);
        server.program.wait_for(r#"text: "Hi there\n""#);

        let big = block(page, "websocat-big");
        let (status, lines) =
            tools::shell(&tools::at(big.command(), default, &addr), &here).wait_exit(TIMEOUT);
        assert!(status.success(), "{status:?}");
        assert_matches(&big, &lines);
        server.program.wait_for(r#"closed by us: 1009 "message too big: the limit is 64 KiB""#);

        // A client that vanishes: websocat, in a terminal, killed with kill -9.
        let mut vanishing = tools::terminal(
            &tools::at(
                tools::inline_command(page, "websocat ws://127.0.0.1:5001/"),
                default,
                &addr,
            ),
            true,
        );
        server.program.wait_for("-> 101");
        vanishing.kill();
        server.program.wait_for("vanished without a close frame");
    }
    if tools::available("page 03's wscat session", &[&WSCAT, &SCRIPT]) {
        tools::check_wscat_session(page, "wscat", default, &addr);
    }
    if tools::available("page 03's nc command", &[&NC]) {
        let started = Instant::now();
        let command = tools::at(
            tools::inline_command(page, "printf 'GET / HTTP/1.1\\r\\n' | nc 127.0.0.1 5001"),
            default,
            &addr,
        );
        let (_, lines) = tools::shell(&command, &here).wait_exit(Duration::from_secs(15));
        assert!(lines.is_empty(), "{lines:?}");
        assert!(started.elapsed() >= Duration::from_secs(4));
        server.program.wait_for("no handshake within 5 s, dropped");
    }
    if tools::available("page 03's Ctrl-C with websocat clients", &[&WEBSOCAT, &SCRIPT]) {
        let command =
            tools::at(tools::inline_command(page, "websocat ws://127.0.0.1:5001/"), default, &addr);
        let mut clients = [tools::terminal(&command, true), tools::terminal(&command, true)];
        server.program.wait_for("-> 101");
        server.program.wait_for("-> 101");
        server.program.interrupt();
        // websocat answers the Close only when its input ends: the server hangs up
        // after CLOSE_TIMEOUT, and ends cleanly within its grace.
        let started = Instant::now();
        let (status, output) = server.program.wait_exit(TIMEOUT);
        assert!(status.success(), "{output:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let said = |text: &str| output.iter().filter(|line| line.contains(text)).count();
        assert_eq!(said(r#"closed by us: 1001 "server shutting down""#), 2, "{output:?}");
        assert_eq!(output.last().map(String::as_str), Some(" INFO All connections closed, bye"));
        for client in &mut clients {
            client.type_keys("\u{4}"); // Ctrl-D
            client.wait_exit(TIMEOUT);
        }
    }
}

#[test]
fn interop_python_clients_against_lesson_03() {
    use testkit::tools::{PY_WEBSOCKET_CLIENT, PY_WEBSOCKETS};
    if !tools::available(
        "the interop page's Python clients",
        &[&PY_WEBSOCKETS, &PY_WEBSOCKET_CLIENT],
    ) {
        return;
    }
    let page = "interop.md";
    let default = common::WS_ECHO_ADDR;
    let mut server = server();
    for id in ["python-client-03", "app-client-03", "app-client-big"] {
        tools::check_block(page, id, default, &server.addr, false);
    }
    server.program.wait_for("closed by us: 1009");
    drop(server);
    tools::check_block(page, "app-client-refused", default, &testkit::free_addr(), false);
}

/// The bytes of one WebSocket frame as the page shows them: 16 to a line, in hex.
fn hex_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .map(|chunk| chunk.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "))
        .collect()
}

/// The first frame after the handshake in `bytes`: skips the HTTP head (up to the
/// blank line), then reads a frame header to know the frame's length.
fn first_frame(bytes: &[u8]) -> Vec<u8> {
    let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP head") + 4;
    let frame = &bytes[head..];
    let masked = frame[1] & 0x80 != 0;
    let length = usize::from(frame[1] & 0x7f);
    assert!(length < 126, "a short frame");
    frame[..2 + if masked { 4 } else { 0 } + length].to_vec()
}

#[test]
#[allow(clippy::too_many_lines, reason = "it follows the page's steps, top to bottom")]
fn page_03_shows_real_frames() {
    // A recording relay between lesson 04's client and this server: it passes every
    // byte on, and keeps a copy of each direction.
    let server = server();
    let (relay_addr, record) = testkit::relay::recording(&server.addr);
    let finished =
        testkit::run(&bin_path("ws_echo_client"), &["--addr", &relay_addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    let (sent, received) = record.lock().expect("the record").clone();
    let client_frame = first_frame(&sent);
    let server_frame = first_frame(&received);

    // The client's frame: FIN and text (0x81), the mask bit and 13 (0x8d), a random
    // masking key, then "Hello Server!" XORed with it.
    let page = block("03-ws-echo-server.md", "frames");
    let text = page.output.join("\n");
    let dump = |title: &str| -> Vec<u8> {
        let is_hex = |line: &&str| {
            !line.is_empty()
                && line.split(' ').all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok())
        };
        let after = text.split(title).nth(1).expect(title);
        let lines: Vec<&str> = after.lines().skip(1).take_while(is_hex).collect();
        lines.join(" ").split(' ').map(|b| u8::from_str_radix(b, 16).expect("hex")).collect()
    };
    let shown_client = dump("client -> server");
    let shown_server = dump("server -> client");
    let actual = format!(
        "client -> server\n{}\nserver -> client\n{}",
        hex_lines(&client_frame).join("\n"),
        hex_lines(&server_frame).join("\n")
    );
    // The server's frame is the same on every run: it must match byte for byte.
    assert_eq!(shown_server, server_frame, "the page's server frame; this run:\n{actual}");
    // The client's masking key is new for every frame, so the page's bytes differ
    // from this run's: the header must match, and the page's own key must unmask its
    // own payload to the same text.
    assert_eq!(shown_client.len(), client_frame.len(), "this run:\n{actual}");
    assert_eq!(shown_client[..2], client_frame[..2], "this run:\n{actual}");
    let unmask = |frame: &[u8]| -> Vec<u8> {
        frame[6..].iter().enumerate().map(|(i, b)| b ^ frame[2 + i % 4]).collect()
    };
    assert_eq!(unmask(&client_frame), b"Hello Server!");
    assert_eq!(unmask(&shown_client), b"Hello Server!", "the page's key must unmask its payload");
    assert_ne!(client_frame[6..], b"Hello Server!"[..], "the client masks what it sends");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_ctrl_c_still_ends_in_time() {
    let mut server = server();
    // A client that sends big messages and never reads their echoes: once the
    // socket buffers between us are full, the server's send waits, for this
    // connection only, and gives up after SEND_TIMEOUT (30 s).
    let (stuck, _) = ws::open(&server.addr, "/");
    let mut writer = stuck.try_clone().expect("a second handle");
    writer.set_write_timeout(Some(Duration::from_secs(1))).expect("a write timeout");
    let flooding = std::thread::spawn(move || {
        let message = ws::encode(TEXT, &vec![b'a'; 60 * 1024], true);
        let started = Instant::now();
        // Until the server stops reading (a write times out), or for 40 s at most.
        while started.elapsed() < Duration::from_secs(40) && writer.write_all(&message).is_ok() {}
    });
    server.program.wait_for("conn #1 text:");
    // Meanwhile everyone else is served.
    assert_still_echoes(&server);
    server
        .program
        .wait_for_within("conn #1 dropped: it took nothing for 30 s", Duration::from_secs(45));
    flooding.join().expect("the flooding thread");
    drop(stuck);

    // A client that never reads and never answers our Close: Ctrl-C closes it, waits
    // at most CLOSE_TIMEOUT (1 s) for its answer, and ends within the grace (3 s).
    let (_silent, _) = ws::open(&server.addr, "/");
    server.program.wait_for("conn #3 ");
    let interrupted = Instant::now();
    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success(), "{status:?}");
    assert_eq!(output.last().map(String::as_str), Some(" INFO All connections closed, bye"));
    assert!(interrupted.elapsed() < Duration::from_secs(3), "{:?}", interrupted.elapsed());
}
