//! Page 11's defence table: each way to break a login over HTTP with a chat over
//! WebSocket, run against the first version (`http_ws_login_first`), the step that
//! turns it (and the one before) and the full lesson, over loopback.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use testkit::defence::{rows_with_steps, table_with_steps};
use testkit::http::post_with;
use testkit::page::{assert_matches, block};
use testkit::ws::{self, CLOSE, TEXT, Within};
use testkit::{Server, TIMEOUT};

use super::{JSON, handshake, login};

/// How long a case waits to see that nothing comes: a Close that a program sends
/// comes at once (within milliseconds on loopback), or at the session's second.
const NOTHING_AFTER: Duration = Duration::from_secs(3);

/// A chat line as the pages send it, in every version.
fn chat(text: &str) -> String {
    format!(r#"{{"type":"chat","text":"{text}"}}"#)
}

/// A socket of the session `cookie` that has heard its own `probe` line: whatever
/// the program sends on joining (the full lesson's welcome) is behind it.
fn joined(addr: &str, cookie: &str) -> TcpStream {
    let (mut stream, answer) = handshake(addr, cookie);
    assert_eq!(answer.status, 101, "{answer:?}");
    ws::send_text(&mut stream, &chat("probe"));
    heard(&mut stream, "probe").expect("the probe comes back");
    stream
}

/// Reads until the chat line `text` comes back (`Ok`), or a Close (`Err`, its code).
fn heard(stream: &mut TcpStream, text: &str) -> Result<(), u16> {
    loop {
        let frame = ws::read(stream).expect("a frame before the connection ends");
        match frame.opcode {
            CLOSE => return Err(frame.close_code().0),
            TEXT if frame.text().contains(&format!(r#""text":"{text}""#)) => return Ok(()),
            _ => {}
        }
    }
}

/// What a socket of an ended session does: it is sent a Close within
/// `NOTHING_AFTER`, or it still chats (a line it says comes back).
fn still_chatting(stream: &mut TcpStream, after: &str) -> String {
    loop {
        match ws::read_frame_within(stream, NOTHING_AFTER) {
            Within::Frame(frame) if frame.opcode == CLOSE => {
                return format!("{after} is sent Close {}", frame.close_code().0);
            }
            Within::Frame(_) => {}
            Within::Closed => return format!("{after} is dropped, without a Close"),
            Within::Nothing => break,
        }
    }
    ws::send_text(stream, &chat("still here"));
    match heard(stream, "still here") {
        Ok(()) => format!("{after} still chats {} s later", NOTHING_AFTER.as_secs()),
        Err(code) => format!("{after} is sent Close {code} when it speaks"),
    }
}

fn other_port(server: &mut Server, _: &Path) -> String {
    let cookie = login(&server.addr, "Ada");
    let (_, answer) =
        handshake(&server.addr, &format!("{cookie}Origin: http://127.0.0.1:8000\r\n"));
    format!("`{} {}`", answer.status, answer.reason)
}

fn logout_in_another_tab(server: &mut Server, _: &Path) -> String {
    let addr = &server.addr;
    let cookie = login(addr, "Ada");
    let mut other_tab = joined(addr, &cookie);
    let out = post_with(addr, "/api/logout", &cookie, "");
    assert!(out.status < 300, "{out:?}");
    still_chatting(&mut other_tab, "the other tab")
}

fn expired(_: &mut Server, bin: &Path) -> String {
    let server = Server::start_with(bin, &["--addr", "127.0.0.1:0", "--session", "1"], &[]);
    let cookie = login(&server.addr, "Ada");
    let mut socket = joined(&server.addr, &cookie);
    still_chatting(&mut socket, "the socket")
}

fn login_from_another_site(server: &mut Server, _: &Path) -> String {
    // What an HTML form with enctype="text/plain" can post, from any site, without
    // asking: one field named `{"name":"Mallory","x":"`, whose value is `"}`.
    let form = "Content-Type: text/plain\r\nOrigin: http://evil.example\r\n";
    let answer = post_with(&server.addr, "/api/login", form, r#"{"name":"Mallory","x":"="}"#);
    match answer.header("set-cookie") {
        Some(_) => format!("`{} {}`, with a session cookie", answer.status, answer.reason),
        None => format!("`{} {}`", answer.status, answer.reason),
    }
}

fn the_same_name_twice(server: &mut Server, _: &Path) -> String {
    login(&server.addr, "Ada");
    let body = r#"{"name": "Ada"}"#;
    let again = post_with(&server.addr, "/api/login", JSON, body);
    match again.status {
        200 => "`200 OK`: two people chat as Ada".to_string(),
        _ => format!("`{} {}`", again.status, again.reason),
    }
}

#[test]
fn page_11_defence_table_is_what_the_programs_do() {
    assert!(NOTHING_AFTER < TIMEOUT);
    // Each cell on a server of its own, all at once; each row's step must turn it.
    let rows = rows_with_steps(
        "http_ws_login",
        &[
            ("A page on another port of this machine opens `/ws`", 1, other_port),
            ("Logout in one tab while another tab chats", 2, logout_in_another_tab),
            ("A session older than its lifetime (`--session 1`), with a socket open", 3, expired),
            ("Another site's form posts a login", 4, login_from_another_site),
            ("A second login as a name that is logged in", 5, the_same_name_twice),
        ],
    );
    assert_matches(&block("11-http-ws-login.md", "defences"), &table_with_steps(&rows));
}

/// A guessed session id on `/ws`: 32 hex digits that no login gave.
fn guessed_id(server: &mut Server) -> String {
    let (_, answer) =
        handshake(&server.addr, "Cookie: session=00112233445566778899aabbccddeeff\r\n");
    format!("`{} {}`", answer.status, answer.reason)
}

/// The cookie of a session that logged out, on `/ws`.
fn logged_out_cookie(server: &mut Server) -> String {
    let cookie = login(&server.addr, "Ada");
    let out = post_with(&server.addr, "/api/logout", &cookie, "");
    assert!(out.status < 300, "{out:?}");
    let (_, answer) = handshake(&server.addr, &cookie);
    format!("`{} {}`", answer.status, answer.reason)
}

/// `POST /api/messages` as Ada, with a `name` field that says Bob.
fn forged_name(server: &mut Server) -> String {
    let cookie = login(&server.addr, "Ada");
    let body = r#"{"name": "Bob", "text": "hi"}"#;
    let answer = post_with(&server.addr, "/api/messages", &format!("{JSON}{cookie}"), body);
    let history = testkit::http::get(&server.addr, "/api/messages").body;
    let said = if history.contains(r#""from":"Bob""#) { "said as Bob" } else { "nothing said" };
    format!("`{} {}`, {said}", answer.status, answer.reason)
}

/// What a case of the second table does to a server: its answer, in a few words.
type ServerCase = fn(&mut Server) -> String;

/// Page 11's second table: what the first version already gets right, or gets
/// wrong in a way no step is for (it has no `POST /api/messages` at all), beside
/// the full lesson, both found by running them.
#[test]
fn page_11_what_the_first_version_already_does_is_what_the_programs_do() {
    let (first, lesson) =
        (testkit::bin_path("http_ws_login_first"), testkit::bin_path("http_ws_login"));
    let cases: [(&'static str, ServerCase); 3] = [
        ("A guessed session id on `/ws`", guessed_id),
        ("The cookie of a session that logged out, on `/ws`", logged_out_cookie),
        ("A forged name in `POST /api/messages`", forged_name),
    ];
    let on = |bin: std::path::PathBuf, run: ServerCase| {
        move || testkit::page::as_on_the_page(&run(&mut Server::start(&bin)))
    };
    let found = testkit::defence::rows_at_once(
        cases
            .iter()
            .map(|&(case, run)| {
                testkit::defence::case(case, on(first.clone(), run), on(lesson.clone(), run))
            })
            .collect(),
    );
    let mut table = vec![
        "| Break it | The first version | The full lesson |".to_string(),
        "|---|---|---|".to_string(),
    ];
    table.extend(
        found.iter().map(|row| format!("| {} | {} | {} |", row.case, row.first, row.lesson)),
    );
    assert_matches(&block("11-http-ws-login.md", "already"), &table);
}
