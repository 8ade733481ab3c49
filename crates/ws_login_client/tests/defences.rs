//! Page 12's defence table: each way a login can fail a client, run against the
//! first version (`ws_login_client_first`), the step that turns it (and the one
//! before) and the full lesson, all talking to lesson 11's server.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::defence::{how_it_ended, program_rows_with_steps, table_with_steps};
use testkit::page::{assert_matches, block};
use testkit::{Program, Server, TIMEOUT, bin_path};

use super::{full, marks};

/// How long a case watches for the client to come back: the first version waits
/// 5 s before each try, so two of its tries fit.
const WATCH: Duration = Duration::from_secs(12);

/// A client of `bin` as `name`, connected to `addr` and in its session.
fn start_client(bin: &Path, addr: &str, name: &str) -> Program {
    let mut client = Program::start_interactive(bin, &["--addr", addr, "--name", name, "hello"]);
    client.wait_for(marks(bin).0);
    if full(bin) {
        client.wait_for("* you are ");
    }
    client
}

/// After the client lost its connection: back (connected again within `WATCH`), or
/// refused with 401 every time it tries.
fn back_or_refused(bin: &Path, client: &mut Program) -> String {
    let started = Instant::now();
    let mut refused = false;
    while started.elapsed() < WATCH {
        match client.next_line(WATCH.saturating_sub(started.elapsed())) {
            Some(line) if line.contains(marks(bin).0) => {
                return "logs in again, and is back".to_string();
            }
            Some(line) if line.contains("401") => refused = true,
            Some(_) => {}
            None => break,
        }
    }
    if refused {
        "tries again with the same cookie, refused with 401 each time".to_string()
    } else {
        format!("not back within {} s", WATCH.as_secs())
    }
}

fn session_ends(bin: &Path) -> String {
    let lesson_11 = bin_path("http_ws_login");
    let server = Server::start_with(&lesson_11, &["--addr", "127.0.0.1:0", "--session", "2"], &[]);
    let mut client = start_client(bin, &server.addr, "Ada");
    client.wait_for_within(marks(bin).1, TIMEOUT);
    back_or_refused(bin, &mut client)
}

fn server_restarts(bin: &Path) -> String {
    let lesson_11 = bin_path("http_ws_login");
    // Started again on the same port: a port no connection can take meanwhile.
    let server = Server::start_with(&lesson_11, &["--addr", &testkit::free_addr()], &[]);
    let addr = server.addr.clone();
    let mut client = start_client(bin, &addr, "Ada");
    server.program.interrupt();
    client.wait_for(marks(bin).1);
    drop(server);
    let _again = Server::start_with(&lesson_11, &["--addr", &addr], &[]);
    back_or_refused(bin, &mut client)
}

fn name_taken(bin: &Path) -> String {
    let server = Server::start(&bin_path("http_ws_login"));
    let taken = testkit::http::post(&server.addr, "/api/login", r#"{"name": "Ada"}"#);
    assert_eq!(taken.status, 200, "{taken:?}");
    let args = ["--addr", server.addr.as_str(), "--name", "Ada", "hello"];
    how_it_ended(&testkit::run(bin, &args, &[], "", TIMEOUT))
}

#[test]
fn page_12_defence_table_is_what_the_programs_do() {
    let rows = program_rows_with_steps(
        "ws_login_client",
        &[
            ("The session ends while connected (lesson 11 with `--session 2`)", 1, session_ends),
            ("The server restarts, and forgets every session", 2, server_restarts),
            ("The name is held by another session", 3, name_taken),
        ],
    );
    assert_matches(&block("12-ws-login-client.md", "defences"), &table_with_steps(&rows));
}
