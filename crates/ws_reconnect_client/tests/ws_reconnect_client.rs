//! Lesson 08, black-box: the real client against the real lesson 07 server, which
//! the tests stop, kill and start again on the same port.

// One test program for the whole lesson: tests/defences.rs and tests/wss.rs are its
// modules, so that their slow cases (a timeout waited out, a server restarted) run
// beside the rest instead of after it. `cargo test -p ws_reconnect_client --test NAME`
// still runs one alone.
mod defences;
mod wss;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::http::get;
use testkit::{Program, Server, TIMEOUT, bin_path, run};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_reconnect_client"))
}

fn server_bin() -> PathBuf {
    bin_path("http_ws_server")
}

/// Starts lesson 07's server on `addr` ("127.0.0.1:0" for any free port).
fn server_on(addr: &str) -> Server {
    Server::start_with(&server_bin(), &["--addr", addr], &[])
}

fn post(addr: &str, name: &str, text: &str) {
    let body = format!(r#"{{"name": "{name}", "text": "{text}"}}"#);
    let response = testkit::http::post(addr, "/api/messages", &body);
    assert_eq!(response.status, 201, "{}", response.body);
}

fn typing_client(addr: &str, extra: &[&str]) -> Program {
    let mut args = vec!["--addr", addr];
    args.extend_from_slice(extra);
    Program::start_interactive(client(), &args)
}

#[test]
fn history_first_then_live_then_a_clean_quit() {
    let server = server_on("127.0.0.1:0");
    post(&server.addr, "curl", "said before you came");
    let mut client = typing_client(&server.addr, &[]);
    client.wait_for("curl: said before you came");
    client.wait_for("* you are guest-1 (1 online)");
    client.type_line("hello over WebSocket");
    client.wait_for("guest-1: hello over WebSocket");
    post(&server.addr, "curl", "and over HTTP");
    client.wait_for("curl: and over HTTP");
    client.type_line("/quit");
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert_eq!(output.last().map(String::as_str), Some(" INFO Closed"));
}

#[test]
fn end_of_input_is_a_clean_exit() {
    let server = server_on("127.0.0.1:0");
    let finished =
        run(client(), &["--addr", &server.addr, "first", "words"], &[], "second line\n", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stderr.ends_with(" INFO Closed\n"), "{}", finished.stderr);
    // Both lines reached the server, in order.
    let history = get(&server.addr, "/api/messages").body;
    let first = history.find("first words").expect("the first message");
    let second = history.find("second line").expect("the second message");
    assert!(first < second, "{history}");
}

#[test]
fn the_client_survives_a_server_restart() {
    let mut server = server_on(&testkit::free_addr());
    let addr = server.addr.clone();
    let mut client = typing_client(&addr, &[]);
    client.wait_for("* you are guest-1");
    post(&addr, "curl", "before the restart");
    client.wait_for("curl: before the restart");

    // A polite stop: the client hears 1001 and starts reconnecting.
    server.program.interrupt();
    client
        .wait_for("Disconnected: the server closed the connection: 1001 \"server shutting down\"");
    client.wait_for("Reconnecting in");
    let (status, _) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());

    // Lines typed while the server is down wait for it.
    client.type_line("typed while you were away");
    client.wait_for("Not connected: 1 lines will be sent once we are back");

    let server = server_on(&addr);
    client.wait_for_within(
        "* the server restarted: its history starts again",
        Duration::from_secs(30),
    );
    client.wait_for("* you are guest-1");
    client.wait_for("guest-1: typed while you were away");
    client.type_line("and after");
    client.wait_for("guest-1: and after");
    post(&addr, "curl", "hello again");
    client.wait_for("curl: hello again");
    let history = get(&addr, "/api/messages").body;
    assert!(
        history.contains("typed while you were away") && history.contains("and after"),
        "{history}"
    );

    // A crash this time: no Close frame, the TCP connection just dies.
    let mut server = server;
    server.program.kill();
    client.wait_for("Disconnected: ");
    let _server = server_on(&addr);
    client.wait_for_within("Connected to ", Duration::from_secs(30));
    client.type_line("still here");
    client.wait_for("guest-1: still here");
}

