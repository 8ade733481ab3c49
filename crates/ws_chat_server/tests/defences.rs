//! Page 05's defence table: each way to break a chat server, run against the first
//! version (`ws_chat_server_first`), the step that turns it (and the one before) and
//! the full lesson, over loopback.

use std::thread;

use testkit::defence::{plain_get, rows_with_steps, table_with_steps, until_all_hear, ws_ctrl_c};
use testkit::page::{assert_matches, block};
use testkit::ws::{self, CLOSE, TEXT};
use testkit::{Server, rss_kib};

/// Lines of 16 KiB that a talker says while another client never reads: 47 MiB.
const FLOOD_LINES: usize = 3000;
const LINE_BYTES: usize = 16 * 1024;

fn flood_past_a_non_reader(server: &mut Server) -> String {
    let pid = server.program.pid();
    let (mut stuck, _) = ws::open(&server.addr, "/");
    let (mut talker, _) = ws::open(&server.addr, "/");
    until_all_hear(&mut talker, &mut [&mut stuck], "probe");
    let (writer, mut reader) = ws::split(talker);
    let before = rss_kib(pid);
    // The talker reads everything it is sent (its own lines come back too), so that
    // only the stuck client is behind.
    let reading = thread::spawn(move || {
        let mut lines = 0;
        while lines < FLOOD_LINES {
            match reader.read() {
                Some(frame) if frame.opcode == TEXT && frame.payload.len() >= LINE_BYTES => {
                    lines += 1;
                }
                Some(frame) if frame.opcode == CLOSE => panic!("the talker was closed: {frame:?}"),
                Some(_) => {}
                None => panic!("the talker's connection ended"),
            }
        }
    });
    let mark = server.program.output().len();
    let flooding = thread::spawn(move || {
        let line = "x".repeat(LINE_BYTES);
        for _ in 0..FLOOD_LINES {
            writer.send_text(&line);
        }
    });
    testkit::defence::until_put_out_or(server, mark, || reading.is_finished());
    // What the stuck client finds once it reads again: the lines, then a Close, or
    // nothing more (still in the room, waiting).
    let found = what_the_stuck_client_finds(&mut stuck);
    flooding.join().expect("the talker said every line");
    reading.join().expect("the talker heard every line");
    let grew_mib = rss_kib(pid).saturating_sub(before) / 1024;
    let memory = if grew_mib >= 24 {
        "memory grows by more than 24 MiB: every line it missed".to_string()
    } else {
        "memory grows by less than 24 MiB".to_string()
    };
    format!("{found}; {memory}")
}

fn what_the_stuck_client_finds(stuck: &mut std::net::TcpStream) -> String {
    loop {
        match ws::read_frame_within(stuck, std::time::Duration::from_secs(3)) {
            ws::Within::Frame(frame) if frame.opcode == CLOSE => {
                let (code, _) = frame.close_code();
                return format!("puts it out with {code}");
            }
            ws::Within::Frame(_) => {}
            ws::Within::Closed => return "drops it".to_string(),
            ws::Within::Nothing => return "keeps it in the room".to_string(),
        }
    }
}

fn big_message(server: &mut Server) -> String {
    let (mut watcher, _) = ws::open(&server.addr, "/");
    let (mut talker, _) = ws::open(&server.addr, "/");
    until_all_hear(&mut talker, &mut [&mut watcher], "probe");
    ws::send(&mut talker, TEXT, &vec![b'a'; 100 * 1024], true);
    // The talker hears its own line back, or is closed (notices come first: skip).
    loop {
        match ws::read(&mut talker) {
            Some(frame) if frame.opcode == CLOSE => {
                let (code, reason) = frame.close_code();
                return format!("closes the talker's connection with {code} \"{reason}\"");
            }
            Some(frame) if frame.payload.len() >= 100 * 1024 => break,
            Some(_) => {}
            None => return "drops the talker".to_string(),
        }
    }
    loop {
        match ws::read(&mut watcher) {
            Some(frame) if frame.payload.len() >= 100 * 1024 => {
                return "passes all 100 KiB to everyone".to_string();
            }
            Some(_) => {}
            None => return "the others are cut off".to_string(),
        }
    }
}

#[test]
fn page_05_defence_table_is_what_the_programs_do() {
    // Each cell on a server of its own, all at once; each row's step must turn it.
    let rows = rows_with_steps(
        "ws_chat_server",
        &[
            ("A client that stops reading while another says 47 MiB", 1, |server, _| {
                flood_past_a_non_reader(server)
            }),
            ("A 100 KiB message", 2, |server, _| big_message(server)),
            ("A browser's plain `GET /`", 3, |server, _| plain_get(server, "/")),
            ("Ctrl-C with a client connected", 4, |server, _| ws_ctrl_c(server, "/")),
        ],
    );
    assert_matches(&block("05-ws-chat-server.md", "defences"), &table_with_steps(&rows));
}
