//! Page 03's defence table: each way to break an echo server, run against the first
//! version (`ws_echo_server_first`) and the full lesson over loopback.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use testkit::defence::{Row, panicked_since, table};
use testkit::http::{connect, read_response};
use testkit::page::{assert_matches, block};
use testkit::ws::{self, CLOSE, TEXT};
use testkit::{Server, bin_path};

/// How long a panic message may take to show in the server's output.
const PANIC_SHOWS: Duration = Duration::from_secs(2);

fn and_panics(server: &mut Server, mark: usize, what: &str) -> String {
    if panicked_since(&mut server.program, mark, PANIC_SHOWS) {
        format!("{what}; its task panics")
    } else {
        what.to_string()
    }
}

/// What the client reads next: a frame, in words.
fn next_frame(stream: &mut std::net::TcpStream) -> String {
    match ws::read(stream) {
        Some(frame) if frame.opcode == CLOSE => {
            let (code, reason) = frame.close_code();
            format!("closes with {code} \"{reason}\"")
        }
        Some(frame) if frame.opcode == TEXT => {
            format!("echoes {} KiB back", frame.payload.len() / 1024)
        }
        Some(frame) => format!("answers a frame of opcode {}", frame.opcode),
        None => "drops the connection, without a Close".to_string(),
    }
}

fn plain_get(server: &mut Server) -> String {
    let mark = server.program.output().len();
    let mut stream = connect(&server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("send");
    match read_response(&mut stream, false) {
        Some(answer) => {
            let upgrade = answer.header("upgrade").unwrap_or("-").to_string();
            format!("`{} {}`, with `Upgrade: {upgrade}`", answer.status, answer.reason)
        }
        None => and_panics(server, mark, "no answer"),
    }
}

fn big_message(server: &mut Server) -> String {
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send(&mut stream, TEXT, &vec![b'a'; 1024 * 1024], true);
    next_frame(&mut stream)
}

fn bad_utf8(server: &mut Server) -> String {
    let mark = server.program.output().len();
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send(&mut stream, TEXT, &[0x66, 0x6f, 0xff, 0xfe], true);
    let what = next_frame(&mut stream);
    and_panics(server, mark, &what)
}

fn vanish(server: &mut Server) -> String {
    let mark = server.program.output().len();
    let (stream, _) = ws::open(&server.addr, "/");
    drop(stream);
    if panicked_since(&mut server.program, mark, PANIC_SHOWS) {
        return "its task panics".to_string();
    }
    let said = server.program.output()[mark..]
        .iter()
        .any(|l| l.contains("vanished without a close frame"));
    if said { "one log line: vanished without a close frame" } else { "nothing" }.to_string()
}

fn head_never_ends(server: &mut Server) -> String {
    let mut stream = connect(&server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    let wait = Duration::from_secs(7);
    stream.set_read_timeout(Some(wait)).expect("a read timeout");
    let started = Instant::now();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => format!("drops it after {} s", started.elapsed().as_secs()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            format!("still waiting after {} s", wait.as_secs())
        }
        other => format!("answers: {other:?}"),
    }
}

fn ctrl_c(server: &mut Server) -> String {
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut stream, "hi");
    let _ = ws::read_data(&mut stream);
    server.program.interrupt();
    match next_frame(&mut stream).strip_prefix("closes with ") {
        Some(close) => format!("the client is sent Close {close}"),
        None => "the connection drops, without a Close".to_string(),
    }
}

#[test]
fn page_03_defence_table_is_what_the_two_programs_do() {
    let mut first = Server::start(&bin_path("ws_echo_server_first"));
    let mut lesson = Server::start(&bin_path("ws_echo_server"));
    type Case = fn(&mut Server) -> String;
    let cases: [(&str, Case); 6] = [
        ("A browser's plain `GET /`", plain_get),
        ("A 1 MiB message", big_message),
        ("Bad UTF-8 in a text frame", bad_utf8),
        ("A client that vanishes without a Close", vanish),
        ("A request head that never ends", head_never_ends),
        ("Ctrl-C with a client connected", ctrl_c),
    ];
    let mut rows = Vec::new();
    for (case, run) in cases {
        if case.starts_with("Ctrl-C") {
            // The page says: in every row before this one, the others carry on.
            for server in [&first, &lesson] {
                let (mut stream, _) = ws::open(&server.addr, "/");
                ws::send_text(&mut stream, "still there?");
                assert_eq!(ws::read_data(&mut stream).text(), "Server received: still there?");
            }
        }
        rows.push(Row { case, first: run(&mut first), lesson: run(&mut lesson) });
    }
    assert_matches(&block("03-ws-echo-server.md", "defences"), &table(&rows));
}
