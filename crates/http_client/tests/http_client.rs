//! Lesson 02, black-box: the real client against the real lesson 01 server.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p http_client --test defences` still runs it alone.
mod defences;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread;

use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_client"))
}

#[test]
fn page_02_shows_what_client_and_server_print() {
    let page = "02-http-client.md";
    let mut server = Server::start(&bin_path("http_server"));
    let client_block = block(page, "client");
    let args = client_block.cargo_run_args();
    let mut argv = vec!["--addr", server.addr.as_str()];
    argv.extend(args.iter().map(String::as_str));
    let finished = run(client(), &argv, &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stderr, "", "nothing goes wrong, so nothing is logged");
    assert_matches(&client_block, &finished.stdout_lines());

    server.program.wait_for("conn #2 req #1");
    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&block(page, "server"), &output);
}

#[test]
fn connection_numbers_match_between_client_and_server() {
    let mut server = Server::start(&bin_path("http_server"));
    let finished = run(client(), &["--addr", &server.addr], &[], "", TIMEOUT);
    let stdout = finished.stdout_lines();
    // The client's own port on each connection, from "Connection N: 127.0.0.1:P -> ...".
    let ports: Vec<&str> = stdout
        .iter()
        .filter(|l| l.starts_with("Connection ") && l.contains(" -> "))
        .map(|l| l.split(' ').nth(2).expect("an address"))
        .collect();
    assert_eq!(ports.len(), 2, "{stdout:?}");
    assert_ne!(ports[0], ports[1], "two connections, two client ports");
    // The server saw requests 1 and 2 from the first port, request 1 from the second.
    for (conn, req, port) in [(1, 1, ports[0]), (1, 2, ports[0]), (2, 1, ports[1])] {
        let line = server.program.wait_for(&format!("conn #{conn} req #{req} "));
        assert!(line.contains(&format!(" {port} GET /hello?name=Alice -> 200 OK")), "{line}");
    }
}

#[test]
fn names_are_percent_encoded() {
    let server = Server::start(&bin_path("http_server"));
    let finished = run(client(), &["--addr", &server.addr, "小明", "Li"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        finished.stdout.contains("GET /hello?name=%E5%B0%8F%E6%98%8E+Li\n"),
        "{}",
        finished.stdout
    );
    assert_eq!(
        finished.stdout.matches("body: Hello, 小明 Li!\n").count(),
        3,
        "{}",
        finished.stdout
    );
}

#[test]
fn no_server_gets_one_friendly_line() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = testkit::free_addr_as(common::HTTP_ADDR);
    let line = testkit::only_an_error_line(client(), &["--addr", &addr]);
    assert_matches(&block("02-http-client.md", "no-server"), &[line]);
}

