//! Lesson 11's first version (`cargo run -p http_ws_login_first`), black-box: what
//! the page shows it print, a login with curl and a line said with websocat as the
//! session's name, and the same program in Python doing the same.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, CURL, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "11-http-ws-login.md";

/// The lines a page's block prints when its commands run one after another in one
/// shell (a variable set by one is there for the next), pointed at `addr`.
fn run_commands(id: &str, addr: &str) -> Vec<String> {
    let shown = block(PAGE, id);
    let commands: Vec<String> =
        shown.commands.iter().map(|c| tools::at(c, common::LOGIN_ADDR, addr)).collect();
    let (_, lines) = tools::shell_stdout(&commands.join("\n"), &std::env::temp_dir())
        .wait_exit(testkit::TIMEOUT);
    lines.iter().map(|line| tools::back(line, common::LOGIN_ADDR, addr)).collect()
}

/// The page's curl login, then its login and websocat line, against `addr`.
fn log_in_and_say(addr: &str) {
    tools::check_block(PAGE, "first-login", common::LOGIN_ADDR, addr, true);
    assert_matches(&block(PAGE, "first-chat"), &run_commands("first-chat", addr));
}

#[test]
fn first_version_logs_in_and_chats_as_page_11_shows() {
    let mut server = Server::start(&bin_path("http_ws_login_first"));
    // What it prints as it starts, which the page shows.
    let started = server.program.output();
    if tools::available("page 11's first curl and websocat", &[&WEBSOCAT, &CURL]) {
        log_in_and_say(&server.addr);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_does_the_same() {
    if !tools::available("page 11's Python server", &[&tools::PY_AIOHTTP, &WEBSOCAT, &CURL]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/11_login_chat.py");
    testkit::page::record_command("python3 scripts/interop/first/11_login_chat.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, common::LOGIN_ADDR);
    let started = python.program.output();
    // aiohttp writes its cookie's attributes in another order, and names itself in a
    // `Server` header: the page's chat, not its login's head, is the same.
    assert_matches(&block(PAGE, "first-chat"), &run_commands("first-chat", &python.addr));
    assert_matches(&block(PAGE, "first-python"), &started);
}

/// A WebSocket handshake to `addr` with the cookie `pair`: the stream and the status.
fn handshake(addr: &str, pair: &str) -> (std::net::TcpStream, u16) {
    use std::io::Write;
    let mut stream = testkit::http::connect(addr);
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\nCookie: {pair}\r\n\r\n",
        testkit::ws::KEY
    );
    stream.write_all(request.as_bytes()).expect("send the handshake");
    let status = testkit::http::read_response(&mut stream, true).expect("an answer").status;
    (stream, status)
}

/// Logs in as `name` at `addr`: the status, and the cookie's `session=ID`, if any.
fn login(addr: &str, name: &str) -> (u16, Option<String>) {
    let answer = testkit::http::post(addr, "/api/login", &format!(r#"{{"name": "{name}"}}"#));
    let pair = answer.header("set-cookie").and_then(|c| c.split(';').next()).map(str::to_string);
    (answer.status, pair)
}

/// Page 11's box: sessions in Redis, shared by two instances. A login on A opens a
/// WebSocket on B, the name is held on both, and a logout on A closes B's socket
/// with 4401; a session that expires in Redis closes a socket on the other instance.
#[test]
fn sessions_in_redis_are_one_login_across_two_instances() {
    let Some(redis) = testkit::redis::Redis::start("page 11's sessions in Redis") else {
        return;
    };
    let example = testkit::example_path("http_ws_login_first", "http_ws_login_redis");
    let env = [("LESSON_REDIS", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let start = |args: &[&str]| {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Server::start_with(&example, &all, &env)
    };
    let (a, b) = (start(&[]), start(&[]));
    let (status, ada) = login(&a.addr, "Ada");
    assert_eq!(status, 200);
    let ada = ada.expect("a session cookie");
    let (mut on_b, status) = handshake(&b.addr, &ada);
    assert_eq!(status, 101, "A's login is B's too");
    testkit::ws::send_text(&mut on_b, r#"{"type":"chat","text":"hi from B"}"#);
    assert!(testkit::ws::read_data(&mut on_b).text().contains(r#""from":"Ada""#));
    assert_eq!(login(&b.addr, "Ada").0, 409, "the name is held on B too");
    let out = testkit::http::post_with(&a.addr, "/api/logout", &format!("Cookie: {ada}\r\n"), "");
    assert_eq!(out.status, 200);
    assert_eq!(testkit::ws::read_close(&mut on_b).0, 4401, "a logout on A closes B's socket");
    assert_eq!(handshake(&b.addr, &ada).1, 401);
    assert_eq!(login(&b.addr, "Ada").0, 200, "and the name is free again");

    // Expiry: Redis forgets the session after a second, and B's socket closes then.
    let (short_a, short_b) = (start(&["--session", "1"]), start(&["--session", "1"]));
    let bob = login(&short_a.addr, "Bob").1.expect("a session cookie");
    let (mut bobs, status) = handshake(&short_b.addr, &bob);
    assert_eq!(status, 101);
    assert_eq!(testkit::ws::read_close(&mut bobs).0, 4401, "expired, on the other instance");
    assert_eq!(handshake(&short_b.addr, &bob).1, 401);
}

/// Page 11's box shows the example with Redis as a diff against step 5.
#[test]
fn page_11_shows_the_redis_example_against_step_5() {
    let examples = testkit::workspace_root().join("crates/http_ws_login/first/examples");
    let diff = testkit::steps::diff(
        &examples.join("http_ws_login_step5.rs"),
        &examples.join("http_ws_login_redis.rs"),
    );
    assert_eq!(testkit::steps::page_block(PAGE, "redis-diff"), diff, "page 11's redis-diff block");
}
