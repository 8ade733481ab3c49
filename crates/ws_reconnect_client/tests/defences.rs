//! Page 08's defence table: each way a server can go away under a client, run
//! against the first version (`ws_reconnect_client_first`), the step that turns it
//! (and the one before) and the full lesson, all talking to lesson 07's server.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::defence::{program_rows_with_steps, short, table_with_steps};
use testkit::page::{assert_matches, block};
use testkit::process::{self, SIGCONT, SIGSTOP};
use testkit::{Program, Server, bin_path};

/// Whether `bin` is the full lesson (the first version and its steps print
/// websocket-client's `on_open`, `on_close`).
fn full(bin: &Path) -> bool {
    bin.file_name().is_some_and(|name| name == "ws_reconnect_client")
}

/// What each client prints when it is connected, and when it has lost the server.
fn marks(bin: &Path) -> (&'static str, &'static str) {
    if full(bin) { ("INFO Connected to", "WARN Disconnected") } else { ("on_open", "on_close") }
}

/// A client of `bin`, connected to `addr` and in its session: the full lesson has
/// caught up on the history (over HTTP, right after the WebSocket opened) and read
/// its welcome, so that what follows meets the session and its heartbeat.
fn start_client(bin: &Path, addr: &str) -> Program {
    let mut client = Program::start_interactive(bin, &["--addr", addr, "--heartbeat", "1"]);
    client.wait_for(marks(bin).0);
    if full(bin) {
        client.wait_for("* you are ");
    }
    client
}

fn restart(bin: &Path) -> String {
    let server_bin = bin_path("http_ws_server");
    // Started again on the same port: a port no connection can take meanwhile.
    let server = Server::start_with(&server_bin, &["--addr", &testkit::free_addr()], &[]);
    let addr = server.addr.clone();
    let mut client = start_client(bin, &addr);
    server.program.interrupt();
    client.wait_for(marks(bin).1);
    let lost = Instant::now();
    drop(server);
    let _again = Server::start_with(&server_bin, &["--addr", &addr], &[]);
    client.wait_for_within(marks(bin).0, Duration::from_secs(20));
    // Coarse, so that a busy machine does not change the row: the first version
    // waits 5 s whatever happens; the full lesson's first wait is 0.25 to 0.5 s.
    match lost.elapsed().as_secs_f64() {
        secs if secs < 2.0 => "back within 2 s of losing it".to_string(),
        secs if (4.5..7.0).contains(&secs) => "back about 5 s after losing it".to_string(),
        secs => format!("back {secs:.0} s after losing it"),
    }
}

fn frozen(bin: &Path) -> String {
    let server = Server::start(&bin_path("http_ws_server"));
    let mut client = start_client(bin, &server.addr);
    process::signal(server.program.pid(), SIGSTOP).expect("stop the server");
    let frozen = Instant::now();
    let wait = Duration::from_secs(8);
    let mut noticed = None;
    while frozen.elapsed() < wait {
        match client.next_line(wait.saturating_sub(frozen.elapsed())) {
            Some(line) if line.contains(marks(bin).1) => {
                noticed = Some(line);
                break;
            }
            _ => {}
        }
    }
    let took = frozen.elapsed();
    process::signal(server.program.pid(), SIGCONT).expect("wake the server");
    if noticed.is_some() {
        // It tries again, and once the server wakes, it is back.
        client.wait_for_within(marks(bin).0, Duration::from_secs(30));
    }
    match noticed {
        // With `--heartbeat 1`, two silent seconds: within 4 s even on a busy machine.
        Some(line) if took < Duration::from_secs(4) => {
            // "WARN Disconnected: WHY for N s" (the full lesson), "on_close: WHY for N s".
            let why = line.split_once("Disconnected: ").or(line.split_once("on_close: "));
            let why = why.map_or("", |(_, why)| why);
            let why = why.split(" for ").next().unwrap_or(why);
            format!("notices within 4 s (\"{}\"), and reconnects", short(why))
        }
        Some(_) => format!("notices after {} s", took.as_secs()),
        None => format!("none the wiser after {} s", wait.as_secs()),
    }
}

fn ctrl_c(bin: &Path) -> String {
    let mut server = Server::start(&bin_path("http_ws_server"));
    let mut client = start_client(bin, &server.addr);
    // The WebSocket's connection number (lesson 08 asks for the history first).
    let joined = server.program.wait_for("joined as guest-1");
    let conn =
        joined.split_whitespace().find(|w| w.starts_with('#')).expect("a number").to_string();
    // Its welcome shown (`on_message: {"type":"welcome","name":"guest-1",...}`, or
    // `* you are guest-1`): the client is in its loop, where Ctrl-C is listened for.
    client.wait_for("guest-1");
    client.interrupt();
    let line = server.program.wait_for(&format!("conn {conn} "));
    let _ = client.wait_exit_within(Duration::from_secs(5));
    let what = line.split_once(&format!("conn {conn} ")).map_or("", |(_, what)| what);
    format!("the server logs: {}", short(what))
}

#[test]
fn page_08_defence_table_is_what_the_programs_do() {
    // Each cell with a server of its own, all at once; each row's step must turn it.
    let rows = program_rows_with_steps(
        "ws_reconnect_client",
        &[
            ("The server restarts", 1, restart),
            ("The server freezes (`kill -STOP`)", 2, frozen),
            ("Ctrl-C while connected", 3, ctrl_c),
        ],
    );
    assert_matches(&block("08-ws-reconnect-client.md", "defences"), &table_with_steps(&rows));
}
