//! Lesson 13, black-box: the real binary on port 0; polls, long polls and event
//! streams by hand over TCP (the chunks of a response that does not end read as
//! they come), and a WebSocket beside them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use testkit::Server;
use testkit::http::{Response, connect, get, post, read_response};
use testkit::ws;

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases run beside the rest. Alone: `cargo test -p http_push
// page_13_defence`.
mod defences;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_push"))
}

fn say(addr: &str, name: &str, text: &str) -> Response {
    let answer = post(addr, "/api/messages", &format!(r#"{{"name": "{name}", "text": "{text}"}}"#));
    assert_eq!(answer.status, 201, "{answer:?}");
    answer
}

/// An event stream, read as a browser reads it: the head, then the body's chunks
/// (`Transfer-Encoding: chunked`: a size in hex, the bytes, again), cut into
/// events at each empty line.
struct Stream {
    stream: TcpStream,
    /// The answer's head, once read.
    head: Option<Response>,
    /// Bytes of the body, out of their chunks, not yet an event.
    text: String,
    /// Bytes read, not yet out of their chunks.
    raw: Vec<u8>,
    /// The last `id:` it got, which a browser sends back when it connects again.
    last_id: Option<String>,
}

impl Stream {
    fn open(addr: &str, target: &str, headers: &str) -> Stream {
        let mut stream = connect(addr);
        let raw = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n");
        stream.write_all(raw.as_bytes()).expect("send");
        let head = read_response(&mut stream, true).expect("a head");
        Stream { stream, head: Some(head), text: String::new(), raw: Vec::new(), last_id: None }
    }

    /// [`Stream::open`] through nginx, which may send the head only with the first
    /// event: the request is sent, and the server has it in the room (it says so,
    /// the first version as it joins, the lesson as it answers).
    fn open_after(front: &str, server: &mut Server) -> Stream {
        let mut stream = connect(front);
        stream.write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mark = server.program.output().len();
        let deadline = Instant::now() + testkit::TIMEOUT;
        let joined = |line: &String| {
            line.contains("hears the room as events") || line.contains("/api/events -> 200")
        };
        while !server.program.output()[mark..].iter().any(joined) {
            assert!(Instant::now() < deadline, "the stream never reached the room");
            server.program.next_line(Duration::from_millis(50));
        }
        Stream { stream, head: None, text: String::new(), raw: Vec::new(), last_id: None }
    }

    /// The next event, as its lines (`id: ...`, `data: ...`); `None` at the end.
    fn next(&mut self) -> Option<Vec<String>> {
        if self.head.is_none() {
            self.head = Some(read_response(&mut self.stream, true)?);
        }
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let event: String = self.text.drain(..end + 2).collect();
                let event: Vec<String> = event.trim_end().lines().map(str::to_string).collect();
                if let Some(id) = field(&event, "id") {
                    self.last_id = Some(id.to_string());
                }
                return Some(event);
            }
            // Out of its chunks: `SIZE\r\nBYTES\r\n`.
            if let Some(line_end) = self.raw.windows(2).position(|pair| pair == b"\r\n") {
                let size = std::str::from_utf8(&self.raw[..line_end]).expect("a size");
                let size = usize::from_str_radix(size.trim(), 16).expect("hex");
                if size == 0 {
                    return None;
                }
                if self.raw.len() >= line_end + 2 + size + 2 {
                    let chunk = self.raw[line_end + 2..line_end + 2 + size].to_vec();
                    self.raw.drain(..line_end + 2 + size + 2);
                    self.text.push_str(&String::from_utf8(chunk).expect("UTF-8"));
                    continue;
                }
            }
            let mut buffer = [0; 4096];
            match self.stream.read(&mut buffer) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.raw.extend_from_slice(&buffer[..n]),
            }
        }
    }

    fn head(&self) -> &Response {
        self.head.as_ref().expect("the head, read")
    }

    /// The next event whose data is a message of `kind` (`chat`, `welcome`).
    fn next_of(&mut self, kind: &str) -> Vec<String> {
        loop {
            let event = self.next().unwrap_or_else(|| panic!("the stream ended before a {kind}"));
            if data(&event).contains(&format!(r#""type":"{kind}""#)) {
                return event;
            }
        }
    }
}

fn data(event: &[String]) -> String {
    event.iter().filter_map(|line| line.strip_prefix("data: ")).collect()
}

fn field<'a>(event: &'a [String], name: &str) -> Option<&'a str> {
    event.iter().find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