/// A stand-in server that gives every request `answer`, and then closes the
/// connection if `close` is set (or the request asked it to). Returns its address.
fn stand_in(answer: &'static [u8], close: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("an address").to_string();
    thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let Ok(mut stream) = stream else { return };
            stream.set_read_timeout(Some(TIMEOUT)).expect("a timeout");
            thread::spawn(move || {
                // Answer each complete request head, however the reads split it.
                let (mut pending, mut chunk) = (Vec::new(), [0u8; 4096]);
                while let Ok(n @ 1..) = stream.read(&mut chunk) {
                    pending.extend_from_slice(&chunk[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head: Vec<u8> = pending.drain(..end + 4).collect();
                        let asked = String::from_utf8_lossy(&head).contains("connection: close");
                        if stream.write_all(answer).is_err() || close || asked {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn an_error_status_is_printed_not_a_crash() {
    // A 500 that keeps the connection open, as a real server might.
    let answer = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 6\r\n\r\noops!\n";
    let finished = run(client(), &["--addr", &stand_in(answer, false)], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(
        finished.stdout.matches("Response:  HTTP/1.1 500 Internal Server Error\n").count(),
        3
    );
    assert_eq!(finished.stdout.matches("body: oops!\n").count(), 3);
}

#[test]
fn a_server_that_closes_after_answering_gets_a_new_connection_for_the_next_request() {
    // HTTP/1.0 closes after each response unless the server says keep-alive; an
    // HTTP/1.1 server may say `connection: close`. Either way, request 2 needs a new
    // connection, and the client says why instead of failing.
    for (answer, why) in [
        (
            &b"HTTP/1.0 200 OK\r\ncontent-length: 6\r\n\r\nHello\n"[..],
            "it answered in HTTP/1.0 without `connection: keep-alive`.",
        ),
        (
            &b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 6\r\n\r\nHello\n"[..],
            "it answered with `connection: close`.",
        ),
    ] {
        let finished = run(client(), &["--addr", &stand_in(answer, true)], &[], "", TIMEOUT);
        assert!(finished.status.success(), "{finished:?}");
        let stdout = finished.stdout;
        for line in [
            format!("  The server will close connection 1: {why}"),
            format!("  The server will close connection 2: {why}"),
            "Connection 3 closed by the server, as we asked.".to_string(),
        ] {
            assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
        }
        assert_eq!(stdout.matches("body: Hello\n").count(), 3, "{stdout}");
    }
}

#[test]
fn lesson_03_answers_with_connection_close_and_the_client_carries_on() {
    // Lesson 03 is a WebSocket server: a plain GET gets a 426 and `connection: close`.
    let server = Server::start(&bin_path("ws_echo_server"));
    let finished = run(client(), &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stdout.matches("Response:  HTTP/1.1 426 Upgrade Required").count(), 3);
    assert!(finished.stdout.contains("The server will close connection 2"), "{}", finished.stdout);
}

#[test]
fn the_address_the_server_prints_is_accepted_and_mistakes_are_usage_errors() {
    let mut server = Server::start(&bin_path("http_server"));
    let url = testkit::listening_url(&mut server);
    let port = server.addr.rsplit_once(':').expect("HOST:PORT").1.to_string();
    for addr in [url.as_str(), &format!(":{port}"), &format!("localhost:{port}")] {
        let finished = run(client(), &["--addr", addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "--addr {addr}: {finished:?}");
    }
    testkit::assert_refuses_bad_addresses(client());
    let line = testkit::usage_error(client(), &["--addr", "ws://127.0.0.1:5001/"]);
    assert!(line.contains("an HTTP URL starts with http://"), "{line}");
}

#[test]
fn page_02_commands_for_other_tools_work_as_shown() {
    use testkit::tools::{self, CURL, PYTHON, SCRIPT};
    let page = "02-http-client.md";
    if tools::available("page 02's Python server", &[&PYTHON, &SCRIPT]) {
        // In a terminal, as the student runs it: Python buffers its output otherwise.
        let addr = testkit::free_addr();
        let server_block = block(page, "python-server");
        let command = tools::at(server_block.command(), common::HTTP_ADDR, &addr);
        let mut python = tools::terminal(&command, false);
        let first = python.wait_for("Serving HTTP on");
        assert_matches(
            &server_block,
            &[tools::back(&tools::plain(&first), common::HTTP_ADDR, &addr)],
        );
        let finished = run(client(), &["--addr", &addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "{finished:?}");
        assert_matches(&block(page, "python-client"), &finished.stdout_lines());
    }
    if tools::available("page 02's curl command", &[&CURL]) {
        let mut server = Server::start(&bin_path("http_server"));
        tools::check_block(page, "curl-reuse", common::HTTP_ADDR, &server.addr, false);
        server.program.wait_for("conn #1 req #2");
    }
}

#[test]
fn an_http_url_with_localhost_works() {
    let server = testkit::Server::start(&testkit::bin_path("http_server"));
    let port = server.addr.rsplit(':').next().expect("a port");
    let url = format!("http://localhost:{port}");
    let finished = testkit::run(client(), &["--addr", &url], &[], "", testkit::TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("Hello, Alice!"), "{}", finished.stdout);
    assert!(finished.stderr.contains("INFO localhost: connected to "), "{}", finished.stderr);
}