#[test]
fn a_server_that_stops_answering_is_noticed_by_the_heartbeat() {
    // A WebSocket server that completes the handshake, then neither reads nor
    // answers: from the outside, a server that froze.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("an address").to_string();
    let frozen = std::thread::spawn(move || {
        let mut held = Vec::new();
        // Each connection is the history (HTTP) or the WebSocket: the client asks
        // for the history before it connects and again right after.
        for stream in listener.incoming().take(8) {
            let mut stream: TcpStream = stream.expect("a connection");
            stream.set_read_timeout(Some(TIMEOUT)).expect("a timeout");
            let mut head = [0u8; 1024];
            let seen = stream.peek(&mut head).unwrap_or(0);
            let head = String::from_utf8_lossy(&head[..seen]).to_ascii_lowercase();
            if head.contains("upgrade: websocket") {
                // Accepted, and never read again.
                held.push(tokio_tungstenite::tungstenite::accept(stream).expect("a handshake"));
            } else {
                // An empty history.
                let mut request = [0u8; 1024];
                let _ = std::io::Read::read(&mut stream, &mut request);
                let body = "[]";
                let answer =
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
            }
        }
        held
    });
    let mut client = typing_client(&addr, &["--heartbeat", "0.3"]);
    client.wait_for("Connected to ");
    let line = client.wait_for("Disconnected: no answer to pings for");
    assert!(line.contains(" WARN "), "{line}");
    client.wait_for("Reconnecting in");
    client.wait_for("Connected to ");
    client.type_line("/quit");
    drop(frozen);
}

#[test]
fn no_server_gets_one_friendly_line() {
    let addr = testkit::free_addr();
    assert_eq!(
        testkit::one_error_line(client(), &["--addr", &addr]),
        format!(
            "error: could not connect to {addr}: is the server running? Start it with `cargo run -p http_ws_server`"
        )
    );
}

#[test]
fn page_08_shows_what_server_and_client_print() {
    use testkit::page::{assert_matches, block};
    let page = "08-ws-reconnect-client.md";
    let mut first = server_on(&testkit::free_addr());
    let addr = first.addr.clone();

    let before = block(page, "post-before");
    let lines = testkit::tools::curl(&before, common::HTTP_WS_ADDR, &addr);
    assert_matches(&before, &lines);

    let client_block = block(page, "client");
    let mut args = vec!["--addr".to_string(), addr.clone()];
    args.extend(client_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Program::start_interactive(client(), &args);
    client.wait_for("guest-1: hello everyone");
    first.program.wait_for("conn #3 joined as guest-1");

    first.program.interrupt();
    client.wait_for("Reconnecting in");
    let (status, first_output) = first.program.wait_exit(TIMEOUT);
    assert!(status.success());
    // Let it fail once while the server is down, so that `...` stands for something.
    client.wait_for("is not answering yet");

    let mut second = server_on(&addr);
    client.wait_for_within("* guest-1 joined (1 online)", Duration::from_secs(30));
    let after = block(page, "post-after");
    let lines = testkit::tools::curl(&after, common::HTTP_WS_ADDR, &addr);
    assert_matches(&after, &lines);
    client.wait_for("curl: Hello again");
    client.end_input();
    let (status, client_output) = client.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&client_block, &client_output);

    // The lines that `...` stands for are all of the two kinds the page shows.
    let retry_kinds: Vec<String> = block(page, "retry-lines")
        .output
        .iter()
        .map(|l| without_attempt(&testkit::page::normalise(l)))
        .collect();
    let start =
        client_output.iter().position(|l| l.contains("(attempt 1)")).expect("a first attempt") + 1;
    let end =
        client_output.iter().position(|l| l.contains("the server restarted")).expect("the restart");
    for line in &client_output[start..end] {
        let line = without_attempt(&testkit::page::normalise_output(line));
        assert!(retry_kinds.contains(&line), "{line:?} is not one of {retry_kinds:?}");
    }

    second.program.wait_for("conn #2 closed by the client");
    second.program.interrupt();
    let (status, second_output) = second.program.wait_exit(TIMEOUT);
    assert!(status.success());
    let both: Vec<String> = first_output.into_iter().chain(second_output).collect();
    assert_matches(&block(page, "server"), &joined_before_the_catch_up(both));
}

/// The server's lines with each `conn #N joined` before the client's catch-up, `GET
/// /api/messages` on the next connection, as the page shows them. The client sends
/// that request the moment its WebSocket opens, and the server serves the two
/// connections at once: either line may come first, and the page says so.
fn joined_before_the_catch_up(mut lines: Vec<String>) -> Vec<String> {
    for n in 1..lines.len() {
        let Some(conn) =
            lines[n].split_once("conn #").and_then(|(_, rest)| rest.split_once(" joined as "))
        else {
            continue;
        };
        let Ok(joined) = conn.0.parse::<u64>() else { continue };
        let catch_up = format!("conn #{} req #1 ", joined + 1);
        if lines[n - 1].contains(&catch_up) && lines[n - 1].contains("GET /api/messages") {
            lines.swap(n - 1, n);
        }
    }
    lines
}

/// `(attempt 7)` -> `(attempt N)`.
fn without_attempt(line: &str) -> String {
    match line.split_once("(attempt ") {
        Some((before, _)) => format!("{before}(attempt N)"),
        None => line.to_string(),
    }
}

