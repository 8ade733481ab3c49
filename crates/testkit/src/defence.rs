//! A page's defence table: each way to break a lesson, what the first version does
//! and what the full lesson does, as found by running both over loopback. A test
//! builds the table with [`table`] and checks it against the page's block (`<!--
//! check: defences -->` above a markdown table), so the page can claim no defence the
//! code lacks, and no failure the first version does not show.

use std::time::{Duration, Instant};

/// One row: the case, then what each program did, in a few words.
pub struct Row {
    pub case: &'static str,
    pub first: String,
    pub lesson: String,
}

/// The table as the page shows it, one line per row, after its head.
pub fn table(rows: &[Row]) -> Vec<String> {
    let mut lines = vec![
        "| Break it | The first version | The full lesson |".to_string(),
        "|---|---|---|".to_string(),
    ];
    for row in rows {
        lines.push(format!("| {} | {} | {} |", row.case, row.first, row.lesson));
    }
    lines
}

/// Whether `program` printed a panic (a task of the first version that `unwrap`ped
/// an error) after its first `mark` lines, waiting up to `within` for it.
pub fn panicked_since(program: &mut crate::Program, mark: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if program.output()[mark..].iter().any(|line| line.contains("panicked at")) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        program.next_line(left);
    }
}

/// A request head that never ends: what the server at `addr` does within 7 s.
pub fn endless_head(addr: &str) -> String {
    use std::io::{ErrorKind, Read, Write};
    let mut stream = crate::http::connect(addr);
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
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {
            format!("drops it after {} s", started.elapsed().as_secs())
        }
        other => format!("answers: {other:?}"),
    }
}

/// What a program that ended printed and how, in a few words: its one error line,
/// or that it panicked (with the error it unwrapped), and its exit status.
pub fn how_it_ended(finished: &crate::Finished) -> String {
    let status = finished.status.code().map_or("killed".to_string(), |c| format!("status {c}"));
    if let Some(panic) = finished.stderr.lines().find(|l| l.contains("panicked at")) {
        let why =
            finished.stderr.lines().skip_while(|l| *l != panic).nth(1).unwrap_or_default().trim();
        let value = why.split_once("value: ").map_or(why, |(_, value)| value);
        return format!("panics: \"{}\", {status}", short(&error_words(value)));
    }
    match finished.stderr.lines().find(|l| l.starts_with("error: ")) {
        Some(line) => format!("one line, \"{}\", {status}", short(line)),
        None => status,
    }
}

/// A long message cut to its first words, for a table cell.
pub fn short(message: &str) -> String {
    // The words before any aside in parentheses, without what would break a table.
    let message = message.split(" (").next().unwrap_or(message).replace(['`', '|'], "");
    let words: Vec<&str> = message.split_whitespace().collect();
    if words.len() <= 7 { words.join(" ") } else { format!("{} ...", words[..7].join(" ")) }
}

/// A client against a server that takes the connection and never answers: how long
/// it waits, and how it ends. `address` makes the client's `--addr` from the port's.
pub fn against_a_silent_server(bin: &std::path::Path, address: impl Fn(&str) -> String) -> String {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = silent.local_addr().expect("an address").to_string();
    let started = Instant::now();
    let mut client = crate::Program::start(bin, &["--addr", &address(&addr)]);
    let _held = silent.accept().expect("the client connects");
    let wait = Duration::from_secs(12);
    match client.wait_exit_within(wait) {
        Some((status, lines)) => {
            let took = started.elapsed().as_secs();
            let code = status.code().map_or("killed".to_string(), |c| format!("status {c}"));
            let lines = lines.iter().filter(|l| l.starts_with("error: ")).count();
            let said = if lines == 1 { "one line" } else { "no error line" };
            format!("gives up after {took} s: {said}, {code}")
        }
        None => {
            client.kill();
            format!("still waiting after {} s", wait.as_secs())
        }
    }
}

/// The words of an error as `unwrap` prints it (its `Debug` form), for a table cell:
/// `Os { code: 111, kind: ConnectionRefused, message: "Connection refused" }` is
/// "Connection refused"; tungstenite's `Http(Response { status: 200, ... })` is "an
/// HTTP 200 answer".
fn error_words(value: &str) -> String {
    if let Some((_, message)) = value.split_once("message: \"") {
        return message.split('"').next().unwrap_or_default().to_string();
    }
    if let Some(rest) = value.strip_prefix("Http(Response { status: ") {
        let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return format!("an HTTP {code} answer, not a 101");
    }
    match value.split('"').nth(1) {
        Some(quoted) if !quoted.is_empty() => quoted.to_string(),
        _ => value.to_string(),
    }
}

/// How long a panic message may take to show in a server's output.
const PANIC_SHOWS: Duration = Duration::from_secs(2);

/// `what`, and that the server's task panicked, if it did since its line `mark`.
pub fn and_panics(server: &mut crate::Server, mark: usize, what: &str) -> String {
    if panicked_since(&mut server.program, mark, PANIC_SHOWS) {
        format!("{what}; its task panics")
    } else {
        what.to_string()
    }
}

/// What a WebSocket client reads next, in words.
pub fn next_frame(stream: &mut std::net::TcpStream) -> String {
    use crate::ws::{self, BINARY, CLOSE, TEXT};
    match ws::read(stream) {
        Some(frame) if frame.opcode == CLOSE => {
            let (code, reason) = frame.close_code();
            format!("closes with {code} \"{reason}\"")
        }
        Some(frame) if [TEXT, BINARY].contains(&frame.opcode) => {
            format!("echoes {} KiB back", frame.payload.len() / 1024)
        }
        Some(frame) => format!("answers a frame of opcode {}", frame.opcode),
        None => "drops the connection, without a Close".to_string(),
    }
}

/// A browser's plain `GET /` to a WebSocket server.
pub fn plain_get(server: &mut crate::Server, path: &str) -> String {
    use std::io::Write;
    let mark = server.program.output().len();
    let mut stream = crate::http::connect(&server.addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    match crate::http::read_response(&mut stream, false) {
        Some(answer) => {
            let upgrade = answer.header("upgrade").unwrap_or("-").to_string();
            format!("`{} {}`, with `Upgrade: {upgrade}`", answer.status, answer.reason)
        }
        None => and_panics(server, mark, "no answer"),
    }
}

/// Ctrl-C to a WebSocket server with a client connected at `path`: what the client
/// is sent.
pub fn ws_ctrl_c(server: &mut crate::Server, path: &str) -> String {
    let (mut stream, _) = crate::ws::open(&server.addr, path);
    server.program.interrupt();
    loop {
        match next_frame(&mut stream) {
            what if what.starts_with("echoes") || what.starts_with("answers") => {}
            what => match what.strip_prefix("closes with ") {
                Some(close) => return format!("the client is sent Close {close}"),
                None => return "the connection drops, without a Close".to_string(),
            },
        }
    }
}