fn history_id(addr: &str) -> String {
    get(addr, "/api/messages").header("server-instance").expect("a history id").to_string()
}

#[test]
fn an_event_stream_is_a_response_that_goes_on() {
    let server = Server::start(bin());
    let mut events = Stream::open(&server.addr, "/api/events", "");
    assert_eq!(events.head().status, 200);
    assert_eq!(events.head().header("content-type"), Some("text/event-stream"));
    assert_eq!(events.head().header("cache-control"), Some("no-cache"));
    assert_eq!(events.head().header("x-accel-buffering"), Some("no"));
    assert_eq!(events.next(), Some(vec!["retry: 2000".to_string()]));
    let welcome = events.next_of("welcome");
    assert_eq!(field(&welcome, "id"), None, "only a chat line has a place: {welcome:?}");
    say(&server.addr, "Ann", "hi");
    let chat = events.next_of("chat");
    let history = history_id(&server.addr);
    assert_eq!(field(&chat, "id"), Some(format!("{history}.1").as_str()));
    assert_eq!(data(&chat), r#"{"type":"chat","id":1,"from":"Ann","text":"hi"}"#);
}

#[test]
fn last_event_id_brings_exactly_the_lines_missed() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let mut first = Stream::open(addr, "/api/events", "");
    first.next_of("welcome");
    say(addr, "Ann", "one");
    let seen = field(&first.next_of("chat"), "id").expect("an id").to_string();
    drop(first);
    say(addr, "Ann", "two");
    say(addr, "Ann", "three");
    // What a browser's EventSource sends when it connects again.
    let mut again = Stream::open(addr, "/api/events", &format!("Last-Event-ID: {seen}\r\n"));
    let texts: Vec<String> = (0..2).map(|_| data(&again.next_of("chat"))).collect();
    assert!(
        texts[0].contains(r#""text":"two""#) && texts[1].contains(r#""text":"three""#),
        "{texts:?}"
    );
    say(addr, "Ann", "four");
    assert!(data(&again.next_of("chat")).contains(r#""text":"four""#), "live, once");
    // `since` does the same for a first connection that read the history first.
    let mut fresh = Stream::open(addr, &format!("/api/events?since={seen}"), "");
    assert!(data(&fresh.next_of("chat")).contains(r#""text":"two""#));
}

#[test]
fn an_id_from_another_history_is_told_the_server_restarted() {
    let server = Server::start(bin());
    say(&server.addr, "Ann", "the only line");
    let mut events = Stream::open(&server.addr, "/api/events", "Last-Event-ID: 1.7\r\n");
    events.next_of("welcome");
    let restarted = events.next().expect("an event");
    assert_eq!(field(&restarted, "event"), Some("restarted"), "{restarted:?}");
    assert!(data(&events.next_of("chat")).contains("the only line"));
    let bad = Stream::open(&server.addr, "/api/events", "Last-Event-ID: x\r\n");
    assert_eq!(bad.head().status, 400);
}

#[test]
fn a_poll_answers_at_once_with_what_came_after_since() {
    let server = Server::start(bin());
    let addr = &server.addr;
    say(addr, "Ann", "one");
    say(addr, "Ann", "two");
    let answer = get(addr, "/api/messages?since=1");
    assert_eq!(answer.body, r#"[{"id":2,"from":"Ann","text":"two"}]"#);
    let history = answer.header("server-instance").expect("the history's id").to_string();
    assert_eq!(get(addr, &format!("/api/messages?since={history}.2")).body, "[]");
    // From another history (before a restart): all of this one, at once.
    let all = get(addr, "/api/messages?since=0.2&wait=20");
    assert!(all.body.contains("one") && all.body.contains("two"), "{all:?}");
    for wrong in ["since=x", "since=1&wait=26", "wait=3", "since=1&when=2"] {
        assert_eq!(get(addr, &format!("/api/messages?{wrong}")).status, 400, "{wrong}");
    }
}

#[test]
fn a_long_poll_waits_for_the_next_line_and_misses_none() {
    let server = Server::start(bin());
    let addr = server.addr.clone();
    // Asked first, said second: whether the line comes before or after the poll
    // has subscribed, the answer holds it (room.rs: subscribe, then look).
    for n in 1..=20 {
        let mut poll = connect(&addr);
        let ask = format!(
            "GET /api/messages?since={}&wait=20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            n - 1
        );
        poll.write_all(ask.as_bytes()).expect("ask");
        say(&addr, "Ann", &format!("line {n}"));
        let answer = read_response(&mut poll, false).expect("an answer");
        assert_eq!(answer.body, format!(r#"[{{"id":{n},"from":"Ann","text":"line {n}"}}]"#));
    }
    // Nothing said: the answer is [] when the wait is over.
    let started = Instant::now();
    assert_eq!(get(&addr, "/api/messages?since=20&wait=1").body, "[]");
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
}

#[test]
fn four_ways_hear_one_line_once() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let (mut socket, answer) = ws::open(addr, "/ws");
    assert_eq!(answer.status, 101);
    let mut events = Stream::open(addr, "/api/events", "");
    events.next_of("welcome");
    let long_poll = {
        let addr = addr.clone();
        thread::spawn(move || get(&addr, "/api/messages?since=0&wait=20").body)
    };
    say(addr, "Ann", "to all four");
    let line = r#"{"type":"chat","id":1,"from":"Ann","text":"to all four"}"#;
    assert_eq!(data(&events.next_of("chat")), line);
    let heard = loop {
        let text = ws::read_data(&mut socket).text().to_string();
        if text.contains(r#""type":"chat""#) {
            break text;
        }
    };
    assert_eq!(heard, line);
    let polled = r#"[{"id":1,"from":"Ann","text":"to all four"}]"#;
    assert_eq!(long_poll.join().expect("the long poll"), polled);
    assert_eq!(get(addr, "/api/messages?since=0").body, polled);
}

#[test]
fn ctrl_c_ends_every_stream_and_long_poll() {
    // At debug level the server says when a long poll starts waiting.
    let args = ["--addr", "127.0.0.1:0"];
    let mut server = Server::start_with(bin(), &args, &[("RUST_LOG", "http_push=debug")]);
    let addr = server.addr.clone();
    let mut events = Stream::open(&addr, "/api/events", "");
    events.next_of("welcome");
    let long_poll = thread::spawn(move || get(&addr, "/api/messages?since=0&wait=20").body);
    server.program.wait_for("long poll waits");
    server.program.interrupt();
    while events.next().is_some() {}
    assert_eq!(long_poll.join().expect("the long poll"), "[]");
    let (status, _) = server.program.wait_exit(testkit::TIMEOUT);
    assert!(status.success(), "{status:?}");
}

/// Lesson 05's rule for a client that stops reading, on an event stream: the room
/// waits for its full queue a moment, then puts it out and cuts its connection;
/// everyone else hears every line.
#[test]
fn a_stream_that_stops_reading_is_put_out_and_the_others_hear_everything() {
    const LINES: usize = 4000;
    let mut server = Server::start(bin());
    let addr = server.addr.clone();
    let mut stuck = Stream::open(&addr, "/api/events", "");
    stuck.next_of("welcome");
    let mut reader = Stream::open(&addr, "/api/events", "");
    reader.next_of("welcome");
    let reading = thread::spawn(move || {
        (0..LINES)
            .map(|_| reader.next_of("chat"))
            .filter(|event| field(event, "id").is_some())
            .count()
    });
    let (socket, answer) = ws::open(&addr, "/ws");
    assert_eq!(answer.status, 101);
    let (writer, mut echoes) = ws::split(socket);
    // The speaker is in the room too, and reads what it hears.
    let echoing = thread::spawn(move || while echoes.read().is_some() {});
    let long = "x".repeat(1900);
    for _ in 0..LINES {
        writer.send_text(&format!(r#"{{"type":"chat","text":"{long}"}}"#));
    }
    server.program.wait_for("ended: put out of the room: it stopped reading");
    assert_eq!(reading.join().expect("the reader"), LINES, "every line, once");
    // The stuck one's connection is cut: what it has not read is all it gets.
    while stuck.next().is_some() {}
    drop(writer);
    let _ = echoing;
}

const PAGE: &str = "13-http-push.md";

#[test]
fn page_13_run_it_shows_what_the_server_prints() {
    let mut server = Server::start(bin());
    server.program.wait_for("curl -i");
    let started = server.program.output();
    testkit::page::assert_matches(&testkit::page::block(PAGE, "run"), &started);
}

/// Page 13's curl commands, in its order: the raw event stream in one terminal
/// while a line is said from another, then a long poll answered by a second line.
#[test]
fn page_13_commands_work_as_shown() {
    use testkit::tools::{self, CURL};
    if !tools::available("page 13's curl", &[&CURL]) {
        return;
    }
    // At debug level the server says when a long poll starts waiting.
    let args = ["--addr", "127.0.0.1:0"];
    let mut server = Server::start_with(bin(), &args, &[("RUST_LOG", "info,http_push=debug")]);
    let addr = server.addr.clone();
    let default = common::PUSH_ADDR;
    let events = testkit::page::block(PAGE, "events");
    let mut curl = tools::terminal(&tools::at(events.command(), default, &addr), false);
    let mut heard = Vec::new();
    let mut next = |heard: &mut Vec<String>| {
        let line = curl.next_line(testkit::TIMEOUT).expect("curl prints the stream");
        heard.push(tools::back(&tools::plain(&line), default, &addr));
    };
    // The stream's start (its retry, the welcome, the join), then the line said.
    while heard.len() < 6 {
        next(&mut heard);
    }
    tools::check_block(PAGE, "say", default, &addr, true);
    while heard.len() < events.output.len() {
        next(&mut heard);
    }
    testkit::page::assert_matches(&events, &heard);
    // The long poll waits for a line after line 1: say one once it waits.
    let poll = testkit::page::block(PAGE, "long-poll");
    let mut polling =
        tools::shell_stdout(&tools::at(poll.command(), default, &addr), Path::new("."));
    server.program.wait_for("long poll waits");
    say(&addr, "Bob", "yo");
    let (status, printed) = polling.wait_exit(testkit::TIMEOUT);
    assert!(status.success(), "{printed:?}");
    let printed: Vec<String> = printed.iter().map(|l| tools::back(l, default, &addr)).collect();
    testkit::page::assert_matches(&poll, &printed);
}

/// Page 13's "Break it" says nginx 1.22 passes each event on at once, with
/// `X-Accel-Buffering: no` and without it: the first version sends no such
/// header, the full lesson does; both behind lesson 10's nginx, as it is.
#[test]
fn page_13_behind_nginx_each_event_passes_at_once_either_way() {
    for bin in [testkit::bin_path("http_push_first"), bin().to_path_buf()] {
        let mut server = Server::start(&bin);
        let addr = server.addr.clone();
        let test = format!("page 13 at once {}", addr.replace([':', '.'], "-"));
        let Some(nginx) = testkit::nginx::Nginx::start(&test, [&addr, &addr], |c| c) else {
            return;
        };
        let mut events = Stream::open_after(&nginx.addr, &mut server);
        let started = Instant::now();
        say(&addr, "Ann", "through nginx");
        let chat = events.next_of("chat");
        assert!(data(&chat).contains("through nginx"));
        // On loopback an event takes a millisecond; a buffer held back would be
        // let go only when full (4 KiB and more) or at the end.
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}

/// Page 13's "Break it": a long poll that waits longer than the proxy's
/// `proxy_read_timeout` gets nginx's 504, not its answer, and takes the instances
/// out for a while. Lesson 10's nginx, its timeout cut to 2 s, in front.
#[test]
fn page_13_a_long_poll_past_the_proxys_timeout_is_504() {
    let server = Server::start(bin());
    let addr = server.addr.clone();
    let shorter =
        |config: String| config.replace("proxy_read_timeout 60s;", "proxy_read_timeout 2s;");
    let Some(nginx) = testkit::nginx::Nginx::start("page 13 504", [&addr, &addr], shorter) else {
        return;
    };
    let front = testkit::nginx::FRONT;
    let started = Instant::now();
    testkit::tools::check_block(PAGE, "gateway-timeout", front, &nginx.addr, true);
    // nginx asked the other instance too (`proxy_next_upstream`): 2 s each.
    assert!(started.elapsed() >= Duration::from_millis(3900), "{:?}", started.elapsed());
    // And took the timeouts for failed instances: for `fail_timeout` (2 s), none.
    testkit::tools::check_block(PAGE, "no-live-upstreams", front, &nginx.addr, true);
}

/// An idle stream gets a comment every 15 s: a proxy sees bytes, and the server
/// sees whether the client is still there. The test waits for it.
#[test]
fn an_idle_stream_gets_a_comment_every_15_s() {
    let server = Server::start(bin());
    let mut events = Stream::open(&server.addr, "/api/events", "");
    events.next_of("welcome");
    events.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("a timeout");
    let started = Instant::now();
    let comment = loop {
        let event = events.next().expect("an event within 20 s");
        if event.iter().all(|line| line.starts_with(':')) {
            break event;
        }
    };
    assert_eq!(comment, vec![": still here".to_string()]);
    // Not at once: after the interval (the read above gives up at 20 s).
    assert!(started.elapsed() > Duration::from_secs(10), "{:?}", started.elapsed());
}