#[test]
fn the_addresses_the_server_prints_are_accepted_and_mistakes_are_usage_errors() {
    let mut server = server_on("127.0.0.1:0");
    let url = testkit::listening_url(&mut server);
    let ws_url = format!("ws://{}/ws", server.addr);
    let port = server.addr.rsplit_once(':').expect("HOST:PORT").1.to_string();
    for addr in [url.as_str(), &ws_url, &format!(":{port}")] {
        let finished = run(client(), &["--addr", addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "--addr {addr}: {finished:?}");
    }
    testkit::assert_refuses_bad_addresses(client());
    let line = testkit::usage_error(client(), &["--heartbeat", "0"]);
    assert!(line.contains("a number of seconds above 0"), "{line}");
}

#[test]
fn ctrl_c_closes_with_1001_and_says_so() {
    let mut server = server_on("127.0.0.1:0");
    let mut client = typing_client(&server.addr, &[]);
    client.wait_for("* guest-1 joined (1 online)");
    client.interrupt();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert!(
        output.contains(&" INFO Ctrl-C: closing the connection with 1001 (going away)".to_string()),
        "{output:?}"
    );
    server.program.wait_for("closed by the client: 1001 \"Ctrl-C\"");
}

#[test]
fn ctrl_c_while_waiting_to_reconnect_exits_at_once() {
    let mut server = server_on("127.0.0.1:0");
    let mut client = typing_client(&server.addr, &[]);
    client.wait_for("* guest-1 joined (1 online)");
    server.program.kill();
    client.wait_for("Reconnecting in");
    client.interrupt();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
}

#[test]
fn piped_into_head_it_exits_quietly() {
    let server = server_on("127.0.0.1:0");
    for text in ["one", "two", "three", "four"] {
        post(&server.addr, "curl", text);
    }
    let (status, stderr, lines) =
        testkit::run_into_head(client(), &["--addr", &server.addr], "", 2, "");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn the_answer_to_the_last_line_is_shown_before_leaving() {
    // A pipe ends right after its last line: the server's echo of that line arrives
    // after our Close has gone, and must still be shown (as lesson 06 does).
    let server = server_on("127.0.0.1:0");
    let finished = run(client(), &["--addr", &server.addr], &[], "last words\n", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("guest-1: last words"), "{}", finished.stdout);
}

#[test]
fn a_restart_is_noticed_even_when_the_new_server_has_as_many_messages() {
    // Before: one message (id 1), seen. After the restart the new server gets two
    // (ids 1 and 2) before the client is back: comparing ids alone would take the
    // new server for the old one and skip its message 1.
    let first = server_on(&testkit::free_addr());
    let addr = first.addr.clone();
    post(&addr, "curl", "before the restart");
    let mut client = typing_client(&addr, &[]);
    client.wait_for("curl: before the restart");
    client.wait_for("* guest-1 joined (1 online)");
    drop(first);
    client.wait_for("Reconnecting in");
    let _second = server_on(&addr);
    post(&addr, "curl", "first after the restart");
    post(&addr, "curl", "second after the restart");
    client.wait_for_within(
        "* the server restarted: its history starts again",
        Duration::from_secs(30),
    );
    client.wait_for("curl: first after the restart");
    client.type_line("/quit");
}

#[test]
fn https_and_wss_with_the_servers_certificate_and_one_line_without_it() {
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("08");
    let cert = cert.to_str().expect("a UTF-8 path");
    let url = format!("wss://{}/ws", server.addr);
    let done = run(client(), &["--addr", &url, "--ca", cert], &[], "over TLS\n", TIMEOUT);
    assert!(done.status.success(), "{}", done.stderr);
    assert!(done.stdout.contains("guest-1: over TLS"), "{}", done.stdout);
    assert!(done.stderr.contains(&format!("Connected to {url}")), "{}", done.stderr);
    let untrusted = testkit::one_error_line(client(), &["--addr", &url]);
    assert!(untrusted.contains("pass --ca FILE"), "{untrusted}");
    let plain = testkit::one_error_line(client(), &["--addr", &format!("http://{}/", server.addr)]);
    assert!(plain.contains("speaks TLS: use https:// or wss://"), "{plain}");
}

#[test]
fn page_08_over_tls_shows_what_the_client_prints() {
    use testkit::tools;
    let testkit::TlsServer { server, folder: dir, .. } = testkit::tls_server("08-page");
    let block = testkit::page::block("08-ws-reconnect-client.md", "tls-client");
    // The page's command, run in the server's folder (where its certificate is),
    // with this lesson's binary for `cargo run -p ws_reconnect_client --`.
    let command = tools::at(block.command(), common::HTTP_WS_ADDR, &server.addr)
        .replace("cargo run -p ws_reconnect_client --", &client().display().to_string());
    let (status, lines) = tools::shell_stdout(&command, &dir).wait_exit(TIMEOUT);
    assert!(status.success(), "{lines:?}");
    testkit::page::assert_matches(&block, &lines);
}
