//! Page 06's defence table: each way a chat client can be cut short, run against the
//! first version (`ws_chat_client_first`), the step that turns it (and the one
//! before) and the full lesson, with lesson 05's server on the other end.

use std::path::Path;
use std::time::Duration;

use testkit::defence::{program_rows_with_steps, short, table_with_steps};
use testkit::page::{assert_matches, block};
use testkit::{Program, Server, TIMEOUT, bin_path, run_into_head};

/// How a client that ended said so: its panic, its one error line, or nothing.
fn said(status: std::process::ExitStatus, lines: &[String]) -> String {
    let code = status.code().map_or("killed".to_string(), |c| format!("status {c}"));
    if lines.iter().any(|l| l.contains("panicked at")) {
        return format!("panics{}", testkit::defence::not_101(&code));
    }
    match lines.iter().find(|l| l.starts_with("error: ")) {
        Some(line) => format!("one line, \"{}\", {code}", short(line)),
        None => format!("says nothing about it, {code}"),
    }
}

fn server_stops(bin: &Path) -> String {
    let mut server = Server::start(&bin_path("ws_chat_server"));
    let mut client = Program::start_interactive(bin, &["--addr", &server.addr]);
    server.program.wait_for("joined as guest-1");
    client.wait_for("guest-1 joined");
    server.program.interrupt();
    if let Some((status, lines)) = client.wait_exit_within(Duration::from_secs(5)) {
        return said(status, &lines);
    }
    // Still running: the keyboard's read holds it until Enter is pressed.
    client.type_line("");
    let (status, lines) = client.wait_exit(TIMEOUT);
    format!("waits for Enter, then {}", said(status, &lines))
}

fn into_head(bin: &Path) -> String {
    let server = Server::start(&bin_path("ws_chat_server"));
    let (status, stderr, _) =
        run_into_head(bin, &["--addr", &server.addr], "hello\n", 1, "more\nmore\n");
    let lines: Vec<String> = stderr.lines().map(str::to_string).collect();
    match said(status, &lines).as_str() {
        "says nothing about it, status 0" => "ends quietly, status 0".to_string(),
        other => other.to_string(),
    }
}

fn ctrl_c(bin: &Path) -> String {
    let mut server = Server::start(&bin_path("ws_chat_server"));
    let mut client = Program::start_interactive(bin, &["--addr", &server.addr]);
    server.program.wait_for("joined as guest-1");
    client.wait_for("guest-1 joined");
    client.interrupt();
    let line = server.program.wait_for("conn #1 ");
    let line = if line.contains("joined") { server.program.wait_for("conn #1 ") } else { line };
    let _ = client.wait_exit_within(Duration::from_secs(5));
    let what = line.split_once("conn #1 ").map_or("", |(_, what)| what).to_string();
    format!("the server logs: {}", short(&what))
}

#[test]
fn page_06_defence_table_is_what_the_programs_do() {
    // Each cell with a server of its own, all at once; each row's step must turn it.
    let rows = program_rows_with_steps(
        "ws_chat_client",
        &[
            ("The server stops (Ctrl-C)", 1, server_stops),
            ("Its output into `head -1`", 2, into_head),
            ("Ctrl-C while connected", 3, ctrl_c),
        ],
    );
    assert_matches(&block("06-ws-chat-client.md", "defences"), &table_with_steps(&rows));
}
