//! Lesson 04, black-box: the real client against the real lesson 03 server.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p ws_echo_client --test defences` still runs it alone.
mod defences;

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_echo_client"))
}

fn echo_server() -> Server {
    Server::start(&bin_path("ws_echo_server"))
}

/// Runs the client and returns its one line of error, checking it failed cleanly.
fn error_line(args: &[&str]) -> String {
    testkit::one_error_line(client(), args)
}

#[test]
fn page_04_shows_what_client_and_server_print() {
    let page = "04-ws-echo-client.md";
    let mut server = echo_server();
    let client_block = block(page, "client");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(client_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = run(client(), &args, &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stderr, "");
    assert_matches(&client_block, &finished.stdout_lines());

    server.program.wait_for("conn #1 closed by the client");
    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&block(page, "server"), &output);
}

#[test]
fn the_arguments_are_the_message_and_a_full_url_works() {
    let server = echo_server();
    let url = format!("ws://{}/", server.addr);
    let finished = run(client(), &["--addr", &url, "Hi", "there,", "小明"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        finished.stdout.contains("  Received:  Server received: Hi there, 小明\n"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stdout.contains("  Closed:    the server answered 1000 \"done\"\n"),
        "{}",
        finished.stdout
    );
}

#[test]
fn no_server_gets_one_friendly_line() {
    let addr = testkit::free_addr_as(common::WS_ECHO_ADDR);
    let line = error_line(&["--addr", &addr]);
    assert_matches(&block("04-ws-echo-client.md", "no-server"), &[line]);
}

#[test]
fn an_http_server_is_not_a_websocket_server() {
    let http = Server::start(&bin_path("http_server"));
    let line = error_line(&["--addr", &http.addr]);
    assert_matches(&block("04-ws-echo-client.md", "http-server"), &[line]);
}

#[test]
fn the_address_the_server_prints_is_accepted_and_mistakes_are_usage_errors() {
    let mut server = echo_server();
    let url = testkit::listening_url(&mut server);
    let port = server.addr.rsplit_once(':').expect("HOST:PORT").1.to_string();
    for addr in [url.as_str(), &format!(":{port}"), &format!("ws://localhost:{port}/")] {
        let finished = run(client(), &["--addr", addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "--addr {addr}: {finished:?}");
    }
    testkit::assert_refuses_bad_addresses(client());
    let line = testkit::usage_error(client(), &["--addr", &format!("http://{}/", server.addr)]);
    assert!(line.contains("a WebSocket URL starts with ws://"), "{line}");
    // TLS is lesson 08's client's: a wss:// URL is told where to go.
    let line = testkit::usage_error(client(), &["--addr", "wss://localhost:5003/ws"]);
    assert!(line.contains("TLS is lesson 08's: `cargo run -p ws_reconnect_client"), "{line}");
}

#[test]
fn a_message_over_the_limit_is_refused_by_the_server() {
    let server = echo_server();
    let huge = "a".repeat(70_000);
    let line = error_line(&["--addr", &server.addr, &huge]);
    assert!(
        line.ends_with(
            "closed the connection before answering: 1009 \"message too big: the limit is 64 KiB\""
        ),
        "{line}"
    );
}

#[test]
fn page_04_websocat_as_the_server() {
    use testkit::tools::{self, SCRIPT, WEBSOCAT};
    if !tools::available("page 04's websocat server", &[&WEBSOCAT, &SCRIPT]) {
        return;
    }
    let page = "04-ws-echo-client.md";
    let addr = testkit::free_addr();
    let server_block = block(page, "websocat-server");
    // In a terminal whose keyboard stays open: websocat -s sends what is typed there.
    let mut websocat =
        tools::terminal(&tools::at(server_block.command(), common::WS_ECHO_ADDR, &addr), true);
    websocat.wait_for("Listening on");
    // websocat prints `Listening on` a moment before it listens: try again while the
    // connection is refused.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let finished = loop {
        let finished =
            run(client(), &["--addr", &addr], &[], "", std::time::Duration::from_secs(30));
        if !finished.stderr.contains("is the server running?")
            || std::time::Instant::now() > deadline
        {
            break finished;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let mut lines = finished.stdout_lines();
    lines.extend(finished.stderr.lines().map(str::to_string));
    assert_matches(&block(page, "websocat-client"), &lines);
    websocat.wait_for("Hello Server!");
    let shown: Vec<String> = tools::screen(&websocat.output())
        .iter()
        .map(|line| tools::back(line, common::WS_ECHO_ADDR, &addr))
        .collect();
    assert_matches(&server_block, &shown);
}

#[test]
fn interop_against_a_python_echo_server() {
    use testkit::tools::{self, PY_WEBSOCKETS};
    if !tools::available("the interop page's Python echo server", &[&PY_WEBSOCKETS]) {
        return;
    }
    let page = "interop.md";
    let addr = testkit::free_addr();
    let server_block = block(page, "python-echo-server");
    let command = tools::at(server_block.command(), common::WS_ECHO_ADDR, &addr);
    let mut python = tools::shell(&command, &testkit::workspace_root());
    let first = python.wait_for("Listening on");
    assert_matches(&server_block, &[tools::back(&first, common::WS_ECHO_ADDR, &addr)]);
    let finished = run(client(), &["--addr", &addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_matches(&block(page, "python-echo-client"), &finished.stdout_lines());
}

/// The port of a test server's address, `127.0.0.1:41234` -> `41234`.
fn port(addr: &str) -> &str {
    addr.rsplit(':').next().expect("a port")
}

#[test]
fn a_host_name_is_looked_up_and_logged() {
    let server = echo_server();
    let url = format!("ws://localhost:{}/", port(&server.addr));
    let finished = run(client(), &["--addr", &url, "by name"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("Server received: by name"), "{}", finished.stdout);
    // Which of localhost's addresses answered, on stderr.
    assert!(finished.stderr.contains("INFO localhost: connected to "), "{}", finished.stderr);
}

#[test]
fn no_server_behind_a_lesson_07_url_names_lesson_07() {
    let addr = testkit::free_addr();
    for (url, start) in [
        (format!("ws://localhost:{}/", port(&addr)), "cargo run -p ws_echo_server"),
        (format!("ws://localhost:{}/ws", port(&addr)), "cargo run -p http_ws_server"),
    ] {
        let line = error_line(&["--addr", &url]);
        assert_eq!(
            line,
            format!(
                "error: could not connect to {url}: is the server running? Start it with `{start}`"
            )
        );
    }
}

/// Where `localhost` has two addresses (`::1` and `127.0.0.1`, as on most machines)
/// and the server listens on only the second, the client falls back to it.
#[test]
fn localhost_falls_back_to_its_other_address() {
    use std::net::ToSocketAddrs;
    let found: Vec<std::net::SocketAddr> =
        ("localhost", 1).to_socket_addrs().map(Iterator::collect).unwrap_or_default();
    let Some(second) = found.iter().find(|a| a.is_ipv4() != found[0].is_ipv4()) else {
        println!(
            "skipped: localhost has addresses of one family here ({found:?}): nothing to fall back to"
        );
        return;
    };
    let listen = std::net::SocketAddr::new(second.ip(), 0).to_string();
    let server = Server::start_with(&bin_path("ws_echo_server"), &["--addr", &listen], &[]);
    let url = format!("ws://localhost:{}/", port(&server.addr));
    let finished = run(client(), &["--addr", &url, "fell back"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stderr.contains("(address 2 of 2)"), "{}", finished.stderr);
}
