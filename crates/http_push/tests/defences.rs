//! Page 13's defence table: each way to break a push over plain HTTP, run against
//! the first version (`http_push_first`), the step that turns it (and the one
//! before) and the full lesson, over loopback.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use testkit::Server;
use testkit::defence::{rows_with_steps, table_with_steps, until_put_out_or};
use testkit::http::{connect, read_response};

use testkit::page::{assert_matches, block};
use testkit::tools::{self, NGINX};
use testkit::ws;

use super::{Stream, data, say};

/// How long a case waits to see that nothing comes: on loopback an answer comes
/// within milliseconds.
const NOTHING_AFTER: Duration = Duration::from_secs(1);

/// The chat lines (not who joined) a stream gets before the chat line `probe`.
fn chats_before(events: &mut Stream, probe: &str) -> Vec<String> {
    let mut chats = Vec::new();
    loop {
        let event = events.next().expect("an event before the stream ends");
        let data = data(&event);
        if data.contains(&format!(r#""text":"{probe}""#)) {
            return chats;
        }
        if data.contains(r#""type":"chat""#) {
            chats.push(data);
        }
    }
}

/// A browser whose stream broke: it connects again, with `Last-Event-ID` if an
/// event had an id, as `EventSource` does. Two lines were said in between.
fn reconnect(server: &mut Server, _: &Path) -> String {
    let addr = &server.addr;
    let mut events = Stream::open(addr, "/api/events", "");
    say(addr, "Ann", "before");
    assert_eq!(chats_before(&mut events, "before"), Vec::<String>::new());
    let last = events.last_id.clone();
    drop(events);
    say(addr, "Ann", "missed 1");
    say(addr, "Ann", "missed 2");
    let header = last.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
    let mut again = Stream::open(addr, "/api/events", &header);
    // The server may not have put the new stream in the room yet: say the probe
    // until it comes (the lines before it are what the reconnect brought).
    let brought = loop {
        say(addr, "Ann", "probe");
        if let Some(chats) = again.chats_before_within("probe", NOTHING_AFTER) {
            break chats;
        }
    };
    match brought.iter().filter(|chat| chat.contains("missed")).count() {
        0 => "misses the 2 lines said meanwhile".to_string(),
        n => format!("gets the {n} lines it missed"),
    }
}

/// A WebSocket that says `lines` long lines, reading what it hears meanwhile (it is
/// in the room too). Returns when it has said them all.
fn flood(addr: &str, lines: usize) {
    let (socket, answer) = ws::open(addr, "/ws");
    assert_eq!(answer.status, 101, "{answer:?}");
    let (writer, mut heard) = ws::split(socket);
    thread::spawn(move || while heard.read().is_some() {});
    let line = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(1900));
    for _ in 0..lines {
        writer.send_text(&line);
    }
}

/// A stream that never reads, opened at `front` (the server, or nginx before it),
/// while a WebSocket floods the room at `server.addr`; then what became of it.
fn stuck_while_flooded(server: &mut Server, front: &str, lines: usize) -> (bool, TcpStream) {
    // Not a byte read: its first event would be its last.
    let stuck = Stream::open_after(front, server).stream;
    let mark = server.program.output().len();
    flood(&server.addr, lines);
    let flooded = Instant::now();
    // The room gives a stuck client 2 s; a little more, then it is over.
    until_put_out_or(server, mark, || flooded.elapsed() > Duration::from_secs(4));
    let put_out = server.program.output()[mark..].iter().any(|l| l.contains("put out of the room"));
    (put_out, stuck)
}

/// A stream that stops reading while a WebSocket floods the room with 23 MB.
fn stops_reading(server: &mut Server, _: &Path) -> String {
    let addr = server.addr.clone();
    match stuck_while_flooded(server, &addr, 12_000) {
        (true, _) => "put out of the room: its connection is cut".to_string(),
        (false, _) => "never put out: the server keeps every line for it".to_string(),
    }
}

/// A client without an event stream asks for the lines after line 1, willing to
/// wait 20 s; line 2 comes a moment later.
fn long_poll(server: &mut Server, _: &Path) -> String {
    let addr = &server.addr;
    say(addr, "Ann", "line 1");
    let mut poll = connect(addr);
    let ask = "GET /api/messages?since=1&wait=20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    poll.write_all(ask.as_bytes()).expect("ask");
    poll.set_read_timeout(Some(NOTHING_AFTER)).expect("a read timeout");
    let mut first = [0u8; 1];
    if poll.peek(&mut first).is_ok() {
        let answer = read_response(&mut poll, false).expect("an answer");
        let again = if answer.body.contains("line 1") { "line 1 again" } else { "something else" };
        return format!("answers at once, with {again}");
    }
    poll.set_read_timeout(Some(testkit::TIMEOUT)).expect("a read timeout");
    say(addr, "Ann", "line 2");
    let answer = read_response(&mut poll, false).expect("an answer");
    let lines = answer.body.matches(r#""id":"#).count();
    assert!(lines == 1 && answer.body.contains("line 2"), "{answer:?}");
    "waits, then answers with line 2 alone".to_string()
}

/// Behind lesson 10's nginx, as `proxy/nginx.conf` is: a stream that stops reading
/// while the room is flooded with 38 MB.
fn behind_nginx(server: &mut Server, _: &Path) -> String {
    let addr = server.addr.clone();
    // A folder of its own for each nginx: the cells run at once.
    let test = format!("page 13 {}", addr.replace([':', '.'], "-"));
    let Some(nginx) = testkit::nginx::Nginx::start(&test, [&addr, &addr], |c| c) else {
        return "nginx is not installed".to_string();
    };
    let (put_out, stuck) = stuck_while_flooded(server, &nginx.addr.clone(), 20_000);
    let answer = if put_out {
        "put out of the room: its connection is cut".to_string()
    } else if nginx.buffers_to_a_file() {
        "never put out: nginx reads on for it, into a temporary file".to_string()
    } else {
        "never put out".to_string()
    };
    drop(stuck);
    answer
}

#[test]
fn page_13_defence_table_is_what_the_programs_do() {
    if !tools::available("page 13's defence table (its last row is behind nginx)", &[&NGINX]) {
        return;
    }
    let rows = rows_with_steps(
        "http_push",
        &[
            ("The stream breaks; two lines are said; the browser connects again", 1, reconnect),
            ("A stream stops reading while a WebSocket says 23 MB", 2, stops_reading),
            ("`GET /api/messages?since=1&wait=20`, and a line said a moment later", 3, long_poll),
            (
                "Behind lesson 10's nginx, a stream stops reading while 38 MB are said",
                4,
                behind_nginx,
            ),
        ],
    );
    assert_matches(&block("13-http-push.md", "defences"), &table_with_steps(&rows));
}

impl Stream {
    /// The chat lines before `probe`, or `None` if nothing came for `wait`.
    fn chats_before_within(&mut self, probe: &str, wait: Duration) -> Option<Vec<String>> {
        self.stream.set_read_timeout(Some(wait)).expect("a read timeout");
        let mut chats = Vec::new();
        let found = loop {
            let Some(event) = self.next() else { break None };
            let data = data(&event);
            if data.contains(&format!(r#""text":"{probe}""#)) {
                break Some(chats);
            }
            if data.contains(r#""type":"chat""#) {
                chats.push(data);
            }
        };
        self.stream.set_read_timeout(Some(testkit::TIMEOUT)).expect("a read timeout");
        found
    }
}
