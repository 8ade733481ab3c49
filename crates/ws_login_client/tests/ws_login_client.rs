//! Lesson 12, black-box: the real client, run as a student runs it, against lesson
//! 11's real server (and, for what that server never does, a small server here).

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases run beside the rest. Alone: `cargo test -p ws_login_client
// page_12_defence`.
mod defences;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use testkit::{Program, Server, TIMEOUT, bin_path};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_login_client"))
}

/// Whether `bin` is the full lesson (the first version and its steps print
/// websocket-client's `on_open`, `on_close`).
fn full(bin: &Path) -> bool {
    bin.file_name().is_some_and(|name| name == "ws_login_client")
}

/// What each client prints when it is connected, and when it has lost the server.
fn marks(bin: &Path) -> (&'static str, &'static str) {
    if full(bin) { ("INFO Connected to", "WARN Disconnected") } else { ("on_open", "on_close") }
}

#[test]
fn it_logs_in_and_chats_under_its_name() {
    let server = Server::start(&bin_path("http_ws_login"));
    let mut client = Program::start_interactive(bin(), &["--addr", &server.addr, "--name", "Ada"]);
    client.wait_for("* you are Ada");
    client.type_line("hello from Ada");
    client.wait_for("Ada: hello from Ada");
    // The name is the login's: a rename is refused, and the client goes on.
    client.type_line("/name Eve");
    client.wait_for("your name is your login's");
    client.end_input();
    let (status, _) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{status}");
}

/// A server that takes every login and refuses every WebSocket with 401, as two
/// instances that do not share their sessions would behind a proxy: the client logs
/// in, is refused, and stops with one line rather than logging in for ever.
#[test]
fn a_session_refused_at_once_is_not_logged_in_again_for_ever() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("an address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            // The rest of the head (and a login's small body is not worth reading).
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let answer = match line.split(' ').nth(1).unwrap_or_default() {
                "/api/login" => {
                    "HTTP/1.1 200 OK\r\nSet-Cookie: session=00112233445566778899aabbccddeeff; \
                                 Path=/\r\nContent-Length: 2\r\n\r\n{}"
                }
                "/api/messages" => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
                _ => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let finished = testkit::run(bin(), &["--addr", &addr, "--name", "Ada"], &[], "", TIMEOUT);
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let last = finished.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: logged in as Ada, and the server refused that session at once: stopping"
    );
}

const PAGE: &str = "12-ws-login-client.md";

/// Page 12's "Run it": lesson 11 with `--session 3`, and the client, whose session
/// ends under it and which logs in again; then a name that is taken.
#[test]
fn page_12_run_it_is_what_the_programs_print() {
    use testkit::page::{assert_matches, block};
    let server_block = block(PAGE, "server");
    let mut args = vec!["--addr".to_string(), "127.0.0.1:0".to_string()];
    args.extend(server_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::start_with(&bin_path("http_ws_login"), &args, &[]);
    server.program.wait_for("curl -i");
    assert_matches(&server_block, &server.program.output());

    let client_block = block(PAGE, "client");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(client_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Program::start_interactive(bin(), &args);
    client.wait_for("Ada: hello");
    client.wait_for("session ended: log in again");
    client.wait_for("Connected to");
    client.wait_for("* Ada joined");
    client.end_input();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{status}");
    assert_matches(&client_block, &output);

    // Ada is taken: by the session the client leaves behind (it lives 3 s), or, if
    // that has ended, by a login from here.
    let taken = testkit::http::post(&server.addr, "/api/login", r#"{"name": "Ada"}"#);
    assert!([200, 409].contains(&taken.status), "{taken:?}");
    let taken_block = block(PAGE, "taken");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(taken_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = testkit::run(bin(), &args, &[], "", TIMEOUT);
    assert_eq!(finished.status.code(), Some(1));
    let lines: Vec<String> = finished.stderr.lines().map(str::to_string).collect();
    assert_matches(&taken_block, &lines);
}

/// The handshake a student can print: `RUST_LOG=ws_login_client=debug` shows the
/// request, its cookie included, as page 12 says.
#[test]
fn the_handshake_with_its_cookie_can_be_printed() {
    let server = Server::start(&bin_path("http_ws_login"));
    let env = [("RUST_LOG", "ws_login_client=debug")];
    let mut client = Program::start_with(bin(), &["--addr", &server.addr, "--name", "Ada"], &env);
    let shown = client.wait_for("handshake: GET ws://");
    assert!(shown.contains(r#""cookie": "session="#), "{shown}");
    client.kill();
}
