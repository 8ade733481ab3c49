//! Lesson 06, black-box: the real chat client against the real lesson 05 server,
//! with its input piped or typed line by line.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p ws_chat_client --test defences` still runs it alone.
mod defences;

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Program, Server, TIMEOUT, bin_path, run};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_chat_client"))
}

fn chat_server() -> Server {
    Server::start(&bin_path("ws_chat_server"))
}

/// The client, started like a person at a keyboard, once it has joined.
fn typing_client(server: &Server, name: &str) -> Program {
    let mut program = Program::start_interactive(client(), &["--addr", &server.addr]);
    program.wait_for(&format!("{name} joined ("));
    program
}

#[test]
fn piped_input_is_sent_and_the_answers_printed_before_a_clean_exit() {
    let server = chat_server();
    let finished = run(client(), &["--addr", &server.addr], &[], "hi\n/name Zoë\nbye\n", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(
        finished.stdout_lines(),
        [
            "Welcome, guest-1! Type a message and press Enter; /name NEW changes your name.",
            "guest-1 joined (1 online)",
            "you: hi",
            "guest-1 is now Zoë",
            "you: bye",
        ]
    );
    assert!(
        finished.stderr.ends_with(" INFO Closed: the server answered 1000 \"bye\"\n"),
        "{}",
        finished.stderr
    );
}

#[test]
fn arguments_are_a_first_message() {
    let server = chat_server();
    let finished = run(client(), &["--addr", &server.addr, "hello", "there"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stdout_lines().last().map(String::as_str), Some("you: hello there"));
}

#[test]
fn typing_and_receiving_happen_at_the_same_time() {
    let server = chat_server();
    let mut alice = typing_client(&server, "guest-1");
    let mut bob = typing_client(&server, "guest-2");
    alice.wait_for("guest-2 joined (2 online)");
    // Alice has typed nothing, yet Bob's lines reach her screen as they are sent:
    // her client waits on the keyboard and the socket at once.
    for n in 1..=3 {
        bob.type_line(&format!("line {n}"));
        alice.wait_for(&format!("guest-2: line {n}"));
        bob.wait_for(&format!("you: line {n}"));
    }
    alice.type_line("got them");
    bob.wait_for("guest-1: got them");
    // /quit closes properly, whatever comes after it.
    // Both lines in one write: the client may be gone by the time a second write
    // came, and the point is what it does with a line after /quit.
    alice.type_line("/quit\nnever sent");
    let (status, output) = alice.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert_eq!(
        output.last().map(String::as_str),
        Some(" INFO Closed: the server answered 1000 \"bye\"")
    );
    bob.wait_for("guest-1 left (1 online)");
    bob.end_input();
    let (status, output) = bob.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert!(!output.iter().any(|l| l.contains("never sent")), "{output:?}");
}

#[test]
fn the_server_going_away_gets_one_line_and_a_failure_exit() {
    let mut server = chat_server();
    let mut client = typing_client(&server, "guest-1");
    server.program.interrupt();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1), "{output:?}");
    assert_eq!(
        output.last().map(String::as_str),
        Some("error: the server closed the connection: 1001 \"server shutting down\"")
    );
    // The client answered the server's Close, so the server saw a clean goodbye.
    server.program.wait_for("conn #1 closed by us: 1001");
    let (status, _) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
}

#[test]
fn a_killed_server_gets_one_line_too() {
    let mut server = chat_server();
    let mut client = typing_client(&server, "guest-1");
    server.program.kill();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1), "{output:?}");
    let last = output.last().expect("a line");
    assert!(last.starts_with("error: "), "{last}");
    assert!(!output.iter().any(|l| l.contains("panicked")), "{output:?}");
}

#[test]
fn no_server_gets_one_friendly_line() {
    let addr = testkit::free_addr_as(common::WS_CHAT_ADDR);
    let line = testkit::one_error_line(client(), &["--addr", &addr]);
    assert_matches(&block("06-ws-chat-client.md", "no-server"), &[line]);
}

#[test]
fn page_06_shows_what_the_client_prints() {
    let page = "06-ws-chat-client.md";
    let mut server = chat_server();
    let piped = block(page, "pipe");
    let mut client_program = Program::start_interactive(client(), &["--addr", &server.addr]);
    for line in piped.piped_input().lines() {
        client_program.type_line(line);
    }
    client_program.end_input();
    let (status, output) = client_program.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert_matches(&piped, &output);
    // guest-1 has left the room before guest-2 comes in.
    server.program.wait_for("conn #1 closed by the client");

    let mut watcher = typing_client(&server, "guest-2");
    server.program.interrupt();
    let (status, output) = watcher.wait_exit(TIMEOUT);
    assert_eq!(status.code(), Some(1));
    assert_matches(&block(page, "server-gone"), &output);
}

