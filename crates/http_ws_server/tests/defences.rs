//! Page 07's defence table: each way to break a server that speaks HTTP and
//! WebSocket on one port, run against the first version (`http_ws_server_first`),
//! the step that turns it (and the one before) and the full lesson, over loopback.

use std::io::Write;
use std::thread;
use std::time::Duration;

use testkit::defence::{
    and_panics, endless_head, rows_with_steps, table_with_steps, until_all_hear, ws_ctrl_c,
};
use testkit::http::{connect, read_response};
use testkit::page::{assert_matches, block};
use testkit::ws::{self, CLOSE, TEXT};
use testkit::{Server, rss_kib};

/// A chat line as the page sends it, in the first version and the full lesson.
fn chat(text: &str) -> String {
    format!(r#"{{"type":"chat","text":"{text}"}}"#)
}

fn history(server: &mut Server) -> String {
    let (mut talker, _) = ws::open(&server.addr, "/ws");
    for n in 0..150 {
        ws::send_text(&mut talker, &chat(&format!("line {n}")));
    }
    // The lines are kept as the server reads them: ask until the last one is there.
    let deadline = std::time::Instant::now() + testkit::TIMEOUT;
    loop {
        let answer = testkit::http::get(&server.addr, "/api/messages");
        if answer.body.contains("line 149") {
            let kept: Vec<serde_json::Value> = serde_json::from_str(&answer.body).expect("JSON");
            return format!("answers {} of the 150 lines", kept.len());
        }
        assert!(std::time::Instant::now() < deadline, "line 149 never reached the history");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Lines of 1,900 characters (the full lesson takes 2,000 at most): 38 MB in all.
const FLOOD_LINES: usize = 20_000;
const LINE_CHARS: usize = 1900;

fn flood_past_a_non_reader(server: &mut Server) -> String {
    let pid = server.program.pid();
    let (mut stuck, _) = ws::open(&server.addr, "/ws");
    let (mut talker, _) = ws::open(&server.addr, "/ws");
    until_all_hear(&mut talker, &mut [&mut stuck], &chat("probe"));
    let (writer, mut reader) = ws::split(talker);
    let before = rss_kib(pid);
    // The talker reads all the time: how many of its lines come back to it, up to
    // the last one, which says "the end".
    let reading = thread::spawn(move || {
        let mut lines = 0;
        loop {
            match reader.read() {
                Some(frame) if frame.opcode == TEXT && frame.payload.len() >= LINE_CHARS => {
                    lines += 1;
                }
                Some(frame) if frame.opcode == TEXT && frame.text().contains("the end") => {
                    return lines;
                }
                Some(frame) if frame.opcode == CLOSE => panic!("the talker was closed: {frame:?}"),
                Some(_) => {}
                None => panic!("the talker's connection ended"),
            }
        }
    });
    let mark = server.program.output().len();
    let flooding = thread::spawn(move || {
        let line = chat(&"x".repeat(LINE_CHARS));
        for _ in 0..FLOOD_LINES {
            writer.send_text(&line);
        }
        writer.send_text(&chat("the end"));
    });
    testkit::defence::until_put_out_or(server, mark, || reading.is_finished());
    let found = what_the_stuck_client_finds(&mut stuck);
    flooding.join().expect("the talker said every line");
    let heard = reading.join().expect("the talker heard the end");
    let others = if heard == FLOOD_LINES {
        "a client that reads gets every line"
    } else {
        "even a client that reads misses lines, untold"
    };
    let grew_mib = rss_kib(pid).saturating_sub(before) / 1024;
    let memory = if grew_mib >= 24 {
        "memory grows by more than 24 MiB"
    } else {
        "memory grows by less than 24 MiB"
    };
    format!("{found}; {others}; {memory}")
}

/// What the stuck client finds once it reads again: the lines, then a Close, or
/// nothing more (still in the room, waiting).
fn what_the_stuck_client_finds(stuck: &mut std::net::TcpStream) -> String {
    loop {
        match ws::read_frame_within(stuck, Duration::from_secs(3)) {
            ws::Within::Frame(frame) if frame.opcode == CLOSE => {
                let (code, _) = frame.close_code();
                return format!("puts the non-reader out with {code}");
            }
            ws::Within::Frame(_) => {}
            ws::Within::Closed => return "drops the non-reader".to_string(),
            ws::Within::Nothing => return "keeps the non-reader".to_string(),
        }
    }
}

/// A message that is not the JSON the page sends (the full lesson's welcome and
/// notices are skipped).
fn not_json(server: &mut Server) -> String {
    let mark = server.program.output().len();
    let (mut client, _) = ws::open(&server.addr, "/ws");
    ws::send_text(&mut client, "nonsense");
    loop {
        match ws::read(&mut client) {
            Some(frame) if frame.opcode == TEXT && frame.text().contains(r#""type":"error""#) => {
                ws::send_text(&mut client, &chat("still here"));
                while !ws::read_data(&mut client).text().contains("still here") {}
                return "answers with an `error` message; the connection stays".to_string();
            }
            Some(frame) if frame.opcode == CLOSE => {
                return format!("closes the connection with {}", frame.close_code().0);
            }
            Some(_) => {}
            None => return and_panics(server, mark, "the connection drops"),
        }
    }
}

fn raw(server: &mut Server, request: &str) -> String {
    let mark = server.program.output().len();
    let mut stream = connect(&server.addr);
    stream.write_all(request.as_bytes()).expect("send");
    match read_response(&mut stream, true) {
        Some(answer) => format!("`{} {}`", answer.status, answer.reason),
        None => and_panics(server, mark, "no answer"),
    }
}

fn foreign_origin(server: &mut Server) -> String {
    raw(
        server,
        &format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.addr,
            ws::KEY
        ),
    )
}

fn no_upgrade(server: &mut Server) -> String {
    raw(server, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[test]
fn page_07_defence_table_is_what_the_programs_do() {
    // Each cell on a server of its own, all at once; each row's step must turn it.
    let rows = rows_with_steps(
        "http_ws_server",
        &[
            ("150 lines, then `GET /api/messages`", 1, |server, _| history(server)),
            ("A client that stops reading while 38 MB are said", 2, |server, _| {
                flood_past_a_non_reader(server)
            }),
            ("`nonsense` over the WebSocket, not JSON", 3, |server, _| not_json(server)),
            ("A page of another site opens `/ws`", 4, |server, _| foreign_origin(server)),
            ("`GET /ws` without the upgrade headers", 4, |server, _| no_upgrade(server)),
            ("A request head that never ends", 5, |server, _| endless_head(&server.addr)),
            ("Ctrl-C with a client connected", 6, |server, _| ws_ctrl_c(server, "/ws")),
        ],
    );
    assert_matches(&block("07-http-ws-server.md", "defences"), &table_with_steps(&rows));
}
