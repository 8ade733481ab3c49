//! Page 03's defence table: each way to break an echo server, run against the first
//! version (`ws_echo_server_first`), the step that turns it (and the one before) and
//! the full lesson, over loopback.

use testkit::Server;
use testkit::defence::{
    and_panics, endless_head, next_frame, rows_with_steps, table_with_steps, ws_ctrl_c,
};
use testkit::page::{assert_matches, block};
use testkit::ws::{self, TEXT};

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
    // Whichever the server prints first: a panic, or the line that says so.
    let deadline = std::time::Instant::now() + testkit::TIMEOUT;
    loop {
        let said = server.program.output()[mark..].to_vec();
        if said.iter().any(|l| l.contains("panicked at")) {
            return "its task panics".to_string();
        }
        if said.iter().any(|l| l.contains("vanished without a close frame")) {
            return "one log line: vanished without a close frame".to_string();
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return "nothing".to_string();
        }
        server.program.next_line(left);
    }
}

fn head_never_ends(server: &mut Server) -> String {
    endless_head(&server.addr)
}

fn plain_get(server: &mut Server) -> String {
    testkit::defence::plain_get(server, "/")
}

fn ctrl_c(server: &mut Server) -> String {
    ws_ctrl_c(server, "/")
}

/// After `run`, the server still echoes for another client: the page says that in
/// every row but Ctrl-C, the others carry on.
fn and_still_serves(server: &mut Server, run: fn(&mut Server) -> String) -> String {
    let answer = run(server);
    let (mut stream, _) = ws::open(&server.addr, "/");
    ws::send_text(&mut stream, "still there?");
    assert_eq!(ws::read_data(&mut stream).text(), "Server received: still there?");
    answer
}

#[test]
fn page_03_defence_table_is_what_the_programs_do() {
    // Each cell on a server of its own, all at once; each row's step must turn it.
    let rows = rows_with_steps(
        "ws_echo_server",
        &[
            ("A browser's plain `GET /`", 1, |server, _| and_still_serves(server, plain_get)),
            ("A 1 MiB message", 2, |server, _| and_still_serves(server, big_message)),
            ("Bad UTF-8 in a text frame", 2, |server, _| and_still_serves(server, bad_utf8)),
            ("A client that vanishes without a Close", 2, |server, _| {
                and_still_serves(server, vanish)
            }),
            ("A request head that never ends", 3, |server, _| {
                and_still_serves(server, head_never_ends)
            }),
            ("Ctrl-C with a client connected", 4, |server, _| ctrl_c(server)),
        ],
    );
    assert_matches(&block("03-ws-echo-server.md", "defences"), &table_with_steps(&rows));
}
