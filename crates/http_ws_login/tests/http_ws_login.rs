//! Lesson 11, black-box: the real binary on port 0; HTTP and WebSocket by hand, the
//! cookie carried as a browser carries it (a `Cookie` header on every request).

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases run beside the rest. Alone: `cargo test -p http_ws_login
// page_11_defence`.
mod defences;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

use testkit::Server;
use testkit::http::{Response, connect, get, post_with, read_response};
use testkit::ws;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_ws_login"))
}

const JSON: &str = "Content-Type: application/json\r\n";
/// The close code of a session that ended (`chat.rs`).
const SESSION_ENDED: u16 = 4401;

/// `POST /api/login` as `name`; returns the answer.
fn login_as(addr: &str, name: &str, headers: &str) -> Response {
    post_with(addr, "/api/login", &format!("{JSON}{headers}"), &format!(r#"{{"name": "{name}"}}"#))
}

/// Logs in as `name` and returns the `Cookie` header line a browser would then send.
fn login(addr: &str, name: &str) -> String {
    let answer = login_as(addr, name, "");
    assert_eq!(answer.status, 200, "{answer:?}");
    let set = answer.header("set-cookie").expect("a Set-Cookie");
    let pair = set.split(';').next().expect("name=value first");
    format!("Cookie: {pair}\r\n")
}

/// `GET path` with `headers` (each ending in `\r\n`).
fn get_with(addr: &str, path: &str, headers: &str) -> Response {
    let mut stream = connect(addr);
    let raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(raw.as_bytes()).expect("send");
    read_response(&mut stream, false).expect("a response")
}

/// A WebSocket handshake to `/ws` with `headers`: the stream, and the answer.
fn handshake(addr: &str, headers: &str) -> (TcpStream, Response) {
    handshake_at(addr, "/ws", headers)
}

/// A WebSocket handshake to `target` (`/ws`, or with a query) with `headers`.
fn handshake_at(addr: &str, target: &str, headers: &str) -> (TcpStream, Response) {
    let mut stream = connect(addr);
    let raw = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n",
        ws::KEY
    );
    stream.write_all(raw.as_bytes()).expect("send the handshake");
    let answer = read_response(&mut stream, true).expect("an answer");
    (stream, answer)
}

/// A socket of the session `cookie`, in the room: it read its welcome, as `name`.
fn join(addr: &str, cookie: &str, name: &str) -> TcpStream {
    let (mut stream, answer) = handshake(addr, cookie);
    assert_eq!(answer.status, 101, "{answer:?}");
    let welcome = next(&mut stream);
    assert!(welcome.starts_with(&format!(r#"{{"type":"welcome","name":"{name}""#)), "{welcome}");
    stream
}

fn next(stream: &mut TcpStream) -> String {
    ws::read_data(stream).text().to_string()
}

/// Reads until a message of `kind` (`chat`, `error`), skipping who joined and left.
fn next_of(stream: &mut TcpStream, kind: &str) -> String {
    loop {
        let line = next(stream);
        if line.contains(&format!(r#""type":"{kind}""#)) {
            return line;
        }
    }
}

#[test]
fn login_sets_a_session_cookie_no_script_reads_and_no_other_site_sends() {
    let server = Server::start(bin());
    let answer = login_as(&server.addr, "Ada", "");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, r#"{"name":"Ada"}"#);
    let cookie = answer.header("set-cookie").expect("a Set-Cookie");
    let mut parts = cookie.split("; ");
    let id = parts.next().and_then(|pair| pair.strip_prefix("session=")).expect("session=ID");
    // 128 bits, in hex: 32 digits.
    assert_eq!(id.len(), 32, "{cookie}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{cookie}");
    let attributes: Vec<&str> = parts.collect();
    assert_eq!(attributes, ["Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Strict"]);
    // Another login, another id: nothing in one tells the next.
    let other = login_as(&server.addr, "Bob", "");
    assert!(!other.header("set-cookie").expect("a Set-Cookie").contains(id));
}

#[test]
fn me_says_who_is_logged_in_and_401_says_how_to_log_in() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let nobody = get(addr, "/api/me");
    assert_eq!(nobody.status, 401);
    assert!(nobody.header("www-authenticate").is_some(), "a 401 names a way to log in");
    assert!(nobody.body.contains("POST /api/login"), "{}", nobody.body);
    let cookie = login(addr, "Ada");
    let me = get_with(addr, "/api/me", &cookie);
    assert_eq!(me.status, 200);
    assert!(me.body.contains(r#""name":"Ada""#), "{}", me.body);
    // A guessed id is no session.
    let guessed = get_with(addr, "/api/me", &format!("Cookie: session={}\r\n", "0".repeat(32)));
    assert_eq!(guessed.status, 401);
}

#[test]
fn a_name_held_by_a_live_session_is_409_and_a_bad_name_400() {
    let server = Server::start(bin());
    let addr = &server.addr;
    login(addr, "Ada");
    let taken = login_as(addr, "Ada", "");
    assert_eq!(taken.status, 409, "{taken:?}");
    assert!(taken.body.contains("Ada is logged in already"), "{}", taken.body);
    assert_eq!(login_as(addr, "two words", "").status, 400);
    let extra = post_with(addr, "/api/login", JSON, r#"{"name": "Eve", "admin": true}"#);
    assert_eq!(extra.status, 400, "{extra:?}");
}

#[test]
fn a_login_from_another_site_is_refused() {
    let server = Server::start(bin());
    let addr = &server.addr;
    // Login CSRF: another site's page logs the visitor in under its own account.
    let foreign = login_as(addr, "Mallory", "Origin: http://evil.example\r\n");
    assert_eq!(foreign.status, 403, "{foreign:?}");
    // A plain HTML form can post across sites without asking: it cannot send JSON.
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    assert_eq!(post_with(addr, "/api/login", form, "name=Mallory").status, 415);
    // Nor log anyone out.
    let cookie = login(addr, "Ada");
    let out =
        post_with(addr, "/api/logout", &format!("{cookie}Origin: http://evil.example\r\n"), "");
    assert_eq!(out.status, 403);
    assert_eq!(get_with(addr, "/api/me", &cookie).status, 200, "still logged in");
}

#[test]
fn the_websocket_needs_a_session_and_takes_its_name() {
    let server = Server::start(bin());
    let addr = &server.addr;
    // No cookie, or one that names no session: 401 before any upgrade.
    for headers in ["", "Cookie: session=00112233445566778899aabbccddeeff\r\n"] {
        let (_, answer) = handshake(addr, headers);
        assert_eq!(answer.status, 401, "{answer:?}");
        assert!(answer.header("upgrade").is_none());
    }
    let cookie = login(addr, "Ada");
    let mut ada = join(addr, &cookie, "Ada");
    // The name is the login's: a rename is refused, the socket stays open.
    ws::send_text(&mut ada, r#"{"type": "rename", "name": "Eve"}"#);
    let refused = next_of(&mut ada, "error");
    assert!(refused.contains(r#""type":"error""#) && refused.contains("login"), "{refused}");
    ws::send_text(&mut ada, r#"{"type": "chat", "text": "hi"}"#);
    assert_eq!(next_of(&mut ada, "chat"), r#"{"type":"chat","id":1,"from":"Ada","text":"hi"}"#);
}

#[test]
fn a_page_on_another_port_has_the_cookie_and_only_the_origin_check_stops_it() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let cookie = login(addr, "Ada");
    // A port is not part of a site: a page from 127.0.0.1:8000 gets the
    // SameSite=Strict cookie sent with its WebSocket. Its Origin gives it away.
    let (_, answer) = handshake(addr, &format!("{cookie}Origin: http://127.0.0.1:8000\r\n"));
    assert_eq!(answer.status, 403, "{answer:?}");
    let own = format!("{cookie}Origin: http://{addr}\r\n");
    let (_, answer) = handshake(addr, &own);
    assert_eq!(answer.status, 101, "{answer:?}");
}

#[test]
fn a_post_says_as_the_session_and_a_forged_name_is_refused() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let say = |headers: &str, body: &str| post_with(addr, "/api/messages", headers, body);
    assert_eq!(say(JSON, r#"{"text": "hi"}"#).status, 401);
    let cookie = login(addr, "Ada");
    let said = say(&format!("{JSON}{cookie}"), r#"{"text": "hi"}"#);
    assert_eq!(said.status, 201, "{said:?}");
    assert_eq!(said.body, r#"{"id":1,"from":"Ada","text":"hi"}"#);
    let forged = say(&format!("{JSON}{cookie}"), r#"{"name": "Bob", "text": "hi"}"#);
    assert_eq!(forged.status, 400, "{forged:?}");
    assert!(forged.body.contains("unknown field `name`"), "{}", forged.body);
}

#[test]
fn logout_closes_every_socket_of_the_session_with_4401_and_no_other() {
    let server = Server::start(bin());
    let addr = &server.addr;
    let ada = login(addr, "Ada");
    let bob = login(addr, "Bob");
    // Ada in two tabs (one cookie, two sockets), Bob in one.
    let mut tab1 = join(addr, &ada, "Ada");
    let mut tab2 = join(addr, &ada, "Ada");
    let mut bobs = join(addr, &bob, "Bob");
    let out = post_with(addr, "/api/logout", &ada, "");
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").expect("forget it").contains("Max-Age=0"));
    for tab in [&mut tab1, &mut tab2] {
        let (code, reason) = ws::read_close(tab);
        assert_eq!((code, reason.as_str()), (SESSION_ENDED, "session ended: log in again"));
    }
    // The cookie of a logged-out session is no session, on either road.
    assert_eq!(get_with(addr, "/api/me", &ada).status, 401);
    assert_eq!(handshake(addr, &ada).1.status, 401);
    // Bob chats on.
    ws::send_text(&mut bobs, r#"{"type": "chat", "text": "still here"}"#);
    assert!(next_of(&mut bobs, "chat").contains("still here"));
    // And Ada's name is free again.
    assert_eq!(login_as(addr, "Ada", "").status, 200);
}

#[test]
fn a_session_that_expires_closes_its_socket_with_4401() {
    let server = Server::start_with(bin(), &["--addr", "127.0.0.1:0", "--session", "1"], &[]);
    let addr = &server.addr;
    let cookie = login(addr, "Ada");
    let mut ada = join(addr, &cookie, "Ada");
    // The read waits at most TIMEOUT (10 s), longer than the session's second.
    assert_eq!(ws::read_close(&mut ada).0, SESSION_ENDED);
    assert_eq!(get_with(addr, "/api/me", &cookie).status, 401);
}

#[test]
fn under_tls_the_cookie_is_secure_and_host_prefixed() {
    if !testkit::tools::available("the TLS cookie test", &[&testkit::tools::CURL]) {
        return;
    }
    let dir = testkit::temp_folder("11-tls");
    let server = Server::start_in(bin(), &["--tls", "--addr", "127.0.0.1:0"], &dir);
    let cert = dir.join("target/tls/http_ws_login.pem");
    let url = format!("https://{}/api/login", server.addr);
    let output = std::process::Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(&cert)
        .args(["--json", r#"{"name": "Ada"}"#, &url])
        .output()
        .expect("curl runs");
    let head = String::from_utf8_lossy(&output.stdout).to_lowercase();
    let cookie = head.lines().find(|l| l.starts_with("set-cookie:")).expect("a Set-Cookie");
    assert!(cookie.starts_with("set-cookie: __host-session="), "{cookie}");
    assert!(cookie.contains("; secure") && cookie.contains("; path=/"), "{cookie}");
    assert!(!cookie.contains("domain="), "{cookie}");
}

const PAGE: &str = "11-http-ws-login.md";

#[test]
fn page_11_run_it_shows_what_the_server_prints() {
    let mut server = Server::start(bin());
    server.program.wait_for("curl -i");
    let started = server.program.output();
    testkit::page::assert_matches(&testkit::page::block(PAGE, "run"), &started);
}

/// Page 11's curl and websocat commands, in its order, in a folder of their own
/// (curl keeps the cookie in a file there, `jar`).
#[test]
fn page_11_commands_work_as_shown() {
    use testkit::tools::{self, CURL, WEBSOCAT};
    if !tools::available("page 11's curl and websocat", &[&CURL, &WEBSOCAT]) {
        return;
    }
    let server = Server::start(bin());
    let dir = testkit::temp_folder("11-page");
    for (id, stdout_only) in
        [("login", true), ("say", true), ("nobody", true), ("taken", true), ("ws-nobody", false)]
    {
        tools::check_block_in(PAGE, id, common::LOGIN_ADDR, &server.addr, stdout_only, &dir);
    }
}

/// Page 11's "Break it": a session id in the URL (as `?session=...` instead of a
/// cookie) is written into the proxy's access log, where a cookie is not: lesson
/// 10's nginx, its two `server` lines pointed at this lesson's one server.
#[test]
fn page_11_an_id_in_the_url_lands_in_nginxs_log_and_a_cookie_does_not() {
    let server = Server::start(bin());
    let Some(mut nginx) =
        testkit::nginx::Nginx::start("page 11's access log", [&server.addr, &server.addr], |c| c)
    else {
        return;
    };
    let cookie = login(&nginx.addr, "Ada");
    nginx.wait_for("POST /api/login");
    // A socket with the cookie, closed, so that nginx writes its line (at the end).
    let (mut socket, answer) = handshake(&nginx.addr, &cookie);
    assert_eq!(answer.status, 101, "{answer:?}");
    ws::send(&mut socket, ws::CLOSE, &ws::close_payload(1000, ""), true);
    ws::read_close(&mut socket);
    nginx.wait_for("101 ->");
    // The id in the URL: the server refuses it (no cookie), and the log keeps it.
    let id = cookie.trim_end().trim_start_matches("Cookie: session=");
    let (_, answer) = handshake_at(&nginx.addr, &format!("/ws?session={id}"), "");
    assert_eq!(answer.status, 401);
    let line = nginx.wait_for("GET /ws?session=");
    assert!(line.contains(id), "{line}");
    testkit::page::assert_matches(&testkit::page::block(PAGE, "token-log"), &nginx.output());
}