#[test]
fn the_address_the_server_prints_is_accepted_and_mistakes_are_usage_errors() {
    let mut server = chat_server();
    let url = testkit::listening_url(&mut server);
    let port = server.addr.rsplit_once(':').expect("HOST:PORT").1.to_string();
    for addr in [url.as_str(), &format!(":{port}")] {
        let finished = run(client(), &["--addr", addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "--addr {addr}: {finished:?}");
    }
    testkit::assert_refuses_bad_addresses(client());
}

#[test]
fn ctrl_c_closes_with_1001_and_says_so() {
    let mut server = chat_server();
    let mut client = typing_client(&server, "guest-1");
    client.interrupt();
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    assert!(
        output.contains(&" INFO Ctrl-C: closing the connection with 1001 (going away)".to_string()),
        "{output:?}"
    );
    assert!(
        output.iter().any(|l| l.starts_with(" INFO Closed: the server answered 1001")),
        "{output:?}"
    );
    server.program.wait_for("conn #1 closed by the client: 1001 \"Ctrl-C\"");
}

#[test]
fn piped_into_head_it_exits_quietly() {
    // `cargo run -p ws_chat_client | head -2`: once head has its two lines it
    // closes the pipe, and the next line we print has nowhere to go.
    let server = chat_server();
    let args = ["--addr", &server.addr];
    let (status, stderr, lines) = testkit::run_into_head(client(), &args, "one\n", 2, "two\n");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn interop_through_a_python_chat_server() {
    use testkit::tools::{self, PY_WEBSOCKETS};
    if !tools::available("the interop page's Python chat server", &[&PY_WEBSOCKETS]) {
        return;
    }
    let addr = testkit::free_addr();
    let command = tools::at(
        tools::inline_command("interop.md", "python3 scripts/interop/chat_server.py 5002"),
        common::WS_CHAT_ADDR,
        &addr,
    );
    let mut python = tools::shell(&command, &testkit::workspace_root());
    python.wait_for("Listening on");
    let client_block = block("interop.md", "python-chat-client");
    // The page's `(printf 'hi everyone\n'; sleep 1) |`: the line, then the end of
    // input once the line is back (here on the event itself, not after a second).
    assert!(client_block.command().starts_with("(printf 'hi everyone\\n'; sleep 1) | "));
    let mut program = Program::start_interactive(client(), &["--addr", &addr]);
    program.type_line("hi everyone");
    program.wait_for("hi everyone");
    program.end_input();
    let (status, lines) = program.wait_exit(TIMEOUT);
    assert!(status.success(), "{lines:?}");
    let lines: Vec<String> =
        lines.iter().map(|line| tools::back(line, common::WS_CHAT_ADDR, &addr)).collect();
    // stdout and stderr may interleave either way: compare them as sets of lines.
    let mut sorted = lines.clone();
    sorted.sort();
    let mut expected = client_block.output.clone();
    expected.sort();
    assert_eq!(sorted, expected, "{lines:?}");
}

#[test]
fn wss_is_lesson_08s_and_the_client_says_so() {
    let line = testkit::usage_error(client(), &["--addr", "wss://localhost:5003/ws"]);
    assert!(line.contains("TLS is lesson 08's: `cargo run -p ws_reconnect_client"), "{line}");
}

#[test]
fn page_06_a_branch_that_is_not_cancel_safe_loses_input() {
    let block = testkit::page::block("06-ws-chat-client.md", "lost-input");
    assert_eq!(block.command(), "cargo run -p ws_chat_client --example lost_input");
    // The example as cargo built it for this test (`cargo run` here would build it a
    // second way: see testkit::bin_path).
    let mut command =
        std::process::Command::new(testkit::example_path("ws_chat_client", "lost_input"));
    testkit::env::as_a_page_assumes(&mut command).stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let example = testkit::start(&mut command).expect("run the example");
    let output = example.wait_with_output().expect("run the example");
    testkit::page::record_command(block.command());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<String> =
        String::from_utf8(output.stdout).expect("UTF-8").lines().map(str::to_string).collect();
    testkit::page::assert_matches(&block, &lines);
}
